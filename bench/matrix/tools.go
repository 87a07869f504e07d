package matrix

import (
	"bytes"
	"os"
	"strings"
)

// The tools, in the table's column order.
const (
	Logscan = iota
	RG
	UG
	Grep
	NumTools
)

// ToolNames are the tools' names in the table.
var ToolNames = [NumTools]string{"logscan", "rg", "ugrep", "grep"}

// Tree is a directory the cells search, and how.
type Tree struct {
	Name string
	Dir  string
	// Compressed says the tree holds .gz or .zst files.
	Compressed bool
	// Decompress says the cells search inside them: rg -z, ugrep -z,
	// logscan by default. Without it logscan gets --no-decompress, and rg,
	// ugrep and grep skip the files as binary, so all read the same bytes.
	Decompress bool
}

// Argv returns tool's command line for cell c on tree t, or nil when the
// tool cannot do the cell: GNU grep neither decompresses nor writes JSON.
//
// The flags are chosen so that the four do the same work: rg --no-ignore
// (the trees have no hidden files, which rg would still skip), ugrep -r -I
// and grep -r -I (skip binary files, as logscan and rg do; grep -E and
// ugrep's default are ERE, the syntax the patterns are written in). None
// of them may follow a symlink below the root: ugrep -r follows links to
// files (gencorpus's nginx/syslog-link) unless given --no-dereference.
func Argv(tool int, logscan string, c Cell, t Tree) []string {
	var a []string
	switch tool {
	case Logscan:
		a = []string{logscan}
		if t.Compressed && !t.Decompress {
			a = append(a, "--no-decompress")
		}
	case RG:
		a = []string{"rg", "--no-ignore"}
		if t.Decompress {
			a = append(a, "-z")
		}
	case UG:
		a = []string{"ugrep", "-r", "-I", "--no-dereference"}
		if t.Decompress {
			a = append(a, "-z")
		}
	case Grep:
		if t.Decompress || c.Has("--json") {
			return nil
		}
		a = []string{"grep", "-r", "-I", "-E"}
	}
	a = append(a, c.Args...)
	return append(a, t.Dir)
}

// Env is the environment of every tool run: the caller's, with one
// locale for all (C.UTF-8, so that -i folds É to é in all four) and
// without the variables that would change a tool's behaviour behind its
// command line.
func Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "LOGSCAN_"), strings.HasPrefix(k, "LC_"),
			k == "LANG", k == "RIPGREP_CONFIG_PATH", k == "GREP_COLOR", k == "GREP_COLORS", k == "GREP_OPTIONS":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C.UTF-8")
}

// counter reduces a tool's output to one number, the way Counting says.
// It is fed the output line by line, in fragments when a line is longer
// than the reader's buffer: start is set on a line's first fragment.
type counter struct {
	how  Counting
	tool int
	n    int64
}

var (
	jsonMatch   = []byte(`{"type":"match"`) // logscan and rg
	ugrepMatch  = []byte(`{ "`)             // ugrep: one indented line per match
	groupSep    = []byte("--\n")
	countDigits = []byte("0123456789")
)

func (c *counter) fragment(b []byte, start bool) {
	if !start {
		return // everything a counter looks at is in a line's first fragment
	}
	switch c.how {
	case Lines, Exit:
		c.n++
	case Context:
		if !bytes.Equal(b, groupSep) {
			c.n++
		}
	case JSONMatches:
		if c.tool == UG {
			if bytes.HasPrefix(bytes.TrimLeft(b, " "), ugrepMatch) {
				c.n++
			}
		} else if bytes.HasPrefix(b, jsonMatch) {
			c.n++
		}
	case Sum:
		c.n += trailingCount(b)
	}
}

// trailingCount reads the count at the end of a -c line ("path:12\n").
func trailingCount(b []byte) int64 {
	b = bytes.TrimRight(b, "\n")
	i := len(b)
	for i > 0 && bytes.IndexByte(countDigits, b[i-1]) >= 0 {
		i--
	}
	var n int64
	for _, d := range b[i:] {
		n = n*10 + int64(d-'0')
	}
	return n
}
