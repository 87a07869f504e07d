// Package matrix is the one-shot speed matrix: it runs logscan, ripgrep,
// ugrep and GNU grep on the same cells (a tree, flags and patterns),
// interleaved, and reports median wall times, logscan's peak RSS and
// whether logscan printed what ripgrep printed. bench/oneshot is its
// command and bench/oneshot.sh its entry point.
//
// A cell is only worth its ratio if the tools did the same work, so every
// cell compares logscan's line count (stdout lines, summed -c counts,
// JSON match objects, or the exit status for -q) with ripgrep's, and a
// difference fails the run.
package matrix

import (
	"strings"

	"github.com/logscan/logscan/bench/gentree"
)

// Counting says how a cell's output is reduced to the number compared
// across tools.
type Counting int

const (
	// Lines counts stdout lines: print, -n, -v, -l.
	Lines Counting = iota
	// Sum adds up the count after the last ':' of each line (-c): the
	// tools differ in whether they print files with no match.
	Sum
	// JSONMatches counts match objects: rg --json also prints begin, end
	// and summary objects, ugrep --json an indented array.
	JSONMatches
	// Context counts lines other than the "--" group separators, which
	// rg, ugrep and grep place differently between files.
	Context
	// Exit compares exit status: -q prints nothing.
	Exit
)

// Cell is one row of the matrix.
type Cell struct {
	Tree    string   // the name of a tree (Plan.Prepare)
	Density string   // the share of lines the pattern selects, as designed
	Args    []string // flags then -e PATTERN..., the same for every tool
	Count   Counting
	Name    string // shown instead of Args when they are too long
}

// Label names the cell in the table.
func (c Cell) Label() string {
	a := c.Name
	if a == "" {
		a = strings.Join(c.Args, " ")
	}
	d := ""
	if c.Density != "" {
		d = " " + c.Density
	}
	return c.Tree + d + " `" + a + "`"
}

// Has reports whether the cell's flags include flag.
func (c Cell) Has(flag string) bool {
	for _, a := range c.Args {
		if a == "-e" {
			return false
		}
		if a == flag {
			return true
		}
	}
	return false
}

func args(flags ...string) []string { return flags }

// alt returns the patterns as one alternation and as repeated -e.
func alt(tree, density string, ps []string, name string) []Cell {
	var rep []string
	for _, p := range ps {
		rep = append(rep, "-e", p)
	}
	one, many := Cell{Tree: tree, Density: density, Args: []string{"-e", strings.Join(ps, "|")}},
		Cell{Tree: tree, Density: density, Args: rep}
	if name != "" {
		one.Name = "-e " + name + " as a|b|..."
		many.Name = "-e " + name + " as -e a -e b ..."
	}
	return []Cell{one, many}
}

// Cells is the matrix. The large tree carries the density x output-mode
// grid and the pattern kinds; the other trees repeat the cells where a
// shape changes the work (opening 50,000 files, walking 30 levels,
// decompressing). Densities are by construction (see gentree) except on
// gencorpus's tree, where they were measured with rg -c.
//
// The grid leaves out -n, -v and -C 2 at 30% on the large tree: each
// would print a third of a GiB or more per tool and round, and so mostly
// time the pipe, which print, -v and --json at their densest already do.
// That keeps a 1 GiB run with 3 rounds within its 25-minute budget.
func Cells() []Cell {
	const (
		rare, one, third, all   = "0.01%", "1%", "30%", "~100%"
		rareW, errW, getW, allW = gentree.Rare, gentree.Error, gentree.Get, gentree.Year
		none                    = "zzyzx" // in no tree: -q has to read everything
	)
	cs := []Cell{
		// Density x output mode.
		{Tree: "large", Density: rare, Args: args("-e", rareW)},
		{Tree: "large", Density: one, Args: args("-e", errW)},
		{Tree: "large", Density: third, Args: args("-e", getW)},
		{Tree: "large", Density: all, Args: args("-e", allW)},
		{Tree: "large", Density: one, Args: args("-n", "-e", errW)},
		{Tree: "large", Density: rare, Args: args("-c", "-e", rareW), Count: Sum},
		{Tree: "large", Density: one, Args: args("-c", "-e", errW), Count: Sum},
		{Tree: "large", Density: third, Args: args("-c", "-e", getW), Count: Sum},
		{Tree: "large", Density: all, Args: args("-c", "-e", allW), Count: Sum},
		{Tree: "large", Density: rare, Args: args("-l", "-e", rareW)},
		{Tree: "large", Density: all, Args: args("-l", "-e", allW)},
		{Tree: "large", Density: one, Args: args("-q", "-e", errW), Count: Exit},
		{Tree: "large", Density: "0%", Args: args("-q", "-e", none), Count: Exit},
		{Tree: "large", Density: rare, Args: args("-v", "-e", rareW)},
		{Tree: "large", Density: all, Args: args("-v", "-e", allW)},
		{Tree: "large", Density: one, Args: args("-v", "-c", "-e", errW), Count: Sum},
		{Tree: "large", Density: all, Args: args("-v", "-c", "-e", allW), Count: Sum},
		{Tree: "large", Density: rare, Args: args("--json", "-e", rareW), Count: JSONMatches},
		{Tree: "large", Density: one, Args: args("--json", "-e", errW), Count: JSONMatches},
		{Tree: "large", Density: third, Args: args("--json", "-e", getW), Count: JSONMatches},
		{Tree: "large", Density: rare, Args: args("-C", "2", "-e", rareW), Count: Context},
		{Tree: "large", Density: one, Args: args("-C", "2", "-e", errW), Count: Context},
		// Pattern kinds.
		{Tree: "large", Density: "2%", Args: args("-i", "-e", "error")},
		{Tree: "large", Density: "2%", Args: args("-i", "-c", "-e", "error"), Count: Sum},
		{Tree: "large", Density: third, Args: args("-i", "-c", "-e", "get"), Count: Sum},
	}
	cs = append(cs, alt("large", "6%", []string{errW, "WARN"}, "")...)
	cs = append(cs, alt("large", "5%", []string{errW, "FATAL", "panic", "timeout", "refused"}, "")...)
	cs = append(cs, alt("large", "2.5%", gentree.Users(50), "u0000 ... u0980 (50 user ids)")...)
	cs = append(cs, []Cell{
		{Tree: "large", Density: rare, Args: args("-e", rareW+"-[0-9a-f]{8}")},
		{Tree: "large", Density: one, Args: args("-e", gentree.Status5xx)},
		{Tree: "large", Density: one, Args: args("-e", gentree.OrderID)},
		{Tree: "large", Density: all, Args: args("-c", "-e", "[0-9]{3}"), Count: Sum},
		{Tree: "large", Density: one, Args: args("-w", "-e", gentree.Timeout)},
		{Tree: "large", Density: "2%", Args: args("-w", "-i", "-e", "error")},
		{Tree: "large", Density: "0.14%", Args: args("-x", "-e", gentree.Broken)},
		{Tree: "large", Density: "0.07%", Args: args("-i", "-e", gentree.Echec)},
		{Tree: "large", Density: "0.03%", Args: args("-e", gentree.Echec)},
		{Tree: "large", Density: "0.07%", Args: args("-i", "-c", "-e", "échec"), Count: Sum},
	}...)
	cs = append(cs, corpusCells()...)
	cs = append(cs, shapeCells()...)
	return cs
}

// corpusCells run on gencorpus's tree: syslog, nginx and JSON files, .gz
// rotations, a binary file, a 4 MiB line and symlink loops. Densities
// measured with rg -c at 20 and 50 MiB, seed 11 (gencorpus draws them per
// line, so they hold at any size): deadbeef 0.020%, ERROR 0.99%, GET 29.7%
// (all of it in the access logs).
func corpusCells() []Cell {
	return []Cell{
		{Tree: "corpus", Density: "1%", Args: args("-e", "ERROR")},
		{Tree: "corpus", Density: "1%", Args: args("-n", "-e", "ERROR")},
		{Tree: "corpus", Density: "1%", Args: args("-i", "-e", "error")},
		{Tree: "corpus", Density: "0.02%", Args: args("-e", "deadbeef-[0-9a-f]{8}")},
		{Tree: "corpus", Density: "30%", Args: args("-c", "-e", "GET"), Count: Sum},
		{Tree: "corpus", Density: "1%", Args: args("-v", "-c", "-e", "ERROR"), Count: Sum},
		{Tree: "corpus", Density: "1%", Args: args("-l", "-e", "ERROR")},
		// The .gz rotations too: rg -z, ugrep -z, logscan by default.
		{Tree: "corpus.z", Density: "1%", Args: args("-e", "ERROR")},
		{Tree: "corpus.z", Density: "0.02%", Args: args("-c", "-e", "deadbeef"), Count: Sum},
	}
}

// shapeCells repeat cells of the large tree on the other shapes, and on
// the small tree, where the cost is per file, every output mode.
func shapeCells() []Cell {
	var cs []Cell
	for _, tree := range []string{"small", "deep", "gz", "zst"} {
		cs = append(cs,
			Cell{Tree: tree, Density: "1%", Args: args("-e", gentree.Error)},
			Cell{Tree: tree, Density: "0.01%", Args: args("-e", gentree.Rare)},
			Cell{Tree: tree, Density: "30%", Args: args("-c", "-e", gentree.Get), Count: Sum},
			Cell{Tree: tree, Density: "1%", Args: args("-l", "-e", gentree.Error)},
			Cell{Tree: tree, Density: "0.07%", Args: args("-i", "-e", gentree.Echec)},
		)
		if tree != "deep" {
			cs = append(cs, Cell{Tree: tree, Density: "~100%", Args: args("-v", "-c", "-e", gentree.Year), Count: Sum})
		}
		if tree == "small" {
			cs = append(cs,
				Cell{Tree: tree, Density: "~100%", Args: args("-l", "-e", gentree.Year)},
				Cell{Tree: tree, Density: "30%", Args: args("-n", "-e", gentree.Get)},
				Cell{Tree: tree, Density: "0%", Args: args("-q", "-e", "zzyzx"), Count: Exit},
				Cell{Tree: tree, Density: "1%", Args: args("--json", "-e", gentree.Error), Count: JSONMatches},
				Cell{Tree: tree, Density: "1%", Args: args("-C", "2", "-e", gentree.Error), Count: Context},
				Cell{Tree: tree, Density: "1%", Args: args("-w", "-e", gentree.Timeout)},
				Cell{Tree: tree, Density: "0.14%", Args: args("-x", "-e", gentree.Broken)},
				Cell{Tree: tree, Density: "5%", Args: args("-e", "ERROR", "-e", "FATAL", "-e", "panic", "-e", "timeout", "-e", "refused")},
			)
		}
	}
	return cs
}
