package watch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// flushSizes is a Consumer that counts what each Flush covers.
type flushSizes struct {
	lines, bytes int
	perFlush     []int // lines of each flush that had any
	bytesPer     []int
}

func (c *flushSizes) Lines(_ File, b []byte, _, _ int64) error {
	for _, x := range b {
		if x == '\n' {
			c.lines++
		}
	}
	c.bytes += len(b)
	return nil
}

func (c *flushSizes) Flush() error {
	if c.lines > 0 {
		c.perFlush = append(c.perFlush, c.lines)
		c.bytesPer = append(c.bytesPer, c.bytes)
	}
	c.lines, c.bytes = 0, 0
	return nil
}

func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestJournalCost measures, through a real Follower, the size of a flush
// (what a kill -9 may repeat with the journal) at 10k and 20k lines/s from
// a writer doing one write(2) per 80-byte line, and the CPU time of the
// process with and without the journal over 1M lines at 20k lines/s. It
// takes about two minutes, so it runs only with LOGSCAN_JOURNAL_COST=1
// (LOGSCAN_JOURNAL_LINES sets the line count of the CPU runs).
func TestJournalCost(t *testing.T) {
	if os.Getenv("LOGSCAN_JOURNAL_COST") != "1" {
		t.Skip("set LOGSCAN_JOURNAL_COST=1 to measure")
	}
	lines := 1000000
	if v := os.Getenv("LOGSCAN_JOURNAL_LINES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatal(err)
		}
		lines = n
	}
	for _, r := range []struct {
		rate, lines int
		journal     bool
	}{{10000, 100000, true}, {20000, lines, false}, {20000, lines, true}} {
		c, cpu := followAtRate(t, r.rate, r.lines, r.journal)
		p := func(s []int, q float64) int {
			s = slices.Clone(s)
			slices.Sort(s)
			return s[int(q*float64(len(s)-1))]
		}
		total := 0
		for _, n := range c.perFlush {
			total += n
		}
		t.Logf("JOURNAL rate=%d lines=%d journal=%v: cpu=%v (%.1f%% of one core over %v); %d flushes, lines/flush mean %.1f p50 %d p90 %d p99 %d max %d; bytes/flush p50 %d p99 %d",
			r.rate, total, r.journal, cpu.Round(time.Millisecond), 100*cpu.Seconds()/(float64(r.lines)/float64(r.rate)),
			time.Duration(float64(r.lines)/float64(r.rate)*float64(time.Second)).Round(time.Second),
			len(c.perFlush), float64(total)/float64(len(c.perFlush)), p(c.perFlush, 0.5), p(c.perFlush, 0.9), p(c.perFlush, 0.99), p(c.perFlush, 1),
			p(c.bytesPer, 0.5), p(c.bytesPer, 0.99))
	}
}

// followAtRate follows one file while it is written at rate lines/s, and
// returns the flush sizes and the process's CPU time over the run.
func followAtRate(t *testing.T, rate, n int, journal bool) (*flushSizes, time.Duration) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	writeFile(t, log, "")
	cfg := Config{Roots: []string{dir}}
	if journal {
		cfg.StateFile = filepath.Join(t.TempDir(), "state.json")
	}
	c := &flushSizes{}
	f, err := New(cfg, c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	<-f.Ready()
	w, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 0, 96)
	before := cpuTime(t)
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	for written := 0; written < n; {
		<-tick.C // pacing: the writer's rate
		due := min(n, int(time.Since(start).Seconds()*float64(rate)))
		for ; written < due; written++ {
			line = fmt.Appendf(line[:0], "2026-05-01T12:00:00.%06dZ app[42]: ordinary line %08d with some padding\n", written%1000000, written)
			if _, err := w.Write(line); err != nil {
				t.Fatal(err)
			}
		}
	}
	tick.Stop()
	for f.Stats().LinesRead.Load() < int64(n) {
		time.Sleep(10 * time.Millisecond) // pacing: let the follower catch up
	}
	cpu := cpuTime(t) - before
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return c, cpu
}
