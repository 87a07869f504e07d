// Command followpair runs several followers at once on the same writes and
// reports each one's latency, losses, duplicates and CPU: a paired form of
// ../shared/bench's tailbench steady case. On a VM whose latency swings from
// run to run, percentiles taken in separate runs compare spells more than
// followers; here every follower sees the same writes in the same spell.
//
//	go run ./bench/followpair -cmd 'logscan=bin/logscan --follow {dir} --match MATCHME' \
//	    -cmd 'tail|grep=tail -q -F -n0 {dir}/app.log {dir}/d*/app.log | grep --line-buffered MATCHME'
//
// Each command runs under sh -c in its own process group, with {dir} the
// directory written to; its CPU is the user and system time of that group's
// processes, read from /proc before it is sent SIGTERM. The writer is
// tailbench's: lines round-robin over -files files, -batch lines per write
// round, one line in -every a match carrying its sequence number and the
// time it was written.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type cmds []string

func (c *cmds) String() string     { return strings.Join(*c, "; ") }
func (c *cmds) Set(v string) error { *c = append(*c, v); return nil }

type config struct {
	cmds                      cmds
	lines, files, rate, every int
	batch                     int
	settle, warmup            time.Duration
}

func main() {
	var c config
	flag.Var(&c.cmds, "cmd", "NAME=COMMAND, run by sh -c with {dir} replaced; repeat for each follower")
	flag.IntVar(&c.lines, "lines", 200000, "lines to write in all")
	flag.IntVar(&c.files, "files", 40, "files written round-robin")
	flag.IntVar(&c.rate, "rate", 20000, "lines per second")
	flag.IntVar(&c.batch, "batch", 100, "lines per write round")
	flag.IntVar(&c.every, "every", 100, "one line in this many matches")
	flag.DurationVar(&c.settle, "settle", 5*time.Second, "after writing, wait this long for missing lines")
	flag.DurationVar(&c.warmup, "warmup", 30*time.Second, "bound on waiting for every follower's first line")
	flag.Parse()
	if len(c.cmds) == 0 {
		fmt.Fprintln(os.Stderr, "followpair: give at least one -cmd NAME=COMMAND")
		os.Exit(2)
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "followpair:", err)
		os.Exit(1)
	}
}

// follower is one command under test and what came back from it.
type follower struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	seen map[int]int
	lat  []float64     // ms from the line's formatting, as tailbench counts
	at   map[int]int64 // first arrival of each match, ns
	done chan struct{}
}

func run(c config) error {
	dir, err := os.MkdirTemp("", "followpair-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	w, err := newWriter(dir, c.files)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var fs []*follower
	defer func() {
		for _, f := range fs {
			_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
		}
	}()
	for _, spec := range c.cmds {
		name, command, ok := strings.Cut(spec, "=")
		if !ok {
			return fmt.Errorf("-cmd %q: want NAME=COMMAND", spec)
		}
		f, err := start(ctx, name, strings.ReplaceAll(command, "{dir}", dir))
		if err != nil {
			return err
		}
		fs = append(fs, f)
	}
	if err := warmUp(w, fs, c.warmup); err != nil {
		return err
	}
	start := time.Now()
	expected := 0
	tick := time.NewTicker(time.Duration(float64(time.Second) * float64(c.batch) / float64(c.rate)))
	defer tick.Stop()
	for seq := 0; seq < c.lines; {
		for n := min(c.batch, c.lines-seq); n > 0; n-- {
			match := seq%c.every == 0
			if match {
				expected++
			}
			w.write(seq, match)
			seq++
		}
		if err := w.flush(); err != nil {
			return err
		}
		<-tick.C
	}
	wrote := time.Since(start)
	for deadline := time.Now().Add(c.settle); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if !slices.ContainsFunc(fs, func(f *follower) bool { return f.received() < expected }) {
			break
		}
	}
	fmt.Printf("followpair: %d lines into %d files at %d/s in %.1fs, %d matches\n", c.lines, c.files, c.rate, wrote.Seconds(), expected)
	for _, f := range fs {
		cpu, err := groupCPU(f.cmd.Process.Pid)
		if err != nil {
			return err
		}
		_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGTERM)
		fmt.Printf("%-10s %s cpu=%.2fs cpu_per_1M=%.2fs\n", f.name, f.summary(c, w.written), cpu, cpu*1e6/float64(c.lines))
	}
	for _, f := range fs {
		select {
		case <-f.done:
		case <-time.After(5 * time.Second):
		}
	}
	return nil
}

func start(ctx context.Context, name, command string) (*follower, error) {
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f := &follower{name: name, cmd: cmd, seen: map[int]int{}, at: map[int]int64{}, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			now := time.Now().UnixNano()
			if seq, ns, ok := parse(sc.Bytes()); ok {
				f.arrive(seq, ns, now)
			}
		}
		_ = cmd.Wait()
	}()
	return f, nil
}

// parse finds "seq=N ns=T" in a line.
func parse(line []byte) (seq int, ns int64, ok bool) {
	i := bytes.Index(line, []byte("seq="))
	if i < 0 {
		return 0, 0, false
	}
	rest := line[i+4:]
	sp := bytes.IndexByte(rest, ' ')
	if sp < 0 || !bytes.HasPrefix(rest[sp:], []byte(" ns=")) {
		return 0, 0, false
	}
	s, err1 := strconv.Atoi(string(rest[:sp]))
	t := rest[sp+4:]
	if e := bytes.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' }); e >= 0 {
		t = t[:e]
	}
	n, err2 := strconv.ParseInt(string(t), 10, 64)
	return s, n, err1 == nil && err2 == nil
}

func (f *follower) arrive(seq int, ns, now int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen[seq]++
	if seq >= 0 && f.seen[seq] == 1 {
		f.lat = append(f.lat, float64(now-ns)/1e6)
		f.at[seq] = now
	}
}

func (f *follower) received() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.seen)
	if _, ok := f.seen[-1]; ok {
		n--
	}
	return n
}

func (f *follower) summary(c config, written map[int]int64) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	lost, dup := 0, 0
	for seq := 0; seq < c.lines; seq += c.every {
		switch n := f.seen[seq]; {
		case n == 0:
			lost++
		case n > 1:
			dup += n - 1
		}
	}
	var fromWrite []float64
	for seq, at := range f.at {
		fromWrite = append(fromWrite, float64(at-written[seq])/1e6)
	}
	q := quantiles(f.lat)
	qw := quantiles(fromWrite)
	return fmt.Sprintf("received=%d lost=%d dup=%d p50=%.2fms p90=%.2fms p99=%.2fms max=%.2fms from_write: p50=%.2fms p99=%.2fms max=%.2fms",
		len(f.lat), lost, dup, q(0.5), q(0.9), q(0.99), q(1), qw(0.5), qw(0.99), qw(1))
}

func quantiles(v []float64) func(p float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return func(p float64) float64 {
		if len(v) == 0 {
			return 0
		}
		return v[min(len(v)-1, int(float64(len(v))*p))]
	}
}

// warmUp writes a match every 50 ms until every follower has returned one.
func warmUp(w *writer, fs []*follower, bound time.Duration) error {
	for deadline := time.Now().Add(bound); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		w.write(-1, true)
		if err := w.flush(); err != nil {
			return err
		}
		ready := true
		for _, f := range fs {
			f.mu.Lock()
			ready = ready && f.seen[-1] > 0
			f.mu.Unlock()
		}
		if ready {
			return nil
		}
	}
	return errors.New("a follower returned no warm-up line")
}

// groupCPU sums user and system seconds of the processes in process group pgid.
func groupCPU(pgid int) (float64, error) {
	procs, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return 0, err
	}
	ticks := 0.0
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the process ended
		}
		// Fields after the command, which is in parentheses and may hold spaces.
		fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(fields) < 13 {
			continue
		}
		if g, _ := strconv.Atoi(fields[2]); g != pgid {
			continue
		}
		ut, _ := strconv.ParseFloat(fields[11], 64)
		st, _ := strconv.ParseFloat(fields[12], 64)
		ticks += ut + st
	}
	return ticks / 100, nil // USER_HZ is 100 on Linux
}

// writer appends lines round-robin to files app.log and dN/app.log. It
// notes when each match's write began: tailbench's latency starts when a
// line is formatted, so it also counts the writer's own delays before the
// write (formatting the rest of the round, writing the other files).
type writer struct {
	bufs    []*bufio.Writer
	pending [][]int       // per file, the matches buffered and not yet written
	written map[int]int64 // match → when its write began, ns
	next    int
	line    []byte
}

func newWriter(dir string, n int) (*writer, error) {
	w := &writer{pending: make([][]int, n), written: map[int]int64{}}
	for i := range n {
		p := filepath.Join(dir, "app.log")
		if i > 0 {
			p = filepath.Join(dir, fmt.Sprintf("d%d", i), "app.log")
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		w.bufs = append(w.bufs, bufio.NewWriterSize(f, 1<<20))
	}
	return w, nil
}

func (w *writer) write(seq int, match bool) {
	b := time.Now().UTC().AppendFormat(w.line[:0], time.RFC3339Nano)
	if match {
		b = fmt.Appendf(b, " app[42]: MATCHME seq=%d ns=%d\n", seq, time.Now().UnixNano())
	} else {
		b = fmt.Appendf(b, " app[42]: ordinary line %d with some padding text to look like a log\n", seq)
	}
	w.line = b
	i := w.next % len(w.bufs)
	_, _ = w.bufs[i].Write(b) // a bufio.Writer's error is sticky: flush reports it
	if match && seq >= 0 {
		w.pending[i] = append(w.pending[i], seq)
	}
	w.next++
}

func (w *writer) flush() error {
	for i, b := range w.bufs {
		now := time.Now().UnixNano()
		for _, seq := range w.pending[i] {
			w.written[seq] = now
		}
		w.pending[i] = w.pending[i][:0]
		if err := b.Flush(); err != nil {
			return err
		}
	}
	return nil
}
