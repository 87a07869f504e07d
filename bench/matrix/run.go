package matrix

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Sample is one run of one tool.
type Sample struct {
	Wall     time.Duration
	RSS      int64 // peak resident set, KiB (getrusage of the child)
	Floor    int64 // the harness's own peak RSS while the child started, KiB: RSS is never below it
	Count    int64 // the output reduced by the cell's Counting
	Exit     int
	TimedOut bool // killed at the cap; Count is then partial
}

// Linux starts a child's peak RSS at its parent's: exec folds the old
// address space's high-water mark into the process's maxrss, and Go
// starts children with vfork (CLONE_VM), so the old address space is the
// harness's. A child's ru_maxrss is thus never below the harness's own
// peak. Before each run the harness resets its peak to its current
// resident set (clear_refs 5, Linux 4.0 and later) and afterwards reads
// what the peak was, so the table can say when a figure is only that floor.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is the harness's own peak RSS (VmHWM) in KiB, 0 if unknown.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// readers hold the 1 MiB buffers that read the tools' output: reusing
// them keeps the harness's heap, and so the floor under the children's
// peak RSS, small.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 1<<20) }}

// RunOnce runs argv with its output read through a pipe and counted, and
// kills it after limit (0: no limit). Reading through a pipe matters: with
// stdout on /dev/null GNU grep stops at the first match. Exit status 0 and
// 1 are success, as in grep.
func RunOnce(argv []string, how Counting, tool int, limit time.Duration) (Sample, error) {
	ctx, cancel := context.Background(), context.CancelFunc(func() {})
	if limit > 0 {
		ctx, cancel = context.WithTimeout(ctx, limit)
	}
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// rg -z's gzip and zstd children may hold stderr open after rg is killed.
	cmd.WaitDelay = time.Second
	cmd.Env = Env()
	var stderr headBuffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return Sample{}, err
	}
	r := readers.Get().(*bufio.Reader)
	defer readers.Put(r)
	r.Reset(out)
	defer r.Reset(nil)
	resetPeakRSS()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Sample{}, err
	}
	c := counter{how: how, tool: tool}
	lineStart := true
	var rerr error
	for {
		b, err := r.ReadSlice('\n')
		if len(b) > 0 {
			c.fragment(b, lineStart)
			lineStart = b[len(b)-1] == '\n'
		}
		if err == io.EOF {
			break
		}
		if err != nil && err != bufio.ErrBufferFull {
			rerr = err
			_ = cmd.Process.Kill() // it would block on a pipe nobody reads
			break
		}
	}
	werr := cmd.Wait()
	s := Sample{Wall: time.Since(start), Count: c.n, Exit: cmd.ProcessState.ExitCode(), Floor: peakRSS()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.RSS = ru.Maxrss
	}
	if ctx.Err() != nil {
		s.TimedOut = true
		return s, nil
	}
	if rerr != nil {
		return s, rerr
	}
	if werr != nil && s.Exit != 1 {
		return s, fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), werr, stderr.String())
	}
	return s, nil
}

// headBuffer keeps the first KiB written to it: enough to say why a tool
// failed, and bounded if a tool complains about every file.
type headBuffer struct{ b []byte }

func (t *headBuffer) Write(p []byte) (int, error) {
	if room := 1024 - len(t.b); room > 0 {
		t.b = append(t.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (t *headBuffer) String() string { return strings.TrimSpace(string(t.b)) }

// Result is a cell's outcome over all rounds.
type Result struct {
	Cell     Cell
	Median   [NumTools]time.Duration // zero for a tool that cannot do the cell
	TimedOut [NumTools]bool          // the tool hit the cap (Median is the cap)
	RSS      int64                   // logscan's peak over the rounds, KiB
	RSSFloor int64                   // the largest Sample.Floor under logscan's runs
	Count    [NumTools]int64
	Exit     [NumTools]int
	Errs     []string // failed runs and counts that changed between rounds
}

// A cell whose logscan, rg and ugrep runs all end within ShortCell after
// the rounds asked for gets ShortRounds in all. A run of a few
// milliseconds is mostly process start-up, and one spell of the VM's
// latency moved such a cell's median of three or five rounds by 30-70%
// (large -l -e 2026 at 4 GiB: 1.27x, then 1.71x in two runs of the same
// binary); 21 rounds of it take about a second.
const (
	ShortCell   = 50 * time.Millisecond
	ShortRounds = 21
)

// Run runs cell c on tree t for rounds rounds. Within a round each tool
// runs once, and the order rotates from round to round, so that a burst of
// noise on the shared machine, or a first run after another cell, does not
// always fall on the same tool. A run longer than limit is killed and the
// tool is not run again on this cell: one pathological cell must not eat
// the time of the whole matrix.
func Run(c Cell, t Tree, logscan string, rounds int, limit time.Duration) Result {
	res := Result{Cell: c}
	var walls [NumTools][]time.Duration
	for round := 0; round < rounds || (round < ShortRounds && short(walls)); round++ {
		for k := range NumTools {
			tool := (round + k) % NumTools
			argv := Argv(tool, logscan, c, t)
			if argv == nil || res.TimedOut[tool] {
				continue
			}
			s, err := RunOnce(argv, c.Count, tool, limit)
			if err != nil {
				res.Errs = append(res.Errs, err.Error())
			}
			if tool == Logscan {
				res.RSS = max(res.RSS, s.RSS)
				res.RSSFloor = max(res.RSSFloor, s.Floor)
			}
			if s.TimedOut {
				res.TimedOut[tool] = true
				res.Count[tool], res.Exit[tool] = s.Count, s.Exit
				walls[tool] = []time.Duration{limit}
				continue
			}
			if len(walls[tool]) > 0 && (s.Count != res.Count[tool] || s.Exit != res.Exit[tool]) {
				res.Errs = append(res.Errs, fmt.Sprintf("%s: round %d printed %d (exit %d), round 1 %d (exit %d)",
					ToolNames[tool], round+1, s.Count, s.Exit, res.Count[tool], res.Exit[tool]))
			}
			res.Count[tool], res.Exit[tool] = s.Count, s.Exit
			walls[tool] = append(walls[tool], s.Wall)
		}
	}
	for tool, w := range walls {
		if len(w) > 0 {
			res.Median[tool] = median(w)
		}
	}
	return res
}

// short reports whether logscan, rg and ugrep, the tools of the ratio,
// ended each of their runs so far within ShortCell.
func short(walls [NumTools][]time.Duration) bool {
	ran := false
	for _, w := range walls[:UG+1] {
		for _, d := range w {
			if d > ShortCell {
				return false
			}
			ran = true
		}
	}
	return ran
}

func median(xs []time.Duration) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

// Best is the faster of rg and ugrep, the bar logscan is held to. ugrep
// counts only when it selected what rg selected: ugrep 3.11 -i does not
// fold É to é, and a tool that wins by doing less sets no bar.
func (r Result) Best() time.Duration {
	if r.UGCounts() {
		return min(r.Median[RG], r.Median[UG])
	}
	return r.Median[RG]
}

// UGCounts reports whether ugrep's time is part of Best.
func (r Result) UGCounts() bool {
	return !r.TimedOut[UG] && r.Count[UG] == r.Count[RG] && r.Exit[UG] == r.Exit[RG]
}

// Ratio is logscan's median over Best.
func (r Result) Ratio() float64 {
	return r.Median[Logscan].Seconds() / r.Best().Seconds()
}

// Agree reports whether logscan printed what rg printed (for -q: exited
// as rg did). A cell where they differ has no meaningful ratio: the
// faster one may simply have done less.
func (r Result) Agree() bool {
	if r.TimedOut[Logscan] || r.TimedOut[RG] {
		return false
	}
	if r.Cell.Count == Exit {
		return r.Exit[Logscan] == r.Exit[RG] && r.Count[Logscan] == 0
	}
	return r.Count[Logscan] == r.Count[RG]
}

// Warm reads every regular file below dir once, so that every tool reads
// from the page cache. Like the tools, it follows no symlink. Then it
// hands the memory of the walk back to the OS: what the harness keeps
// resident is the floor under every tool's peak RSS (see resetPeakRSS).
func Warm(dir string) error {
	defer debug.FreeOSMemory()
	buf := make([]byte, 1<<20)
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		_, err = io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, buf)
		return errors.Join(err, f.Close())
	})
}
