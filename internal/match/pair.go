package match

import (
	"bytes"
	"encoding/binary"
)

// pairEntry is one literal's byte pair for indexPairSet, laid out for the
// assembly: each byte broadcast to a 32-byte vector, then the two offsets
// from the literal's start. Keep the field order and the 160-byte size.
type pairEntry struct {
	b1, or1, b2, or2 [32]byte
	o1, o2           int
	_                [16]byte
}

func newPairEntry(l *literal) pairEntry {
	var e pairEntry
	for i := range 32 {
		e.b1[i], e.or1[i] = l.c1, l.or1
		e.b2[i], e.or2[i] = l.c2, l.or2
	}
	e.o1, e.o2 = l.a, l.a+l.off
	return e
}

// indexPairGeneric is the portable indexPair. Without case folding of the
// first byte it lets bytes.IndexByte (vectorised in the runtime) find the
// candidates.
func indexPairGeneric(s []byte, b1, b2 byte, off int, or1, or2 byte) int {
	n := len(s) - off
	if n <= 0 {
		return -1
	}
	if or1 == 0 {
		for i := 0; i < n; i++ {
			j := bytes.IndexByte(s[i:n], b1)
			if j < 0 {
				return -1
			}
			i += j
			if s[i+off]|or2 == b2 {
				return i
			}
		}
		return -1
	}
	// s[i]|or1 == b1 holds for exactly two bytes, b1 and b1 without 0x20
	// (or none when b1 lacks 0x20), so merge two IndexByte streams.
	if b1&or1 != or1 {
		return -1
	}
	next := func(c byte, from int) int {
		if j := bytes.IndexByte(s[from:n], c); j >= 0 {
			return from + j
		}
		return n
	}
	lo, up := next(b1, 0), next(b1&^or1, 0)
	for {
		i := min(lo, up)
		if i >= n {
			return -1
		}
		if s[i+off]|or2 == b2 {
			return i
		}
		if i == lo {
			lo = next(b1, i+1)
		} else {
			up = next(b1&^or1, i+1)
		}
	}
}

// indexPairSetGeneric is the portable indexPairSet: the first i < n at which
// some entry's pair is present.
func indexPairSetGeneric(s []byte, n int, set []pairEntry) int {
	for i := range n {
		for k := range set {
			e := &set[k]
			if s[i+e.o1]|e.or1[0] == e.b1[0] && s[i+e.o2]|e.or2[0] == e.b2[0] {
				return i
			}
		}
	}
	return -1
}

// lastNewline returns the index of the last '\n' in b, or -1. Next calls
// it to find the start of a hit's line; bytes.LastIndexByte tests a byte
// at a time, which cost half of the search where hits are frequent (INFO in
// BenchmarkNextBlock), so this tests eight at a time from the end.
func lastNewline(b []byte) int {
	const ones, highs, nls = 0x0101010101010101, 0x8080808080808080, 0x0a0a0a0a0a0a0a0a
	i := len(b)
	for ; i >= 8; i -= 8 {
		x := binary.LittleEndian.Uint64(b[i-8:]) ^ nls // a '\n' byte is 0 in x
		if (x-ones)&^x&highs != 0 {
			break // the last '\n' is in b[i-8:i]
		}
	}
	for i--; i >= 0; i-- {
		if b[i] == '\n' {
			return i
		}
	}
	return -1
}
