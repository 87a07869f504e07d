package match

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"

	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// hit is one line reported by Next, as text for readable failures.
type hit struct {
	Line string
	Rule int
}

func (h hit) String() string { return fmt.Sprintf("%q@%d", h.Line, h.Rule) }

// collect iterates Next over block, checking the line bounds contract.
func collect(t *testing.T, m *Matcher, block []byte) []hit {
	t.Helper()
	var out []hit
	from := 0
	for {
		start, end, rule, ok := m.Next(block, from)
		if !ok {
			return out
		}
		if start < from || end < start || end > len(block) {
			t.Fatalf("Next(from=%d) = [%d,%d) out of range", from, start, end)
		}
		if start > 0 && block[start-1] != '\n' {
			t.Fatalf("Next(from=%d) start %d is not a line start", from, start)
		}
		if end < len(block) && block[end] != '\n' {
			t.Fatalf("Next(from=%d) end %d is not a line end", from, end)
		}
		out = append(out, hit{string(block[start:end]), rule})
		from = end + 1
	}
}

// reference selects lines with Select over a plain split of block.
func reference(m *Matcher, block []byte) []hit {
	var out []hit
	lines := bytes.Split(block, []byte("\n"))
	if len(block) == 0 || block[len(block)-1] == '\n' {
		lines = lines[:len(lines)-1]
	}
	for _, l := range lines {
		if r, ok := m.Select(l); ok {
			out = append(out, hit{string(l), r})
		}
	}
	return out
}

func TestNextSelect(t *testing.T) {
	tests := []struct {
		name  string
		rules []Rule
		opts  Options
		block string
		want  []hit
	}{
		{
			name:  "no rules selects every line",
			block: "a\nb\n\nc",
			want:  []hit{{"a", -1}, {"b", -1}, {"", -1}, {"c", -1}},
		},
		{
			name:  "no rules with global ignore",
			opts:  Options{Ignore: []string{"b"}},
			block: "a\nb\nc\n",
			want:  []hit{{"a", -1}, {"c", -1}},
		},
		{
			name:  "first rule wins",
			rules: []Rule{{Name: "err", Match: []string{"ERROR"}}, {Name: "all-caps", Match: []string{"[A-Z]{5}"}}},
			block: "x ERROR y\nx FATAL y\nok\n",
			want:  []hit{{"x ERROR y", 0}, {"x FATAL y", 1}},
		},
		{
			name:  "rule ignore falls through to next rule",
			rules: []Rule{{Match: []string{"ERROR"}, Ignore: []string{"expected"}}, {Match: []string{"expected"}}},
			block: "ERROR real\nERROR expected\nnothing\n",
			want:  []hit{{"ERROR real", 0}, {"ERROR expected", 1}},
		},
		{
			name:  "global ignore drops for every rule",
			rules: []Rule{{Match: []string{"ERROR"}}, {}},
			opts:  Options{Ignore: []string{"healthz"}},
			block: "ERROR healthz\nGET /healthz\nGET /\nERROR x",
			want:  []hit{{"GET /", 1}, {"ERROR x", 0}},
		},
		{
			name:  "rule without match selects all",
			rules: []Rule{{Name: "rest", Ignore: []string{"^#"}}},
			block: "# comment\nline\n",
			want:  []hit{{"line", 0}},
		},
		{
			name:  "CRLF keeps carriage return",
			rules: []Rule{{Match: []string{`ERROR\r$`}}},
			block: "a ERROR\r\nb ERROR\nERROR\r",
			want:  []hit{{"a ERROR\r", 0}, {"ERROR\r", 0}},
		},
		{
			name:  "dollar does not see the carriage return as line end",
			rules: []Rule{{Match: []string{`ERROR$`}}},
			block: "a ERROR\r\nb ERROR\n",
			want:  []hit{{"b ERROR", 0}},
		},
		{
			name:  "last line without newline",
			rules: []Rule{{Match: []string{"end"}}},
			block: "x\nthe end",
			want:  []hit{{"the end", 0}},
		},
		{
			name:  "NUL bytes are bytes",
			rules: []Rule{{Match: []string{"a\x00b"}, Fixed: true}},
			block: "a\x00b\nab\n\x00\x00a\x00b",
			want:  []hit{{"a\x00b", 0}, {"\x00\x00a\x00b", 0}},
		},
		{
			name:  "invalid UTF-8 matches dot and replacement char",
			rules: []Rule{{Match: []string{"x\uFFFDy", `^a.b$`}}},
			block: "x\xffy\na\xfeb\nxy\n",
			want:  []hit{{"x\xffy", 0}, {"a\xfeb", 0}},
		},
		{
			name:  "empty lines and ^$",
			rules: []Rule{{Match: []string{"^$"}}},
			block: "\n\nx\n\n",
			want:  []hit{{"", 0}, {"", 0}, {"", 0}},
		},
		{
			name:  "anchors apply per line",
			rules: []Rule{{Match: []string{"^ERROR", "done$"}}},
			block: "ERROR a\nx ERROR\nall done\ndone x\n",
			want:  []hit{{"ERROR a", 0}, {"all done", 0}},
		},
		{
			name:  "ignore case with kelvin and long s",
			rules: []Rule{{Match: []string{"disk"}, IgnoreCase: true}},
			block: "DISK\ndi\u017f\u212a\nDi\u017fK\ndis\n",
			want:  []hit{{"DISK", 0}, {"di\u017f\u212a", 0}, {"Di\u017fK", 0}},
		},
		{
			name:  "forced ignore case and fixed",
			rules: []Rule{{Match: []string{"a.b"}}},
			opts:  Options{IgnoreCase: true, Fixed: true},
			block: "A.B\naxb\n",
			want:  []hit{{"A.B", 0}},
		},
		{
			name:  "alternation literals",
			rules: []Rule{{Match: []string{"ERROR|FATAL|panic"}}},
			block: "ok\npanic: x\nFATAL\nErRoR\n",
			want:  []hit{{"panic: x", 0}, {"FATAL", 0}},
		},
		{
			name:  "several literals in several rules",
			rules: []Rule{{Match: []string{"FATAL"}}, {Match: []string{"ERROR", "panic"}}},
			block: "ERROR FATAL\npanic\nnone\nFATAL",
			want:  []hit{{"ERROR FATAL", 0}, {"panic", 1}, {"FATAL", 0}},
		},
		{
			name:  "prefilter hit that fails the regexp",
			rules: []Rule{{Match: []string{`id=\d+`}}},
			block: "id=x\nid=1\nid=\nid=22",
			want:  []hit{{"id=1", 0}, {"id=22", 0}},
		},
		{
			name:  "empty block",
			rules: []Rule{{Match: []string{"x"}}},
			block: "",
		},
		{
			name:  "empty pattern selects every line",
			rules: []Rule{{Match: []string{""}}},
			block: "a\n\n",
			want:  []hit{{"a", 0}, {"", 0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Compile(tt.rules, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			block := []byte(tt.block)
			got := collect(t, m, block)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Next lines = %v, want %v", got, tt.want)
			}
			if ref := reference(m, block); !slices.Equal(ref, tt.want) {
				t.Errorf("Select lines = %v, want %v", ref, tt.want)
			}
		})
	}
}

func TestNextFromMidBlock(t *testing.T) {
	m, err := Compile([]Rule{{Match: []string{"x"}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	block := []byte("x1\nx2\nx3\n")
	start, end, _, ok := m.Next(block, 3)
	if !ok || string(block[start:end]) != "x2" {
		t.Fatalf("Next(from=3) = %q, %v; want x2", block[start:end], ok)
	}
	if _, _, _, ok := m.Next(block, len(block)); ok {
		t.Fatal("Next(from=len) reported a line")
	}
}

// TestNextLongBlock crosses the window sizes of the multi-literal search.
func TestNextLongBlock(t *testing.T) {
	var b bytes.Buffer
	var want []hit
	for i := range 20000 {
		switch {
		case i%997 == 0:
			fmt.Fprintf(&b, "line %d FATAL\n", i)
			want = append(want, hit{fmt.Sprintf("line %d FATAL", i), 0})
		case i%13 == 0:
			fmt.Fprintf(&b, "line %d error\n", i)
			want = append(want, hit{fmt.Sprintf("line %d error", i), 1})
		case i == 19999:
			fmt.Fprintf(&b, "line %d panic", i)
			want = append(want, hit{fmt.Sprintf("line %d panic", i), 2})
		default:
			fmt.Fprintf(&b, "line %d fine\n", i)
		}
	}
	m, err := Compile([]Rule{
		{Match: []string{"FATAL"}},
		{Match: []string{"ERROR"}, IgnoreCase: true},
		{Match: []string{"panic$"}},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.pre == nil {
		t.Fatal("expected a prefilter")
	}
	if got := collect(t, m, b.Bytes()); !slices.Equal(got, want) {
		t.Errorf("got %d lines, want %d", len(got), len(want))
	}
	withoutSIMD(func() {
		if got := collect(t, m, b.Bytes()); !slices.Equal(got, want) {
			t.Errorf("without SIMD: got %d lines, want %d", len(got), len(want))
		}
	})
}

func TestPatternError(t *testing.T) {
	tests := []struct {
		name  string
		rules []Rule
		opts  Options
		want  string
	}{
		{
			name:  "match",
			rules: []Rule{{Match: []string{"ok", "a(b"}}},
			want:  "rules[0].match[1]: bad pattern \"a(b\": error parsing regexp: missing closing ): `a(b`",
		},
		{
			name:  "named rule ignore with ignore case",
			rules: []Rule{{Match: []string{"x"}}, {Name: "web", Match: []string{"y"}, Ignore: []string{"[z"}, IgnoreCase: true}},
			want:  "rules[1].ignore[0] (rule \"web\"): bad pattern \"[z\": error parsing regexp: missing closing ]: `[z`",
		},
		{
			name: "global ignore",
			opts: Options{Ignore: []string{"*"}},
			want: "ignore[0]: bad pattern \"*\": error parsing regexp: missing argument to repetition operator: `*`",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.rules, tt.opts)
			if err == nil {
				t.Fatal("Compile succeeded")
			}
			if err.Error() != tt.want {
				t.Errorf("error = %s\nwant    %s", err, tt.want)
			}
			var pe *PatternError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *PatternError", err)
			}
			var se *syntax.Error
			if !errors.As(err, &se) {
				t.Errorf("PatternError does not unwrap to the regexp error")
			}
		})
	}
}

func TestLiterals(t *testing.T) {
	tests := []struct {
		pattern string
		fold    bool
		want    []string // "i:" marks a case-insensitive literal; nil: no prefilter
		pure    bool
	}{
		{"ERROR", false, []string{"ERROR"}, true},
		{"ERROR", true, []string{"i:error"}, true},
		{"ERROR|FATAL|panic", false, []string{"ERROR", "FATAL", "panic"}, false},
		{"ERROR|ERRNO", false, []string{"ERROR", "ERRNO"}, false},
		{`deadbeef-[0-9a-f]{8}`, false, []string{"deadbeef-"}, false},
		{`latency_ms":9[0-9][0-9]`, false, []string{`latency_ms":9`}, false},
		{`^\s*at (com|org)\.`, false, []string{"at com.", "at org."}, false},
		{`(foo)+bar`, false, []string{"bar"}, false},
		{`x{2,}`, false, []string{"x"}, false},
		{`a[bB]c`, false, []string{"abc", "aBc"}, false},
		{`\d+`, false, nil, false},
		{`.*`, false, nil, false},
		{`x*`, false, nil, false},
		{``, false, nil, false},
		{`a|\d`, false, nil, false},
		{"disk full", true, []string{"i: full"}, false},
		{"k", true, []string{"K", "k", "\u212a"}, false},
		{"k8s-node", true, []string{"i:-node"}, false},
		{"sk", true, []string{"sk", "sK", "s\u212a", "Sk", "SK", "S\u212a", "\u017fk", "\u017fK", "\u017f\u212a"}, false},
		{"é", true, []string{"é", "É"}, false},
		{"café au lait", true, []string{"i: au lait"}, false},
		{"café", false, []string{"café"}, true},
		{"a\uFFFDbc", false, []string{"bc"}, false},
		{"user_id=", true, []string{"i:er_id="}, false},
		{"12:00", true, []string{"12:00"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			p, lits, err := compilePattern(tt.pattern, tt.fold, false, boundNone)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range lits {
				s := string(l.s)
				if l.fold {
					s = "i:" + s
				}
				got = append(got, s)
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("literals = %q, want %q", got, want)
			}
			if (p.lit != nil) != tt.pure {
				t.Errorf("pure literal = %v, want %v", p.lit != nil, tt.pure)
			}
		})
	}
}

// TestFoldOrbits pins the fact the prefilter relies on: among ASCII, only
// letters fold, and only k and s fold to something outside ASCII.
func TestFoldOrbits(t *testing.T) {
	for c := range 128 {
		re := regexp.MustCompile("(?i)" + regexp.QuoteMeta(string(rune(c))))
		// The whole BMP is 8M regexp runs, two minutes under the race
		// detector; there, only the case-folding orbit that regexp/syntax
		// folds by (unicode.SimpleFold) is checked.
		candidates := func(yield func(rune) bool) {
			if raceEnabled {
				for r := unicode.SimpleFold(rune(c)); r != rune(c); r = unicode.SimpleFold(r) {
					if !yield(r) {
						return
					}
				}
				return
			}
			for r := range rune(0x10000) {
				if !yield(r) {
					return
				}
			}
		}
		for r := range candidates {
			if r == rune(c) || !re.MatchString(string(r)) {
				continue
			}
			lc := byte(c) | 0x20
			switch {
			case r < 128 && isLower(lc) && byte(r)|0x20 == lc:
			case r == 0x212a && lc == 'k', r == 0x17f && lc == 's':
			default:
				t.Errorf("(?i)%q matches %U, which the prefilter does not expect", rune(c), r)
			}
		}
	}
}

func TestIndexFold(t *testing.T) {
	tests := []struct {
		hay, needle string
		want        int
	}{
		{"", "a", -1},
		{"a", "a", 0},
		{"xxxxxxxxxxxxxxxxxxxxxxxxA", "a", 24},
		{"some text with ErRoR inside and more text", "error", 15},
		{"errorERROR", "ERROR", 0},
		{"erro", "error", -1},
		{"@[\\]^_ ", "`{|}~\x7f", -1},
		{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-NODE", "-node", 31},
		{"errorerror", "rore", 2},
		{"xrxoxxxxxxxxxxxxxxxxxxxxxxErRoR", "error", 26}, // the two tested bytes match at 0
		{"xrxoxxxxxxxxxxxxxxx", "error", -1},
		{strings.Repeat("e", 100) + "rr", "err", 99},
	}
	for _, tt := range tests {
		t.Run(tt.needle, func(t *testing.T) {
			l := newLiteral([]byte(tt.needle), true)
			if got := l.index([]byte(tt.hay)); got != tt.want {
				t.Errorf("index(%q) = %d, want %d", tt.hay, got, tt.want)
			}
		})
	}
}

func TestHighlightPatternRuleName(t *testing.T) {
	m, err := Compile([]Rule{
		{Name: "db", Match: []string{"timeout", `conn=\d+`}, IgnoreCase: true},
		{Match: []string{"x*"}},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	line := []byte("TIMEOUT conn=42 timeout")
	var spans [][2]int
	for s, e := range m.Spans(line, 0) {
		spans = append(spans, [2]int{s, e})
	}
	if want := [][2]int{{0, 7}, {8, 15}, {16, 23}}; !slices.Equal(spans, want) {
		t.Errorf("Highlight spans = %v, want %v", spans, want)
	}
	spans = nil
	for s, e := range m.Spans([]byte("abc"), 1) {
		spans = append(spans, [2]int{s, e})
	}
	if len(spans) != 0 {
		t.Errorf("empty matches were highlighted: %v", spans)
	}
	if got := m.Pattern([]byte("conn=1 Timeout"), 0); got != "timeout" {
		t.Errorf("Pattern = %q, want timeout", got)
	}
	if got := m.Pattern([]byte("conn=1"), 0); got != `conn=\d+` {
		t.Errorf("Pattern = %q, want conn=\\d+", got)
	}
	if got := m.Pattern([]byte("nothing"), 0); got != "" {
		t.Errorf("Pattern = %q, want empty", got)
	}
	if m.RuleName(0) != "db" || m.RuleName(1) != "" || m.RuleName(-1) != "" || m.RuleName(5) != "" {
		t.Error("RuleName mismatch")
	}
}

func TestHighlight(t *testing.T) {
	tests := []struct {
		name string
		rule Rule
		line string
		want [][2]int
	}{
		{"quote to end of pattern", Rule{Match: []string{`\Qa.b`, "x"}}, "a.b x axb", [][2]int{{0, 3}, {4, 5}, {7, 8}}},
		{"anchor keeps its meaning", Rule{Match: []string{"^ab", "b"}}, "abab", [][2]int{{0, 2}, {3, 4}}},
		{"overlap: earlier start wins", Rule{Match: []string{"bcd", "abc"}}, "abcd", [][2]int{{0, 3}}},
		{"same start: earlier pattern wins", Rule{Match: []string{"ab", "abc"}}, "abc", [][2]int{{0, 2}}},
		{"fixed and folded", Rule{Match: []string{"A+"}, Fixed: true, IgnoreCase: true}, "a+ A+ aa", [][2]int{{0, 2}, {3, 5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Compile([]Rule{tt.rule}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got [][2]int
			for s, e := range m.Spans([]byte(tt.line), 0) {
				got = append(got, [2]int{s, e})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("spans = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestGolden runs a rule set over testdata/sample.log and compares the
// selected lines, their rules and highlights with testdata/sample.golden.
func TestGolden(t *testing.T) {
	log, err := os.ReadFile(filepath.Join("testdata", "sample.log"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Compile([]Rule{
		{Name: "fatal", Match: []string{"FATAL|panic:"}},
		{Name: "error", Match: []string{`\bERROR\b`, `status=5\d\d`}, Ignore: []string{"retrying"}},
		{Name: "slow", Match: []string{`latency_ms":[1-9]\d{3}`}},
		{Name: "auth", Match: []string{"failed password"}, IgnoreCase: true},
	}, Options{Ignore: []string{"healthz"}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, h := range collect(t, m, log) {
		line := []byte(h.Line)
		fmt.Fprintf(&out, "%s\t%s\t", m.RuleName(h.Rule), m.Pattern(line, h.Rule))
		prev := 0
		for s, e := range m.Spans(line, h.Rule) {
			fmt.Fprintf(&out, "%s[%s]", line[prev:s], line[s:e])
			prev = e
		}
		fmt.Fprintf(&out, "%s\n", line[prev:])
	}
	golden := filepath.Join("testdata", "sample.golden")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("output differs from %s (run with -update to rewrite):\n%s", golden, out.Bytes())
	}
}

func TestConcurrentNext(t *testing.T) {
	block := genLog(1<<20, 1)
	m, err := Compile([]Rule{{Match: []string{"ERROR", "FATAL"}}, {Match: []string{"error"}, IgnoreCase: true}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := collect(t, m, block)
	var wg sync.WaitGroup
	results := make([]int, 4)
	for g := range results {
		wg.Go(func() {
			n := 0
			for from := 0; ; n++ {
				_, end, _, ok := m.Next(block, from)
				if !ok {
					break
				}
				from = end + 1
			}
			results[g] = n
		})
	}
	wg.Wait()
	for g, n := range results {
		if n != len(want) {
			t.Errorf("goroutine %d saw %d lines, want %d", g, n, len(want))
		}
	}
}

func TestNextDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	block := genLog(256<<10, 1)
	for _, pats := range benchPatterns {
		for _, o := range []Options{{}, {Word: true}, {Line: true}} {
			t.Run(fmt.Sprintf("%s/w=%v/x=%v", pats.name, o.Word, o.Line), func(t *testing.T) {
				o.Ignore = []string{"never-there-xyz"}
				m, err := Compile([]Rule{{Match: pats.match, IgnoreCase: pats.fold}}, o)
				if err != nil {
					t.Fatal(err)
				}
				allocs := testing.AllocsPerRun(3, func() { scanAll(m, block) })
				if allocs != 0 {
					t.Errorf("scanning a block allocated %v times", allocs)
				}
			})
		}
	}
}

// TestLiteralAlternation checks that an alternation of literals in one
// pattern selects what RE2 selects, is searched as pure literals (a hit
// proves its line), and keeps the user's pattern for JSON.
func TestLiteralAlternation(t *testing.T) {
	lines := []string{"an ERROR here", "FATAL: x", "panic: y", "fine", "Error lower", "erroneous FATALITY"}
	for _, pat := range []string{"ERROR|FATAL|panic", "FATAL|ERROR", "foo|foobar", "a|b", "(?i)error|fatal", "ERROR|ERRNO|EROFS", "a||b", "a.b|c"} {
		m, err := Compile([]Rule{{Match: []string{pat}}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(pat)
		for _, l := range lines {
			_, got := m.Select([]byte(l))
			if want := re.MatchString(l); got != want {
				t.Errorf("%q on %q: selected %v, regexp %v", pat, l, got, want)
			}
			if got && m.Pattern([]byte(l), 0) != pat {
				t.Errorf("%q: Pattern = %q", pat, m.Pattern([]byte(l), 0))
			}
		}
	}
	m, err := Compile([]Rule{{Match: []string{"ERROR|FATAL|panic"}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.hit != hitProves {
		t.Errorf("ERROR|FATAL|panic is not searched as pure literals (hit %d)", m.hit)
	}
	// The parser would factor this into u0(?:0(?:20|40)|100); the text says
	// it is three literals.
	m, err = Compile([]Rule{{Match: []string{"u0020|u0040|u0100"}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.rules[0].match) != 3 || m.hit != hitProves {
		t.Errorf("u0020|u0040|u0100: %d patterns, hit %d; want 3 pure literals", len(m.rules[0].match), m.hit)
	}
}
