package watch

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/fsnotify/fsnotify"
	"github.com/logscan/logscan/internal/state"

	"github.com/logscan/logscan/internal/testutil"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"ok", Config{Roots: []string{"/x"}}, ""},
		{"beginning", Config{Roots: []string{"/x"}, StartAt: "beginning"}, ""},
		{"bad start_at", Config{Roots: []string{"/x"}, StartAt: "middle"}, `start_at "middle"`},
		{"no roots", Config{}, "roots"},
		{"negative poll", Config{Roots: []string{"/x"}, PollInterval: -1}, "poll_interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, newRecorder())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("New error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := New(Config{Roots: []string{"/x"}, StartAt: "x"}, newRecorder()); !errors.Is(err, ErrStartAt) {
		t.Errorf("error %v does not wrap ErrStartAt", err)
	}
}

func TestFileID(t *testing.T) {
	if got := (File{Dev: 2049, Ino: 131}).ID(); got != "2049:131" {
		t.Errorf("ID() = %q", got)
	}
}

// TestAppendsAndPartialLines: existing files start at their end (after the
// last newline, so a partial last line is read whole), appends are emitted,
// partial lines are held until their newline comes (no tick passes here).
// From the beginning, the initial read passes the partial last line, as
// one-shot does, and skips its rest.
func TestAppendsAndPartialLines(t *testing.T) {
	tests := []struct {
		name    string
		startAt string
		want    []string
	}{
		{"end", "end", linesOf("partial\n", "x1\nx2\n", "held-then-done\n")},
		{"end of a file over 1 KiB", "end", linesOf("partial\n", "x1\nx2\n", "held-then-done\n")},
		{"beginning", "beginning", linesOf("old1\nold2\n", "par\n", "x1\nx2\n", "held-then-done\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "app.log")
			old := "old1\nold2\npar"
			if strings.Contains(tt.name, "1 KiB") {
				old = preamble + old // the last newline is inside the last KiB, not at its end
			}
			writeFile(t, log, old)
			h := start(t, Config{Roots: []string{dir}, StartAt: tt.startAt}, nil)
			testutil.AppendFile(t, log, "tial\nx1\nx2\n")
			testutil.AppendFile(t, log, "held")
			h.sync()
			if got := h.rec.lines(); contains(got, "held") {
				t.Fatalf("partial line emitted before its newline: %q", got)
			}
			testutil.AppendFile(t, log, "-then-done\n")
			h.sync()
			wantLines(t, h.rec.lines(), tt.want)
		})
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestRotation covers logrotate's rename+create with bytes still unread in
// the old file (and written to it after the rename), copytruncate with
// unread bytes (recovered from the copy), and a copy that lands in the tree.
func TestRotation(t *testing.T) {
	tests := []struct {
		name   string
		rotate func(t *testing.T, log string, old *os.File)
	}{
		{"rename+create", func(t *testing.T, log string, old *os.File) {
			if err := os.Rename(log, log+".1"); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, old, "after-rename-1\nafter-rename-2\n")
			testutil.AppendFile(t, log, "new1\nnew2\n")
		}},
		{"copytruncate", func(t *testing.T, log string, old *os.File) {
			data, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, log+".1", string(data))
			if err := old.Truncate(0); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, old, "new1\nnew2\n")
		}},
		{"copy in tree", func(t *testing.T, log string, old *os.File) {
			data, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(filepath.Dir(log), "backup", "app.log.bak"), string(data))
			mustWrite(t, old, "new1\nnew2\n")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "app.log")
			writeFile(t, log, "")
			h := start(t, Config{Roots: []string{dir}}, nil)
			old, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer old.Close()
			release := h.rec.hold()
			mustWrite(t, old, preamble+"a1\na2\n")
			h.rec.waitEntered(t) // the follower is now stuck inside Lines
			mustWrite(t, old, "unread1\nunread2\n")
			tt.rotate(t, log, old)
			release()
			h.sync()
			h.tickSync()
			h.tickSync()
			h.sync()
			want := linesOf(preamble, "a1\na2\nunread1\nunread2\nnew1\nnew2\n")
			if tt.name == "rename+create" {
				want = append(want, "after-rename-1", "after-rename-2")
			}
			wantLines(t, h.rec.lines(), want)
		})
	}
}

// preamble makes a file longer than the 1 KiB head fingerprint, the least
// content that copy detection will match.
var preamble = strings.Repeat("preamble: padding line to pass one KiB of head\n", 30)

func mustWrite(t *testing.T, f *os.File, s string) {
	t.Helper()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// TestRotatedPartialLineFlushed: the partial last line of a rotated file is
// emitted once the file has been quiet for a tick, and its descriptor closed.
func TestRotatedPartialLineFlushed(t *testing.T) {
	tests := []struct {
		name string
		away func(t *testing.T, log string)
	}{
		{"renamed in tree", func(t *testing.T, log string) { mustRename(t, log, log+".1") }},
		{"renamed out of tree", func(t *testing.T, log string) { mustRename(t, log, filepath.Join(t.TempDir(), "gone.log")) }},
		{"deleted", func(t *testing.T, log string) {
			if err := os.Remove(log); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "app.log")
			writeFile(t, log, "")
			h := start(t, Config{Roots: []string{dir}}, nil)
			testutil.AppendFile(t, log, "l1\nno-newline")
			h.sync()
			tt.away(t, log)
			h.sync()
			h.tickSync()
			h.tickSync()
			h.tickSync()
			wantLines(t, h.rec.lines(), linesOf("l1\nno-newline\n"))
		})
	}
}

func mustRename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

// TestTruncation: plain truncation, and truncate-and-refill past the old
// offset between two reads (caught by the pre-offset fingerprint).
func TestTruncation(t *testing.T) {
	tests := []struct {
		name   string
		refill string
	}{
		{"shrink", "n1\n"},
		{"refill past offset", strings.Repeat("refilled line that is longer\n", 20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "app.log")
			writeFile(t, log, "")
			h := start(t, Config{Roots: []string{dir}}, nil)
			release := h.rec.hold()
			testutil.AppendFile(t, log, "first line one\nfirst line two\n")
			h.rec.waitEntered(t)
			writeFile(t, log, tt.refill) // O_TRUNC, then the new content
			release()
			h.sync()
			wantLines(t, h.rec.lines(), linesOf("first line one\nfirst line two\n", tt.refill))
			if n := h.f.Stats().Truncations.Load(); n != 1 {
				t.Errorf("Truncations = %d, want 1", n)
			}
		})
	}
}

// TestNewDirectories: nested directories created while running, including
// mkdir -p a/b/c && touch a/b/c/x racing the new watch, are followed from
// the start of their files; removed directories are forgotten.
func TestNewDirectories(t *testing.T) {
	dir := t.TempDir()
	h := start(t, Config{Roots: []string{dir}}, nil)
	for i := range 5 {
		deep := filepath.Join(dir, "a", "b", "c", string(rune('p'+i)))
		if err := os.MkdirAll(deep, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(deep, "x"), "race"+string(rune('0'+i))+"\n")
	}
	h.sync()
	testutil.AppendFile(t, filepath.Join(dir, "a", "b", "c", "p", "x"), "later\n")
	h.sync()
	wantLines(t, h.rec.lines(), linesOf("race0\nrace1\nrace2\nrace3\nrace4\nlater\n"))
	if err := os.RemoveAll(filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	h.sync()
	h.tickSync()
	h.tickSync()
	if n := h.f.Stats().DirsWatched.Load(); n != 1 {
		t.Errorf("DirsWatched = %d after removing the subtree, want 1 (the root)", n)
	}
}

// TestRenamedDirectory: a directory moved within the tree takes its files
// along; nothing is re-read and appends through the new path are emitted.
func TestRenamedDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "d1", "sub", "f.log"), "")
	h := start(t, Config{Roots: []string{dir}}, nil)
	testutil.AppendFile(t, filepath.Join(dir, "d1", "sub", "f.log"), "one\n")
	h.sync()
	mustRename(t, filepath.Join(dir, "d1"), filepath.Join(dir, "d2"))
	h.sync()
	testutil.AppendFile(t, filepath.Join(dir, "d2", "sub", "f.log"), "two\n")
	h.sync()
	wantLines(t, h.rec.lines(), linesOf("one\ntwo\n"))
}

// TestIdentity: two files with an identical first KiB are two files; empty
// files and files smaller than the fingerprint grow without confusion; a
// file rotated into .gz is not read again.
func TestIdentity(t *testing.T) {
	head := strings.Repeat("same boot message line\n", 60) // > 1 KiB
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "syslog"), head)
	writeFile(t, filepath.Join(dir, "messages"), head)
	writeFile(t, filepath.Join(dir, "empty.log"), "")
	writeFile(t, filepath.Join(dir, "small.log"), "s\n")
	h := start(t, Config{Roots: []string{dir}}, nil)
	testutil.AppendFile(t, filepath.Join(dir, "syslog"), "only-syslog\n")
	testutil.AppendFile(t, filepath.Join(dir, "messages"), "only-messages\n")
	testutil.AppendFile(t, filepath.Join(dir, "empty.log"), "e1\n")
	testutil.AppendFile(t, filepath.Join(dir, "small.log"), strings.Repeat("grow\n", 300))
	writeFile(t, filepath.Join(dir, "new-small.log"), "tiny\n")
	writeFile(t, filepath.Join(dir, "new-empty.log"), "")
	h.sync()
	testutil.AppendFile(t, filepath.Join(dir, "new-empty.log"), "ne1\n")
	// gzip-style rotation: rename, write the .gz, remove the plain copy.
	mustRename(t, filepath.Join(dir, "syslog"), filepath.Join(dir, "syslog.1"))
	writeFile(t, filepath.Join(dir, "syslog.1.gz"), "not a log line\n")
	if err := os.Remove(filepath.Join(dir, "syslog.1")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "direct.log.gz"), "compressed\n")
	h.sync()
	h.tickSync()
	h.tickSync()
	want := append(linesOf("only-syslog\nonly-messages\ne1\ntiny\nne1\n"), linesOf(strings.Repeat("grow\n", 300))...)
	wantLines(t, h.rec.lines(), want)
	ids := map[string]string{}
	for _, r := range h.rec.records() {
		ids[r.line] = r.id
	}
	if ids["only-syslog"] == ids["only-messages"] {
		t.Errorf("syslog and messages share the identity %s", ids["only-syslog"])
	}
}

// TestLongLines: lines over MaxLine are cut to MaxLine bytes and counted, with
// their newline in the same read or arriving later, and following goes on.
func TestLongLines(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	writeFile(t, log, "")
	h := start(t, Config{Roots: []string{dir}, MaxLine: 16}, nil)
	testutil.AppendFile(t, log, "short\n"+strings.Repeat("L", 40)+"\nafter1\n")
	h.sync()
	testutil.AppendFile(t, log, strings.Repeat("M", 30)) // no newline yet
	h.sync()
	testutil.AppendFile(t, log, strings.Repeat("M", 30)+"\nafter2\n")
	h.sync()
	testutil.AppendFile(t, log, strings.Repeat("E", 16)+"\n") // exactly the cap
	h.sync()
	want := []string{"short", strings.Repeat("L", 16), "after1", strings.Repeat("M", 16), "after2", strings.Repeat("E", 16)}
	got := h.rec.lines()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", got, want)
	}
	if n := h.f.Stats().LongLines.Load(); n != 2 {
		t.Errorf("LongLines = %d, want 2", n)
	}
}

// TestUnreadableThenReadable: EACCES (injected, since tests run as root) is
// logged and retried; once readable the file is read from where it started.
func TestUnreadableThenReadable(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "secret.log")
	var denied atomic.Bool
	denied.Store(true)
	h := start(t, Config{Roots: []string{dir}}, nil, func(f *Follower) {
		f.hooks.open = func(p string) (*os.File, error) {
			if p == log && denied.Load() {
				return nil, &os.PathError{Op: "open", Path: p, Err: syscall.EACCES}
			}
			return os.Open(p)
		}
	})
	writeFile(t, log, "s1\ns2\n")
	h.sync()
	h.tickSync()
	if got := h.rec.lines(); len(got) != 0 {
		t.Fatalf("read while unreadable: %q", got)
	}
	if !strings.Contains(h.logs.String(), "cannot open file") || h.f.Stats().ReadErrors.Load() == 0 {
		t.Fatalf("EACCES not logged and counted; logs: %s", h.logs.String())
	}
	denied.Store(false)
	h.tickSync()
	h.rec.waitFor(t, "s1,s2", func(l []string) bool { return sameLines(l, []string{"s1", "s2"}) })
	if !strings.Contains(h.logs.String(), "readable again") {
		t.Errorf("recovery not logged")
	}
}

// TestEMFILE: when open fails with EMFILE, the least recently read files are
// closed and the open retried; files keep being followed.
func TestEMFILE(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.log", "b.log", "c.log"} {
		writeFile(t, filepath.Join(dir, n), "")
	}
	var fail atomic.Int64
	h := start(t, Config{Roots: []string{dir}}, nil, func(f *Follower) {
		f.hooks.open = func(p string) (*os.File, error) {
			if !strings.HasSuffix(p, "zz-sync.log") && fail.Add(-1) >= 0 {
				return nil, &os.PathError{Op: "open", Path: p, Err: syscall.EMFILE}
			}
			return os.Open(p)
		}
	})
	testutil.AppendFile(t, filepath.Join(dir, "a.log"), "a1\n")
	testutil.AppendFile(t, filepath.Join(dir, "b.log"), "b1\n")
	h.sync()
	fail.Store(1) // the next open fails once, the retry succeeds
	testutil.AppendFile(t, filepath.Join(dir, "c.log"), "c1\n")
	h.sync()
	fail.Store(1 << 20) // now it keeps failing: counted, retried on ticks
	testutil.AppendFile(t, filepath.Join(dir, "new.log"), "n1\n")
	h.sync()
	if contains(h.rec.lines(), "n1") {
		t.Fatal("read a file that could not be opened")
	}
	fail.Store(0)
	h.tickSync()
	h.rec.waitFor(t, "all lines", func(l []string) bool { return sameLines(l, []string{"a1", "b1", "c1", "n1"}) })
	if !strings.Contains(h.logs.String(), "EMFILE") {
		t.Errorf("EMFILE shedding not logged")
	}
}

// TestDeleteWhileOpenNoLeak: deleted files are drained, closed and forgotten;
// the process holds no more descriptors than before.
func TestDeleteWhileOpenNoLeak(t *testing.T) {
	dir := t.TempDir()
	h := start(t, Config{Roots: []string{dir}}, nil)
	h.sync()
	before := openFDs(t)
	var writers []*os.File
	for i := range 20 {
		p := filepath.Join(dir, "f"+string(rune('a'+i))+".log")
		w, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		writers = append(writers, w)
		mustWrite(t, w, "x\n")
	}
	h.sync()
	for _, w := range writers {
		if err := os.Remove(w.Name()); err != nil {
			t.Fatal(err)
		}
		mustWrite(t, w, "after-delete\n")
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	h.sync()
	h.tickSync()
	h.tickSync()
	if got := h.f.Stats().FilesWatched.Load(); got != 1 { // zz-sync.log
		t.Errorf("FilesWatched = %d, want 1", got)
	}
	if after := openFDs(t); after > before {
		t.Errorf("descriptors: %d before, %d after deleting every file", before, after)
	}
	if n := len(h.rec.lines()); n != 40 {
		t.Errorf("got %d lines, want 40 (each file drained after its deletion)", n)
	}
}

// TestIdleClose: descriptors of idle files are closed and reopened on the
// next event, with the identity checked.
func TestIdleClose(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	writeFile(t, log, "")
	h := start(t, Config{Roots: []string{dir}, IdleClose: 1, SaveInterval: 1}, nil)
	testutil.AppendFile(t, log, "one\n")
	h.sync()
	h.tickSync()
	h.tickSync()
	h.tickSync()
	open := h.lastOpen
	if open != 0 {
		t.Errorf("%d descriptors open after idle ticks, want 0", open)
	}
	testutil.AppendFile(t, log, "two\n")
	mustRename(t, log, log+".1") // rotated while closed
	testutil.AppendFile(t, log+".1", "three\n")
	h.sync()
	wantLines(t, h.rec.lines(), linesOf("one\ntwo\nthree\n"))
}

// TestOverflowRescan: after an event overflow (injected, with the events
// themselves dropped) a rescan finds new files, appends and rotations;
// nothing is lost or repeated.
func TestOverflowRescan(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	writeFile(t, log, "")
	h := start(t, Config{Roots: []string{dir}}, nil)
	testutil.AppendFile(t, log, "before\n")
	h.sync()
	h.f.hooks.dropEvents.Store(true)
	testutil.AppendFile(t, log, "missed1\n")
	mustRename(t, log, log+".1")
	testutil.AppendFile(t, log, "missed-new\n")
	writeFile(t, filepath.Join(dir, "sub", "deep.log"), "missed-deep\n")
	h.errs <- fsnotify.ErrEventOverflow
	h.rec.waitFor(t, "rescan", func(l []string) bool { return len(l) >= 4 })
	h.f.hooks.dropEvents.Store(false)
	h.sync()
	wantLines(t, h.rec.lines(), linesOf("before\nmissed1\nmissed-new\nmissed-deep\n"))
	if h.f.Stats().Overflows.Load() != 1 {
		t.Errorf("Overflows = %d", h.f.Stats().Overflows.Load())
	}
}

// TestWatchLimitFallback: ENOSPC from adding a watch (injected) is logged with
// fs.inotify.max_user_watches and the directory is polled instead.
func TestWatchLimitFallback(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	writeFile(t, filepath.Join(sub, "s.log"), "")
	h := start(t, Config{Roots: []string{dir}}, nil, func(f *Follower) {
		f.hooks.addWatch = func(p string) error {
			if strings.HasPrefix(p, sub) {
				return syscall.ENOSPC
			}
			return nil
		}
	})
	if !strings.Contains(h.logs.String(), "fs.inotify.max_user_watches") {
		t.Fatalf("watch limit not logged: %s", h.logs.String())
	}
	testutil.AppendFile(t, filepath.Join(sub, "s.log"), "polled1\n")
	writeFile(t, filepath.Join(sub, "deeper", "d.log"), "polled-new\n")
	h.tickSync() // polls sub, finds deeper (also over the limit)
	h.tickSync()
	h.rec.waitFor(t, "polled lines", func(l []string) bool { return sameLines(l, []string{"polled1", "polled-new"}) })
	if h.f.Stats().DirsPolled.Load() != 2 {
		t.Errorf("DirsPolled = %d, want 2", h.f.Stats().DirsPolled.Load())
	}
}

// TestPollInterval: with PollInterval set no inotify watch is used at all;
// appends, new files and rotations are found by polling.
func TestPollInterval(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	writeFile(t, log, "")
	h := start(t, Config{Roots: []string{dir}, PollInterval: 1, SaveInterval: 1}, nil)
	if h.f.Stats().DirsWatched.Load() != 0 {
		t.Fatal("inotify watch used despite PollInterval")
	}
	testutil.AppendFile(t, log, "p1\n")
	h.tickSync()
	mustRename(t, log, log+".1")
	testutil.AppendFile(t, log+".1", "p2\n")
	testutil.AppendFile(t, log, "p3\n")
	h.tickSync()
	h.tickSync()
	wantLines(t, h.rec.lines(), linesOf("p1\np2\np3\n"))
}

// TestMissingRoot: a root that does not exist yet is waited for.
func TestMissingRoot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "later")
	h := start(t, Config{Roots: []string{dir}}, nil)
	if !strings.Contains(h.logs.String(), "does not exist yet") {
		t.Errorf("missing root not logged")
	}
	writeFile(t, filepath.Join(dir, "a.log"), "born\n")
	h.tickSync()
	h.rec.waitFor(t, "born", func(l []string) bool { return sameLines(l, []string{"born"}) })
}

// TestFilterAndReload: Filter excludes files; Reload adds a root and changes
// the filter without re-reading or skipping lines; a bad config is refused.
func TestFilterAndReload(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	onlyLog := func(p string) bool { return strings.HasSuffix(p, ".log") }
	writeFile(t, filepath.Join(d2, "existing.log"), "old-in-d2\n")
	cfg := Config{Roots: []string{d1}, Filter: onlyLog}
	h := start(t, cfg, nil)
	testutil.AppendFile(t, filepath.Join(d1, "a.log"), "a1\n")
	testutil.AppendFile(t, filepath.Join(d1, "a.txt"), "excluded\n")
	h.sync()
	if err := h.f.Reload(Config{Roots: []string{d1}, StartAt: "sideways"}); err == nil {
		t.Fatal("Reload accepted a bad start_at")
	}
	cfg.Roots = []string{d1, d2}
	cfg.Logger = h.f.cfg.Logger
	if err := h.f.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	testutil.AppendFile(t, filepath.Join(d1, "a.log"), "a2\n")
	testutil.AppendFile(t, filepath.Join(d2, "existing.log"), "new-in-d2\n")
	h.sync()
	wantLines(t, h.rec.lines(), linesOf("a1\na2\nnew-in-d2\n"))
}

// TestStateSaveFailure: a failing state write (ENOSPC, injected) is logged
// and counted, and following continues.
func TestStateSaveFailure(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	writeFile(t, log, "")
	h := start(t, Config{Roots: []string{dir}, StateFile: filepath.Join(t.TempDir(), "state")}, nil, func(f *Follower) {
		f.hooks.save = func(string, *state.State) error {
			return &os.PathError{Op: "write", Path: "state", Err: syscall.ENOSPC}
		}
	})
	testutil.AppendFile(t, log, "x1\n")
	h.sync()
	h.tickSync()
	testutil.AppendFile(t, log, "x2\n")
	h.sync()
	if h.f.Stats().StateSaveErrors.Load() == 0 || !strings.Contains(h.logs.String(), "cannot save the state file") {
		t.Errorf("save failure not counted and logged")
	}
	wantLines(t, h.rec.lines(), linesOf("x1\nx2\n"))
}
