package main

import (
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestReadmeFlagTableMatchesHelp keeps the README's flag table in step with
// --help: every flag --help shows has a row, and every row names a flag.
func TestReadmeFlagTableMatchesHelp(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "| flag | meaning |")
	if start < 0 {
		t.Fatal("README has no flag table")
	}
	table := text[start:]
	table = table[:strings.Index(table, "\n\n")]
	long := regexp.MustCompile("`-?-([a-z][a-z-]*)")
	var inReadme []string
	for _, row := range strings.Split(table, "\n")[2:] {
		first := strings.Split(row, "|")[1]
		for _, m := range long.FindAllStringSubmatch(first, -1) {
			if strings.HasPrefix(m[0], "`--") {
				inReadme = append(inReadme, m[1])
			}
		}
	}
	var inHelp []string
	newCLI(io.Discard).fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			inHelp = append(inHelp, f.Name)
		}
	})
	slices.Sort(inReadme)
	inReadme = slices.Compact(inReadme)
	slices.Sort(inHelp)
	for _, f := range inHelp {
		if !slices.Contains(inReadme, f) {
			t.Errorf("--%s is in --help but not in the README's flag table", f)
		}
	}
	for _, f := range inReadme {
		if !slices.Contains(inHelp, f) {
			t.Errorf("--%s is in the README's flag table but not in --help", f)
		}
	}
}
