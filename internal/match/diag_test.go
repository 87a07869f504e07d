package match

import (
	"errors"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"
)

func TestPatternWarnings(t *testing.T) {
	tests := []struct {
		pattern string
		want    []string // the escapes warned about, in order
	}{
		{`ERROR|FATAL`, nil},
		{`ERROR\|FATAL`, []string{`\|`}},
		{`\<word\>`, []string{`\<`, `\>`}},
		{`a\{2,3\}`, []string{`\{`, `\}`}},
		{`\(ab\)*`, []string{`\(`, `\)`}},
		{`a\+b\?`, []string{`\+`, `\?`}},
		{`\|x\|y`, []string{`\|`}}, // once each
		{`\\|x`, nil},              // an escaped backslash, then alternation
		{`[\(\|]`, nil},            // bracket expressions are left alone
		{`[]\|]`, nil},
		{`[^]\(]x\(`, []string{`\(`}},
		{`[[:alpha:]\|]\|`, []string{`\|`}},
		{`\Q\|\E\|`, []string{`\|`}}, // quoted text is left alone
		{`\Q\|`, nil},
		{`(a)\12`, []string{`\12`}},
		{`(a)\177x`, []string{`\177`}},
		{`\0`, nil}, // NUL in RE2; no backreference in grep
		{`\d+\.\d`, nil},
		{`x\`, nil}, // does not compile; nothing to warn about
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			ws := PatternWarnings(tt.pattern)
			var got []string
			for _, w := range ws {
				esc, _, _ := strings.Cut(w, " ")
				got = append(got, esc)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("warnings for %q = %q, want about %q", tt.pattern, ws, tt.want)
			}
		})
	}
	for _, tt := range []struct{ pattern, want string }{
		{`a\|b`, `\| is a literal "|" in RE2 syntax, not alternation as in grep's basic regexps; write a|b`},
		{`\<`, `\< is a literal "<" in RE2 syntax, not the start of a word as in grep; use -w, or \b for an ASCII word boundary`},
		{`(a)\12`, `\12 is the octal code of U+000A in RE2 syntax, not backreference \1 followed by "2" as in grep; RE2 has no backreferences`},
	} {
		if got := PatternWarnings(tt.pattern); len(got) != 1 || got[0] != tt.want {
			t.Errorf("PatternWarnings(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
}

func TestBackreferenceError(t *testing.T) {
	for _, tt := range []struct {
		rules []Rule
		want  string
	}{
		{[]Rule{{Match: []string{`(a)\1`}}}, "rules[0].match[0]: bad pattern \"(a)\\\\1\": error parsing regexp: invalid escape sequence: `\\1`: RE2 syntax has no backreferences (grep's \\1 repeats what a group matched)"},
		{[]Rule{{Match: []string{`x`}, Ignore: []string{`(.)\9`}}}, "rules[0].ignore[0]: bad pattern \"(.)\\\\9\": error parsing regexp: invalid escape sequence: `\\9`: RE2 syntax has no backreferences (grep's \\9 repeats what a group matched)"},
		{[]Rule{{Match: []string{`\q`}}}, "rules[0].match[0]: bad pattern \"\\\\q\": error parsing regexp: invalid escape sequence: `\\q`"},
	} {
		_, err := Compile(tt.rules, Options{Word: true})
		if err == nil || err.Error() != tt.want {
			t.Errorf("error = %v\nwant    %s", err, tt.want)
			continue
		}
		var pe *PatternError
		var se *syntax.Error
		if !errors.As(err, &pe) || !errors.As(err, &se) || se.Code != syntax.ErrInvalidEscape {
			t.Errorf("%v: not a *PatternError wrapping the *syntax.Error", err)
		}
	}
}
