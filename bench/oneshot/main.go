// Command oneshot benchmarks logscan's one-shot scan against ripgrep and GNU
// grep on the same tree in the same run, and prints a Markdown table of
// median wall times, ratios, peak RSS and match counts.
//
// Runs are interleaved (logscan, rg, grep, logscan, ...) so that the noise
// of a shared machine falls on all three alike. Each command's output is
// read through a pipe and its lines counted: writing to /dev/null would let
// GNU grep stop at the first match, and the counts show the tools agree.
//
//	go run ./bench/oneshot -logscan bin/logscan -corpus /tmp/corpus -runs 5
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

type tool struct {
	name string
	argv func(c benchCase, corpus string) []string
}

type benchCase struct {
	name     string
	patterns []string
	icase    bool
	regex    bool // needs grep -E
}

var cases = []benchCase{
	{name: "ERROR", patterns: []string{"ERROR"}},
	{name: "-i error", patterns: []string{"error"}, icase: true},
	{name: "deadbeef-[0-9a-f]{8}", patterns: []string{"deadbeef-[0-9a-f]{8}"}, regex: true},
	{name: "ERROR, FATAL, panic (3 patterns)", patterns: []string{"ERROR", "FATAL", "panic"}},
	{name: `latency_ms":9[0-9][0-9]`, patterns: []string{`latency_ms":9[0-9][0-9]`}, regex: true},
}

func patternArgs(c benchCase) []string {
	var a []string
	if c.icase {
		a = append(a, "-i")
	}
	for _, p := range c.patterns {
		a = append(a, "-e", p)
	}
	return a
}

type sample struct {
	wall  time.Duration
	rss   int64 // KiB
	lines int64
	code  int
}

func runOnce(argv []string) (sample, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return sample{}, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return sample{}, err
	}
	var lines int64
	r := bufio.NewReaderSize(out, 1<<20)
	for {
		b, err := r.ReadSlice('\n')
		if len(b) > 0 && b[len(b)-1] == '\n' {
			lines++
		}
		if err == io.EOF {
			break
		}
		if err != nil && err != bufio.ErrBufferFull {
			return sample{}, err
		}
	}
	werr := cmd.Wait()
	s := sample{wall: time.Since(start), lines: lines}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.rss = ru.Maxrss
	}
	s.code = cmd.ProcessState.ExitCode()
	if werr != nil && s.code != 1 {
		return s, fmt.Errorf("%s: %v", strings.Join(argv, " "), werr)
	}
	return s, nil
}

func median(xs []time.Duration) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func main() {
	logscan := flag.String("logscan", "bin/logscan", "logscan binary")
	corpus := flag.String("corpus", "/tmp/corpus", "tree to search")
	runs := flag.Int("runs", 5, "runs per command (median reported)")
	only := flag.String("only", "", "run only cases whose name contains this")
	extra := flag.String("logscan-args", "", "extra arguments for logscan, space-separated (e.g. --no-decompress, to skip .gz as rg does)")
	flag.Parse()

	tools := []tool{
		{"logscan", func(c benchCase, corpus string) []string {
			return append(append(append([]string{*logscan}, strings.Fields(*extra)...), patternArgs(c)...), corpus)
		}},
		{"rg", func(c benchCase, corpus string) []string {
			return append(append([]string{"rg", "--no-ignore"}, patternArgs(c)...), corpus)
		}},
		{"grep", func(c benchCase, corpus string) []string {
			a := []string{"grep", "-r"}
			if c.regex {
				a = append(a, "-E")
			}
			return append(append(a, patternArgs(c)...), corpus)
		}},
	}
	for _, t := range tools {
		if _, err := exec.LookPath(t.argv(cases[0], "")[0]); err != nil {
			fmt.Fprintf(os.Stderr, "oneshot: %s not found: %v\n", t.name, err)
			os.Exit(2)
		}
	}
	host, _ := os.Hostname()
	fmt.Printf("one-shot benchmark, %s, %s, %d CPUs, corpus %s, median of %d interleaved runs, LANG=%q, logscan args %q\n\n",
		time.Now().UTC().Format("2006-01-02"), host, runtime.NumCPU(), *corpus, *runs, os.Getenv("LANG"), *extra)
	fmt.Println("| pattern | logscan s | rg s | grep s | logscan/rg | logscan/grep | logscan peak RSS MiB | lines logscan/rg/grep |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, c := range cases {
		if *only != "" && !strings.Contains(c.name, *only) {
			continue
		}
		walls := make([][]time.Duration, len(tools))
		var maxRSS int64
		lines := make([]int64, len(tools))
		for range *runs {
			for i, t := range tools {
				s, err := runOnce(t.argv(c, *corpus))
				if err != nil {
					fmt.Fprintln(os.Stderr, "oneshot:", err)
				}
				walls[i] = append(walls[i], s.wall)
				lines[i] = s.lines
				if i == 0 {
					maxRSS = max(maxRSS, s.rss)
				}
			}
		}
		m := make([]time.Duration, len(tools))
		for i := range tools {
			m[i] = median(walls[i])
		}
		fmt.Printf("| `%s` | %.3f | %.3f | %.3f | %.2f | %.2f | %.1f | %d/%d/%d |\n", c.name,
			m[0].Seconds(), m[1].Seconds(), m[2].Seconds(),
			m[0].Seconds()/m[1].Seconds(), m[0].Seconds()/m[2].Seconds(),
			float64(maxRSS)/1024, lines[0], lines[1], lines[2])
	}
}
