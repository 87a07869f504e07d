package match

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// dfaCases are patterns the automaton must build, with lines on both sides
// of each.
var dfaCases = []struct {
	expr  string
	lines []string
}{
	{`[A-Z]{3}[0-9]{4}`, []string{"", "ABC1234", "xxABC123", "ab ABC12345 x", "AB1234"}},
	{`[0-9]{3}`, []string{"12", "a123", "1 2 3", "9999"}},
	{`(?i)error|warn`, []string{"ERROR x", "Warning", "err", "wa rn", "xWARN"}},
	{`^foo`, []string{"foo", "xfoo", "foobar", ""}},
	{`foo$`, []string{"foo", "foox", "xfoo", ""}},
	{`^$`, []string{"", "a", " "}},
	{`^(?:abc)$`, []string{"abc", "abcd", "xabc", ""}},
	{`a.c`, []string{"abc", "a\tc", "ac"}},
	{`(?s)a.c`, []string{"abc", "ac"}},
	{`(?i)k`, []string{"K", "k", "x"}},
	{`x*`, []string{"", "y"}},
	{`a|^b|c$`, []string{"b", "xb", "xc", "cx", "a"}},
	{`(?:^|[^a-z])(foo)(?:[^a-z]|$)`, []string{"foo", "a foo b", "foobar", "xfoo", "-foo-"}},
	{`u0000|u0020|u0040|u0060|u0080|u0100`, []string{"u0000", "xu0040x", "u0001", "u010", "u0100"}},
	{`(a+)+$`, []string{"aaaa", "aaab", "baaa"}},
	{`[^x]`, []string{"", "x", "xx", "xy"}},
	{`$^`, []string{"", "a"}},
	{`a^`, []string{"a", ""}},
	{`(?m)^a$`, []string{"a", "ab"}},
}

func TestDFAMatchesRegexp(t *testing.T) {
	for _, c := range dfaCases {
		d := newDFA(c.expr)
		if d == nil {
			t.Errorf("%q: no automaton", c.expr)
			continue
		}
		re := regexp.MustCompile(c.expr)
		checkNextLine(t, d, re, strings.Join(c.lines, "\n")+"\n")
		for _, l := range c.lines {
			got, ok := d.match([]byte(l))
			if !ok {
				t.Errorf("%q on %q: undecided", c.expr, l)
			} else if want := re.MatchString(l); got != want {
				t.Errorf("%q on %q: dfa %v, regexp %v", c.expr, l, got, want)
			}
		}
	}
}

func TestDFARefuses(t *testing.T) {
	for _, expr := range []string{`\bfoo`, `a\B`, `[a-z]{1,40}x[a-z]{1,40}y[a-z]{30}`} {
		if newDFA(expr) != nil {
			t.Errorf("%q: built an automaton", expr)
		}
	}
	if _, ok := newDFA(`a`).match([]byte("é a")); ok {
		t.Error("a non-ASCII line was decided")
	}
}

// FuzzDFAMatchesRegexp checks the automaton against Go's regexp on every
// ASCII line it decides.
func FuzzDFAMatchesRegexp(f *testing.F) {
	for _, c := range dfaCases {
		f.Add(c.expr, strings.Join(c.lines, "\n"))
	}
	f.Fuzz(func(t *testing.T, expr, text string) {
		if len(expr) > 40 || len(text) > 400 {
			return
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return
		}
		d := newDFA(expr)
		if d == nil {
			return
		}
		lines := strings.Split(text, "\n")
		for _, l := range lines {
			if got, ok := d.match([]byte(l)); ok {
				if want := re.MatchString(l); got != want {
					t.Fatalf("%q on %q: dfa %v, regexp %v", expr, l, got, want)
				}
			}
		}
		checkNextLine(t, d, re, text)
	})
}

// checkNextLine walks text as one block with nextLine and checks that it
// stops at exactly the lines the regexp matches, or at undecided ones.
func checkNextLine(t *testing.T, d *dfa, re *regexp.Regexp, text string) {
	t.Helper()
	block := []byte(text)
	var want, got []int
	off := 0
	for i, l := range strings.Split(text, "\n") {
		if off < len(text) && re.MatchString(l) {
			want = append(want, i)
		}
		off += len(l) + 1
	}
	from, line := 0, 0
	for {
		s, e, undecided, ok := d.nextLine(block, from)
		if !ok {
			break
		}
		line += strings.Count(text[from:s], "\n")
		if e < len(block) && block[e] != '\n' || strings.Contains(text[s:e], "\n") || s > 0 && block[s-1] != '\n' {
			t.Fatalf("%q: nextLine gave [%d,%d), not a line of %q", re, s, e, text)
		}
		if !undecided || re.Match(block[s:e]) {
			got = append(got, line)
		}
		from, line = e+1, line+1
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%q on %q: nextLine selected lines %v, regexp %v", re, text, got, want)
	}
}

func BenchmarkDFANextLine(b *testing.B) {
	line := "2026-12-01T10:00:00.123Z host app[1234]: GET /api/v1/users/u0042 200 12ms user=alice trace=abcdef0123\n"
	block := []byte(strings.Repeat(line, 2000))
	for _, expr := range []string{`[A-Z]{3}[0-9]{4}`, `u0000|u0020|u0040|u0060|u0080|u0100|u0120|u0140|u0160|u0180|u0200|u0220|u0240|u0260|u0280|u0300|u0320|u0340`} {
		d := newDFA(expr)
		b.Run(expr[:8], func(b *testing.B) {
			b.SetBytes(int64(len(block)))
			for b.Loop() {
				for from := 0; ; {
					_, e, _, ok := d.nextLine(block, from)
					if !ok {
						break
					}
					from = e + 1
				}
			}
		})
	}
}

func BenchmarkNewDFA(b *testing.B) {
	for _, expr := range []string{`[A-Z]{3}[0-9]{4}`, `[a-z]{1,40}x[a-z]{1,40}y[a-z]{30}`, `(?i)` + strings.Repeat(`u00[0-9]{2}|`, 50) + `x`, boolExpr(`.{0,20}x.{0,20}`, boundWord)} {
		b.Run(expr[:8], func(b *testing.B) {
			for b.Loop() {
				newDFA(expr)
			}
		})
	}
}
