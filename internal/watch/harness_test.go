package watch

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/logscan/logscan/internal/testutil"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperMain())
	}
	goleak.VerifyTestMain(m)
}

const waitLimit = 15 * time.Second

// recorder is a Consumer that keeps what it was given, split into lines.
type recorder struct {
	mu       sync.Mutex
	pending  []rec
	flushed  []rec
	notify   chan struct{}
	gate     chan struct{} // when set, Lines blocks on it after recording
	entered  chan struct{} // signalled when Lines starts blocking on gate
	flushErr error
	flushes  int
	// flushGate, when set, makes Flush block on it after recording: the
	// output is written, the checkpoint not yet (a kill -9 there).
	flushGate    chan struct{}
	flushEntered chan struct{}
	// committed is flushes as of the follower's last commit: the flushes
	// up to it are in the journal.
	committed int
}

type rec struct {
	path, line string
	id         string
	off        int64
	num        int64 // line number passed for it; 0: unknown
}

func newRecorder() *recorder {
	return &recorder{notify: make(chan struct{}, 1), entered: make(chan struct{}, 1)}
}

func (r *recorder) Lines(f File, block []byte, off, num int64) error {
	r.mu.Lock()
	for len(block) > 0 {
		i := bytes.IndexByte(block, '\n')
		line := block
		if i >= 0 {
			line = block[:i+1]
		}
		r.pending = append(r.pending, rec{path: f.Path, line: strings.TrimSuffix(string(line), "\n"), id: f.ID(), off: off, num: num})
		off += int64(len(line))
		if num > 0 {
			num++
		}
		block = block[len(line):]
	}
	g := r.gate
	r.mu.Unlock()
	if g != nil {
		select {
		case r.entered <- struct{}{}:
		default:
		}
		<-g
	}
	return nil
}

func (r *recorder) Flush() error {
	r.mu.Lock()
	if r.flushErr != nil {
		err := r.flushErr
		r.mu.Unlock()
		return err
	}
	r.flushes++
	r.flushed = append(r.flushed, r.pending...)
	r.pending = r.pending[:0]
	g := r.flushGate
	r.mu.Unlock()
	if g != nil {
		r.flushEntered <- struct{}{}
		<-g
	}
	select {
	case r.notify <- struct{}{}:
	default:
	}
	return nil
}

// noteCommit records that every flush so far is journaled.
func (r *recorder) noteCommit() {
	r.mu.Lock()
	r.committed = r.flushes
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// waitCommitted waits until the flushes made so far are journaled.
func (r *recorder) waitCommitted(t *testing.T) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		r.mu.Lock()
		done := r.committed >= r.flushes
		r.mu.Unlock()
		if done {
			return
		}
		select {
		case <-r.notify:
		case <-deadline:
			t.Fatal("timed out waiting for the flush to be journaled")
		}
	}
}

// hold makes the next Lines call block until the returned release is called,
// which stalls the follower with bytes still unread.
func (r *recorder) hold() (release func()) {
	g := make(chan struct{})
	r.mu.Lock()
	r.gate = g
	r.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			r.gate = nil
			r.mu.Unlock()
			close(g)
		})
	}
}

// holdFlush makes the next Flush block, after it recorded its lines, until
// release is called; entered is signalled when it blocks.
func (r *recorder) holdFlush() (entered <-chan struct{}, release func()) {
	g, e := make(chan struct{}), make(chan struct{}, 1)
	r.mu.Lock()
	r.flushGate, r.flushEntered = g, e
	r.mu.Unlock()
	var once sync.Once
	return e, func() {
		once.Do(func() {
			r.mu.Lock()
			r.flushGate = nil
			r.mu.Unlock()
			close(g)
		})
	}
}

func (r *recorder) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-r.entered:
	case <-time.After(waitLimit):
		t.Fatal("the follower never delivered lines")
	}
}

// lines returns the flushed lines, without the sync markers.
func (r *recorder) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, x := range r.flushed {
		if !strings.HasPrefix(x.line, "sync-") {
			out = append(out, x.line)
		}
	}
	return out
}

func (r *recorder) records() []rec {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.flushed)
}

// waitFor waits, with a deadline, until cond holds for the flushed lines.
func (r *recorder) waitFor(t *testing.T, what string, cond func(lines []string) bool) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		if cond(r.lines()) {
			return
		}
		select {
		case <-r.notify:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; got lines %q", what, r.lines())
		}
	}
}

func (r *recorder) waitLine(t *testing.T, line string) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		for _, x := range r.records() {
			if x.line == line {
				return
			}
		}
		select {
		case <-r.notify:
		case <-deadline:
			t.Fatalf("timed out waiting for line %q; got %q", line, r.lines())
		}
	}
}

// harness runs a Follower with injected ticks.
type harness struct {
	t      *testing.T
	f      *Follower
	rec    *recorder
	root   string
	tick   chan time.Time
	ticked chan struct{}
	errs   chan error
	cancel context.CancelFunc
	done   chan error
	logs   *testutil.SyncBuffer
	syncN  int
	// lastOpen is the number of open descriptors after the last tick.
	lastOpen int
}

type option func(*Follower)

func start(t *testing.T, cfg Config, rec *recorder, opts ...option) *harness {
	t.Helper()
	logs := &testutil.SyncBuffer{}
	cfg.Logger = zerolog.New(logs)
	if rec == nil {
		rec = newRecorder()
	}
	f, err := New(cfg, rec)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, f: f, rec: rec, tick: make(chan time.Time), ticked: make(chan struct{}, 1),
		errs: make(chan error), done: make(chan error, 1), logs: logs}
	if len(cfg.Roots) > 0 {
		h.root = cfg.Roots[0]
	}
	f.hooks.tick = h.tick
	f.hooks.errs = h.errs
	f.hooks.afterTick = func() { h.lastOpen = f.loop.open; h.ticked <- struct{}{} }
	f.hooks.committed = rec.noteCommit
	for _, o := range opts {
		o(f)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- f.Run(ctx) }()
	select {
	case <-f.Ready():
	case err := <-h.done:
		t.Fatalf("Run returned before ready: %v", err)
	case <-time.After(waitLimit):
		t.Fatal("follower not ready")
	}
	t.Cleanup(func() {
		if h.cancel != nil {
			h.stop()
		}
	})
	return h
}

// tickSync sends one maintenance tick and waits until it has been handled.
func (h *harness) tickSync() {
	h.t.Helper()
	select {
	case h.tick <- time.Now():
	case err := <-h.done:
		h.t.Fatalf("Run returned: %v", err)
	}
	select {
	case <-h.ticked:
	case <-time.After(waitLimit):
		h.t.Fatal("tick not handled")
	}
}

// sync appends a marker line to a file of its own and waits for it: inotify
// events come in order, so everything written before has been handled.
func (h *harness) sync() {
	h.t.Helper()
	h.syncN++
	line := fmt.Sprintf("sync-%d", h.syncN)
	testutil.AppendFile(h.t, filepath.Join(h.root, "zz-sync.log"), line+"\n")
	h.rec.waitLine(h.t, line)
}

func (h *harness) stop() {
	h.t.Helper()
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
	case <-time.After(waitLimit):
		h.t.Fatal("Run did not return after cancel")
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func numbered(prefix string, from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "%s%d\n", prefix, i)
	}
	return b.String()
}

func linesOf(s ...string) []string {
	var out []string
	for _, x := range s {
		for l := range strings.Lines(x) {
			out = append(out, strings.TrimSuffix(l, "\n"))
		}
	}
	return out
}

// sameLines compares as multisets: order between files is not defined.
func sameLines(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

func wantLines(t *testing.T, got, want []string) {
	t.Helper()
	if !sameLines(got, want) {
		t.Fatalf("lines differ\n got: %q\nwant: %q", got, want)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}
