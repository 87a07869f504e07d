package matrix

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLogscanAgreesWithRipgrep runs every cell of the matrix on small trees
// of the same shapes and checks that logscan selects exactly what rg
// selects: a cell where logscan is fast because it printed less is a
// defect, not a win. It builds logscan from this module.
func TestLogscanAgreesWithRipgrep(t *testing.T) {
	if _, err := exec.LookPath("rg"); err != nil {
		t.Skip("rg not found (apt-get install ripgrep): the matrix compares logscan with it")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not found: needed to build logscan")
	}
	dir := t.TempDir()
	// One go build for both: logscan, and bench/oneshot to write the
	// trees, which is several times faster than generating them in this
	// process when the test runs under -race.
	build := exec.Command(goTool, "build", "-o", dir+"/", "github.com/logscan/logscan/cmd/logscan", "github.com/logscan/logscan/bench/oneshot")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	bin := filepath.Join(dir, "logscan")
	plan := Plan{Root: filepath.Join(dir, "trees", "2MiB"), Size: 2 << 20, Minor: 4 << 20, SmallFiles: 400, Seed: 11, Gencorpus: gencorpusDir()}
	if plan.Gencorpus == "" {
		t.Log("gencorpus not found next to the repository (../shared/bench): the corpus cells are left out")
	}
	gen := exec.Command(filepath.Join(dir, "oneshot"), "-gen-only", "-trees", filepath.Join(dir, "trees"), "-size", "2MiB", "-minor", "4MiB",
		"-small-files", "400", "-seed", "11", "-gencorpus", plan.Gencorpus)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("oneshot -gen-only: %v\n%s", err, out)
	}
	trees, err := plan.Prepare(testWriter{t}) // finds the trees, generates nothing
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Cells() {
		tree, ok := trees[c.Tree]
		if !ok {
			continue
		}
		t.Run(c.Label(), func(t *testing.T) {
			var r Result
			r.Cell = c
			for _, tool := range []int{Logscan, RG} {
				s, err := RunOnce(Argv(tool, bin, c, tree), c.Count, tool, 30*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				r.Count[tool], r.Exit[tool], r.TimedOut[tool] = s.Count, s.Exit, s.TimedOut
			}
			if !r.Agree() {
				t.Errorf("logscan printed %d (exit %d, timed out %v), rg %d (exit %d, timed out %v)",
					r.Count[Logscan], r.Exit[Logscan], r.TimedOut[Logscan], r.Count[RG], r.Exit[RG], r.TimedOut[RG])
			}
			// A cell that selects nothing on the test tree checks nothing.
			if c.Count != Exit && r.Count[RG] == 0 {
				t.Errorf("rg selected nothing: the test tree is too small for this cell")
			}
		})
	}
}

// gencorpusDir finds ../shared/bench from the repository root (two levels
// up from this package), as bench/oneshot.sh does.
func gencorpusDir() string {
	for _, d := range []string{"../../../shared/bench", "../../../../shared/bench"} {
		if _, err := os.Stat(filepath.Join(d, "gencorpus", "main.go")); err == nil {
			abs, _ := filepath.Abs(d)
			return abs
		}
	}
	return ""
}

// testWriter sends the generator's progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
