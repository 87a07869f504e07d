package match

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// bruteFind is find's contract: the earliest start of some literal, and of
// the literals that start there the first.
func bruteFind(pre []literal, h []byte, from int) (int, int) {
	for p := from; p < len(h); p++ {
		for k := range pre {
			if bytes.HasPrefix(h[p:], pre[k].s) {
				return p, k
			}
		}
	}
	return -1, 0
}

// TestTeddyAgreesWithBruteForce runs the Teddy search, vector and scalar,
// over random literal sets and haystacks from a small alphabet (so that
// fingerprints collide and candidates fail to verify), against a brute
// force search.
func TestTeddyAgreesWithBruteForce(t *testing.T) {
	if !haveSIMD {
		t.Skip("no AVX2: Teddy is not used")
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("abcERO0u\n")
	word := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return b
	}
	for iter := range 3000 {
		var pats []string
		for range 4 + r.IntN(40) {
			pats = append(pats, string(word(3+r.IntN(5))))
		}
		m := &Matcher{}
		for _, p := range pats {
			m.pre = append(m.pre, newLiteral([]byte(p), false))
		}
		m.teddy = newTeddy(m.pre)
		if m.teddy == nil {
			t.Fatalf("no Teddy for %q", pats)
		}
		h := word(r.IntN(300))
		for from := 0; from <= len(h); from += 1 + r.IntN(40) {
			gp, gk := m.findTeddy(h, from)
			wp, wk := bruteFind(m.pre, h, from)
			if gp != wp || wp >= 0 && gk != wk {
				t.Fatalf("iter %d: find(%q, %d) over %q = %d, %d; want %d, %d", iter, h, from, pats, gp, gk, wp, wk)
			}
		}
		if n := len(h) - 2; n >= 32 {
			a, am := teddyIndex(h, n, &m.teddy.t)
			b, bm := teddyGeneric(h, n, &m.teddy.t)
			if a != b || am != bm {
				t.Fatalf("iter %d: vector %d %032b, scalar %d %032b over %q", iter, a, am, b, bm, h)
			}
		}
	}
}

// TestTeddyIsUsed checks that an alternation of many literals takes the
// Teddy search (with the literals as its prefilter) and still selects what
// the regexp selects.
func TestTeddyIsUsed(t *testing.T) {
	if !haveSIMD {
		t.Skip("no AVX2")
	}
	var pats []string
	for i := 0; i < 1000; i += 20 {
		pats = append(pats, "u0"+string(rune('0'+i/100))+string(rune('0'+i/10%10))+string(rune('0'+i%10)))
	}
	m, err := Compile([]Rule{{Match: pats}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.teddy == nil || len(m.pre) != len(pats) {
		t.Fatalf("teddy %v, %d prefilter literals for %d patterns", m.teddy != nil, len(m.pre), len(pats))
	}
	block := []byte("user=u0123 ok\nuser=u0020 hit\nnone here\nid u0980\nu098\n")
	var got []string
	for pos := 0; pos < len(block); {
		start, end, _, ok := m.Next(block, pos)
		if !ok {
			break
		}
		got = append(got, string(block[start:end]))
		pos = end + 1
	}
	if want := []string{"user=u0020 hit", "id u0980"}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("selected %q, want %q", got, want)
	}
}
