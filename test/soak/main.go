// Command soak is logscan's chaos soak: it runs `logscan --follow` on a
// scratch tree, writes lines carrying unique sequence numbers into many files
// in nested directories at a steady rate, injects faults at seeded random
// moments, and at the end checks every sequence number.
//
//	go run ./test/soak -duration 60s [-seed N] [-bin bin/logscan] [-user nobody]
//
// # Faults
//
// rename rotation, copytruncate, delete-and-recreate, truncation to zero, a
// directory renamed and one removed (then made again), a burst of 1,000 new
// files, chmod 000 and back (an existing file and a new one), a 20 MiB line,
// a file replaced by a symlink to a file outside the tree, SIGHUP with a good
// and with a bad config, SIGTERM and restart, kill -9 and restart. Faults run
// one at a time; the steady writes to the other files go on meanwhile,
// including while logscan is down.
//
// # What counts as lost
//
// Every line is in one of three classes:
//   - required: written to a regular file inside the tree that stays there
//     (possibly under a new name) at least until logscan has reported it.
//     Missing one is a loss. Before a file is deleted, truncated, removed
//     with its directory or replaced by a symlink, the writer stops writing
//     to it and waits (up to 10 s) until logscan has reported all of its
//     required lines; lines it still lacks then stay required, since they sat
//     in the tree for 10 s.
//   - optional: lines logscan may legitimately never see: written to a
//     file after it was deleted, or written just before a truncation with no
//     wait. Seeing them is fine, seeing them twice is a duplicate.
//   - forbidden: written through a symlink to a file outside the tree.
//     Reporting one means a symlink was followed, and fails the run.
//
// copytruncate races in real life (bytes written between logrotate's copy and
// its truncate are lost by logrotate itself, not by the reader). The soak's
// writer does the copy and the truncate while holding that file's writes, as
// an application that is told to pause would, so every line of it stays
// required: those not yet read from the original are in the copy, which lands
// inside the tree and which logscan must read from where the original stood.
//
// # Duplicates
//
// A line reported twice is a duplicate unless its first report came from a
// logscan that was then killed with SIGKILL, within SaveInterval + 1 s before
// the kill, and its second from a later logscan: that is the window the state
// file cannot cover.
//
// # Resources
//
// Every 500 ms the soak counts /proc/PID/fd and reads go_goroutines and
// process_resident_memory_bytes from /metrics, plus VmHWM from
// /proc/PID/status. The medians of descriptors and goroutines over the last
// third of the run must not exceed those of the first third by more than a
// slack, and peak RSS must stay under -max-rss-mib.
//
// The last line printed is the summary:
//
//	written=N faults=kind:count,... lost=N duplicates=N peak_rss_mib=N peak_fds=N
//
// and the exit status is 1 on any loss, unexpected duplicate, leaked symlink
// line, growth, RSS over the bound or misbehaviour (a bad exit, a refused good
// config), 2 when the soak itself could not run.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

type options struct {
	duration     time.Duration
	seed         uint64
	bin          string
	user         string
	rate         int
	streams      int
	maxRSSMiB    int
	fdSlack      int
	grSlack      int
	saveInterval time.Duration
	keep         bool
	quiet        bool
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "how long to write lines and inject faults")
	flag.Uint64Var(&o.seed, "seed", 0, "random seed; 0 picks one from the clock (it is printed, so a run can be repeated)")
	flag.StringVar(&o.bin, "bin", "", "logscan binary to run; empty builds ./cmd/logscan (run from the repository root)")
	flag.StringVar(&o.user, "user", "nobody", "when run as root, run logscan as this user so that chmod 000 bites; empty keeps root")
	flag.IntVar(&o.rate, "rate", 1000, "steady lines per second, spread over the files")
	flag.IntVar(&o.streams, "files", 24, "files written at the same time")
	flag.IntVar(&o.maxRSSMiB, "max-rss-mib", 256, "peak RSS of logscan allowed, in MiB")
	flag.IntVar(&o.fdSlack, "fd-slack", 32, "descriptors the last third's median may exceed the first third's by")
	flag.IntVar(&o.grSlack, "goroutine-slack", 8, "goroutines the last third's median may exceed the first third's by")
	flag.DurationVar(&o.saveInterval, "save-interval", time.Second, "logscan's --save-interval; also the kill -9 duplicate window (plus 1 s)")
	flag.BoolVar(&o.keep, "keep", false, "keep the scratch directory even when the run passes")
	flag.BoolVar(&o.quiet, "q", false, "do not print each fault as it is injected")
	flag.Parse()
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	ok, err := run(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "soak: %v\n", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// class says what the check expects of a line; see the package doc.
type class uint8

const (
	required class = iota
	optional
	forbidden
)

// lineRec is what the writer knows about one sequence number.
type lineRec struct {
	st    *stream
	class class
}

// stream is one logical log: a file name the writer appends to, through
// rotations and recreations.
type stream struct {
	name   string
	rel    string // path below the tree
	f      *os.File
	paused bool // a fault is working on it: no steady writes
	dead   bool
	unseen []int64 // required lines not yet confirmed as reported
}

// emission is one report of a sequence number by logscan.
type emission struct {
	inst int
	at   time.Time
}

// recorder collects what the logscan instances print; it is shared by the
// reader goroutines and the writer.
type recorder struct {
	mu        sync.Mutex
	ems       map[int64][]emission
	unparsed  int
	refused   int // "reload refused" log lines
	reloaded  int // "configuration reloaded" log lines
	errorLogs []string
}

func (r *recorder) add(seq int64, inst int, at time.Time) {
	r.mu.Lock()
	r.ems[seq] = append(r.ems[seq], emission{inst, at})
	r.mu.Unlock()
}

// prune drops the sequence numbers already reported from seqs, in place.
func (r *recorder) prune(seqs []int64) []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.DeleteFunc(seqs, func(q int64) bool { return len(r.ems[q]) > 0 })
}

func (r *recorder) reloads() (refused, reloaded int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refused, r.reloaded
}

// proc is one running logscan.
type proc struct {
	inst  int
	cmd   *exec.Cmd
	pid   int
	addr  string
	addrC chan string
	done  chan struct{} // closed once the process was reaped
	err   error         // from Wait, valid after done
	end   string        // "term", "kill" or "" while running
	endAt time.Time
	hwm   int64 // VmHWM in bytes, last read
}

type sample struct {
	at         time.Time
	fds        int
	goroutines int
	rss        int64
}

type soak struct {
	o     options
	rng   *rand.Rand
	dir   string // scratch root
	tree  string // the root logscan follows
	out   string // outside the tree: symlink targets
	state string // state file
	cfg   string // config file, for SIGHUP
	bin   string
	cred  *syscall.Credential
	logw  io.Writer

	lines   []lineRec // by sequence number
	streams []*stream
	nstream int
	dirs    []string // directories below the tree that hold streams
	topDirs []string
	steady  int64 // steady lines written
	rr      int
	t0      time.Time
	stopW   bool // the run is over: no more steady writes
	hold    bool // the first logscan is starting: no writes yet

	rec *recorder

	mu      sync.Mutex // guards cur and samples
	cur     *proc
	samples []sample
	insts   []*proc // every instance, by inst-1

	faults   map[string]int
	failures []string
	err      error // first fatal error of the writer
}

var faultKinds = []string{"rotate", "copytruncate", "recreate", "truncate", "dir_rename", "dir_remove", "burst", "chmod", "big_line", "symlink", "sighup", "term", "kill"}

func run(o options) (bool, error) {
	s := &soak{o: o, rng: rand.New(rand.NewPCG(o.seed, o.seed^0x9e3779b97f4a7c15)), logw: os.Stderr,
		rec: &recorder{ems: map[int64][]emission{}}, faults: map[string]int{}}
	if o.rate <= 0 || o.streams <= 0 || o.duration <= 0 {
		return false, errors.New("-rate, -files and -duration must be positive")
	}
	var err error
	s.dir, err = os.MkdirTemp("", "logscan-soak-")
	if err != nil {
		return false, fmt.Errorf("scratch directory: %w", err)
	}
	passed := false
	defer func() {
		if passed && !o.keep {
			if err := os.RemoveAll(s.dir); err != nil {
				fmt.Fprintf(os.Stderr, "soak: removing %s: %v\n", s.dir, err)
			}
			return
		}
		fmt.Fprintf(os.Stderr, "soak: scratch directory kept: %s (logscan-N.stderr are the logs)\n", s.dir)
	}()
	if err := s.setup(); err != nil {
		return false, err
	}
	s.printf("seed=%d duration=%s rate=%d/s files=%d user=%s scratch=%s", o.seed, o.duration, o.rate, o.streams, s.userName(), s.dir)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.sampler(ctx)
	}()
	defer func() {
		cancel()
		wg.Wait()
		if p := s.getCur(); p != nil {
			_ = p.cmd.Process.Kill() // the run failed half-way; leave nothing behind
			<-p.done
		}
	}()

	if err := s.start(false); err != nil {
		return false, err
	}
	if err := s.drive(); err != nil {
		return false, err
	}
	cancel()
	wg.Wait()
	passed = s.report()
	return passed, nil
}

func (s *soak) userName() string {
	if s.cred == nil {
		return strconv.Itoa(os.Geteuid())
	}
	return s.o.user
}

func (s *soak) printf(format string, args ...any) {
	if s.o.quiet {
		return
	}
	el := time.Duration(0)
	if !s.t0.IsZero() {
		el = time.Since(s.t0).Round(time.Millisecond)
	}
	fmt.Fprintf(s.logw, "soak %8s: %s\n", el, fmt.Sprintf(format, args...))
}

func (s *soak) failf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.failures = append(s.failures, msg)
	fmt.Fprintf(s.logw, "soak: FAIL: %s\n", msg)
}

// setup makes the scratch tree, the binary, the config and the credentials.
func (s *soak) setup() error {
	if err := os.Chmod(s.dir, 0o755); err != nil {
		return fmt.Errorf("chmod %s: %w", s.dir, err)
	}
	s.tree = filepath.Join(s.dir, "tree")
	s.out = filepath.Join(s.dir, "outside")
	stateDir := filepath.Join(s.dir, "state")
	s.state = filepath.Join(stateDir, "state.json")
	s.cfg = filepath.Join(s.dir, "logscan.yaml")
	for _, d := range []string{s.tree, s.out, stateDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("make %s: %w", d, err)
		}
	}
	if os.Geteuid() == 0 && s.o.user != "" {
		u, err := user.Lookup(s.o.user)
		if err != nil {
			return fmt.Errorf("-user %s: %w", s.o.user, err)
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("-user %s: ids %s/%s: %w", s.o.user, u.Uid, u.Gid, err)
		}
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
		if err := os.Chown(stateDir, int(uid), int(gid)); err != nil {
			return fmt.Errorf("chown %s to %s: %w", stateDir, s.o.user, err)
		}
	}
	s.bin = filepath.Join(s.dir, "logscan")
	if s.o.bin == "" {
		cmd := exec.Command("go", "build", "-o", s.bin, "./cmd/logscan")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build ./cmd/logscan (run the soak from the repository root, or give -bin): %w", err)
		}
	} else if err := copyFile(s.o.bin, s.bin, 0o755); err != nil {
		// A copy, so that the unprivileged user can surely execute it.
		return fmt.Errorf("-bin: %w", err)
	}
	if err := os.WriteFile(s.cfg, []byte("log:\n  level: info\n"), 0o644); err != nil {
		return fmt.Errorf("write config %s: %w", s.cfg, err)
	}
	for i := range 4 {
		top := fmt.Sprintf("d%d", i)
		s.topDirs = append(s.topDirs, top)
		s.dirs = append(s.dirs, top, top+"/sub", top+"/sub/deep")
	}
	for _, d := range s.dirs {
		if err := os.MkdirAll(filepath.Join(s.tree, d), 0o755); err != nil {
			return fmt.Errorf("make %s: %w", d, err)
		}
	}
	for i := range s.o.streams {
		if _, err := s.newStream(s.dirs[i%len(s.dirs)], 0o644); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(from, to string, perm os.FileMode) error {
	src, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("open %s: %w", from, err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("create %s: %w", to, err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		_ = dst.Close() // the copy error is the one to report
		return fmt.Errorf("copy %s to %s: %w", from, to, err)
	}
	if err := dst.Close(); err != nil {
		return fmt.Errorf("close %s: %w", to, err)
	}
	return nil
}

func (s *soak) newStream(dir string, perm os.FileMode) (*stream, error) {
	s.nstream++
	st := &stream{name: fmt.Sprintf("s%d", s.nstream), rel: filepath.Join(dir, fmt.Sprintf("s%d.log", s.nstream))}
	if err := s.reopen(st, perm); err != nil {
		return nil, err
	}
	s.streams = append(s.streams, st)
	return st, nil
}

func (s *soak) path(st *stream) string { return filepath.Join(s.tree, st.rel) }

// reopen opens (creating) the stream's file for appending.
func (s *soak) reopen(st *stream, perm os.FileMode) error {
	if st.f != nil {
		if err := st.f.Close(); err != nil {
			return fmt.Errorf("close %s: %w", st.f.Name(), err)
		}
	}
	f, err := os.OpenFile(s.path(st), os.O_CREATE|os.O_WRONLY|os.O_APPEND, perm)
	if err != nil {
		return fmt.Errorf("open %s: %w", s.path(st), err)
	}
	st.f = f
	return nil
}

// appendLine formats one soak line.
func appendLine(b []byte, seq int64, name string) []byte {
	b = append(b, "SOAK seq="...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, " file="...)
	b = append(b, name...)
	return append(b, '\n')
}

// writeTo writes n lines of class cl to w, which belongs to st, in one write.
func (s *soak) writeTo(w io.Writer, st *stream, n int, cl class) error {
	var b []byte
	for range n {
		seq := int64(len(s.lines))
		s.lines = append(s.lines, lineRec{st: st, class: cl})
		if cl == required {
			st.unseen = append(st.unseen, seq)
		}
		b = appendLine(b, seq, st.name)
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write to %s: %w", st.rel, err)
	}
	return nil
}

func (s *soak) active() []*stream {
	var a []*stream
	for _, st := range s.streams {
		if !st.dead && !st.paused {
			a = append(a, st)
		}
	}
	return a
}

// pump writes the steady lines that are due, spread round-robin over the
// files that no fault is working on.
func (s *soak) pump() {
	if s.stopW || s.hold || s.err != nil {
		return
	}
	due := int64(time.Since(s.t0).Seconds()*float64(s.o.rate)) - s.steady
	if limit := int64(s.o.rate / 2); due > limit {
		s.steady += due - limit // the writer stalled; do not make up for it in one burst
		due = limit
	}
	a := s.active()
	if due <= 0 || len(a) == 0 {
		return
	}
	per := make(map[*stream]int, len(a))
	for range due {
		per[a[s.rr%len(a)]]++
		s.rr++
	}
	for _, st := range a {
		if n := per[st]; n > 0 {
			if err := s.writeTo(st.f, st, n, required); err != nil {
				s.err = err
				return
			}
		}
	}
	s.steady += due
}

// waitUntil pumps the steady writes until cond holds or timeout passes. It
// polls: the soak is a program watching another one, with a deadline.
func (s *soak) waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || s.err != nil {
			return false
		}
		s.pump()
		time.Sleep(5 * time.Millisecond)
	}
}

// caughtUp waits until logscan has reported every required line of sts.
func (s *soak) caughtUp(timeout time.Duration, sts ...*stream) {
	ok := s.waitUntil(timeout, func() bool {
		for _, st := range sts {
			if st.unseen = s.rec.prune(st.unseen); len(st.unseen) > 0 {
				return false
			}
		}
		return true
	})
	if !ok {
		n := 0
		for _, st := range sts {
			n += len(st.unseen)
		}
		s.printf("warning: %d lines of %d files still unreported after %s; they stay required", n, len(sts), timeout)
	}
}

// pick returns a random file no fault is working on, making one if none is
// left.
func (s *soak) pick() (*stream, error) {
	a := s.active()
	if len(a) == 0 {
		return s.newStream(s.dirs[s.rng.IntN(len(s.dirs))], 0o644)
	}
	return a[s.rng.IntN(len(a))], nil
}

// drive is the writer and fault injector: one goroutine, so a file a fault
// works on gets no writes in the middle of it.
func (s *soak) drive() error {
	d := s.o.duration
	kinds := append([]string(nil), faultKinds...)
	extra := int(d/(5*time.Second)) - len(kinds)
	for range max(0, extra) {
		kinds = append(kinds, faultKinds[s.rng.IntN(len(faultKinds))])
	}
	s.rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	// Evenly spread slots with jitter, between 5% and 85% of the run; the
	// first kill -9 waits until a state file has surely been saved.
	at := make([]time.Duration, len(kinds))
	slot := float64(d) * 0.8 / float64(len(kinds))
	for i := range kinds {
		at[i] = time.Duration(float64(d)*0.05 + (float64(i)+s.rng.Float64())*slot)
	}
	s.t0 = time.Now()
	next := 0
	for time.Since(s.t0) < d {
		s.pump()
		if s.err != nil {
			return s.err
		}
		if next < len(kinds) && time.Since(s.t0) >= at[next] {
			k := kinds[next]
			if k == "kill" && time.Since(s.t0) < 3*s.o.saveInterval {
				at[next] += s.o.saveInterval
				continue
			}
			next++
			s.printf("fault %s", k)
			if err := s.fault(k); err != nil {
				return fmt.Errorf("fault %s: %w", k, err)
			}
			if s.err != nil {
				return s.err
			}
			s.faults[k]++
			continue
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.stopW = true
	s.printf("writes stopped; waiting for logscan to report everything")
	all := []int64{}
	for q, r := range s.lines {
		if r.class == required {
			all = append(all, int64(q))
		}
	}
	s.waitUntil(30*time.Second, func() bool {
		all = s.rec.prune(all)
		return len(all) == 0
	})
	return s.stop(false)
}

func (s *soak) fault(kind string) error {
	switch kind {
	case "rotate":
		st, err := s.pick()
		if err != nil {
			return err
		}
		p := s.path(st)
		if err := os.Rename(p, p+".1"); err != nil {
			return fmt.Errorf("rename %s: %w", p, err)
		}
		// The application has not reopened yet: its next lines go to the
		// renamed file, and logscan must drain them.
		if err := s.writeTo(st.f, st, 3, required); err != nil {
			return err
		}
		return s.reopen(st, 0o644)
	case "copytruncate":
		st, err := s.pick()
		if err != nil {
			return err
		}
		p := s.path(st)
		if err := os.Remove(p + ".1"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove old copy: %w", err)
		}
		if err := copyFile(p, p+".1", 0o644); err != nil {
			return err
		}
		if err := st.f.Truncate(0); err != nil {
			return fmt.Errorf("truncate %s: %w", p, err)
		}
		return nil
	case "recreate":
		st, err := s.pick()
		if err != nil {
			return err
		}
		st.paused = true
		defer func() { st.paused = false }()
		s.caughtUp(10*time.Second, st)
		p := s.path(st)
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("remove %s: %w", p, err)
		}
		if err := s.writeTo(st.f, st, 2, optional); err != nil {
			return err
		}
		return s.reopen(st, 0o644)
	case "truncate":
		st, err := s.pick()
		if err != nil {
			return err
		}
		st.paused = true
		defer func() { st.paused = false }()
		s.caughtUp(10*time.Second, st)
		if err := s.writeTo(st.f, st, 3, optional); err != nil {
			return err
		}
		if err := st.f.Truncate(0); err != nil {
			return fmt.Errorf("truncate %s: %w", st.rel, err)
		}
		return nil
	case "dir_rename":
		return s.dirRename()
	case "dir_remove":
		return s.dirRemove()
	case "burst":
		return s.burst()
	case "chmod":
		return s.chmod()
	case "big_line":
		st, err := s.pick()
		if err != nil {
			return err
		}
		seq := int64(len(s.lines))
		s.lines = append(s.lines, lineRec{st: st, class: required})
		st.unseen = append(st.unseen, seq)
		b := fmt.Appendf(nil, "SOAK seq=%d file=%s big=20MiB ", seq, st.name)
		b = append(b, bytes.Repeat([]byte{'x'}, 20<<20)...)
		b = append(b, '\n')
		if _, err := st.f.Write(b); err != nil {
			return fmt.Errorf("write the 20 MiB line to %s: %w", st.rel, err)
		}
		return nil
	case "symlink":
		return s.symlink()
	case "sighup":
		return s.sighup()
	case "term", "kill":
		if err := s.stop(kind == "kill"); err != nil {
			return err
		}
		down := 500*time.Millisecond + time.Duration(s.rng.IntN(1500))*time.Millisecond
		s.waitUntil(down, func() bool { return false })
		return s.start(true)
	}
	return fmt.Errorf("unknown fault %q", kind)
}

// underDir reports whether rel is dir or below it.
func underDir(rel, dir string) bool { return rel == dir || strings.HasPrefix(rel, dir+"/") }

func (s *soak) dirRename() error {
	if len(s.topDirs) == 0 {
		return nil
	}
	i := s.rng.IntN(len(s.topDirs))
	old := s.topDirs[i]
	nu := fmt.Sprintf("%s-mv%d", strings.SplitN(old, "-", 2)[0], s.faults["dir_rename"]+1)
	if err := os.Rename(filepath.Join(s.tree, old), filepath.Join(s.tree, nu)); err != nil {
		return fmt.Errorf("rename directory %s: %w", old, err)
	}
	s.topDirs[i] = nu
	for j, d := range s.dirs {
		if underDir(d, old) {
			s.dirs[j] = nu + strings.TrimPrefix(d, old)
		}
	}
	for _, st := range s.streams {
		if !st.dead && underDir(st.rel, old) {
			st.rel = nu + strings.TrimPrefix(st.rel, old)
		}
	}
	return nil
}

func (s *soak) dirRemove() error {
	d := s.dirs[s.rng.IntN(len(s.dirs))]
	var victims []*stream
	for _, st := range s.streams {
		if !st.dead && underDir(st.rel, d) {
			st.paused = true
			victims = append(victims, st)
		}
	}
	for _, st := range victims {
		s.caughtUp(10*time.Second, st)
	}
	for _, st := range victims {
		if err := st.f.Close(); err != nil {
			return fmt.Errorf("close %s: %w", st.rel, err)
		}
		st.dead, st.paused = true, false
	}
	if err := os.RemoveAll(filepath.Join(s.tree, d)); err != nil {
		return fmt.Errorf("remove directory %s: %w", d, err)
	}
	s.dirs = slices.DeleteFunc(s.dirs, func(x string) bool { return underDir(x, d) })
	s.topDirs = slices.DeleteFunc(s.topDirs, func(x string) bool { return x == d })
	// The same name comes back, with new files in it.
	if err := os.MkdirAll(filepath.Join(s.tree, d), 0o755); err != nil {
		return fmt.Errorf("make directory %s again: %w", d, err)
	}
	s.dirs = append(s.dirs, d)
	if !strings.Contains(d, "/") {
		s.topDirs = append(s.topDirs, d)
	}
	for range max(1, len(victims)) {
		if _, err := s.newStream(d, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// burst makes 1,000 new files of one line each in a new directory, waits
// until logscan has reported them, and removes them again, which must give
// back every descriptor.
func (s *soak) burst() error {
	n := s.faults["burst"] + 1
	rel := fmt.Sprintf("burst%d", n)
	dir := filepath.Join(s.tree, rel)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("make %s: %w", dir, err)
	}
	var made []*stream
	for i := range 1000 {
		st := &stream{name: fmt.Sprintf("b%d-%d", n, i), rel: filepath.Join(rel, fmt.Sprintf("f%d.log", i))}
		f, err := os.OpenFile(s.path(st), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("create %s: %w", st.rel, err)
		}
		err = s.writeTo(f, st, 1, required)
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close %s: %w", st.rel, cerr)
		}
		if err != nil {
			return err
		}
		made = append(made, st)
		if i%100 == 99 {
			s.pump()
		}
	}
	s.caughtUp(30*time.Second, made...)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

// chmod makes an existing file and a new one unreadable for two seconds
// while lines keep coming, then readable again.
func (s *soak) chmod() error {
	st, err := s.pick()
	if err != nil {
		return err
	}
	p := s.path(st)
	if err := os.Chmod(p, 0); err != nil {
		return fmt.Errorf("chmod 000 %s: %w", p, err)
	}
	nu, err := s.newStream(s.dirs[s.rng.IntN(len(s.dirs))], 0)
	if err != nil {
		return err
	}
	s.waitUntil(2*time.Second, func() bool { return false })
	for _, x := range []*stream{st, nu} {
		if x.dead {
			continue
		}
		if err := os.Chmod(s.path(x), 0o644); err != nil {
			return fmt.Errorf("chmod 644 %s: %w", x.rel, err)
		}
	}
	return nil
}

// symlink replaces a file by a symlink to a file outside the tree and
// writes through it: none of those lines may be reported.
func (s *soak) symlink() error {
	st, err := s.pick()
	if err != nil {
		return err
	}
	st.paused = true
	defer func() { st.paused = false }()
	s.caughtUp(10*time.Second, st)
	p := s.path(st)
	n := s.faults["symlink"] + 1
	target := filepath.Join(s.out, fmt.Sprintf("target%d.log", n))
	if err := os.WriteFile(target, nil, 0o644); err != nil {
		return fmt.Errorf("create %s: %w", target, err)
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	if err := os.Symlink(target, p); err != nil {
		return fmt.Errorf("symlink %s: %w", p, err)
	}
	outside := &stream{name: fmt.Sprintf("x%d", n), rel: "../outside/" + filepath.Base(target)}
	for range 5 {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return fmt.Errorf("open through the symlink %s: %w", p, err)
		}
		err = s.writeTo(f, outside, 3, forbidden)
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close %s: %w", p, cerr)
		}
		if err != nil {
			return err
		}
		s.waitUntil(300*time.Millisecond, func() bool { return false })
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("remove symlink %s: %w", p, err)
	}
	return s.reopen(st, 0o644)
}

// sighup sends a bad config (an invalid regexp), which logscan must refuse
// and keep running, then a good one (a changed rule set), which it must
// accept; both without re-reading or skipping a line. The good config is
// left in place, so that the next restart starts.
func (s *soak) sighup() error {
	n := s.faults["sighup"] + 1
	bad := "log:\n  level: info\nrules:\n  - name: broken\n    match: [\"(\"]\n"
	good := fmt.Sprintf("log:\n  level: info\nrules:\n  - name: extra%d\n    match: [\"NEVER_SEEN_%d\"]\n", n, n)
	for _, c := range []struct {
		what, yaml string
		accept     bool
	}{{"a config with an invalid regexp", bad, false}, {"a good config", good, true}} {
		if err := os.WriteFile(s.cfg, []byte(c.yaml), 0o644); err != nil {
			return fmt.Errorf("write config: %w", err)
		}
		p := s.getCur()
		r0, a0 := s.rec.reloads()
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			return fmt.Errorf("SIGHUP: %w", err)
		}
		var r1, a1 int
		if !s.waitUntil(5*time.Second, func() bool {
			r1, a1 = s.rec.reloads()
			return r1 != r0 || a1 != a0
		}) {
			s.failf("SIGHUP %d with %s: logscan logged neither \"configuration reloaded\" nor \"reload refused\" within 5s", n, c.what)
			continue
		}
		if accepted := a1 != a0; accepted != c.accept {
			s.failf("SIGHUP %d: %s was accepted=%v, want %v", n, c.what, accepted, c.accept)
		}
	}
	return nil
}

func (s *soak) getCur() *proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

func (s *soak) setCur(p *proc) {
	s.mu.Lock()
	s.cur = p
	s.mu.Unlock()
}

// start runs a new logscan and waits until it is ready; with pump the steady
// writes go on meanwhile (not on the first start, whose files start at end).
func (s *soak) start(pump bool) error {
	s.hold = !pump
	defer func() { s.hold = false }()
	p := &proc{inst: len(s.insts) + 1, addrC: make(chan string, 1), done: make(chan struct{})}
	s.insts = append(s.insts, p)
	p.cmd = exec.Command(s.bin, "--follow", s.tree, "--match", "SOAK seq=", "--json", "--log-format", "json",
		"--state-file", s.state, "--listen", "127.0.0.1:0", "--config", s.cfg, "--save-interval", s.o.saveInterval.String())
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LOGSCAN_") {
			env = append(env, kv)
		}
	}
	p.cmd.Env = env
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("stdout pipe: %w", err)
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		return fmt.Errorf("stderr pipe: %w", err)
	}
	logPath := filepath.Join(s.dir, fmt.Sprintf("logscan-%d.stderr", p.inst))
	logFile, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("create %s: %w", logPath, err)
	}
	if err := p.cmd.Start(); err != nil {
		_ = logFile.Close() // the start error is the one to report
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	p.pid = p.cmd.Process.Pid
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.readMatches(stdout, p.inst)
	}()
	go func() {
		defer wg.Done()
		s.readLog(stderr, logFile, p)
	}()
	go func() {
		wg.Wait() // Wait may be called only once the pipes are read to EOF
		p.err = p.cmd.Wait()
		if err := logFile.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "soak: close %s: %v\n", logPath, err)
		}
		close(p.done)
	}()
	var addr string
	got := s.waitUntil(15*time.Second, func() bool {
		select {
		case addr = <-p.addrC:
			return true
		case <-p.done:
			return true
		default:
			return false
		}
	})
	if !got || addr == "" {
		_ = p.cmd.Process.Kill() // it did not come up; the error says so
		<-p.done
		return fmt.Errorf("logscan %d did not start listening (exit: %v); see %s", p.inst, p.err, logPath)
	}
	p.addr = addr
	client := &http.Client{Timeout: time.Second}
	readyCheck := func() bool {
		resp, err := client.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		_ = resp.Body.Close() // only the status matters
		return resp.StatusCode == http.StatusOK
	}
	if !s.waitUntil(30*time.Second, readyCheck) {
		return fmt.Errorf("logscan %d at %s was not ready within 30s; see %s", p.inst, addr, logPath)
	}
	s.setCur(p)
	s.printf("logscan %d ready (pid %d, %s)", p.inst, p.pid, addr)
	return nil
}

// stop ends the current logscan with SIGTERM (which must exit 0 within 5 s)
// or SIGKILL.
func (s *soak) stop(kill bool) error {
	p := s.getCur()
	if p == nil {
		return errors.New("no logscan running")
	}
	s.readHWM(p)
	s.setCur(nil)
	sig, name := syscall.SIGTERM, "term"
	if kill {
		sig, name = syscall.SIGKILL, "kill"
	}
	p.end, p.endAt = name, time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %v to logscan %d: %w", sig, p.inst, err)
	}
	exited := s.waitUntil(6*time.Second, func() bool {
		select {
		case <-p.done:
			return true
		default:
			return false
		}
	})
	if !exited {
		s.failf("logscan %d did not exit within 5s of SIGTERM", p.inst)
		_ = p.cmd.Process.Kill() // already a failure; make sure it is gone
		<-p.done
		return nil
	}
	if !kill && p.err != nil {
		s.failf("logscan %d exited with %v after SIGTERM, want status 0", p.inst, p.err)
	}
	return nil
}

// readMatches records every sequence number in logscan's JSON output.
func (s *soak) readMatches(r io.Reader, inst int) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20) // the 20 MiB line comes out cut to 16 MiB, escaped
	key := []byte(`"text":"SOAK seq=`)        // not "pattern":"SOAK seq=", which comes first
	for sc.Scan() {
		line := sc.Bytes()
		now := time.Now()
		i := bytes.Index(line, key)
		if i < 0 {
			s.rec.mu.Lock()
			s.rec.unparsed++
			s.rec.mu.Unlock()
			continue
		}
		rest := line[i+len(key):]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		seq, err := strconv.ParseInt(string(rest[:j]), 10, 64)
		if err != nil {
			s.rec.mu.Lock()
			s.rec.unparsed++
			s.rec.mu.Unlock()
			continue
		}
		s.rec.add(seq, inst, now)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "soak: reading the output of logscan %d: %v\n", inst, err)
		s.rec.mu.Lock()
		s.rec.unparsed++
		s.rec.mu.Unlock()
		_, _ = io.Copy(io.Discard, r) // keep the pipe flowing so logscan can exit
	}
}

// readLog copies logscan's diagnostics to a file and picks out the listen
// address, reload outcomes and errors.
func (s *soak) readLog(r io.Reader, w io.Writer, p *proc) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(w, line)
		if !sent && strings.Contains(line, `"addr":"`) {
			sent = true
			a := line[strings.Index(line, `"addr":"`)+len(`"addr":"`):]
			if k := strings.IndexByte(a, '"'); k > 0 {
				select {
				case p.addrC <- a[:k]:
				default:
				}
			}
		}
		s.rec.mu.Lock()
		switch {
		case strings.Contains(line, "reload refused"):
			s.rec.refused++
		case strings.Contains(line, "configuration reloaded"):
			s.rec.reloaded++
		case strings.Contains(line, `"level":"error"`) || strings.Contains(line, `"level":"fatal"`) || strings.Contains(line, `"level":"panic"`):
			if len(s.rec.errorLogs) < 20 {
				s.rec.errorLogs = append(s.rec.errorLogs, fmt.Sprintf("logscan %d: %s", p.inst, line))
			}
		}
		s.rec.mu.Unlock()
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "soak: reading the log of logscan %d: %v\n", p.inst, err)
		_, _ = io.Copy(w, r) // keep the pipe flowing so logscan can exit
	}
}

// sampler reads descriptors, goroutines and RSS of the running logscan.
func (s *soak) sampler(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p := s.getCur()
		if p == nil {
			continue
		}
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.pid))
		if err != nil {
			continue // it just exited
		}
		g, rss, ok := scrape(ctx, client, p.addr)
		if !ok {
			continue
		}
		s.readHWM(p)
		s.mu.Lock()
		if s.cur == p {
			s.samples = append(s.samples, sample{at: time.Now(), fds: len(ents), goroutines: g, rss: rss})
		}
		s.mu.Unlock()
	}
}

// readHWM records the peak RSS (VmHWM) of p so far.
func (s *soak) readHWM(p *proc) {
	_, peak, err := testutil.ProcMemory(p.pid)
	if err != nil {
		return
	}
	s.mu.Lock()
	p.hwm = max(p.hwm, peak)
	s.mu.Unlock()
}

func scrape(ctx context.Context, c *http.Client, addr string) (goroutines int, rss int64, ok bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return 0, 0, false
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var seenG, seenR bool
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
			f, err := strconv.ParseFloat(v, 64)
			goroutines, seenG = int(f), err == nil
		}
		if v, ok := strings.CutPrefix(line, "process_resident_memory_bytes "); ok {
			f, err := strconv.ParseFloat(v, 64)
			rss, seenR = int64(f), err == nil
		}
	}
	return goroutines, rss, seenG && seenR && sc.Err() == nil
}

func median(v []int) int {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	sort.Ints(v)
	return v[len(v)/2]
}

// report checks every sequence number and the resource samples, prints the
// details and the summary line, and reports whether the run passed.
func (s *soak) report() bool {
	window := s.o.saveInterval + time.Second
	var lost, dups, killDups, leaked, optSeen int
	var lostEx, dupEx []string
	s.rec.mu.Lock()
	for q, r := range s.lines {
		ems := s.rec.ems[int64(q)]
		switch {
		case r.class == required && len(ems) == 0:
			lost++
			if len(lostEx) < 10 {
				lostEx = append(lostEx, fmt.Sprintf("seq=%d file=%s (%s)", q, r.st.name, r.st.rel))
			}
		case r.class == forbidden && len(ems) > 0:
			leaked++
		case r.class == optional && len(ems) > 0:
			optSeen++
		}
		for j := 1; j < len(ems); j++ {
			prev, e := ems[j-1], ems[j]
			pi := s.insts[prev.inst-1]
			if e.inst > prev.inst && pi.end == "kill" && !prev.at.Before(pi.endAt.Add(-window)) {
				killDups++
				continue
			}
			dups++
			if len(dupEx) < 10 {
				dupEx = append(dupEx, fmt.Sprintf("seq=%d file=%s reported by logscan %d at %s and by %d at %s",
					q, r.st.name, prev.inst, prev.at.Sub(s.t0).Round(time.Millisecond), e.inst, e.at.Sub(s.t0).Round(time.Millisecond)))
			}
		}
	}
	unparsed, errorLogs := s.rec.unparsed, slices.Clone(s.rec.errorLogs)
	s.rec.mu.Unlock()

	s.mu.Lock()
	samples := slices.Clone(s.samples)
	var peakRSS int64
	for _, p := range s.insts {
		peakRSS = max(peakRSS, p.hwm)
	}
	s.mu.Unlock()
	var first, last struct{ fds, gr []int }
	peakFDs := 0
	third := s.o.duration / 3
	for _, sm := range samples {
		peakFDs = max(peakFDs, sm.fds)
		peakRSS = max(peakRSS, sm.rss)
		switch el := sm.at.Sub(s.t0); {
		case el < third:
			first.fds, first.gr = append(first.fds, sm.fds), append(first.gr, sm.goroutines)
		case el >= 2*third && el <= s.o.duration:
			last.fds, last.gr = append(last.fds, sm.fds), append(last.gr, sm.goroutines)
		}
	}

	for _, e := range lostEx {
		fmt.Fprintf(s.logw, "soak: lost: %s\n", e)
	}
	for _, e := range dupEx {
		fmt.Fprintf(s.logw, "soak: duplicate: %s\n", e)
	}
	for _, e := range errorLogs {
		fmt.Fprintf(s.logw, "soak: error logged: %s\n", e)
	}
	if leaked > 0 {
		s.failf("%d lines written through a symlink to outside the tree were reported: the symlink was followed", leaked)
	}
	if unparsed > 0 {
		s.failf("%d output lines carry no sequence number", unparsed)
	}
	if len(first.fds) == 0 || len(last.fds) == 0 {
		s.failf("not enough resource samples (%d in the first third, %d in the last)", len(first.fds), len(last.fds))
	} else {
		f0, f1, g0, g1 := median(first.fds), median(last.fds), median(first.gr), median(last.gr)
		fmt.Fprintf(s.logw, "soak: median fds %d -> %d, goroutines %d -> %d (first third -> last third), samples=%d\n", f0, f1, g0, g1, len(samples))
		if f1 > f0+s.o.fdSlack {
			s.failf("descriptors grew: median %d in the first third, %d in the last (slack %d)", f0, f1, s.o.fdSlack)
		}
		if g1 > g0+s.o.grSlack {
			s.failf("goroutines grew: median %d in the first third, %d in the last (slack %d)", g0, g1, s.o.grSlack)
		}
	}
	rssMiB := (peakRSS + 1<<20 - 1) >> 20
	if rssMiB > int64(s.o.maxRSSMiB) {
		s.failf("peak RSS %d MiB is over the bound of %d MiB", rssMiB, s.o.maxRSSMiB)
	}
	if lost > 0 {
		s.failf("%d required lines were lost", lost)
	}
	if dups > 0 {
		s.failf("%d unexpected duplicates", dups)
	}
	var fs []string
	for _, k := range faultKinds {
		fs = append(fs, fmt.Sprintf("%s:%d", k, s.faults[k]))
	}
	fmt.Fprintf(s.logw, "soak: seed=%d instances=%d kill_window_duplicates=%d optional_seen=%d leaked=%d failures=%d\n",
		s.o.seed, len(s.insts), killDups, optSeen, leaked, len(s.failures))
	fmt.Printf("written=%d faults=%s lost=%d duplicates=%d peak_rss_mib=%d peak_fds=%d\n",
		len(s.lines), strings.Join(fs, ","), lost, dups, rssMiB, peakFDs)
	return len(s.failures) == 0
}
