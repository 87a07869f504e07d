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
