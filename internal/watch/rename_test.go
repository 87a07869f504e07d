package watch

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/logscan/logscan/internal/testutil"
)

// syncNew is sync with a marker in a file that did not exist: only its own
// create event, queued after the events of everything done before, can get
// the marker read. (sync's file may still have an event pending from an
// earlier marker, which would read the new one early.)
func (h *harness) syncNew() {
	h.t.Helper()
	h.syncN++
	line := fmt.Sprintf("sync-%d", h.syncN)
	testutil.AppendFile(h.t, filepath.Join(h.root, fmt.Sprintf("zz-sync-%d.log", h.syncN)), line+"\n")
	h.rec.waitLine(h.t, line)
}

// TestRenamedFileAcrossRestart: a file whose rename was seen but whose new
// name was not (it left the tree) is still in the state after a clean stop,
// so when it comes back under another name it resumes at its offset instead
// of being read again. Whether its descriptor was still open (draining) or
// already closed (after the initial walk) must not matter. This is what the
// model test found with seed 1012, where the restart came between the two
// halves of a rename within the tree.
func TestRenamedFileAcrossRestart(t *testing.T) {
	tests := []struct {
		name   string
		closed bool // restart once more before the rename, so the file is not open
	}{
		{"renamed while open", false},
		{"renamed while closed", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			away := filepath.Join(t.TempDir(), "app.log")
			stateFile := filepath.Join(t.TempDir(), "state.json")
			log := filepath.Join(dir, "app.log")
			writeFile(t, log, "")
			cfg := Config{Roots: []string{dir}, StateFile: stateFile}
			var got []string
			h := start(t, cfg, nil)
			testutil.AppendFile(t, log, "l1\n")
			h.sync()
			if tt.closed {
				h.stop()
				got = append(got, h.rec.lines()...)
				h = start(t, cfg, nil)
				h.tickSync() // closes idle descriptors (injected ticks count as long enough)
				if n := h.lastOpen; n != 0 {
					t.Fatalf("%d descriptors open after an idle tick, want 0", n)
				}
			}
			mustRename(t, log, away)
			h.syncNew() // the rename is handled: the file is detached, its new name unknown
			h.stop()
			got = append(got, h.rec.lines()...)

			mustRename(t, away, log+".1")
			testutil.AppendFile(t, log+".1", "l2\n")
			h2 := start(t, cfg, nil)
			h2.sync()
			got = append(got, h2.rec.lines()...)
			wantLines(t, got, linesOf("l1\nl2\n"))
		})
	}
}

// TestKeyReappearsWithoutDescriptor: when the inode of a file whose
// descriptor is closed shows up under a new name, nothing pins the inode, so
// its content decides: the same file (renamed) keeps its offset and, being
// rotated, has its partial line flushed once quiet; another file that got
// the inode (simulated with a hard link rewritten after the old name went
// away) is new, so its partial line waits for its newline, and if it is a
// copy of content already read it is not read again, even when the file
// that had the inode was empty. The model test found the second with seed
// 1064 (a deleted file's inode reused by a new one whose partial line was
// flushed as if rotated) and the third with seed 226 (a copy re-read).
func TestKeyReappearsWithoutDescriptor(t *testing.T) {
	big := numbered("orig-", 1, 200) // over the 1 KiB a copy needs to be recognised
	reuse := func(content string) func(t *testing.T, log string) string {
		return func(t *testing.T, log string) string {
			other := filepath.Join(filepath.Dir(log), "other.log")
			if err := os.Link(log, other); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(log); err != nil {
				t.Fatal(err)
			}
			writeFile(t, other, content) // same inode, new content
			return other
		}
	}
	tests := []struct {
		name     string
		initial  string // content of app.log, read by the initial walk
		change   func(t *testing.T, log string) (newName string)
		complete string // appended to newName after the ticks
		want     string // besides big, from orig.log
	}{
		{"renamed in tree", "l1\npart", func(t *testing.T, log string) string {
			mustRename(t, log, log+".1")
			return log + ".1"
		}, "", "l1\npart\n"},
		// The initial read passes "part", as one-shot does; "other" is
		// passed once quiet for a tick, so its rest is skipped.
		{"inode reused under a new name", "l1\npart", reuse("other"), "-done\n", "l1\npart\nother\n"},
		{"inode of an empty file reused by a copy", "", reuse(big), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "app.log")
			writeFile(t, log, tt.initial)
			writeFile(t, filepath.Join(dir, "orig.log"), big)
			h := start(t, Config{Roots: []string{dir}, StartAt: "beginning"}, nil)
			h.tickSync() // closes idle descriptors (injected ticks count as long enough)
			if n := h.lastOpen; n != 0 {
				t.Fatalf("%d descriptors open after an idle tick, want 0", n)
			}
			// Stall the loop so that it sees the change only once it is
			// complete: the new name's event finds the old name gone.
			release := h.rec.hold()
			defer release()
			testutil.AppendFile(t, filepath.Join(dir, "zz-hold.log"), "sync-held\n")
			h.rec.waitEntered(t)
			newName := tt.change(t, log)
			release()
			h.syncNew()
			h.tickSync()
			h.tickSync()
			h.tickSync()
			if tt.complete != "" {
				testutil.AppendFile(t, newName, tt.complete)
				h.syncNew()
			}
			wantLines(t, h.rec.lines(), linesOf(big, tt.want))
		})
	}
}

// TestRenameSeenAfterATick: a file with no descriptor open (idle) is
// renamed, and the loop learns of its old name's new file, then ticks,
// before any event of the new name (a busy machine delays inotify's queue;
// here the new name's events are dropped until after the ticks). The tick
// must not forget the renamed file, or it is found later as a new one and
// read again from its start.
func TestRenameSeenAfterATick(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	writeFile(t, log, "")
	h := start(t, Config{Roots: []string{dir}, IdleClose: 1}, nil)
	testutil.AppendFile(t, log, "one\n")
	h.sync()
	h.tickSync()
	h.tickSync()
	if n := h.lastOpen; n != 0 {
		t.Fatalf("%d descriptors open after idle ticks, want 0", n)
	}
	rotated := log + ".1"
	h.f.hooks.dropName.Store(&rotated)
	mustRename(t, log, rotated)
	writeFile(t, log, "new\n") // app.log's events: the old file is detached
	h.sync()
	h.tickSync()
	h.tickSync()
	h.f.hooks.dropName.Store(nil)
	testutil.AppendFile(t, rotated, "two\n") // the renamed file's first event
	h.sync()
	wantLines(t, h.rec.lines(), linesOf("one\n", "new\n", "two\n"))
}
