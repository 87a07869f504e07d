//go:build !amd64 || purego

package scan

// haveMasks reports whether newlineMasks exists.
var haveMasks = false

func newlineMasks(dst []uint64, src []byte) int { panic("scan: newlineMasks without AVX2") }
