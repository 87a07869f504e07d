package match

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// wordCase is one line under one set of patterns: whether it is selected
// and the spans Spans reports (nil when none).
type wordCase struct {
	line  string
	sel   bool
	spans []int
}

func TestWordLine(t *testing.T) {
	tests := []struct {
		name  string
		rule  Rule
		opts  Options
		cases []wordCase
	}{
		{"word literal", Rule{Match: []string{"foo"}}, Options{Word: true}, []wordCase{
			{"foo", true, []int{0, 3}},
			{"foobar foo", true, []int{7, 10}}, // the first occurrence fails, a later one passes
			{"foobar", false, nil},
			{"foo_bar", false, nil},
			{"foo-bar foo.", true, []int{0, 3, 8, 11}},
			{"foo foo", true, []int{0, 3, 4, 7}}, // one separator bounds both
			{"xfoo foox", false, nil},
			{"\xfffoo\xff", true, []int{1, 4}}, // an invalid byte is not a word character
			{"", false, nil},
		}},
		{"unicode letters are word characters", Rule{Match: []string{"cole"}}, Options{Word: true}, []wordCase{
			{"école", false, nil},
			{"e\u0301cole", false, nil}, // decomposed: a mark continues the word
			{"l'école, cole", true, []int{10, 14}},
			{"cole²", true, []int{0, 4}}, // ² is \p{No}, not a word character
			{"coleⅫ", false, nil},        // Ⅻ is \p{Nl}
			{"cole٣", false, nil},        // Arabic-Indic digit, \p{Nd}
			{"Ⓐcole", false, nil},        // Alphabetic, though \p{So}
			{"cole\u200d", false, nil},   // a joiner
			{"日本cole", false, nil},
		}},
		{"multibyte literal", Rule{Match: []string{"日本語"}}, Options{Word: true}, []wordCase{
			{"日本語 テスト", true, []int{0, 9}},
			{"日本語テスト", false, nil},
			{"«日本語»", true, []int{2, 11}},
		}},
		{"several literals", Rule{Match: []string{"foo", "bar"}}, Options{Word: true}, []wordCase{
			{"foobar bar", true, []int{7, 10}},
			{"bar,foo", true, []int{0, 3, 4, 7}},
			{"barfoo", false, nil},
		}},
		{"fixed and folded", Rule{Match: []string{"a.b"}, Fixed: true, IgnoreCase: true}, Options{Word: true}, []wordCase{
			{"xa.b", false, nil},
			{"A.B.", true, []int{0, 3}},
			{"axb", false, nil},
		}},
		{"fold with kelvin sign", Rule{Match: []string{"k"}, IgnoreCase: true}, Options{Word: true}, []wordCase{
			{"x \u212a y", true, []int{2, 5}},
			{"\u212ak", false, nil},
		}},
		{"regexp with a literal prefix", Rule{Match: []string{`foo\d+`}}, Options{Word: true}, []wordCase{
			{"foo12x foo3", true, []int{7, 11}},
			{"foo12x", false, nil},
			{"xfoo1 foo22", true, []int{6, 11}},
			{"foo1foo2", false, nil},
		}},
		{"regexp without a prefix", Rule{Match: []string{`[a-z]+ing`}}, Options{Word: true}, []wordCase{
			{"singing, ringing", true, []int{0, 7, 9, 16}},
			{"ingx", false, nil},
			{"Xsing sing", true, []int{6, 10}},
		}},
		{"the longer alternative when the first is not bounded", Rule{Match: []string{"foo|foobar"}}, Options{Word: true}, []wordCase{
			{"foobar", true, []int{0, 6}},
			{"foobarx foo", true, []int{8, 11}},
		}},
		{"anchors keep their meaning", Rule{Match: []string{"^foo", "bar$"}}, Options{Word: true}, []wordCase{
			{"foo bar", true, []int{0, 3, 4, 7}},
			{"foobar", false, nil},
			{"x foo bar x", false, nil},
		}},
		{"a pattern with non-word edges", Rule{Match: []string{" foo"}}, Options{Word: true}, []wordCase{
			{"a foo", false, nil}, // grep looks at the character before the space
			{"  foo", true, []int{1, 5}},
			{" foo", true, []int{0, 4}},
		}},
		{"quote to the end", Rule{Match: []string{`\Qa.b`}}, Options{Word: true}, []wordCase{
			{"a.b", true, []int{0, 3}},
			{"a.bc axb", false, nil},
		}},
		{"empty pattern, as grep -w ''", Rule{Match: []string{""}}, Options{Word: true}, []wordCase{
			{"", true, nil},
			{"abc", false, nil},
			{"abc ", true, nil},
			{" a", true, nil},
			{"a b", false, nil},
			{"a  b", true, nil},
			{"-", true, nil},
			{"_", false, nil},
			{"é", false, nil},
		}},
		{"empty pattern, as grep -x ''", Rule{Match: []string{""}}, Options{Line: true}, []wordCase{
			{"", true, nil},
			{" ", false, nil},
			{"a", false, nil},
		}},
		{"line literal", Rule{Match: []string{"foo"}}, Options{Line: true}, []wordCase{
			{"foo", true, []int{0, 3}},
			{"foo ", false, nil},
			{"foofoo", false, nil},
		}},
		{"line regexp", Rule{Match: []string{`a|ab`, `x+`}}, Options{Line: true}, []wordCase{
			{"ab", true, []int{0, 2}},
			{"xxx", true, []int{0, 3}},
			{"abx", false, nil},
		}},
		{"line wins over word", Rule{Match: []string{"b"}}, Options{Line: true, Word: true}, []wordCase{
			{"a b", false, nil},
			{"b", true, []int{0, 1}},
		}},
		{"ignore patterns are not bounded", Rule{Match: []string{"foo"}, Ignore: []string{"bar"}}, Options{Word: true}, []wordCase{
			{"foo rebar", false, []int{0, 3}}, // spans are the rule's, selected or not
			{"foo re", true, []int{0, 3}},
		}},
		{"global ignore patterns are not bounded", Rule{Match: []string{"foo"}}, Options{Word: true, Line: false, Ignore: []string{"ba"}}, []wordCase{
			{"foo bar", false, []int{0, 3}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Compile([]Rule{tt.rule}, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var block strings.Builder
			var want []hit
			for _, c := range tt.cases {
				line := []byte(c.line)
				_, sel := m.Select(line)
				if sel != c.sel {
					t.Errorf("Select(%q) = %v, want %v", c.line, sel, c.sel)
				}
				if got := m.AppendSpans(nil, line, 0); !slices.Equal(got, c.spans) {
					t.Errorf("AppendSpans(%q) = %v, want %v", c.line, got, c.spans)
				}
				block.WriteString(c.line + "\n")
				if c.sel {
					want = append(want, hit{c.line, 0})
				}
			}
			if got := collect(t, m, []byte(block.String())); !slices.Equal(got, want) {
				t.Errorf("Next selected %v, want %v", got, want)
			}
		})
	}
}

// TestSpansMultiplePatterns checks how the spans of several patterns
// combine: as one alternation searched again from each span's end.
func TestSpansMultiplePatterns(t *testing.T) {
	tests := []struct {
		name string
		pats []string
		opts Options
		line string
		want []int
	}{
		{"search resumes after the span", []string{"aa", "ba"}, Options{}, "baaa", []int{0, 2, 2, 4}},
		{"empty match gives way", []string{"x*", "ab"}, Options{}, "ab", []int{0, 2}},
		{"words of two patterns", []string{"foo", "o bar"}, Options{Word: true}, "foo bar", []int{0, 3}},
		{"more patterns than the cache", []string{"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "b"}, Options{Word: true}, "b a9 a1 ba1", []int{0, 1, 2, 4, 5, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Compile([]Rule{{Match: tt.pats}}, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.AppendSpans(nil, []byte(tt.line), 0); !slices.Equal(got, tt.want) {
				t.Errorf("spans = %v, want %v", got, tt.want)
			}
			var it []int
			for s, e := range m.Spans([]byte(tt.line), 0) {
				it = append(it, s, e)
				break // the iterator must stop when asked
			}
			if len(tt.want) >= 2 && !slices.Equal(it, tt.want[:2]) {
				t.Errorf("first span from Spans = %v, want %v", it, tt.want[:2])
			}
		})
	}
}

func TestPatternIsTheUsersText(t *testing.T) {
	m, err := Compile([]Rule{{Match: []string{"a.b", `x\d`}, Fixed: false}, {Match: []string{"c+"}, Fixed: true}},
		Options{Word: true, IgnoreCase: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		line string
		rule int
		want string
	}{
		{"A_Bc x1", 0, `x\d`},
		{"a-b", 0, "a.b"},
		{"C+ x", 1, "c+"},
	} {
		if got := m.Pattern([]byte(tt.line), tt.rule); got != tt.want {
			t.Errorf("Pattern(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

// TestNotWordClass checks that the regexp class of the wrappers and
// isWordRune agree on every rune.
func TestNotWordClass(t *testing.T) {
	re := regexp.MustCompile(`^` + notWordClass() + `$`)
	buf := make([]byte, 0, 4)
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xd800 && r <= 0xdfff {
			continue
		}
		buf = utf8.AppendRune(buf[:0], r)
		if re.Match(buf) == isWordRune(r) {
			t.Errorf("U+%04X: class says non-word %v, isWordRune says word %v", r, !isWordRune(r), isWordRune(r))
		}
	}
	if !re.Match([]byte{0xff}) {
		t.Error("an invalid byte is a word character to the class")
	}
}

func TestCloseQuote(t *testing.T) {
	for in, want := range map[string]string{
		`a`:           `a`,
		`\Qa.b`:       `\Qa.b\E`,
		`\Qa\E.b`:     `\Qa\E.b`,
		`\Qa\E\Qb`:    `\Qa\E\Qb\E`,
		`\\Q`:         `\\Q`,
		`\Qa\\E`:      `\Qa\\E`, // inside a quote the first \E ends it
		`x\Q`:         `x\Q\E`,
		`[\Q]`:        `[\Q]\E`, // invalid anyway: \Q in a class
		`\Q\Q\E`:      `\Q\Q\E`,
		"\\Q\u00e9\\": "\\Q\u00e9\\\\E",
	} {
		if got := closeQuote(in); got != want {
			t.Errorf("closeQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

func ExampleMatcher_Spans() {
	m, _ := Compile([]Rule{{Match: []string{"foo"}}}, Options{Word: true})
	line := []byte("foobar foo, foo_ foo")
	for s, e := range m.Spans(line, 0) {
		fmt.Println(s, e, string(line[s:e]))
	}
	// Output:
	// 7 10 foo
	// 17 20 foo
}

// TestLiteralSpansDoNotAllocate holds Spans to its word: the spans of pure
// literals, with and without -w, cost no allocation.
func TestLiteralSpansDoNotAllocate(t *testing.T) {
	line := []byte("foobar foo, bar foo_ foo")
	for _, o := range []Options{{}, {Word: true}, {Line: true}} {
		m, err := Compile([]Rule{{Match: []string{"foo", "bar"}}}, o)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]int, 0, 16)
		if n := testing.AllocsPerRun(100, func() { buf = m.AppendSpans(buf[:0], line, 0) }); n != 0 {
			t.Errorf("%+v: %v allocs per AppendSpans", o, n)
		}
	}
}
