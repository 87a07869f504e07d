package watch

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/state"
	"github.com/rs/zerolog"

	"github.com/logscan/logscan/internal/testutil"
)

// TestRestart: a clean stop and start repeats and loses nothing, across
// appends, two rotations of each kind while stopped, a partial line, and
// files created while stopped.
func TestRestart(t *testing.T) {
	tests := []struct {
		name    string
		offline func(t *testing.T, log string)
		want    string
	}{
		{"appends", func(t *testing.T, log string) { testutil.AppendFile(t, log, "down1\ndown2\n") }, "down1\ndown2\n"},
		{"rename twice", func(t *testing.T, log string) {
			testutil.AppendFile(t, log, "gen0-tail\n")
			mustRename(t, log, log+".1")
			testutil.AppendFile(t, log, "gen1\n")
			mustRename(t, log+".1", log+".2")
			mustRename(t, log, log+".1")
			testutil.AppendFile(t, log, "gen2\n")
		}, "gen0-tail\ngen1\ngen2\n"},
		{"copytruncate twice", func(t *testing.T, log string) {
			testutil.AppendFile(t, log, "gen0-tail\n")
			copyTruncate(t, log, log+".1")
			testutil.AppendFile(t, log, "gen1\n")
			mustRename(t, log+".1", log+".2")
			copyTruncate(t, log, log+".1")
			testutil.AppendFile(t, log, "gen2\n")
		}, "gen0-tail\ngen1\ngen2\n"},
		{"partial line", func(t *testing.T, log string) { testutil.AppendFile(t, log, "-completed\n") }, "half-completed\n"},
		{"new files", func(t *testing.T, log string) {
			writeFile(t, filepath.Join(filepath.Dir(log), "new", "n.log"), "created-while-down\n")
		}, "created-while-down\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			stateFile := filepath.Join(t.TempDir(), "state.json")
			log := filepath.Join(dir, "app.log")
			writeFile(t, log, preamble)
			cfg := Config{Roots: []string{dir}, StateFile: stateFile}
			h := start(t, cfg, nil)
			testutil.AppendFile(t, log, "run1\n")
			if tt.name == "partial line" {
				testutil.AppendFile(t, log, "half")
			}
			h.sync()
			h.stop()
			if _, err := os.Stat(stateFile); err != nil {
				t.Fatalf("no state file after a clean stop: %v", err)
			}
			tt.offline(t, log)
			h2 := start(t, cfg, nil)
			testutil.AppendFile(t, log, "run2\n")
			h2.sync()
			wantLines(t, append(h.rec.lines(), h2.rec.lines()...), linesOf("run1\n", tt.want, "run2\n"))
		})
	}
}

func copyTruncate(t *testing.T, log, to string) {
	t.Helper()
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(data))
	if err := os.Truncate(log, 0); err != nil {
		t.Fatal(err)
	}
}

// TestCrashBetweenEmitAndCheckpoint: lines emitted after the last saved
// checkpoint are emitted again after a crash that also lost the journal
// (at-least-once), none is lost; and a failing Flush never lets its lines
// be checkpointed. (A save that claims success but writes nothing makes the
// journal start afresh under a generation the state file on disk does not
// have, so the next start ignores it: the journal is lost too.)
func TestCrashBetweenEmitAndCheckpoint(t *testing.T) {
	dir := t.TempDir()
	stateFile := filepath.Join(t.TempDir(), "state.json")
	log := filepath.Join(dir, "app.log")
	writeFile(t, log, "")
	cfg := Config{Roots: []string{dir}, StateFile: stateFile}
	saves := 0
	h := start(t, cfg, nil, func(f *Follower) {
		f.hooks.save = func(p string, st *state.State) error {
			saves++
			if saves > 2 { // the one at the start, and the tick's
				return nil // "crashed" before this checkpoint reached the disk
			}
			return state.Save(p, st)
		}
	})
	testutil.AppendFile(t, log, "c1\nc2\n")
	h.sync()
	h.tickSync() // checkpoint: c1, c2
	testutil.AppendFile(t, log, "c3\n")
	h.sync()
	h.stop() // its save is lost, as if killed
	h2 := start(t, cfg, nil)
	h2.syncN = h.syncN // sync-1 is read again from zz-sync.log: wait for a new one
	testutil.AppendFile(t, log, "c4\n")
	h2.sync()
	wantLines(t, h2.rec.lines(), linesOf("c3\nc4\n"))

	// A Flush that fails: Run reports it and the state does not move past it.
	h2.stop()
	rec := newRecorder()
	h3 := start(t, cfg, rec)
	rec.mu.Lock()
	rec.flushErr = fmt.Errorf("disk full")
	rec.mu.Unlock()
	testutil.AppendFile(t, log, "c5\n")
	select {
	case err := <-h3.done:
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("Run = %v, want the flush error", err)
		}
		h3.cancel()
		h3.cancel = nil
	case <-time.After(waitLimit):
		t.Fatal("Run did not stop on a failing Flush")
	}
	h4 := start(t, cfg, nil)
	h4.sync()
	wantLines(t, h4.rec.lines(), linesOf("c5\n"))
}

// TestCorruptStateFile: an unusable state file is logged, existing files
// start at their end (never at zero), following works and the file is
// replaced by a good one at shutdown.
func TestCorruptStateFile(t *testing.T) {
	tests := []struct{ name, content string }{
		{"garbage", "\x00\x01 not json"},
		{"truncated", `{"kind":"logscan-state","version":1,"files":[{"path":"/x","dev":1`},
		{"foreign", `{"name":"some other tool"}`},
		{"other version", `{"kind":"logscan-state","version":99,"files":[]}`},
		{"empty", ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			stateFile := filepath.Join(t.TempDir(), "state.json")
			writeFile(t, stateFile, tt.content)
			log := filepath.Join(dir, "app.log")
			writeFile(t, log, "old-never-again\n")
			h := start(t, Config{Roots: []string{dir}, StateFile: stateFile, StartAt: "beginning"}, nil)
			if !strings.Contains(h.logs.String(), "cannot use the state file") {
				t.Errorf("corrupt state not logged: %s", h.logs.String())
			}
			testutil.AppendFile(t, log, "fresh\n")
			h.sync()
			wantLines(t, h.rec.lines(), []string{"fresh"})
			h.stop()
			if _, err := state.Load(stateFile); err != nil {
				t.Errorf("state file still bad after shutdown: %v", err)
			}
		})
	}
}

// TestInodeReuseAcrossRestart: the state names the inode of a file now
// holding other content (different head); it is read from its start.
func TestInodeReuseAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	stateFile := filepath.Join(t.TempDir(), "state.json")
	log := filepath.Join(dir, "app.log")
	writeFile(t, log, "brand new content\nsecond\n")
	fi, err := os.Stat(log)
	if err != nil {
		t.Fatal(err)
	}
	k := keyOf(fi)
	old := []byte("the file that had this inode before\n")
	if err := state.Save(stateFile, &state.State{Files: []state.File{{
		Path: log, Dev: k.dev, Ino: k.ino, Offset: 10,
		HeadLen: len(old), HeadCRC: state.Checksum(old), TailLen: 10, TailCRC: state.Checksum(old[:10]),
	}}}); err != nil {
		t.Fatal(err)
	}
	h := start(t, Config{Roots: []string{dir}, StateFile: stateFile}, nil)
	h.sync()
	wantLines(t, h.rec.lines(), linesOf("brand new content\nsecond\n"))
}

// TestRunOnce: the logtail pattern, each run reads only what is new.
func TestRunOnce(t *testing.T) {
	dir := t.TempDir()
	stateFile := filepath.Join(t.TempDir(), "state.json")
	log := filepath.Join(dir, "app.log")
	writeFile(t, log, "before-first-run\n")
	cfg := Config{Roots: []string{dir}, StateFile: stateFile}
	runs := []struct {
		before string
		want   []string
	}{
		{"", nil}, // first run, no state: starts at the end
		{"r1\nr2\npart", linesOf("r1\nr2\npart\n")}, // passed as one-shot would
		{"ial\nr3\n", linesOf("r3\n")},              // the rest of the passed line is skipped
		{"", nil},
	}
	for i, r := range runs {
		if r.before != "" {
			testutil.AppendFile(t, log, r.before)
		}
		if i == 3 {
			writeFile(t, filepath.Join(dir, "new.log"), "new-file\n")
			r.want = linesOf("new-file\n")
		}
		rec := newRecorder()
		f, err := New(cfg, rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.RunOnce(context.Background()); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if got := rec.lines(); !sameLines(got, r.want) {
			t.Fatalf("run %d: got %q, want %q", i, got, r.want)
		}
	}
}

const helperEnv = "WATCH_TEST_HELPER"

// helperMain is a follower in a subprocess for the kill -9 test: it prints
// every line to stdout and saves its state every 20ms.
func helperMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	w := bufio.NewWriter(os.Stdout)
	f, err := New(Config{
		Roots: []string{os.Getenv("WATCH_ROOT")}, StateFile: os.Getenv("WATCH_STATE"),
		SaveInterval: 20 * time.Millisecond, Logger: zerolog.New(os.Stderr),
	}, &printer{w: w})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	go func() { <-f.Ready(); fmt.Fprintln(os.Stderr, "READY") }()
	if err := f.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

type printer struct{ w *bufio.Writer }

// flushMark ends each flush's output, so that the kill -9 test knows what
// the last flush was.
const flushMark = "--flush--"

func (p *printer) Lines(_ File, b []byte, _, _ int64) error { _, err := p.w.Write(b); return err }
func (p *printer) Flush() error {
	if _, err := p.w.WriteString(flushMark + "\n"); err != nil {
		return err
	}
	return p.w.Flush()
}

type child struct {
	cmd   *exec.Cmd
	lines chan string
}

func startChild(t *testing.T, root, stateFile string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1", "WATCH_ROOT="+root, "WATCH_STATE="+stateFile)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errp, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 1<<16)}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(errp)
		for sc.Scan() {
			if sc.Text() == "READY" {
				close(ready)
			}
		}
	}()
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	select {
	case <-ready:
	case <-time.After(waitLimit):
		t.Fatal("child not ready")
	}
	return c
}

// collect reads the child's lines until want is seen, with a deadline.
func (c *child) collect(t *testing.T, got map[string]int, want string) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("child exited before %q", want)
			}
			got[l]++
			if l == want {
				return
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %q", want)
		}
	}
}

// TestKill9 runs the follower in a subprocess: after SIGKILL and a restart
// nothing is lost and only the lines of the last flush before the kill may
// repeat (the journal checkpoints every flush); after SIGTERM and a restart
// nothing repeats.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	dir := t.TempDir()
	stateFile := filepath.Join(t.TempDir(), "state.json")
	log := filepath.Join(dir, "app.log")
	writeFile(t, log, "")
	got := map[string]int{}

	c := startChild(t, dir, stateFile)
	testutil.AppendFile(t, log, numbered("k", 1, 500))
	c.collect(t, got, "k500")
	// Wait for the checkpoint covering k500 (saved every 20ms).
	size := int64(len(numbered("k", 1, 500)))
	deadline := time.Now().Add(waitLimit)
	for {
		st, err := state.Load(stateFile)
		if err == nil && st != nil && len(st.Files) == 1 && st.Files[0].Offset == size {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("state never reached offset %d: %+v %v", size, st, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	testutil.AppendFile(t, log, numbered("k", 501, 1000))
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// The last flush is what follows the last mark but one (and anything
	// after the last mark, written before its flush was).
	var last, cur []string
	for l := range c.lines {
		got[l]++
		if l == flushMark {
			last, cur = cur, nil
		} else {
			cur = append(cur, l)
		}
	}
	mayRepeat := map[string]bool{}
	for _, l := range append(last, cur...) {
		mayRepeat[l] = true
	}
	_ = c.cmd.Wait() // killed: the error is the signal

	c = startChild(t, dir, stateFile)
	testutil.AppendFile(t, log, numbered("k", 1001, 1100))
	c.collect(t, got, "k1100")
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for l := range c.lines {
		got[l]++
	}
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("child after SIGTERM: %v", err)
	}

	c = startChild(t, dir, stateFile)
	testutil.AppendFile(t, log, "k1101\n")
	c.collect(t, got, "k1101")
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for l := range c.lines {
		got[l]++
	}
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("child after SIGTERM: %v", err)
	}

	dups := 0
	for i := 1; i <= 1101; i++ {
		n := got[fmt.Sprintf("k%d", i)]
		switch {
		case n == 0:
			t.Errorf("k%d lost", i)
		case n > 1 && (i <= 500 || i > 1000):
			t.Errorf("k%d repeated %d times, but it was checkpointed or read after a clean restart", i, n)
		case n > 1 && !mayRepeat[fmt.Sprintf("k%d", i)]:
			t.Errorf("k%d repeated after the kill, but it was not in the last flush before it", i)
		case n > 1:
			dups++
		}
	}
	t.Logf("kill -9: lines 501-1000 written just before the kill; %d of them repeated after restart (the last flush had %d), 0 lost", dups, len(mayRepeat))
}
