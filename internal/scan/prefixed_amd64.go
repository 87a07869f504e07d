//go:build amd64 && !purego

package scan

import "golang.org/x/sys/cpu"

// haveMasks is set when newlineMasks can run; tests clear it to exercise
// the portable code on the same machine.
var haveMasks = cpu.X86.HasAVX2

// newlineMasks sets dst[i] to the mask of the newlines in src[64i:64i+64],
// bit j for byte j, for as many whole 64-byte blocks as both hold, and
// returns how many it set.
//
//go:noescape
func newlineMasks(dst []uint64, src []byte) int
