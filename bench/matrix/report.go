package matrix

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Machine describes the host and the tools, for the lines above the table.
func Machine(logscan string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "machine: %d CPUs (nproc), %s, %s RAM, Linux %s, load average %s at the start\n",
		runtime.NumCPU(), procField("/proc/cpuinfo", "model name"), memTotal(), readTrim("/proc/sys/kernel/osrelease"), LoadAverage())
	fmt.Fprintf(&b, "tools: %s; %s; %s; %s; LC_ALL=C.UTF-8\n",
		version(logscan, "--version"), version("rg", "--version"), version("ugrep", "--version"), version("grep", "--version"))
	return b.String()
}

// LoadAverage is the 1, 5 and 15 minute load average: on a shared
// machine it says how much the figures are worth.
func LoadAverage() string {
	f := strings.Fields(readTrim("/proc/loadavg"))
	return strings.Join(f[:min(3, len(f))], " ")
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

// procField returns the value of the first "key : value" line of path.
func procField(path, key string) string {
	for line := range strings.Lines(readTrim(path)) {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func memTotal() string {
	kib, err := strconv.ParseFloat(strings.TrimSuffix(procField("/proc/meminfo", "MemTotal"), " kB"), 64)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.1f GiB", kib/(1<<20))
}

// version is the first line of a tool's version output.
func version(argv ...string) string {
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		return argv[0] + " (version unknown: " + err.Error() + ")"
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return first
}

// Header is the table's head.
const Header = "| cell | logscan s | rg s | ugrep s | grep s | logscan / best of (rg, ugrep) | logscan peak RSS MiB | lines (logscan/rg) |\n" +
	"|---|---|---|---|---|---|---|---|\n"

// Target is the ratio above which a cell misses the bound.
const Target = 1.25

// Row is one line of the table. Footnotes (failed runs, ugrep or grep
// disagreeing with rg) are returned separately.
func Row(r Result) (row string, notes []string) {
	secs := func(tool int) string {
		switch {
		case r.Median[tool] == 0:
			return "—"
		case r.TimedOut[tool]:
			return fmt.Sprintf("> %.0f", r.Median[tool].Seconds())
		case tool == UG && !r.UGCounts():
			return fmt.Sprintf("%.3f†", r.Median[tool].Seconds())
		}
		return fmt.Sprintf("%.3f", r.Median[tool].Seconds())
	}
	ratio := fmt.Sprintf("%.2f", r.Ratio())
	if r.TimedOut[Logscan] {
		ratio = "> " + ratio
	}
	if r.Ratio() > Target {
		ratio = "**" + ratio + "**"
	}
	lines := fmt.Sprintf("%d/%d", r.Count[Logscan], r.Count[RG])
	if r.Cell.Count == Exit {
		lines = fmt.Sprintf("exit %d/%d", r.Exit[Logscan], r.Exit[RG])
	}
	switch {
	case r.TimedOut[Logscan] || r.TimedOut[RG]:
		lines = "**TIMEOUT, not compared**"
	case !r.Agree():
		lines = "**MISMATCH " + lines + "**"
	}
	if len(r.Errs) > 0 {
		lines += " **ERROR**"
	}
	label := strings.ReplaceAll(r.Cell.Label(), "|", `\|`)
	rss := fmt.Sprintf("%.1f", float64(r.RSS)/1024)
	if r.RSS <= r.RSSFloor {
		rss = "≤ " + rss // only the harness's own peak: see resetPeakRSS
	}
	row = fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", label,
		secs(Logscan), secs(RG), secs(UG), secs(Grep), ratio, rss, lines)
	for _, tool := range []int{UG, Grep} {
		switch {
		case r.Median[tool] == 0 || r.TimedOut[RG]:
		case r.TimedOut[tool]:
			notes = append(notes, fmt.Sprintf("%s: %s killed at the %.0f s cap", r.Cell.Label(), ToolNames[tool], r.Median[tool].Seconds()))
		case r.Count[tool] != r.Count[RG] || r.Exit[tool] != r.Exit[RG]:
			n := fmt.Sprintf("%s: %s printed %d (exit %d), rg %d (exit %d)",
				r.Cell.Label(), ToolNames[tool], r.Count[tool], r.Exit[tool], r.Count[RG], r.Exit[RG])
			if tool == UG {
				n += "; † not in best"
			}
			notes = append(notes, n)
		}
	}
	for _, e := range r.Errs {
		notes = append(notes, r.Cell.Label()+": "+e)
	}
	return row, notes
}

// Summary is the line under the table. It returns whether every cell
// agreed and ran without error.
func Summary(rs []Result, elapsed time.Duration) (string, bool) {
	var (
		logSum           float64
		n, above, bad    int
		worst, maxRSS    Result
		worstR, rssValue float64
	)
	for _, r := range rs {
		if !r.Agree() || len(r.Errs) > 0 {
			bad++
		}
		ratio := r.Ratio()
		if ratio > 0 && !math.IsInf(ratio, 0) {
			logSum += math.Log(ratio)
			n++
		}
		if ratio > Target {
			above++
		}
		if ratio > worstR {
			worst, worstR = r, ratio
		}
		if float64(r.RSS) > rssValue {
			maxRSS, rssValue = r, float64(r.RSS)
		}
	}
	floor := int64(0)
	for _, r := range rs {
		floor = max(floor, r.RSSFloor)
	}
	s := fmt.Sprintf("geometric mean of logscan / best: %.2f× over %d cells; worst: %s at %.2f×; %d cells above %.2f×; max logscan peak RSS: %.1f MiB (%s; no figure can be below the harness's own %.1f MiB); %d mismatched or failed cells; %s\n",
		math.Exp(logSum/float64(max(n, 1))), n, worst.Cell.Label(), worstR, above, Target,
		rssValue/1024, maxRSS.Cell.Label(), float64(floor)/1024, bad, elapsed.Round(time.Second))
	return s, bad == 0
}

// WriteTSV saves the results, one cell a line, for a later run to
// compare peak RSS with (ReadRSS).
func WriteTSV(w io.Writer, rs []Result) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "cell\tlogscan_s\trg_s\tugrep_s\tgrep_s\tratio\tlogscan_rss_kib\tcount_logscan\tcount_rg\tcount_ugrep\tcount_grep")
	for _, r := range rs {
		fmt.Fprintf(bw, "%s\t%.4f\t%.4f\t%.4f\t%.4f\t%.3f\t%d\t%d\t%d\t%d\t%d\n", r.Cell.Label(),
			r.Median[Logscan].Seconds(), r.Median[RG].Seconds(), r.Median[UG].Seconds(), r.Median[Grep].Seconds(),
			r.Ratio(), r.RSS, r.Count[Logscan], r.Count[RG], r.Count[UG], r.Count[Grep])
	}
	return bw.Flush()
}

// ReadRSS reads the peak RSS of each cell from a file WriteTSV wrote.
func ReadRSS(r io.Reader) (map[string]int64, error) {
	rss := map[string]int64{}
	sc := bufio.NewScanner(r)
	for first := true; sc.Scan(); first = false {
		f := strings.Split(sc.Text(), "\t")
		if first || len(f) < 7 {
			continue
		}
		v, err := strconv.ParseInt(f[6], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad RSS in %q: %v", sc.Text(), err)
		}
		rss[f[0]] = v
	}
	return rss, sc.Err()
}

// CompareRSS says how logscan's peak RSS grew from a baseline run (at
// another size) to this one: the cell that grew most, and every cell that
// grew by more than 10%.
func CompareRSS(rs []Result, base map[string]int64, baseName string) string {
	var b strings.Builder
	worst, worstG := "", math.Inf(-1)
	var over []string
	for _, r := range rs {
		old, ok := base[r.Cell.Label()]
		if !ok || old == 0 {
			continue
		}
		g := float64(r.RSS)/float64(old) - 1
		if g > worstG {
			worst, worstG = fmt.Sprintf("%s: %.1f → %.1f MiB", r.Cell.Label(), float64(old)/1024, float64(r.RSS)/1024), g
		}
		if g > 0.10 {
			over = append(over, r.Cell.Label())
		}
	}
	if worst == "" {
		return fmt.Sprintf("peak RSS against %s: no cell in common\n", baseName)
	}
	fmt.Fprintf(&b, "peak RSS against %s: largest growth %+.1f%% (%s); %d cells grew more than 10%%", baseName, 100*worstG, worst, len(over))
	if len(over) > 0 {
		fmt.Fprintf(&b, ": %s", strings.Join(over, ", "))
	}
	b.WriteString("\n")
	return b.String()
}
