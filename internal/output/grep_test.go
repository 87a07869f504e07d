package output

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/logscan/logscan/internal/match"
)

// TestAgainstGrep feeds the same lines to GNU grep and to a Printer and
// compares the bytes, for the options that grep users rely on: -b, -Z, -o,
// -c, -l, -L, context, -v, -w, -x and colours from GREP_COLORS. The test
// plays the part of the search: it selects the lines with a match.Matcher
// for the fixed string "foo", takes its spans, finds the context, and
// hands the Printer the records grep would print.
func TestAgainstGrep(t *testing.T) {
	grep, err := exec.LookPath("grep")
	if err != nil {
		t.Skipf("grep not found (%v): cannot compare with it", err)
	}
	if out, err := exec.Command(grep, "--version").Output(); err != nil || !bytes.Contains(out, []byte("GNU grep")) {
		t.Skipf("%s is not GNU grep: cannot compare with it", grep)
	}
	dir := t.TempDir()
	files := map[string]string{
		"a.log": "one\nfoo two foo\nthree\r\nfour foo\nfive\nsix\nseven foo\r\n\nnine\nten\nfoofoo\nfoo_x foo\n",
		"b.log": "nothing\nhere\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []grepCase{
		{name: "plain", opts: Options{Filename: true, LineNumbers: true}},
		{name: "-b", opts: Options{ByteOffset: true}},
		{name: "-Hnb", opts: Options{Filename: true, LineNumbers: true, ByteOffset: true}},
		{name: "-o", opts: Options{OnlyMatching: true}},
		{name: "-onbH", opts: Options{OnlyMatching: true, Filename: true, LineNumbers: true, ByteOffset: true}},
		{name: "-o with context", opts: Options{OnlyMatching: true, LineNumbers: true}, before: 1, after: 1},
		{name: "-ZHn with context", opts: Options{Null: true, Filename: true, LineNumbers: true}, after: 1},
		{name: "-Zl", opts: Options{Null: true}, mode: "-l"},
		{name: "-ZL", opts: Options{Null: true}, mode: "-L"},
		{name: "-Zc", opts: Options{Null: true, Filename: true}, mode: "-c"},
		{name: "-c", opts: Options{Filename: true}, mode: "-c"},
		{name: "color", opts: Options{Color: true, Filename: true, LineNumbers: true, ByteOffset: true}},
		{name: "color with context", opts: Options{Color: true, Filename: true, LineNumbers: true, ByteOffset: true}, before: 1, after: 2},
		{name: "-oZH", opts: Options{OnlyMatching: true, Null: true, Filename: true}},
		{name: "color -o", opts: Options{Color: true, OnlyMatching: true, Filename: true, ByteOffset: true}},
		{name: "color -Z", opts: Options{Color: true, Null: true, Filename: true, LineNumbers: true}},
		{name: "color -l", opts: Options{Color: true}, mode: "-l"},
		{name: "color -c", opts: Options{Color: true, Filename: true}, mode: "-c"},
		{name: "sl and cx", colors: "sl=1:cx=2:mt=01;32", opts: Options{Color: true, LineNumbers: true}, before: 1, after: 1},
		{name: "ne", colors: "ne:ms=4", opts: Options{Color: true, Filename: true, LineNumbers: true}, after: 1},
		{name: "empty ms", colors: "ms=:ln=", opts: Options{Color: true, LineNumbers: true}},
		{name: "empty ms with sl", colors: "ms=:sl=7", opts: Options{Color: true, LineNumbers: true}},
		{name: "malformed keeps what came before", colors: "fn=31:ms=x1:ln=33", opts: Options{Color: true, Filename: true, LineNumbers: true}},
		{name: "unknown and empty names", colors: "zz=1::bn=34:se", opts: Options{Color: true, ByteOffset: true, Filename: true}},
		{name: "-v with context", opts: Options{Color: true, Invert: true, LineNumbers: true}, before: 1},
		{name: "-v rv", colors: "rv:sl=1:cx=2:mc=35", opts: Options{Color: true, Invert: true, LineNumbers: true}, after: 1},
		{name: "-v -o with context", opts: Options{OnlyMatching: true, Invert: true, LineNumbers: true}, after: 1},
		{name: "-w color", word: true, opts: Options{Color: true, Filename: true, LineNumbers: true}},
		{name: "-w -o -b", word: true, opts: Options{OnlyMatching: true, ByteOffset: true}},
		{name: "-x color -b", line: true, opts: Options{Color: true, ByteOffset: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.runGrep(t, grep, dir)
			got := tt.print(t, files)
			if !bytes.Equal(got, want) {
				t.Errorf("grep %q (GREP_COLORS=%q) printed\n%q\nthe Printer\n%q", tt.grepArgs(), tt.colors, want, got)
			}
		})
	}
}

// grepCase is one grep invocation on a.log and b.log with the fixed
// string "foo".
type grepCase struct {
	name          string
	opts          Options
	colors        string // GREP_COLORS
	before, after int
	mode          string // "", "-c", "-l" or "-L"
	word, line    bool   // -w, -x
}

func (c *grepCase) grepArgs() []string {
	args := []string{"-F", "-e", "foo"}
	for _, f := range []struct {
		on   bool
		flag string
	}{
		{c.opts.Filename, "-H"}, {!c.opts.Filename, "-h"}, {c.opts.LineNumbers, "-n"}, {c.opts.ByteOffset, "-b"},
		{c.opts.Null, "-Z"}, {c.opts.OnlyMatching, "-o"}, {c.opts.Invert, "-v"}, {c.mode != "", c.mode},
		{c.word, "-w"}, {c.line, "-x"},
	} {
		if f.on {
			args = append(args, f.flag)
		}
	}
	if c.opts.Color {
		args = append(args, "--color=always")
	}
	if c.before > 0 {
		args = append(args, "-B", strconv.Itoa(c.before))
	}
	if c.after > 0 {
		args = append(args, "-A", strconv.Itoa(c.after))
	}
	return append(args, "a.log", "b.log")
}

func (c *grepCase) runGrep(t *testing.T, grep, dir string) []byte {
	t.Helper()
	cmd := exec.Command(grep, c.grepArgs()...)
	cmd.Dir = dir
	cmd.Env = []string{"LC_ALL=C.UTF-8", "PATH=" + os.Getenv("PATH")}
	if c.colors != "" {
		cmd.Env = append(cmd.Env, "GREP_COLORS="+c.colors)
	}
	out, err := cmd.Output()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		t.Fatalf("grep %q: %v", c.grepArgs(), err)
	}
	return out
}

// print does what the search does for grep's output: select with a
// match.Matcher, count, find context and spans, and print.
func (c *grepCase) print(t *testing.T, files map[string]string) []byte {
	m, err := match.Compile([]match.Rule{{Match: []string{"foo"}, Fixed: true}}, match.Options{Word: c.word, Line: c.line})
	if err != nil {
		t.Fatal(err)
	}
	opts := c.opts
	if c.colors != "" {
		colors := ParseGrepColors(c.colors)
		opts.Colors = &colors
	}
	p := NewPrinter(opts)
	var out []byte
	printed := false // any line so far, for the "--" between groups
	for _, name := range []string{"a.log", "b.log"} {
		lines := strings.SplitAfter(files[name], "\n")
		lines = lines[:len(lines)-1]
		selected := make([]bool, len(lines))
		n := int64(0)
		for i, l := range lines {
			_, ok := m.Select([]byte(strings.TrimSuffix(l, "\n")))
			selected[i] = ok != opts.Invert
			if selected[i] {
				n++
			}
		}
		switch {
		case c.mode == "-c":
			out = p.AppendCount(out, name, n)
			continue
		case c.mode == "-l" && n > 0, c.mode == "-L" && n == 0:
			out = p.AppendPath(out, name)
			continue
		case c.mode != "":
			continue
		}
		last, off := -2, int64(0)
		for i, l := range lines {
			text := []byte(strings.TrimSuffix(l, "\n"))
			if show, ctx := c.shown(selected, i); show {
				if (c.before > 0 || c.after > 0) && printed && i != last+1 {
					out = p.AppendSeparator(out)
				}
				r := Record{Path: name, Line: int64(i + 1), Offset: off, Text: text, Context: ctx, Spans: m.AppendSpans(nil, text, 0)}
				out = p.Append(out, &r)
				printed, last = true, i
			}
			off += int64(len(l))
		}
	}
	return out
}

// shown reports whether line i is printed and whether as context.
func (c *grepCase) shown(selected []bool, i int) (show, context bool) {
	if selected[i] {
		return true, false
	}
	for j := max(0, i-c.after); j <= min(len(selected)-1, i+c.before); j++ {
		if selected[j] {
			return true, true
		}
	}
	return false, false
}
