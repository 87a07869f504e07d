package watch

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

// cpFile copies from to to as cp(1) does: onto an existing to it keeps its
// inode, truncates it and writes the new content.
func cpFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, f, string(data))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// settle lets every pending copy decision be made: a tick after pendingAge
// on the injected clock must decide. (Retired identities expire after a
// tick or two of injected ticks, so the clock moves first.)
func settle(h *harness, clock *atomic.Int64) {
	h.t.Helper()
	clock.Add(int64(pendingAge))
	h.tickSync()
	h.syncNew()
}

// TestCopyEndingBeforeTheOffset covers the issue "Real rotators": copies
// that end before the offset their original was read to, because the writer
// appended (and logscan read) lines between the copy and the truncation, and
// cp onto an existing copy, which truncates and refills its inode. None of
// their content is new, so every line is passed exactly once.
func TestCopyEndingBeforeTheOffset(t *testing.T) {
	tests := []struct {
		name  string
		steps func(t *testing.T, h *harness, log, aside string)
	}{
		{"copy moved in after the truncation was seen", func(t *testing.T, h *harness, log, aside string) {
			testutil.AppendFile(t, log, numbered(pfx, 1, 500))
			h.sync()
			cpFile(t, log, aside)
			testutil.AppendFile(t, log, numbered(pfx, 501, 510))
			h.sync()
			if err := os.Truncate(log, 0); err != nil {
				t.Fatal(err)
			}
			h.sync()
			mustRename(t, aside, log+".1")
			testutil.AppendFile(t, log, numbered(pfx, 511, 520))
		}},
		{"copy moved in ends mid-line", func(t *testing.T, h *harness, log, aside string) {
			testutil.AppendFile(t, log, numbered(pfx, 1, 250))
			h.sync() // a mark: the copy must hold one, besides the head
			testutil.AppendFile(t, log, numbered(pfx, 251, 500))
			h.sync()
			data, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, aside, string(data[:len(data)-3])) // cut inside a500
			testutil.AppendFile(t, log, numbered(pfx, 501, 510))
			h.sync()
			if err := os.Truncate(log, 0); err != nil {
				t.Fatal(err)
			}
			h.sync()
			mustRename(t, aside, log+".1")
			testutil.AppendFile(t, log, numbered(pfx, 511, 520))
		}},
		{"cp onto an existing copy, seen before the truncation", func(t *testing.T, h *harness, log, _ string) {
			testutil.AppendFile(t, log, numbered(pfx, 1, 100))
			h.sync()
			cpFile(t, log, log+".1")
			if err := os.Truncate(log, 0); err != nil {
				t.Fatal(err)
			}
			testutil.AppendFile(t, log, numbered(pfx, 101, 250))
			h.sync()
			cpFile(t, log, log+".1")
			h.sync()
			if err := os.Truncate(log, 0); err != nil {
				t.Fatal(err)
			}
			testutil.AppendFile(t, log, numbered(pfx, 251, 260))
		}},
		{"cp onto an existing copy and the truncation, seen together", func(t *testing.T, h *harness, log, _ string) {
			testutil.AppendFile(t, log, numbered(pfx, 1, 100))
			h.sync()
			cpFile(t, log, log+".1")
			if err := os.Truncate(log, 0); err != nil {
				t.Fatal(err)
			}
			testutil.AppendFile(t, log, numbered(pfx, 101, 250))
			h.sync()
			release := h.rec.hold()
			testutil.AppendFile(t, filepath.Join(h.root, "zz-hold.log"), "sync-held\n")
			h.rec.waitEntered(t)
			cpFile(t, log, log+".1")
			testutil.AppendFile(t, log, numbered(pfx, 251, 255)) // read before the truncation
			release()
			h.sync()
			if err := os.Truncate(log, 0); err != nil {
				t.Fatal(err)
			}
			testutil.AppendFile(t, log, numbered(pfx, 256, 260))
		}},
		{"replaced while its copy decision waits", func(t *testing.T, h *harness, log, aside string) {
			testutil.AppendFile(t, log, numbered(pfx, 1, 100))
			h.sync()
			cpFile(t, log, aside)
			testutil.AppendFile(t, log, numbered(pfx, 101, 110))
			h.sync()
			if err := os.Truncate(log, 0); err != nil {
				t.Fatal(err)
			}
			h.sync()
			mustRename(t, aside, log+".1") // a prefix copy: waits, as it might grow
			h.sync()
			testutil.AppendFile(t, log, numbered(pfx, 111, 200))
			h.sync()
			cpFile(t, log, log+".1") // now a whole copy of app.log
			h.sync()
			if err := os.Truncate(log, 0); err != nil {
				t.Fatal(err)
			}
			testutil.AppendFile(t, log, numbered(pfx, 201, 210))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "app.log")
			aside := filepath.Join(t.TempDir(), "app.log.1")
			writeFile(t, log, "")
			var clock atomic.Int64
			h := start(t, Config{Roots: []string{dir}}, nil, func(f *Follower) {
				f.hooks.now = func() time.Time { return time.Unix(0, clock.Load()) }
			})
			tt.steps(t, h, log, aside)
			h.sync()
			settle(h, &clock)
			n := 520
			switch {
			case tt.name[:2] == "cp":
				n = 260
			case tt.name[:8] == "replaced":
				n = 210
			}
			got := nums(t, h.rec) // fails on a line passed twice
			for i := 1; i <= n; i++ {
				if _, ok := got[pfx+itoa(i)]; !ok {
					t.Errorf("%s%d lost", pfx, i)
				}
			}
			if len(got) != n {
				t.Errorf("%d lines passed, want %d", len(got), n)
			}
		})
	}
}

// pfx makes 100 lines more than the 1 KiB a copy must share.
const pfx = "a line long enough-"

func itoa(i int) string { return numbered("", i, i)[:len(numbered("", i, i))-1] }

// TestCopyEndingBeforeTheOffsetAcrossRestart: the marks are saved, so a copy
// that ends before the saved offset is recognised by the next run, in
// follow mode and in RunOnce.
func TestCopyEndingBeforeTheOffsetAcrossRestart(t *testing.T) {
	for _, follow := range []bool{true, false} {
		name := "RunOnce"
		if follow {
			name = "follow"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			stateFile := filepath.Join(t.TempDir(), "state.json")
			log := filepath.Join(dir, "app.log")
			aside := filepath.Join(t.TempDir(), "app.log.1")
			writeFile(t, log, "")
			cfg := Config{Roots: []string{dir}, StateFile: stateFile}
			h := start(t, cfg, nil)
			testutil.AppendFile(t, log, numbered(pfx, 1, 500))
			h.sync()
			cpFile(t, log, aside)
			testutil.AppendFile(t, log, numbered(pfx, 501, 510))
			h.sync()
			h.stop()
			if r := savedRecord(t, stateFile, log); len(r.Marks) < 2 {
				t.Fatalf("saved %d marks, want the read boundaries: %+v", len(r.Marks), r)
			}
			if err := os.Truncate(log, 0); err != nil {
				t.Fatal(err)
			}
			mustRename(t, aside, log+".1")
			testutil.AppendFile(t, log, numbered("b", 1, 10))
			rec := newRecorder()
			if follow {
				var clock atomic.Int64
				h2 := start(t, cfg, rec, func(f *Follower) {
					f.hooks.now = func() time.Time { return time.Unix(0, clock.Load()) }
				})
				settle(h2, &clock)
			} else {
				runOnce(t, cfg, rec)
			}
			wantLines(t, h.rec.lines(), linesOf(numbered(pfx, 1, 510)))
			wantLines(t, rec.lines(), linesOf(numbered("b", 1, 10)))
		})
	}
}

// TestCopyKeepsItsPositionAcrossRestart: a copy that took over its
// original's position when the original was truncated (copytruncate seen
// live) is saved at that position, so neither a clean restart nor a kill
// -9 reads it again. It used to be saved where it last moved as a shadow,
// when the truncation and the rest of the copy came in one batch and the
// copy ended where the original had been read to (the restart-kill
// scenario of test/rotate: 1,600 lines again).
func TestCopyKeepsItsPositionAcrossRestart(t *testing.T) {
	for _, kill := range []bool{false, true} {
		t.Run(map[bool]string{false: "clean stop", true: "kill -9"}[kill], func(t *testing.T) {
			dir := t.TempDir()
			stateFile := filepath.Join(t.TempDir(), "state.json")
			log := filepath.Join(dir, "app.log")
			writeFile(t, log, "")
			cfg := Config{Roots: []string{dir}, StateFile: stateFile}
			h := start(t, cfg, nil)
			all := numbered(pfx, 1, 100)
			testutil.AppendFile(t, log, all)
			h.sync()
			writeFile(t, log+".1", all[:len(all)/2]) // a copy being written: a shadow of app.log
			h.sync()
			release := h.rec.hold()
			testutil.AppendFile(t, filepath.Join(h.root, "zz-hold.log"), "sync-held\n")
			h.rec.waitEntered(t)
			// In one batch, app.log first: an event on it (a truncation to
			// its size changes nothing), the rest of the copy, and the
			// truncation.
			if err := os.Truncate(log, int64(len(all))); err != nil {
				t.Fatal(err)
			}
			testutil.AppendFile(t, log+".1", all[len(all)/2:])
			if err := os.Truncate(log, 0); err != nil {
				t.Fatal(err)
			}
			release()
			var snap snapshot
			if kill {
				syncJournaled(t, h, stateFile)
				snap = takeSnapshot(t, stateFile)
			} else {
				h.sync()
			}
			h.stop()
			if kill {
				snap.restore(t, stateFile)
			}
			if r := savedRecord(t, stateFile, log+".1"); r.Offset != int64(len(all)) {
				t.Errorf("app.log.1 saved at %d, want %d (its end: all of it was read through app.log)", r.Offset, len(all))
			}
			h2 := start(t, cfg, nil)
			h2.syncN = 100
			testutil.AppendFile(t, log, numbered(pfx, 101, 105))
			h2.sync()
			wantLines(t, h.rec.lines(), linesOf(all))
			wantLines(t, h2.rec.lines(), linesOf(numbered(pfx, 101, 105)))
		})
	}
}

// TestRetiredAcrossRestart: the identity of content whose file was
// truncated is saved (and journaled) for a while, so a copy of it that
// appears only after a restart, clean or after a kill -9, is still known
// as one: whole, or ending before where it was read to. (The restart-kill
// scenario of test/rotate: an app.log.1 still undecided at the kill was
// read again whole by the next start, 4,124 lines.)
func TestRetiredAcrossRestart(t *testing.T) {
	for _, tt := range []struct {
		name   string
		kill   bool
		prefix bool // lines are appended and read after the copy is made
	}{
		{"whole copy, clean stop", false, false},
		{"whole copy, kill -9", true, false},
		{"prefix copy, clean stop", false, true},
		{"prefix copy, kill -9", true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			stateFile := filepath.Join(t.TempDir(), "state.json")
			log := filepath.Join(dir, "app.log")
			aside := filepath.Join(t.TempDir(), "app.log.1")
			writeFile(t, log, "")
			cfg := Config{Roots: []string{dir}, StateFile: stateFile}
			h := start(t, cfg, nil)
			testutil.AppendFile(t, log, numbered(pfx, 1, 50))
			h.sync()
			testutil.AppendFile(t, log, numbered(pfx, 51, 100))
			h.sync()
			cpFile(t, log, aside)
			n := 100
			if tt.prefix {
				testutil.AppendFile(t, log, numbered(pfx, 101, 105))
				h.sync()
				n = 105
			}
			if err := os.Truncate(log, 0); err != nil {
				t.Fatal(err)
			}
			var snap snapshot
			if tt.kill {
				syncJournaled(t, h, stateFile)
				snap = takeSnapshot(t, stateFile)
			} else {
				h.sync()
			}
			h.stop()
			if tt.kill {
				snap.restore(t, stateFile)
			}
			var clock atomic.Int64
			h2 := start(t, cfg, nil, func(f *Follower) {
				f.hooks.now = func() time.Time { return time.Unix(0, clock.Load()) }
			})
			h2.syncN = 100
			mustRename(t, aside, log+".1")
			testutil.AppendFile(t, log, numbered(pfx, 201, 205))
			h2.sync()
			settle(h2, &clock)
			wantLines(t, h.rec.lines(), linesOf(numbered(pfx, 1, n)))
			wantLines(t, h2.rec.lines(), linesOf(numbered(pfx, 201, 205)))
		})
	}
}
