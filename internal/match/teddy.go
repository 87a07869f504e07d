package match

import "math/bits"

// Teddy is the packed multi-literal search of Hyperscan and ripgrep: each
// literal is put in one of 8 buckets, and a position is a candidate when
// its first three bytes fit the fingerprints of some bucket, tested for 32
// positions at once by nibble lookups (teddy_amd64.s). It serves four or
// more literals, where the pair search would test every literal's pair at
// every position (about twice the work for five), and up to maxTeddy,
// where the DFA took over before at one byte per step.

// maxTeddy bounds the literals one Teddy holds: beyond, each bucket holds
// so many that nearly every position fits one.
const maxTeddy = 64

// teddyTables is laid out for the assembly: for each of the three byte
// positions, the buckets each low nibble fits, then each high nibble,
// each 16-entry table twice (VPSHUFB looks up per 128-bit lane), then the
// nibble mask.
type teddyTables struct {
	m   [6][32]byte
	nib [32]byte
}

type teddy struct {
	t       teddyTables
	buckets [8][]int // indexes in pre of each bucket's literals
}

// newTeddy builds a Teddy for pre, or nil when it does not serve: fewer
// than four literals, more than maxTeddy, one shorter than three bytes, or
// one that folds case (its fingerprint would be every case's).
func newTeddy(pre []literal) *teddy {
	if !haveSIMD || len(pre) < 4 || len(pre) > maxTeddy {
		return nil
	}
	for i := range pre {
		if len(pre[i].s) < 3 || pre[i].fold {
			return nil
		}
	}
	td := &teddy{}
	for i := range td.t.nib {
		td.t.nib[i] = 0x0f
	}
	for k := range pre {
		// Literals that share their fingerprint go to one bucket, so that a
		// candidate verifies only the literals it may be, and a bucket's
		// nibble sets stay close to its literals' bytes.
		b := k
		if len(pre) > 8 {
			f := pre[k].s
			b = int(f[0]*31+f[1]*7+f[2]) % 8
		}
		td.buckets[b] = append(td.buckets[b], k)
		for j := range 3 {
			c := pre[k].s[j]
			td.t.m[2*j][c&15] |= 1 << b
			td.t.m[2*j][16+c&15] |= 1 << b
			td.t.m[2*j+1][c>>4] |= 1 << b
			td.t.m[2*j+1][16+c>>4] |= 1 << b
		}
	}
	return td
}

// fits returns the buckets whose fingerprints h[0:3] fits.
func (td *teddy) fits(h []byte) uint8 {
	f := uint8(0xff)
	for j := range 3 {
		c := h[j]
		f &= td.t.m[2*j][c&15] & td.t.m[2*j+1][c>>4]
	}
	return f
}

// teddyGeneric is teddyIndex without vectors, for the tests: the vectors
// it reports start at multiples of 32, but for the last, which ends at n.
func teddyGeneric(s []byte, n int, t *teddyTables) (int, uint32) {
	td := teddy{t: *t}
	for at := 0; at < n; at += 32 {
		lo := at
		if at+32 > n {
			at = n - 32 // the last vector ends at n; what it overlaps was tested
		}
		var mask uint32
		for i := lo; i < at+32; i++ {
			if td.fits(s[i:]) != 0 {
				mask |= 1 << (i - at)
			}
		}
		if mask != 0 {
			return at, mask
		}
	}
	return -1, 0
}

// findTeddy is find for four or more literals with Teddy: the first
// candidate at which a literal verifies is the earliest start, and of the
// literals that start there the first in pre is reported, as findSet does.
// The candidates of a vector are verified in Go, without a return to the
// vector loop for each: a set whose prefixes are common (user ids u0...)
// has several per vector.
func (m *Matcher) findTeddy(block []byte, from int) (int, int) {
	h := block[from:]
	td := m.teddy
	n := len(h) - 2 // starts whose three fingerprint bytes are in h
	p := 0
	for n-p >= 32 {
		at, mask := teddyIndex(h[p:], n-p, &td.t)
		if at < 0 {
			p = n
			break
		}
		base := p + at
		for mask != 0 {
			i := base + bits.TrailingZeros32(mask)
			mask &= mask - 1
			if k := m.verifyAt(h, i, td.fits(h[i:])); k >= 0 {
				return from + i, k
			}
		}
		p = base + 32
	}
	best, bestK := -1, 0
	for k := range m.pre {
		if j := m.pre[k].index(h[p:]); j >= 0 && (best < 0 || j < best) {
			best, bestK = j, k
		}
	}
	if best < 0 {
		return -1, 0
	}
	return from + p + best, bestK
}

// verifyAt returns the first literal of pre, among those of the buckets
// in fit, that starts at h[p], or -1.
func (m *Matcher) verifyAt(h []byte, p int, fit uint8) int {
	best := -1
	for fit != 0 {
		b := bits.TrailingZeros8(fit)
		fit &= fit - 1
		for _, k := range m.teddy.buckets[b] {
			l := &m.pre[k]
			if (best < 0 || k < best) && p+len(l.s) <= len(h) && l.equalAt(h[p:p+len(l.s)]) {
				best = k
			}
		}
	}
	return best
}
