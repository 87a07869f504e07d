package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestMatchesGrep compares logscan with GNU grep -r on a generated tree, for
// several patterns. Output order across files may differ, so lines are
// compared as sorted sets (with -n, each line is unique).
func TestMatchesGrep(t *testing.T) {
	grep, err := exec.LookPath("grep")
	if err != nil {
		t.Skip("grep not installed")
	}
	root := t.TempDir()
	r := rand.New(rand.NewPCG(7, 11))
	words := strings.Fields("alpha beta ERROR error Error FATAL panic: timeout deadbeef-0badf00d latency_ms\":950 [crit] a.b x+y")
	for i := range 40 {
		dir := filepath.Join(root, fmt.Sprintf("d%d/e%d", i%5, i%3))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for range 200 + r.IntN(300) {
			for range 1 + r.IntN(8) {
				b.WriteString(words[r.IntN(len(words))])
				b.WriteByte(' ')
			}
			if r.IntN(10) == 0 {
				b.WriteString("\r")
			}
			b.WriteString("\n")
		}
		if i%4 == 0 {
			b.WriteString("no final newline ERROR")
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d.log", i)), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		grep    []string
		logscan []string
	}{
		{"literal", []string{"-e", "ERROR"}, []string{"-e", "ERROR"}},
		{"ignore case", []string{"-i", "-e", "error"}, []string{"-i", "-e", "error"}},
		{"regex", []string{"-E", "-e", "deadbeef-[0-9a-f]{8}"}, []string{"-e", "deadbeef-[0-9a-f]{8}"}},
		{"three", []string{"-e", "ERROR", "-e", "FATAL", "-e", "panic"}, []string{"-e", "ERROR", "-e", "FATAL", "-e", "panic"}},
		{"json-ish", []string{"-E", "-e", `latency_ms":9[0-9][0-9]`}, []string{"-e", `latency_ms":9[0-9][0-9]`}},
		{"fixed", []string{"-F", "-e", "[crit]", "-e", "a.b"}, []string{"-F", "-e", "[crit]", "-e", "a.b"}},
		{"anchored", []string{"-E", "-e", "^alpha", "-e", "beta $"}, []string{"-e", "^alpha", "-e", "beta $"}},
		{"count", []string{"-c", "-e", "timeout"}, []string{"-c", "-e", "timeout"}},
		{"invert", []string{"-v", "-e", "ERROR", "-e", "beta"}, []string{"-v", "-e", "ERROR", "-e", "beta"}},
		{"word", []string{"-w", "-e", "error", "-e", "a.b"}, []string{"-w", "-e", "error", "-e", "a.b"}},
		{"word fixed", []string{"-w", "-F", "-e", "x+y", "-e", "panic:"}, []string{"-w", "-F", "-e", "x+y", "-e", "panic:"}},
		{"line", []string{"-x", "-E", "-e", "alpha( [a-z]+)* ", "-e", "beta "}, []string{"-x", "-e", "alpha( [a-z]+)* ", "-e", "beta "}},
		{"context", []string{"-C", "2", "-e", "FATAL"}, []string{"-C", "2", "-e", "FATAL"}},
		{"after context and max count", []string{"-A", "1", "-m", "3", "-e", "panic"}, []string{"-A", "1", "-m", "3", "-e", "panic"}},
		{"files", []string{"-l", "-F", "-e", "x+y"}, []string{"-l", "-F", "-e", "x+y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(grep, append(append([]string{"-r", "-n"}, tt.grep...), root)...)
			cmd.Env = append(os.Environ(), "LC_ALL=C")
			want, err := cmd.Output()
			if err != nil {
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
					t.Fatalf("grep: %v", err)
				}
			}
			res := runCLI(t, "", append(append([]string{"-n"}, tt.logscan...), root)...)
			if res.code > 1 {
				t.Fatalf("logscan exit %d: %s", res.code, res.stderr)
			}
			g, l := sortedLines(string(want)), sortedLines(res.stdout)
			if !slices.Equal(g, l) {
				t.Errorf("grep printed %d lines, logscan %d; first difference: %s", len(g), len(l), firstDiff(g, l))
			}
			if len(g) == 0 {
				t.Error("the pattern selected nothing: the comparison proves nothing")
			}
		})
	}
}

func sortedLines(s string) []string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	slices.Sort(lines)
	return lines
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("grep %q vs logscan %q", a[i], b[i])
		}
	}
	return "one is a prefix of the other"
}

// TestGrepHabits compares logscan with GNU grep -r for the habits a grep
// user brings: the positional pattern, bundled flags, -f, patterns with
// newlines, -m 0, -A over -C, -C 0, -NUM, -L, the empty pattern with -w and
// -x, and the last of -h/-H. The same arguments go to both; exit statuses
// must agree too.
func TestGrepHabits(t *testing.T) {
	grep, err := exec.LookPath("grep")
	if err != nil {
		t.Skip("grep not installed")
	}
	root := t.TempDir()
	files := map[string]string{
		"a.log":     "alpha ERROR one\nbeta\nFATAL two\ngamma\ndelta\nepsilon ERROR three\n\nzeta\n",
		"b/c.log":   "nothing here\nerror lower\nERROR\n",
		"b/d.log":   "quiet file\n",
		"e.log":     "x FATAL\ny\nz\nw\nFATAL again\n",
		"words.log": "errors\nerr\nan err here\nterror\n",
		"utf8.log":  "école cole\ncole\nécoles\nnaïve café\ncafé-crème\n",
	}
	writeTree(t, root, files)
	pats := filepath.Join(t.TempDir(), "patterns")
	if err := os.WriteFile(pats, []byte("FATAL\nerr\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := [][]string{
		{"ERROR", root},
		{"-n", "ERROR", root},
		{"-rn", "ERROR", root},
		{"-in", "error", root},
		{"-e", "ERROR\nFATAL", root},
		{"-m", "0", "-e", "ERROR", root},
		{"-c", "-m", "0", "-e", "ERROR", root},
		{"-m", "1", "-c", "ERROR", root},
		{"-n", "-A", "1", "-C", "3", "-e", "FATAL", root},
		{"-n", "-C", "0", "-e", "FATAL", root},
		{"-n", "-2", "FATAL", root},
		{"-f", pats, root},
		{"-c", "-f", empty, root},
		{"-L", "FATAL", root},
		{"-l", "-v", "ERROR", root},
		{"-c", "-x", "-e", "", root},
		{"-c", "-w", "-e", "", root},
		{"-w", "err", root},
		{"-h", "-H", "ERROR", root},
		{"-H", "-h", "ERROR", root},
		{"-c", "-v", "-e", "ERROR", root},
		{"-y", "error", root},
		{"-x", "ERROR", root},
		{"--", "-v", root},
		{"-q", "ERROR", root},
		{"-q", "NOTHERE", root},
		{"-E", "-o", "-n", "-b", "ERR[A-Z]+", root},
		{"-o", "-i", "err", root},
		{"-b", "FATAL", root},
		{"-Z", "-l", "ERROR", filepath.Join(root, "a.log"), filepath.Join(root, "b/d.log"), filepath.Join(root, "b/c.log")},
		{"-Z", "-c", "ERROR", root},
		{"-Z", "-n", "FATAL", root},
		{"-w", "cole", root},
		{"-w", "-o", "caf.", root},
		{"-x", "cole", root},
		{"--color=always", "-n", "ERROR", root},
		{"--colour=always", "-w", "err", root},
		{"--color=always", "-o", "-b", "FATAL", root},
		{"-n", "-C", "1", "--group-separator=XX", "FATAL", root},
		{"-n", "-C", "1", "--no-group-separator", "FATAL", root},
		{"-o", "-C", "1", "FATAL", root},
		{"-c", "-o", "ERROR", root},
	}
	for _, args := range tests {
		t.Run(strings.ReplaceAll(strings.Join(args, " "), root, "ROOT"), func(t *testing.T) {
			cmd := exec.Command(grep, append([]string{"-r"}, args...)...)
			env := []string{"LC_ALL=C.UTF-8", "GREP_COLORS=ms=04;32:fn=33:ln=36:se=35"}
			cmd.Env = append(os.Environ(), env...)
			want, err := cmd.Output()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			res := runCLIEnv(t, env, "", append([]string{"-j1"}, args...)...)
			if res.code != code {
				t.Errorf("exit %d, grep exit %d; stderr: %s", res.code, code, res.stderr)
			}
			g, l := sortedLines(string(want)), sortedLines(res.stdout)
			if !slices.Equal(g, l) {
				t.Errorf("grep printed %d lines, logscan %d; first difference: %s", len(g), len(l), firstDiff(g, l))
			}
		})
	}
}
