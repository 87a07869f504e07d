package main

import (
	"io"
	"slices"
	"testing"
)

// TestListFlags: the list flags keep pflag's stringArray semantics with
// stringsValue: every use appends, an empty value stays one value, and a
// value with a comma is not split.
func TestListFlags(t *testing.T) {
	tests := []struct {
		args []string
		key  string
		want []string
	}{
		{[]string{"-e", "a", "-e", "", "-e", "b,c"}, "match", []string{"a", "", "b,c"}},
		{[]string{"--include", "*.log", "--include=*.gz"}, "include", []string{"*.log", "*.gz"}},
		{[]string{"--exclude-dir", "x"}, "exclude_dir", []string{"x"}},
		{[]string{"--where", "level=error", "--where", "ms>9"}, "where", []string{"level=error", "ms>9"}},
	}
	for _, tt := range tests {
		c := newCLI(io.Discard)
		if err := c.fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		m, _, err := c.flagLayer(nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := m[tt.key].([]string); !slices.Equal(got, tt.want) {
			t.Errorf("%q: %s = %q, want %q", tt.args, tt.key, got, tt.want)
		}
	}
	c := newCLI(io.Discard)
	if err := c.fs.Parse([]string{"-f", "p1", "-f", "p2"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.patternFiles, []string{"p1", "p2"}) {
		t.Errorf("-f: patternFiles = %q", c.patternFiles)
	}
}
