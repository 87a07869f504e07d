package match

import "bytes"

// literal is a prefilter literal ready to search for.
type literal struct {
	s    []byte // for fold literals, ASCII letters are lower case
	fold bool
	// The search looks for two of the rarest bytes of s at once, as ripgrep's
	// memchr crate does ("packed pair"): c1 at offset a and c2 at offset a+off,
	// each ORed with or1/or2 (0x20 for a folded letter) before the compare. A
	// pair is far rarer than either byte, which matters when the rarest byte
	// is still common (deadbeef-, latency_ms":9).
	a, off   int
	c1, c2   byte
	or1, or2 byte
}

func newLiteral(b []byte, fold bool) literal {
	l := literal{s: bytes.Clone(b), fold: fold}
	if fold {
		for i, c := range l.s {
			if isLower(c | 0x20) {
				l.s[i] = c | 0x20
			}
		}
	}
	i1, i2 := rarestTwo(l.s, fold)
	l.a, l.off = min(i1, i2), max(i1, i2)-min(i1, i2)
	l.c1, l.c2 = l.s[l.a], l.s[l.a+l.off]
	if fold && isLower(l.c1) {
		l.or1 = 0x20
	}
	if fold && isLower(l.c2) {
		l.or2 = 0x20
	}
	return l
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

// rarestTwo returns the offsets of the two rarest bytes of s, preferring two
// different byte values; for a one-byte s both are 0.
func rarestTwo(s []byte, fold bool) (int, int) {
	i1 := 0
	for i, c := range s {
		if freqRank(c, fold) < freqRank(s[i1], fold) {
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
		better := freqRank(c, fold) < freqRank(s[i2], fold)
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
	n := len(l.s)
	if n == 1 && !l.fold {
		return bytes.IndexByte(h, l.s[0])
	}
	if len(h) < n {
		return -1
	}
	// Anchors of starts p <= len(h)-n lie in h[a : end-off].
	end := len(h) - n + 1 + l.a + l.off
	for p := 0; ; p++ {
		i := indexPair(h[l.a+p:end], l.c1, l.c2, l.off, l.or1, l.or2)
		if i < 0 {
			return -1
		}
		p += i
		if l.equalAt(h[p : p+n]) {
			return p
		}
	}
}

// equalAt reports whether h, of the literal's length, is the literal.
func (l *literal) equalAt(h []byte) bool {
	if !l.fold {
		return string(h) == string(l.s)
	}
	return l.equalFold(h)
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
	// Timestamps, JSON, paths and addresses make these as common as
	// mid-frequency letters; the bracket family is rarer.
	set(`":.-/,=`, 220, 6)                    // 220 .. 184
	set(`_[]()'{}`, 160, 5)                   // 160 .. 125
	set("ESTRAINOLDCGHMPUFWBVKYXJQZ", 140, 3) // 140 .. 65
	return t
}()
