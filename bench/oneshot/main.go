// Command oneshot runs the one-shot speed matrix (package
// bench/matrix): logscan, ripgrep, ugrep and GNU grep on every cell,
// interleaved, with the Markdown table of medians, ratios and logscan's
// peak RSS on stdout and progress on stderr. It makes the trees it needs
// under -trees (gencorpus's with go run, the others with bench/gentree)
// and reuses them while their parameters stay the same.
//
//	go run ./bench/oneshot -logscan bin/logscan -size 1GiB -rounds 3
//
// It exits 1 when a cell's line counts differ between logscan and rg (a
// cell that wins by doing less work is a defect), a run hits the cap, or
// a tool fails; 2 when it cannot run at all.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/logscan/logscan/bench/gentree"
	"github.com/logscan/logscan/bench/matrix"
)

type options struct {
	logscan, sizeStr, minorStr, root, gencorpus, only, tsv, baseline string
	rounds, smallFiles                                               int
	seed                                                             uint64
	limit                                                            time.Duration
	list, genOnly                                                    bool
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.logscan, "logscan", "bin/logscan", "logscan binary")
	flag.StringVar(&o.sizeStr, "size", "1GiB", "matrix scale: the size of the large and gencorpus trees")
	flag.StringVar(&o.minorStr, "minor", "", "size of the deep, gz, zst and small trees (default: an eighth of -size)")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds per cell; the table has medians")
	flag.StringVar(&o.root, "trees", filepath.Join(os.TempDir(), "logscan-matrix"), "directory for the generated trees (one subdirectory per size)")
	flag.StringVar(&o.gencorpus, "gencorpus", "../shared/bench", `module directory of gencorpus ("" leaves out the corpus cells)`)
	flag.Uint64Var(&o.seed, "seed", 11, "generator seed")
	flag.IntVar(&o.smallFiles, "small-files", 0, "least number of files in the small tree (0: 40,000)")
	flag.BoolVar(&o.genOnly, "gen-only", false, "make the trees, print their directory and exit")
	flag.StringVar(&o.only, "only", "", "run only the cells whose label contains this")
	flag.BoolVar(&o.list, "list", false, "list the cells and exit")
	flag.StringVar(&o.tsv, "tsv", "", "write the results here too (default: results-SIZE.tsv under -trees, results-SIZE-partial.tsv with -only)")
	flag.StringVar(&o.baseline, "baseline", "", "a -tsv file of a run at another size, to compare peak RSS with")
	flag.DurationVar(&o.limit, "cap", 0, "kill a run after this long and do not repeat it (0: 60s per GiB of -size, at least 10s)")
	flag.Parse()
	return o
}

func main() {
	os.Exit(run(parseFlags()))
}

func run(o options) int {
	var cells []matrix.Cell
	for _, c := range matrix.Cells() {
		if strings.Contains(c.Label(), o.only) && (o.gencorpus != "" || !strings.HasPrefix(c.Tree, "corpus")) {
			cells = append(cells, c)
		}
	}
	if o.list {
		for i, c := range cells {
			fmt.Printf("%2d %s\n", i+1, c.Label())
		}
		return 0
	}
	plan, err := makePlan(o)
	if err != nil {
		return fail(err)
	}
	if !o.genOnly {
		if err := generateApart(); err != nil {
			return fail(err)
		}
	}
	trees, err := plan.Prepare(os.Stderr) // with -gen-only, writes them
	if err != nil {
		return fail(err)
	}
	if o.genOnly {
		fmt.Println(plan.Root)
		return 0
	}
	for _, t := range []string{o.logscan, "rg", "ugrep", "grep"} {
		if _, err := exec.LookPath(t); err != nil {
			return fail(fmt.Errorf("%s not found (%v); rg, ugrep and grep come from apt-get install ripgrep ugrep grep", t, err))
		}
	}
	limit := o.limit
	if limit == 0 {
		limit = max(10*time.Second, time.Duration(float64(60*time.Second)*float64(plan.Size)/(1<<30)))
	}
	fmt.Printf("One-shot speed matrix, %s, scale %s, %d cells, median of %d interleaved rounds (at least %d where logscan, rg and ugrep all end within %v), trees seed %d\n\n",
		time.Now().UTC().Format("2006-01-02"), o.sizeStr, len(cells), o.rounds, matrix.ShortRounds, matrix.ShortCell, o.seed)
	fmt.Print(matrix.Machine(o.logscan))
	order := treeOrder(cells)
	fmt.Println("densities (rg -c):")
	for _, name := range order {
		if err := matrix.Warm(trees[name].Dir); err != nil {
			return fail(err)
		}
		d, err := matrix.Densities(trees[name])
		if err != nil {
			return fail(err)
		}
		fmt.Println("- " + d)
	}
	fmt.Printf("a run slower than %v is killed and not repeated; † marks an ugrep time left out of best because ugrep selected other lines than rg\n", limit)
	start := time.Now()
	results := runCells(cells, order, trees, o.logscan, o.rounds, limit)
	tsv := o.tsv
	if tsv == "" {
		// A partial run must not replace the full run's results, which a
		// run at another size compares its peak RSS with.
		name := "results-" + o.sizeStr
		if o.only != "" {
			name += "-partial"
		}
		tsv = filepath.Join(o.root, name+".tsv")
	}
	return report(results, time.Since(start), tsv, o.baseline)
}

// generateApart makes the trees in a child process (this command with
// -gen-only). The generator's buffers and compressors would otherwise
// raise this process's peak RSS, and Linux starts every tool's peak RSS
// at it (see matrix.Sample.Floor).
func generateApart() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, append(os.Args[1:], "-gen-only")...)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("making the trees: %v", err)
	}
	return nil
}

func makePlan(o options) (matrix.Plan, error) {
	size, err := gentree.ParseSize(o.sizeStr)
	if err != nil {
		return matrix.Plan{}, err
	}
	var minor int64
	if o.minorStr != "" {
		if minor, err = gentree.ParseSize(o.minorStr); err != nil {
			return matrix.Plan{}, err
		}
	}
	return matrix.Plan{Root: filepath.Join(o.root, o.sizeStr), Size: size, Minor: minor, SmallFiles: o.smallFiles, Seed: o.seed, Gencorpus: o.gencorpus}, nil
}

// treeOrder lists the trees the cells use, in the order of their first cell.
func treeOrder(cells []matrix.Cell) []string {
	var order []string
	for _, c := range cells {
		if !slices.Contains(order, c.Tree) {
			order = append(order, c.Tree)
		}
	}
	return order
}

// runCells runs the cells tree by tree, warming each tree's page cache
// first (at 4 GiB the trees do not all fit in it at once), and prints
// each row as soon as it is done.
func runCells(cells []matrix.Cell, order []string, trees map[string]matrix.Tree, logscan string, rounds int, limit time.Duration) []matrix.Result {
	start := time.Now()
	fmt.Print("\n" + matrix.Header)
	var results []matrix.Result
	for _, name := range order {
		if err := matrix.Warm(trees[name].Dir); err != nil {
			fmt.Fprintln(os.Stderr, "oneshot: warming:", err)
		}
		for _, c := range cells {
			if c.Tree != name {
				continue
			}
			t0 := time.Now()
			r := matrix.Run(c, trees[name], logscan, rounds, limit)
			results = append(results, r)
			row, _ := matrix.Row(r)
			fmt.Print(row)
			fmt.Fprintf(os.Stderr, "[%d/%d %s] %s %.1fs\n", len(results), len(cells),
				time.Since(start).Round(time.Second), c.Label(), time.Since(t0).Seconds())
		}
	}
	return results
}

// report prints the summary, the notes and the RSS comparison, and saves
// the results; it returns the exit status.
func report(results []matrix.Result, elapsed time.Duration, tsv, baseline string) int {
	summary, ok := matrix.Summary(results, elapsed)
	fmt.Print("\n" + summary)
	fmt.Println("load average at the end:", matrix.LoadAverage())
	var notes []string
	for _, r := range results {
		_, n := matrix.Row(r)
		notes = append(notes, n...)
	}
	if len(notes) > 0 {
		fmt.Println("\nnotes:")
		for _, n := range notes {
			fmt.Println("- " + n)
		}
	}
	if baseline != "" {
		b, err := os.ReadFile(baseline)
		if err != nil {
			return fail(err)
		}
		base, err := matrix.ReadRSS(strings.NewReader(string(b)))
		if err != nil {
			return fail(err)
		}
		fmt.Print("\n" + matrix.CompareRSS(results, base, filepath.Base(baseline)))
	}
	f, err := os.Create(tsv)
	if err == nil {
		err = errors.Join(matrix.WriteTSV(f, results), f.Close())
	}
	if err != nil {
		return fail(err)
	}
	fmt.Fprintln(os.Stderr, "oneshot: results in", tsv)
	if !ok {
		fmt.Fprintln(os.Stderr, "oneshot: FAILED: logscan and rg disagree on a cell, a run hit the cap, or a tool failed (see the table and notes)")
		return 1
	}
	return 0
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "oneshot:", err)
	return 2
}
