package match

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// literal is a prefilter literal ready to search for.
type literal struct {
	s    []byte // for fold literals, ASCII letters are lower case
	fold bool
	// For fold literals the SWAR scan tests the bytes at offsets i1 and i2
	// (the two rarest) eight positions at a time: a haystack word is ORed with
	// m (0x20 in every byte when the needle byte is a letter) and XORed with
	// b (the needle byte in every byte), so a zero byte marks a candidate.
	i1, i2 int
	m1, m2 uint64
	b1, b2 uint64
}

const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

func newLiteral(b []byte, fold bool) literal {
	l := literal{s: bytes.Clone(b), fold: fold}
	if !fold {
		return l
	}
	for i, c := range l.s {
		if isLower(c | 0x20) {
			l.s[i] = c | 0x20
		}
	}
	l.i1, l.i2 = rarestTwo(l.s)
	l.m1, l.b1 = swarMasks(l.s[l.i1])
	l.m2, l.b2 = swarMasks(l.s[l.i2])
	return l
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

func swarMasks(c byte) (m, b uint64) {
	if isLower(c) {
		m = 0x20 * lo8
	}
	return m, uint64(c) * lo8
}

// rarestTwo returns the offsets of the two rarest bytes of s, preferring two
// different byte values; for a one-byte s both are 0.
func rarestTwo(s []byte) (int, int) {
	i1 := 0
	for i, c := range s {
		if freqRank(c, true) < freqRank(s[i1], true) {
			i1 = i
		}
	}
	i2 := -1
	for i, c := range s {
		if i == i1 {
			continue
		}
		if i2 < 0 {
			i2 = i
			continue
		}
		better := freqRank(c, true) < freqRank(s[i2], true)
		if (c == s[i1]) != (s[i2] == s[i1]) {
			better = c != s[i1]
		}
		if better {
			i2 = i
		}
	}
	if i2 < 0 {
		i2 = i1
	}
	return i1, i2
}

// index returns the first position of the literal in h, or -1.
func (l *literal) index(h []byte) int {
	if !l.fold {
		return bytes.Index(h, l.s)
	}
	return l.indexFold(h)
}

func (l *literal) indexFold(h []byte) int {
	n := len(l.s)
	last := len(h) - n // last possible start
	if last < 0 {
		return -1
	}
	i1, i2 := l.i1, l.i2
	lim := len(h) - 8 - max(i1, i2) // last p whose two loads fit in h
	p := 0
	for ; p <= lim && p <= last; p += 8 {
		w1 := binary.LittleEndian.Uint64(h[p+i1:]) | l.m1 ^ l.b1
		w2 := binary.LittleEndian.Uint64(h[p+i2:]) | l.m2 ^ l.b2
		// Each set high bit marks a candidate: exact for the lowest zero
		// byte, possibly spurious above it, never missing one.
		z := (w1 - lo8) &^ w1 & (w2 - lo8) &^ w2 & hi8
		for z != 0 {
			j := p + bits.TrailingZeros64(z)>>3
			if j <= last && l.equalFold(h[j:j+n]) {
				return j
			}
			z &= z - 1
		}
	}
	for ; p <= last; p++ {
		if l.equalFold(h[p : p+n]) {
			return p
		}
	}
	return -1
}

// equalFold reports whether h equals the literal, ASCII letters in either case.
func (l *literal) equalFold(h []byte) bool {
	for i, c := range l.s {
		x := h[i]
		if isLower(c) {
			x |= 0x20
		}
		if x != c {
			return false
		}
	}
	return true
}

// freqRank estimates how common a byte is in log text (255 most common), in
// the spirit of the byte frequency tables of ripgrep and memchr; with fold a
// letter ranks as its more common case.
func freqRank(c byte, fold bool) byte {
	if fold && isLower(c|0x20) {
		return max(rankTable[c|0x20], rankTable[c&^0x20])
	}
	return rankTable[c]
}

var rankTable = func() (t [256]byte) {
	for c := range 256 {
		switch {
		case c >= 0x80:
			t[c] = 20
		case c < 0x20:
			t[c] = 5
		default:
			t[c] = 90 // uncommon punctuation
		}
	}
	set := func(chars string, from, step int) {
		for i := range len(chars) {
			t[chars[i]] = byte(from - i*step)
		}
	}
	t[' '] = 255
	t['\t'], t['\n'] = 150, 200
	set("etaoinsrlcdhumpgfywbvkxjqz", 250, 4) // 250 .. 150
	set("0123456789", 200, 3)                 // 200 .. 173
	set(`:."-/=,_[]()'`, 190, 5)              // 190 .. 130
	set("ESTRAINOLDCGHMPUFWBVKYXJQZ", 140, 3)
	return t
}()
