package match

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// refPattern decides by brute force, from the definitions, whether a
// pattern has a match exactly at [s, e) of a line and whether that match
// is bounded as -w or -x require, so the tests do not lean on the
// wrappers that Compile builds.
type refPattern struct {
	expr    string
	longest *regexp.Regexp // leftmost-longest, for matches in a line without assertions
	asserts bool           // the pattern has assertions: test matches in the whole line
	cache   map[[2]int]*regexp.Regexp
}

func newRefPattern(p string, fold, fixed bool) (*refPattern, error) {
	if fixed {
		p = regexp.QuoteMeta(p)
	}
	if fold {
		p = "(?i)" + p
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	re.Longest()
	sre, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return nil, err
	}
	r := &refPattern{expr: closeQuote(p), longest: re, asserts: hasAssertion(sre), cache: map[[2]int]*regexp.Regexp{}}
	if _, err := regexp.Compile(r.wrap(maxRefRunes, maxRefRunes)); err != nil {
		return nil, err // too large to test this way
	}
	return r, nil
}

// maxRefRunes bounds the lines that the brute force looks at.
const maxRefRunes = 40

func (p *refPattern) wrap(before, after int) string {
	return fmt.Sprintf(`^(?s:.){%d}(?:%s)(?s:.){%d}$`, before, p.expr, after)
}

func hasAssertion(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	}
	return slices.ContainsFunc(re.Sub, hasAssertion)
}

// runes returns the rune boundaries of line as Go's regexp decodes it: an
// invalid byte is one rune.
func runes(line []byte) []int {
	pos := []int{0}
	for i := 0; i < len(line); {
		_, n := utf8.DecodeRune(line[i:])
		i += n
		pos = append(pos, i)
	}
	return pos
}

// exact reports whether the pattern matches exactly line[s:e] in the
// context of line, where s and e are the i-th and j-th rune boundaries of
// n. Without assertions the context does not matter, and the longest match
// at the start of line[s:e] is all of it exactly when some match is;
// otherwise a regexp skips i runes, matches, and leaves n-j runes.
func (p *refPattern) exact(line []byte, s, e, i, j, n int) bool {
	if !p.asserts {
		loc := p.longest.FindIndex(line[s:e])
		return loc != nil && loc[0] == 0 && loc[1] == e-s
	}
	key := [2]int{i, n - j}
	re := p.cache[key]
	if re == nil {
		re = regexp.MustCompile(p.wrap(i, n-j))
		p.cache[key] = re
	}
	return re.Match(line)
}

// valid reports whether [s, e) is a match that counts under the bound.
func (p *refPattern) valid(line []byte, pos []int, i, j int, word, whole bool) bool {
	s, e := pos[i], pos[j]
	switch {
	case whole:
		if s != 0 || e != len(line) {
			return false
		}
	case word:
		if s > 0 {
			if r, _ := utf8.DecodeLastRune(line[:s]); isWordRune(r) {
				return false
			}
		}
		if e < len(line) {
			if r, _ := utf8.DecodeRune(line[e:]); isWordRune(r) {
				return false
			}
		}
	}
	return p.exact(line, s, e, i, j, len(pos)-1)
}

// refLine is the brute-force view of one line: every counted match of
// every pattern, by start rune index.
type refLine struct {
	any      bool      // some pattern has a counted match
	nonEmpty [][][]int // [pattern][start index] ends of non-empty counted matches
	empty    bool      // some pattern has an empty counted match
}

func refAnalyze(pats []*refPattern, line []byte, word, whole bool) refLine {
	pos := runes(line)
	var out refLine
	for _, p := range pats {
		ends := make([][]int, len(pos))
		for i := range pos {
			for j := i; j < len(pos); j++ {
				if !p.valid(line, pos, i, j, word, whole) {
					continue
				}
				out.any = true
				if j == i {
					out.empty = true
				} else {
					ends[i] = append(ends[i], pos[j])
				}
			}
		}
		out.nonEmpty = append(out.nonEmpty, ends)
	}
	return out
}

// checkSpans checks spans against the brute-force view: in order, apart,
// non-empty and counted; and, when no pattern has an empty counted match
// (which may hide a non-empty one at the same start), none is missed: no
// counted match starts between two spans.
func checkSpans(t *testing.T, line []byte, spans []int, ref refLine) {
	t.Helper()
	pos := runes(line)
	index := map[int]int{}
	for i, p := range pos {
		index[p] = i
	}
	prev := 0
	for k := 0; k+1 < len(spans); k += 2 {
		s, e := spans[k], spans[k+1]
		i, ok := index[s]
		if !ok || s < prev || e <= s {
			t.Fatalf("line %q: span [%d,%d) after %d is out of order, empty or not on a rune boundary (spans %v)", line, s, e, prev, spans)
		}
		counted := false
		for _, ends := range ref.nonEmpty {
			counted = counted || slices.Contains(ends[i], e)
		}
		if !counted {
			t.Fatalf("line %q: span [%d,%d) is no counted match (spans %v)", line, s, e, spans)
		}
		if !ref.empty {
			checkGap(t, line, pos, prev, s, ref, spans)
		}
		prev = e
	}
	if !ref.empty {
		checkGap(t, line, pos, prev, len(line)+1, ref, spans)
	}
}

func checkGap(t *testing.T, line []byte, pos []int, from, to int, ref refLine, spans []int) {
	t.Helper()
	for i, p := range pos {
		if p < from || p >= to {
			continue
		}
		for pi, ends := range ref.nonEmpty {
			if len(ends[i]) > 0 {
				t.Fatalf("line %q: pattern %d has a counted match [%d,%d) that the spans %v miss", line, pi, p, ends[i][0], spans)
			}
		}
	}
}

// FuzzWordLineMatchesReference checks Next, Select and Spans under Word and
// Line against the brute-force reference. patterns holds up to 3
// '\n'-separated patterns of one rule; mode bit 0 sets Word, bit 1 Line.
func FuzzWordLineMatchesReference(f *testing.F) {
	f.Add("foo", false, false, uint8(1), []byte("foobar foo\nfoobar\nfoo_bar\nfoo-bar\n"))
	f.Add("cole", false, false, uint8(1), []byte("école\ne\u0301cole\ncole²\n"))
	f.Add("", false, false, uint8(1), []byte("abc\nabc \n a\na b\n\n-\n_\n"))
	f.Add("", false, false, uint8(2), []byte("abc\n\n \n"))
	f.Add("a|ab", false, false, uint8(2), []byte("ab\na\nabc\n"))
	f.Add(`foo\d+`, false, false, uint8(1), []byte("foo12x foo3\nxfoo1 foo22\n"))
	f.Add(`[a-z]+ing`, false, false, uint8(1), []byte("singing, ringing\nXsing sing\n"))
	f.Add("^foo\nbar$", false, false, uint8(1), []byte("foo bar\nfoobar\nx foo bar x\n"))
	f.Add(`\bx\B`, false, false, uint8(1), []byte("xy x\n-xy\n"))
	f.Add("k", true, false, uint8(1), []byte("x \u212a y\n\u212ak\n"))
	f.Add("a.b", true, true, uint8(1), []byte("xa.b\nA.B.\n"))
	f.Add(" foo", false, false, uint8(1), []byte("a foo\n  foo\n"))
	f.Add("(-x)?", false, false, uint8(1), []byte("-xa\n"))
	f.Add("x*\nab", false, false, uint8(0), []byte("ab\nxab\n"))
	f.Add(`\Qa.b`, false, false, uint8(3), []byte("a.b\n"))
	f.Add("\uFFFD", false, false, uint8(1), []byte("\xff\na\xff\n\xef\xbf\xbd\n"))
	f.Fuzz(func(t *testing.T, patterns string, ignoreCase, fixed bool, mode uint8, block []byte) {
		pats := strings.Split(patterns, "\n")
		if len(pats) > 3 || len(patterns) > 64 || len(block) > 512 {
			return
		}
		word, whole := mode&1 != 0, mode&2 != 0
		var refs []*refPattern
		for _, p := range pats {
			r, err := newRefPattern(p, ignoreCase, fixed)
			if err != nil {
				return
			}
			refs = append(refs, r)
		}
		m, err := Compile([]Rule{{Match: pats, IgnoreCase: ignoreCase, Fixed: fixed}}, Options{Word: word, Line: whole})
		var se *syntax.Error
		if errors.As(err, &se) && se.Code == syntax.ErrLarge {
			return // the pattern compiles, but not with a wrapper around it
		}
		if err != nil {
			t.Fatalf("Compile: %v", err)
		}
		lines := bytes.Split(block, []byte("\n"))
		if len(block) == 0 || block[len(block)-1] == '\n' {
			lines = lines[:len(lines)-1]
		}
		var want []hit
		for _, l := range lines {
			if utf8.RuneCount(l) > maxRefRunes {
				return // the brute force is quadratic
			}
			ref := refAnalyze(refs, l, word && !whole, whole)
			if ref.any {
				want = append(want, hit{string(l), 0})
				checkSpans(t, l, m.AppendSpans(nil, l, 0), ref)
			}
		}
		if got := collect(t, m, block); !slices.Equal(got, want) {
			t.Errorf("Next selected %v\nreference selected %v", got, want)
		}
		if got := reference(m, block); !slices.Equal(got, want) {
			t.Errorf("Select selected %v\nreference selected %v", got, want)
		}
		if haveSIMD {
			withoutSIMD(func() {
				if got := collect(t, m, block); !slices.Equal(got, want) {
					t.Errorf("Next without SIMD selected %v\nreference selected %v", got, want)
				}
			})
		}
		if !word && !whole && len(m.rules[0].match) == 1 {
			// One plain pattern compiled as one regexp (not split into
			// literals): the spans are FindAll's non-empty matches.
			for _, l := range lines {
				var wantSpans []int
				for _, loc := range m.rules[0].match[0].re.FindAllIndex(l, -1) {
					if loc[1] > loc[0] {
						wantSpans = append(wantSpans, loc...)
					}
				}
				if got := m.AppendSpans(nil, l, 0); !slices.Equal(got, wantSpans) {
					t.Errorf("line %q: spans %v, FindAllIndex %v", l, got, wantSpans)
				}
			}
		}
	})
}
