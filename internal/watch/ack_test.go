package watch

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/logscan/logscan/internal/state"
	"github.com/logscan/logscan/internal/testutil"
)

// acker is a Consumer that ships elsewhere, as the OTLP exporter does: it
// holds each file from an offset the test sets (the lowest one not yet
// acknowledged), paces the follower with a full flag, and counts drains.
type acker struct {
	*recorder
	mu      sync.Mutex
	held    map[string]int64 // by path
	full    bool
	fullAt  int // become full after this many Lines calls (0: never)
	calls   int
	wake    chan struct{}
	drained int
}

func newAcker() *acker {
	return &acker{recorder: newRecorder(), held: map[string]int64{}, wake: make(chan struct{}, 1)}
}

func (a *acker) Lines(f File, block []byte, off, num int64) error {
	a.mu.Lock()
	a.calls++
	if a.fullAt > 0 && a.calls >= a.fullAt {
		a.full = true
	}
	a.mu.Unlock()
	return a.recorder.Lines(f, block, off, num)
}

func (a *acker) Held(f File) (int64, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	off, ok := a.held[filepath.Base(f.Path)]
	return off, ok
}

func (a *acker) Release(File, ReleaseReason) {}

func (a *acker) Unacked(f File) bool {
	_, ok := a.Held(f)
	return ok
}

func (a *acker) Full() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.full
}

func (a *acker) Wake() <-chan struct{} { return a.wake }

func (a *acker) Drain() error {
	a.mu.Lock()
	a.drained++
	a.mu.Unlock()
	return nil
}

func (a *acker) set(f func(a *acker)) {
	a.mu.Lock()
	f(a)
	a.mu.Unlock()
}

// savedRecord is the state record of the file named base.
func savedRecordOf(t *testing.T, stateFile, base string) state.File {
	t.Helper()
	st, err := state.Load(stateFile)
	if err != nil || st == nil {
		t.Fatalf("state: %v", err)
	}
	for _, f := range st.Files {
		if filepath.Base(f.Path) == base {
			return f
		}
	}
	t.Fatalf("no record of %s in %+v", base, st.Files)
	return state.File{}
}

// TestAckWatermarkCommits: the offset saved is where the Holder's hold
// begins, with the line number and tail fingerprint of that very place,
// whether the hold lies in the block just read, in an earlier one, or moved
// on after the last read (an acknowledgement without new lines); and a
// restart reads again from there.
func TestAckWatermarkCommits(t *testing.T) {
	// Three appends, each read as its own block.
	parts := []string{numbered("a", 1, 40), numbered("b", 1, 40), numbered("c", 1, 40)}
	all := strings.Join(parts, "")
	lineAt := func(n int) int64 { // offset of the 1-based line n
		off := 0
		for range n - 1 {
			off += strings.IndexByte(all[off:], '\n') + 1
		}
		return int64(off)
	}
	cases := []struct {
		name  string
		hold  int // 1-based line held from during the reads; 0: none
		after int // the hold moved to this line after the reads; 0: same
		want  int // the line the restart reads first; 121: none
	}{
		{"nothing held", 0, 0, 121},
		{"held in the last block", 100, 0, 100},
		{"held in the first block", 5, 0, 5},
		{"held at a block start", 41, 0, 41},
		{"hold moves on without a read", 5, 90, 90},
		{"everything acknowledged later", 5, 121, 121},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			stateFile := filepath.Join(t.TempDir(), "state.json")
			log := filepath.Join(dir, "app.log")
			writeFile(t, log, "")
			a := newAcker()
			h := start(t, Config{Roots: []string{dir}, StateFile: stateFile}, a.recorder, func(f *Follower) { f.consumer = a })
			if tc.hold > 0 {
				a.set(func(a *acker) { a.held["app.log"] = lineAt(tc.hold) })
			}
			for _, p := range parts {
				testutil.AppendFile(t, log, p)
				h.sync()
			}
			if tc.after > 0 {
				a.set(func(a *acker) {
					if tc.after > 120 {
						delete(a.held, "app.log")
					} else {
						a.held["app.log"] = lineAt(tc.after)
					}
				})
				h.tickSync()
			}
			h.stop()
			if a.drained != 1 {
				t.Errorf("Drain called %d times at shutdown, want 1", a.drained)
			}
			rec := savedRecordOf(t, stateFile, "app.log")
			wantOff := int64(len(all))
			if tc.want <= 120 {
				wantOff = lineAt(tc.want)
			}
			tail := min(wantOff, tailMax)
			if rec.Offset != wantOff || rec.Line != int64(tc.want) || rec.TailLen != int(tail) ||
				rec.TailCRC != state.Checksum([]byte(all[wantOff-tail:wantOff])) {
				t.Fatalf("saved %+v, want offset %d line %d and the tail before it", rec, wantOff, tc.want)
			}
			// A restart reads again from the hold, with the same numbers.
			r2 := newRecorder()
			h2 := start(t, Config{Roots: []string{dir}, StateFile: stateFile}, r2)
			testutil.AppendFile(t, log, "d1\n")
			r2.waitLine(t, "d1")
			h2.stop()
			got := r2.records()
			wantN := 121 - tc.want + 1
			if len(got) != wantN {
				t.Fatalf("restart passed %d lines, want %d", len(got), wantN)
			}
			if got[0].off != wantOff || got[0].num != int64(tc.want) {
				t.Fatalf("restart began at offset %d line %d, want %d line %d", got[0].off, got[0].num, wantOff, tc.want)
			}
		})
	}
}

// TestPacerStopsReading: while the Pacer is full nothing more is read, also
// across a rename rotation; when it wakes the loop, everything written is
// read once.
func TestPacerStopsReading(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	writeFile(t, log, "")
	a := newAcker()
	h := start(t, Config{Roots: []string{dir}}, a.recorder, func(f *Follower) { f.consumer = a })
	testutil.AppendFile(t, log, numbered("x", 1, 10))
	a.recorder.waitLine(t, "x10")
	a.set(func(a *acker) { a.full = true })
	testutil.AppendFile(t, log, numbered("x", 11, 20))
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	testutil.AppendFile(t, log, numbered("y", 1, 10))
	for range 3 {
		h.tickSync()
	}
	if n := len(a.recorder.lines()); n != 10 {
		t.Fatalf("read %d lines while full, want 10", n)
	}
	a.set(func(a *acker) { a.full = false })
	a.wake <- struct{}{}
	a.recorder.waitLine(t, "y10")
	a.recorder.waitLine(t, "x20")
	h.tickSync()
	wantLines(t, a.recorder.lines(), linesOf(numbered("x", 1, 20), numbered("y", 1, 10)))
}

// TestLostWhenGoneAtStart: a file the state says was not read to its end,
// deleted before the next start, is counted as lost, by its bytes.
func TestLostWhenGoneAtStart(t *testing.T) {
	dir := t.TempDir()
	stateFile := filepath.Join(t.TempDir(), "state.json")
	log := filepath.Join(dir, "app.log")
	writeFile(t, log, "")
	a := newAcker()
	h := start(t, Config{Roots: []string{dir}, StateFile: stateFile}, a.recorder, func(f *Follower) { f.consumer = a })
	big := strings.Repeat(fmt.Sprintf("%0127d\n", 7), 4<<10) // 512 KiB: more than one read
	a.set(func(a *acker) { a.fullAt = 1 })
	testutil.AppendFile(t, log, big)
	a.recorder.waitFor(t, "the first block", func(lines []string) bool { return len(lines) > 0 })
	h.tickSync()
	h.stop()
	rec := savedRecordOf(t, stateFile, "app.log")
	if rec.Size != int64(len(big)) || rec.Offset <= 0 || rec.Offset >= rec.Size {
		t.Fatalf("saved %+v: want a partial read of %d bytes", rec, len(big))
	}
	if err := os.Remove(log); err != nil {
		t.Fatal(err)
	}
	h2 := start(t, Config{Roots: []string{dir}, StateFile: stateFile}, nil)
	if got, want := h2.f.Stats().LostMissing.Load(), rec.Size-rec.Offset; got != want {
		t.Fatalf("lost %d bytes, want %d", got, want)
	}
	h2.stop()
}

// TestRetainedUntilAcked: a deleted file whose lines are not acknowledged
// stays followed until they are; at shutdown, what is still not is counted
// as lost, since no restart can read a deleted file.
func TestRetainedUntilAcked(t *testing.T) {
	for _, ackFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("acknowledged=%v", ackFirst), func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "app.log")
			writeFile(t, log, "")
			a := newAcker()
			h := start(t, Config{Roots: []string{dir}}, a.recorder, func(f *Follower) { f.consumer = a })
			a.set(func(a *acker) { a.held["app.log"] = 0 })
			body := numbered("x", 1, 10)
			testutil.AppendFile(t, log, body)
			a.recorder.waitLine(t, "x10")
			if err := os.Remove(log); err != nil {
				t.Fatal(err)
			}
			h.sync() // the removal is handled: inotify events come in order
			for range 3 {
				h.tickSync()
			}
			// Followed: app.log, deleted, and zz-sync.log.
			if n := h.f.Stats().FilesWatched.Load(); n != 2 {
				t.Fatalf("a deleted file with unacknowledged lines was forgotten (%d files)", n)
			}
			if ackFirst {
				a.set(func(a *acker) { delete(a.held, "app.log") })
				for range 2 {
					h.tickSync()
				}
				if n := h.f.Stats().FilesWatched.Load(); n != 1 {
					t.Fatalf("the deleted file is still followed once acknowledged (%d files)", n)
				}
			}
			h.stop()
			want := int64(len(body))
			if ackFirst {
				want = 0
			}
			if got := h.f.Stats().LostUnacked.Load(); got != want {
				t.Fatalf("lost %d unacknowledged bytes, want %d", got, want)
			}
		})
	}
}

// epochAcker is an acker whose holds are by epoch, as the OTLP exporter's:
// a hold set before an Epoch belongs to the content passed until then.
type epochAcker struct {
	*acker
	epoch  uint64
	epochs map[string]uint64 // the epoch of each held file's hold, by base name
}

func newEpochAcker() *epochAcker {
	return &epochAcker{acker: newAcker(), epoch: 1, epochs: map[string]uint64{}}
}

func (a *epochAcker) Epoch() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.epoch++
	return a.epoch - 1
}

func (a *epochAcker) HeldIn(f File, after, upto uint64) (int64, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	name := filepath.Base(f.Path)
	off, ok := a.held[name]
	ep := a.epochs[name]
	if !ok || ep <= after || upto != 0 && ep > upto {
		return 0, false
	}
	return off, true
}

// TestCopytruncateKeepsTheHold: a file truncated (copytruncate) while its
// old content is held: the copy that supplies that content is saved where
// the hold begins, until the hold ends, so that a restart reads the held
// lines again from the copy; the original goes on with its new content.
func TestCopytruncateKeepsTheHold(t *testing.T) {
	for _, ack := range []bool{false, true} {
		t.Run(fmt.Sprintf("acknowledged=%v", ack), func(t *testing.T) {
			dir := t.TempDir()
			stateFile := filepath.Join(t.TempDir(), "state.json")
			log := filepath.Join(dir, "app.log")
			writeFile(t, log, "")
			a := newEpochAcker()
			h := start(t, Config{Roots: []string{dir}, StateFile: stateFile}, a.recorder, func(f *Follower) { f.consumer = a })
			old := numbered(strings.Repeat("o", 40), 1, 100) // over 1 KiB: a copy is recognised by its head
			holdAt := int64(strings.Index(old, strings.Repeat("o", 40)+"40\n"))
			// Held as the lines are passed, as an exporter holds them.
			a.set(func(*acker) { a.held["app.log"], a.epochs["app.log"] = holdAt, a.epoch })
			testutil.AppendFile(t, log, old)
			h.sync()
			h.tickSync() // commit at the hold
			// copytruncate: copy, then truncate, then new lines.
			writeFile(t, log+".1", old)
			h.sync()
			if err := os.Truncate(log, 0); err != nil {
				t.Fatal(err)
			}
			testutil.AppendFile(t, log, "new1\nnew2\n")
			a.recorder.waitLine(t, "new2")
			if ack {
				a.set(func(a *acker) { delete(a.held, "app.log") })
			}
			for range 2 {
				h.tickSync()
			}
			h.stop()
			rec := savedRecordOf(t, stateFile, "app.log.1")
			want := holdAt
			if ack {
				want = int64(len(old))
			}
			if rec.Offset != want {
				t.Fatalf("the copy is saved at %d, want %d (the hold at %d, the end at %d)", rec.Offset, want, holdAt, len(old))
			}
		})
	}
}
