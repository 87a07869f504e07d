package match

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// These tests run GNU grep (and rg for the word characters) on small
// files and compare with the matcher, so that -w and -x keep meaning what
// they mean to a grep user. They skip when the tool is missing.

// tool returns the path of a program for the comparison tests, or skips.
func tool(t *testing.T, name, versionWant string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not found (%v): cannot compare with it", name, err)
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil || !strings.Contains(string(out), versionWant) {
		t.Skipf("%s is not %s: cannot compare with it", path, versionWant)
	}
	return path
}

// run runs a tool in the C.UTF-8 locale, where grep's word characters are
// Unicode's, and returns its output; exit status 1 (nothing selected) is
// not an error.
func run(t *testing.T, path string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "GREP_COLORS=", "RIPGREP_CONFIG_PATH=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		t.Fatalf("%s %q: %v: %s", path, args, err, stderr.Bytes())
	}
	return out
}

// grepLines are the lines that the grep comparisons search.
var grepLines = []string{
	"foo", "foobar foo", "foobar", "foo_bar", "foo-bar foo.", "xfoo foox", "foo foo",
	"école", "l'école, cole", "cole²", "coleⅫ", "日本 cole", "日本cole", "«日本»",
	"foo12x foo3", "xfoo1 foo22", "singing, ringing", "Xsing sing",
	"a foo", "  foo", "a.b a+b", "xa.b A.B.", "ERROR: x", "error", "ERRORS",
	"", " ", "-", "_", "a b", "a  b", "abc ", "bar foo", "foo bar\r",
	"\xfffoo\xff", "x\xff\xfe foo",
}

func TestWordLineAgainstGrep(t *testing.T) {
	grep := tool(t, "grep", "GNU grep")
	file := filepath.Join(t.TempDir(), "lines")
	if err := os.WriteFile(file, []byte(strings.Join(grepLines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		flags string // grep's: w, x, i, F
		pats  []string
	}{
		{"w", []string{"foo"}}, {"w", []string{"cole"}}, {"w", []string{"日本"}},
		{"w", []string{"foo[0-9]+"}}, {"w", []string{"[a-z]+ing"}}, {"w", []string{"^foo", "bar$"}},
		{"w", []string{" foo"}}, {"w", []string{"x*"}}, {"w", []string{""}}, {"w", []string{"foo", "bar"}},
		{"wF", []string{"a.b"}}, {"wi", []string{"error"}}, {"wiF", []string{"A.B"}},
		{"x", []string{""}}, {"x", []string{"foo"}}, {"x", []string{"a|ab", "-"}}, {"xi", []string{"FOO"}},
		{"wx", []string{"foo"}}, {"x", []string{"foo bar\r"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("-%s %q", tt.flags, tt.pats), func(t *testing.T) {
			opts := Options{Word: strings.Contains(tt.flags, "w"), Line: strings.Contains(tt.flags, "x")}
			rule := Rule{Match: tt.pats, IgnoreCase: strings.Contains(tt.flags, "i"), Fixed: strings.Contains(tt.flags, "F")}
			m, err := Compile([]Rule{rule}, opts)
			if err != nil {
				t.Fatal(err)
			}
			args := []string{"-a", "-n", "-" + tt.flags}
			if !rule.Fixed {
				args = append(args, "-E")
			}
			for _, p := range tt.pats {
				args = append(args, "-e", p)
			}
			// Selected lines, as grep -n prints them, and each match, as
			// grep -o -b -n prints it.
			var sel, only bytes.Buffer
			off := 0
			for i, l := range grepLines {
				if _, ok := m.Select([]byte(l)); ok {
					fmt.Fprintf(&sel, "%d:%s\n", i+1, l)
					for s, e := range m.Spans([]byte(l), 0) {
						fmt.Fprintf(&only, "%d:%d:%s\n", i+1, off+s, l[s:e])
					}
				}
				off += len(l) + 1
			}
			if want := run(t, grep, append(args, file)...); !bytes.Equal(sel.Bytes(), want) {
				t.Errorf("selected lines differ from grep %q:\n got: %q\nwant: %q", args, sel.Bytes(), want)
			}
			if opts.Word && opts.Line {
				return // grep 3.8 -w -x -o prints an empty line after each match
			}
			args = append(args, "-o", "-b")
			if want := run(t, grep, append(args, file)...); !bytes.Equal(only.Bytes(), want) {
				t.Errorf("match spans differ from grep %q:\n got: %q\nwant: %q", args, only.Bytes(), want)
			}
		})
	}
}

// wordProbes are characters around which -w is probed, with whether grep
// is expected to disagree with us (see word.go).
var wordProbes = []struct {
	r        rune
	grepDiff bool
}{
	{'a', false}, {'Z', false}, {'7', false}, {'_', false}, {'-', false}, {' ', false}, {'.', false},
	{'é', false}, {'ß', false}, {'日', false}, {'ʰ', false}, {'ª', false}, // letters, Lm, Lo
	{'٣', false}, {'１', false}, {'Ⅻ', false}, {'ⅰ', false}, {'〇', false}, // Nd, Nl
	{'²', false}, {'½', false}, {'①', false}, // No: not word characters
	{'Ⓐ', false}, {'ⓐ', false}, {'\u0345', false}, {'\u093e', false}, {'\u0903', false}, // other Alphabetic
	{'·', false}, {'′', false}, {'\u00ad', false}, {'€', false}, // punctuation, symbols, format
	{'\u0301', true}, {'\u20dd', true}, // marks that are not Alphabetic: word characters to rg, not grep
	{'‿', true}, {'＿', true}, // connector punctuation
	{'\u200c', true}, {'\u200d', true}, // joiners
}

// TestWordCharsAgainstGrepAndRipgrep probes -w with each character next to
// a word, to check isWordRune against rg 13 and GNU grep.
func TestWordCharsAgainstGrepAndRipgrep(t *testing.T) {
	var lines []string
	for _, p := range wordProbes {
		lines = append(lines, "x"+string(p.r)+"foo", "foo"+string(p.r)+"x")
	}
	file := filepath.Join(t.TempDir(), "lines")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, name string, out []byte, diff func(int) bool) {
		nonWord := lineNumbers(out)
		for i, l := range lines {
			p := wordProbes[i/2]
			if (isWordRune(p.r) == !nonWord[i]) == diff(i/2) {
				t.Errorf("%q U+%04X: word character to %s: %v, to isWordRune: %v", l, p.r, name, !nonWord[i], isWordRune(p.r))
			}
		}
	}
	t.Run("grep", func(t *testing.T) {
		grep := tool(t, "grep", "GNU grep")
		check(t, "grep", run(t, grep, "-n", "-w", "-o", "-e", "foo", file), func(i int) bool { return wordProbes[i].grepDiff })
	})
	t.Run("rg", func(t *testing.T) {
		rg := tool(t, "rg", "ripgrep")
		check(t, "rg", run(t, rg, "-n", "-w", "-o", "-e", "foo", file), func(int) bool { return false })
	})
}

// TestWordCharsAgainstRipgrepExhaustive checks isWordRune against rg on
// every character that rg's Unicode tables know (rg 13 is older than Go's
// Unicode 15, so newer characters are left out: rg reports them as \p{Cn}).
func TestWordCharsAgainstRipgrepExhaustive(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	rg := tool(t, "rg", "ripgrep")
	var b bytes.Buffer
	var rs []rune
	for r := rune(0x80); r <= unicode.MaxRune; r++ {
		if !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs, unicode.Cf) {
			continue
		}
		rs = append(rs, r)
		b.WriteString("x")
		b.WriteString(string(r))
		b.WriteString("foo\n")
	}
	file := filepath.Join(t.TempDir(), "lines")
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// rg 13's -w wraps the pattern in (?:^|\W) and (?:\W|$), so its word
	// characters are its \w, which is much faster to ask about than -w.
	word := lineNumbers(run(t, rg, "-n", "-o", "-r", "", "-e", `^x\w`, file))
	unknown := lineNumbers(run(t, rg, "-n", "-o", "-r", "", "-e", `^x\p{Cn}`, file))
	bad := 0
	for i, r := range rs {
		if unknown[i] || isWordRune(r) == word[i] {
			continue
		}
		if bad++; bad <= 20 {
			t.Errorf("U+%04X %q: word character to rg: %v, to isWordRune: %v", r, string(r), word[i], isWordRune(r))
		}
	}
	if len(unknown) > len(rs)/10 {
		t.Errorf("rg knows too few characters: %d of %d unknown", len(unknown), len(rs))
	}
	if bad > 20 {
		t.Errorf("... %d characters in all", bad)
	}
	t.Logf("%d characters compared, %d unknown to rg", len(rs)-len(unknown), len(unknown))
}

// lineNumbers returns the 0-based indexes of the lines that -n output names.
func lineNumbers(out []byte) map[int]bool {
	set := map[int]bool{}
	for _, l := range bytes.Split(out, []byte("\n")) {
		num, _, _ := bytes.Cut(l, []byte(":"))
		if n, err := strconv.Atoi(string(num)); err == nil {
			set[n-1] = true
		}
	}
	return set
}
