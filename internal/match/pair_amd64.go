//go:build amd64 && !purego

package match

import "golang.org/x/sys/cpu"

// haveSIMD is set when the AVX2 pair searches can run; tests clear it to
// exercise the portable code on the same machine.
var haveSIMD = cpu.X86.HasAVX2

// indexPairAVX2 is indexPair for len(s)-off >= 32.
//
//go:noescape
func indexPairAVX2(s []byte, b1, b2 byte, off int, or1, or2 byte) int

// indexPairSetAVX2 returns the first i < n at which some entry of the k at set
// has its pair, or -1; it needs n >= 32 and every load in s.
//
//go:noescape
func indexPairSetAVX2(s []byte, n int, set *pairEntry, k int) int

// indexPairSet3AVX2 is indexPairSetAVX2 for exactly three entries.
//
//go:noescape
func indexPairSet3AVX2(s []byte, n int, set *[3]pairEntry) int

// indexPairSet3ExactAVX2 is indexPairSet3AVX2 for entries with no OR mask.
//
//go:noescape
func indexPairSet3ExactAVX2(s []byte, n int, set *[3]pairEntry) int

// indexPair returns the first i with s[i]|or1 == b1 and s[i+off]|or2 == b2,
// or -1; or1 and or2 are 0x20 to fold an ASCII letter's case, else 0.
func indexPair(s []byte, b1, b2 byte, off int, or1, or2 byte) int {
	if haveSIMD && len(s)-off >= 32 {
		return indexPairAVX2(s, b1, b2, off, or1, or2)
	}
	return indexPairGeneric(s, b1, b2, off, or1, or2)
}

// indexPairSet returns the first i < n at which some entry of set has its
// pair; it needs haveSIMD, n >= 32 and len(s) >= n+set reach. fold reports
// whether some entry has an OR mask.
func indexPairSet(s []byte, n int, set []pairEntry, fold bool) int {
	if len(set) == 3 {
		if !fold {
			return indexPairSet3ExactAVX2(s, n, (*[3]pairEntry)(set))
		}
		return indexPairSet3AVX2(s, n, (*[3]pairEntry)(set))
	}
	return indexPairSetAVX2(s, n, &set[0], len(set))
}
