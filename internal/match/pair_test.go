package match

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// refIndexPair is the definition of indexPair, one position at a time.
func refIndexPair(s []byte, b1, b2 byte, off int, or1, or2 byte) int {
	for i := 0; i+off < len(s); i++ {
		if s[i]|or1 == b1 && s[i+off]|or2 == b2 {
			return i
		}
	}
	return -1
}

// refIndexPairSet is the definition of indexPairSet.
func refIndexPairSet(s []byte, n int, set []pairEntry) int {
	for i := range n {
		for _, e := range set {
			if s[i+e.o1]|e.or1[0] == e.b1[0] && s[i+e.o2]|e.or2[0] == e.b2[0] {
				return i
			}
		}
	}
	return -1
}

// withoutSIMD runs fn with the portable searches, restoring haveSIMD after.
func withoutSIMD(fn func()) {
	saved := haveSIMD
	haveSIMD = false
	defer func() { haveSIMD = saved }()
	fn()
}

func TestIndexPair(t *testing.T) {
	pad := bytes.Repeat([]byte("x"), 40)
	tests := []struct {
		name     string
		s        string
		b1, b2   byte
		off      int
		or1, or2 byte
		want     int
	}{
		{"empty", "", 'a', 'b', 1, 0, 0, -1},
		{"off beyond s", "ab", 'a', 'b', 2, 0, 0, -1},
		{"off beyond s folded", "ab", 'a', 'b', 3, 0x20, 0x20, -1},
		{"folded first byte without 0x20", "@@@@", '@', '@', 0, 0x20, 0, -1},
		{"folded non-letter", "x@y`", '`', 'y', 1, 0x20, 0x20, 1},
		{"short hit", "xxab", 'a', 'b', 1, 0, 0, 2},
		{"same position", "xxxa", 'a', 'a', 0, 0, 0, 3},
		{"first vector", "ab" + string(pad), 'a', 'b', 1, 0, 0, 0},
		{"second vector", string(pad) + "ab" + string(pad), 'a', 'b', 1, 0, 0, 40},
		{"last position", string(pad) + "a-b", 'a', 'b', 2, 0, 0, 40},
		{"second byte past end", string(pad) + "a-", 'a', 'b', 2, 0, 0, -1},
		{"only first byte", string(pad) + "a" + string(pad), 'a', 'b', 1, 0, 0, -1},
		{"fold both", string(pad) + "ErRoR", 'r', 'o', 2, 0x20, 0x20, 41},
		{"fold off", string(pad) + "ErRoR", 'r', 'O', 2, 0, 0, -1},
		{"fold leaves non-letters", string(pad) + "\x00@`", '`', '`', 0, 0x20, 0x20, 41},
		{"tail overlap", string(pad) + string(pad[:23]) + "ab", 'a', 'b', 1, 0, 0, 63},
		{"hit in overlap is not reported twice early", "ab" + string(pad[:30]) + "ab", 'a', 'b', 1, 0, 0, 0},
		{"long off", "a" + string(pad) + string(pad) + "b", 'a', 'b', 81, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := []byte(tt.s)
			if got := refIndexPair(s, tt.b1, tt.b2, tt.off, tt.or1, tt.or2); got != tt.want {
				t.Fatalf("reference = %d, want %d: the test is wrong", got, tt.want)
			}
			if got := indexPair(s, tt.b1, tt.b2, tt.off, tt.or1, tt.or2); got != tt.want {
				t.Errorf("indexPair = %d, want %d", got, tt.want)
			}
			if got := indexPairGeneric(s, tt.b1, tt.b2, tt.off, tt.or1, tt.or2); got != tt.want {
				t.Errorf("indexPairGeneric = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestIndexPairExhaustive compares the searches with the reference on every
// length up to 100, many offsets and every alignment within a vector, over
// two-letter text so that pairs are frequent and land everywhere.
func TestIndexPairExhaustive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 32+100)
	for n := 0; n <= 100; n++ {
		for align := range 32 {
			s := buf[align : align+n]
			for i := range s {
				s[i] = "aAbB"[r.IntN(4)]
			}
			// A lone pair (often none) tests the long scans.
			if n > 0 && r.IntN(2) == 0 {
				for i := range s {
					s[i] = 'x'
				}
				s[r.IntN(n)] = 'a'
				s[r.IntN(n)] = 'B'
			}
			for _, off := range []int{0, 1, 2, 5, 31, 32, 33, 63, n - 1, n} {
				if off < 0 {
					continue
				}
				for _, or := range []byte{0, 0x20} {
					want := refIndexPair(s, 'a', 'b'&^or|or, off, 0, or)
					if got := indexPair(s, 'a', 'b'&^or|or, off, 0, or); got != want {
						t.Fatalf("n=%d align=%d off=%d or=%#x: indexPair = %d, want %d in %q", n, align, off, or, got, want, s)
					}
					if got := indexPairGeneric(s, 'a', 'b'&^or|or, off, 0, or); got != want {
						t.Fatalf("n=%d align=%d off=%d or=%#x: indexPairGeneric = %d, want %d in %q", n, align, off, or, got, want, s)
					}
				}
			}
		}
	}
}

// TestIndexPairSet compares both set searches with the reference for one to
// five entries (three take the all-in-registers path).
func TestIndexPairSet(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	lits := []string{"ERROR", "FATAL", "panic", "ab", "i:warn", "q", "i:x-y", "Sx"}
	for k := 1; k <= 5; k++ {
		for trial := range 200 {
			var set []pairEntry
			reach, fold := 0, false
			for range k {
				s, folded := strings.CutPrefix(lits[r.IntN(len(lits))], "i:")
				l := newLiteral([]byte(s), folded)
				e := newPairEntry(&l)
				set = append(set, e)
				reach = max(reach, e.o2)
				fold = fold || e.or1[0]|e.or2[0] != 0
			}
			n := 32 + r.IntN(200)
			h := make([]byte, n+reach+r.IntN(3))
			for i := range h {
				h[i] = "ERORFATLpanicbwWxX-yq "[r.IntN(22)]
			}
			want := refIndexPairSet(h, n, set)
			if haveSIMD {
				if got := indexPairSet(h, n, set, fold); got != want {
					t.Fatalf("k=%d trial=%d: indexPairSet = %d, want %d", k, trial, got, want)
				}
			}
			if got := indexPairSetGeneric(h, n, set); got != want {
				t.Fatalf("k=%d trial=%d: indexPairSetGeneric = %d, want %d", k, trial, got, want)
			}
		}
	}
}

// FuzzIndexPair compares indexPair and its portable version with the
// reference over any bytes, start alignment, offset and case folding.
func FuzzIndexPair(f *testing.F) {
	f.Add([]byte("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxab"), uint8(0), byte('a'), byte('b'), uint8(1), uint8(0))
	f.Add([]byte("ErRoR and some more text to fill a vector or two"), uint8(3), byte('r'), byte('o'), uint8(2), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, start uint8, b1, b2 byte, off, fold uint8) {
		s := data[min(int(start)%32, len(data)):]
		var or1, or2 byte
		if fold&1 != 0 {
			or1, b1 = 0x20, b1|0x20
		}
		if fold&2 != 0 {
			or2, b2 = 0x20, b2|0x20
		}
		o := int(off) % 80
		want := refIndexPair(s, b1, b2, o, or1, or2)
		if got := indexPair(s, b1, b2, o, or1, or2); got != want {
			t.Errorf("indexPair(%q, %q, %q, %d, %#x, %#x) = %d, want %d", s, b1, b2, o, or1, or2, got, want)
		}
		if got := indexPairGeneric(s, b1, b2, o, or1, or2); got != want {
			t.Errorf("indexPairGeneric(%q, %q, %q, %d, %#x, %#x) = %d, want %d", s, b1, b2, o, or1, or2, got, want)
		}
	})
}

func TestPairChoice(t *testing.T) {
	tests := []struct {
		lit    string
		fold   bool
		c1, c2 string // rarest bytes with their offsets, "c@i"
	}{
		{"ERROR", false, "R@1", "O@3"},
		{"error", true, "r@1", "o@3"},
		{"deadbeef-", false, "b@4", "f@7"},
		{`latency_ms":9`, false, "_@7", "9@12"},
		{"FATAL", false, "F@0", "L@4"},
		{"x", true, "x@0", "x@0"},
	}
	for _, tt := range tests {
		t.Run(tt.lit, func(t *testing.T) {
			l := newLiteral([]byte(tt.lit), tt.fold)
			c1 := string(l.c1) + "@" + string(rune('0'+l.a))
			c2 := string(l.c2) + "@" + string(rune('0'+l.a+l.off))
			if l.a+l.off > 9 {
				c2 = string(l.c2) + "@1" + string(rune('0'+l.a+l.off-10))
			}
			if c1 != tt.c1 || c2 != tt.c2 {
				t.Errorf("pair = %s %s, want %s %s", c1, c2, tt.c1, tt.c2)
			}
		})
	}
}

func TestLastNewline(t *testing.T) {
	for n := range 40 {
		b := bytes.Repeat([]byte{'x'}, n)
		if got := lastNewline(b); got != -1 {
			t.Fatalf("len %d without newline: %d", n, got)
		}
		for i := range n {
			for j := range i + 1 {
				b := bytes.Repeat([]byte{0x8a}, n) // high bit set: no false hit
				b[i], b[j] = '\n', '\n'
				if got := lastNewline(b); got != i {
					t.Fatalf("newlines at %d and %d of %d: got %d", j, i, n, got)
				}
			}
		}
	}
}
