//go:build !amd64 || purego

package match

// haveSIMD reports whether the vector pair searches exist; without them find
// falls back to searching each literal on its own.
var haveSIMD = false

// indexPair returns the first i with s[i]|or1 == b1 and s[i+off]|or2 == b2,
// or -1; or1 and or2 are 0x20 to fold an ASCII letter's case, else 0.
func indexPair(s []byte, b1, b2 byte, off int, or1, or2 byte) int {
	return indexPairGeneric(s, b1, b2, off, or1, or2)
}

// indexPairSet returns the first i < n at which some entry of set has its
// pair (fold is unused here); find does not use it without haveSIMD, as one search per literal is
// faster than this scalar loop.
func indexPairSet(s []byte, n int, set []pairEntry, fold bool) int {
	return indexPairSetGeneric(s, n, set)
}
