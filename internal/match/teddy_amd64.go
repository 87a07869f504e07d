//go:build amd64 && !purego

package match

// teddyAVX2 returns the start of the first vector of 32 positions below n
// in which some position's three bytes fit a bucket of t, and the mask of
// those positions, or -1; it needs n >= 32 and n+1 < len(s).
//
//go:noescape
func teddyAVX2(s []byte, n int, t *teddyTables) (at int, mask uint32)

func teddyIndex(s []byte, n int, t *teddyTables) (int, uint32) { return teddyAVX2(s, n, t) }
