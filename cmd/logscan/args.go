package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/spf13/pflag"

	"github.com/logscan/logscan/internal/config"
)

// matchNothing is the pattern of an empty -f file: grep selects no line
// then, while logscan with no pattern at all would select every line.
const matchNothing = `[^\x00-\x{10FFFF}]`

// readPatternFiles reads -f files: one pattern per line; a final newline
// ends the last pattern rather than adding an empty one, as in grep. "-"
// is standard input. No files gives nil; files without a pattern give the
// pattern that matches nothing.
func readPatternFiles(files []string, stdin io.Reader) ([]string, error) {
	if len(files) == 0 {
		return nil, nil
	}
	var out []string
	for _, f := range files {
		var b []byte
		var err error
		if f == "-" {
			if stdin == nil {
				return nil, errors.New("flag --file -: standard input cannot be read again (at a reload)")
			}
			b, err = io.ReadAll(stdin)
		} else {
			b, err = os.ReadFile(f)
		}
		if err != nil {
			return nil, fmt.Errorf("flag --file %s: %w", f, err)
		}
		if len(b) == 0 {
			continue
		}
		b = bytes.TrimSuffix(b, []byte{'\n'})
		out = append(out, strings.Split(string(b), "\n")...)
	}
	if len(out) == 0 {
		out = []string{matchNothing}
	}
	return out, nil
}

var contextNum = regexp.MustCompile(`^-[0-9]+$`)

// contextNumArgs rewrites grep's -NUM (context) into --context=NUM, which
// pflag cannot parse, leaving alone a -NUM that is the value of the flag
// before it (-e -5) and everything after "--".
func contextNumArgs(fs *pflag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	value := false // args[i] is the value of the flag before it
	for i, a := range args {
		switch {
		case value:
			value = false
		case a == "--":
			return append(out, args[i:]...)
		case contextNum.MatchString(a):
			a = "--context=" + a[1:]
		case strings.HasPrefix(a, "--") && !strings.Contains(a, "="):
			f := fs.Lookup(a[2:])
			value = f != nil && f.NoOptDefVal == ""
		case strings.HasPrefix(a, "-") && len(a) > 1 && !strings.HasPrefix(a, "--"):
			// A run of short flags: the last one may take the next arg.
			f := fs.ShorthandLookup(a[len(a)-1:])
			value = f != nil && f.NoOptDefVal == "" && !shortHasValue(fs, a)
		}
		out = append(out, a)
	}
	return out
}

// shortHasValue reports whether a run of short flags already holds the value
// of a flag in it (-m5, -e'x').
func shortHasValue(fs *pflag.FlagSet, run string) bool {
	for i := 1; i < len(run)-1; i++ {
		if f := fs.ShorthandLookup(run[i : i+1]); f != nil && f.NoOptDefVal == "" {
			return true
		}
	}
	return false
}

// explain turns pflag's errors into logscan's: an unknown flag gets the
// closest known one.
func (c *cli) explain(err error) error {
	if c.refused != nil {
		return c.refused
	}
	msg := err.Error()
	name, ok := strings.CutPrefix(msg, "unknown flag: --")
	if !ok {
		if short, ok2 := strings.CutPrefix(msg, "unknown shorthand flag: "); ok2 {
			// "'K' in -iK": name the flag as typed.
			letter, _, _ := strings.Cut(short, " in ")
			return fmt.Errorf("unknown flag -%s", strings.Trim(letter, "'"))
		}
		return err
	}
	var names []string
	c.fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	if s := config.Closest(name, names); s != "" {
		return fmt.Errorf("unknown flag --%s (did you mean --%s?)", name, s)
	}
	return fmt.Errorf("unknown flag --%s", name)
}

// flagUsages lists the flags as grep's --help does: a placeholder for a
// value, nothing for a switch, and a default only where it tells something.
func (c *cli) flagUsages(width int) string {
	const col = 34
	var b strings.Builder
	c.fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		name, usage := pflag.UnquoteUsage(f)
		left := "      --" + f.Name
		if f.Shorthand != "" {
			left = "  -" + f.Shorthand + ", --" + f.Name
		}
		switch {
		case f.Value.Type() == "bool":
		case f.NoOptDefVal != "":
			left += "[=" + name + "]"
		default:
			left += " " + name
		}
		if d := f.DefValue; d != "" && d != "[]" && d != "0" && d != "false" && d != "-1" && f.Value.Type() != "bool" {
			usage += fmt.Sprintf(" (default %s)", d)
		}
		b.WriteString(left)
		pad := col - len(left)
		if pad < 2 {
			b.WriteString("\n")
			pad = col
		}
		writeWrapped(&b, usage, pad, col, width)
	})
	return b.String()
}

// writeWrapped writes text after pad spaces, wrapping at width with
// continuation lines indented to col.
func writeWrapped(b *strings.Builder, text string, pad, col, width int) {
	b.WriteString(strings.Repeat(" ", pad))
	n := col
	for i, word := range strings.Fields(text) {
		if i > 0 && n+1+len(word) > width {
			b.WriteString("\n" + strings.Repeat(" ", col))
			n = col
		} else if i > 0 {
			b.WriteString(" ")
			n++
		}
		b.WriteString(word)
		n += len(word)
	}
	b.WriteString("\n")
}
