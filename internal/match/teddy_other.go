//go:build !amd64 || purego

package match

func teddyIndex(s []byte, n int, t *teddyTables) (int, uint32) { return teddyGeneric(s, n, t) }
