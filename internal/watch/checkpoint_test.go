package watch

import (
	"encoding/binary"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

// lineCounter is a recorder that also counts the lines it is passed, as the
// metrics of rules do, and checkpoints the count with the offsets: with,
// per file, the end of the last line counted, so that lines read again
// below it (a journal torn between its delta and its offsets) are not
// counted twice.
type lineCounter struct {
	*recorder
	mu      sync.Mutex
	n       int64
	through map[string]int64
	skip    map[string]int64
	saved   int64 // n at the last Checkpoint
	deltas  int
}

type counterState struct {
	N       int64            `json:"n"`
	Through map[string]int64 `json:"through"`
}

func newLineCounter() *lineCounter {
	return &lineCounter{recorder: newRecorder(), through: map[string]int64{}, skip: map[string]int64{}}
}

func (c *lineCounter) Lines(f File, block []byte, off, num int64) error {
	c.mu.Lock()
	for _, l := range strings.SplitAfter(string(block), "\n") {
		if l == "" {
			continue
		}
		start := off
		off += int64(len(l))
		if lim, ok := c.skip[f.ID()]; ok && start < lim {
			continue
		}
		delete(c.skip, f.ID())
		if !strings.HasPrefix(l, "sync-") {
			c.n++
		}
		c.through[f.ID()] = off
	}
	c.mu.Unlock()
	return c.recorder.Lines(f, block, off-int64(len(block)), num)
}

func (c *lineCounter) Checkpoint(full bool) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !full && c.n == c.saved {
		return nil, nil
	}
	c.saved = c.n
	c.deltas++
	return json.Marshal(counterState{N: c.n, Through: c.through})
}

func (c *lineCounter) Restore(parts [][]byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range parts {
		if len(p) == 0 {
			continue
		}
		var s counterState
		if err := json.Unmarshal(p, &s); err != nil {
			return err
		}
		c.n, c.through = s.N, s.Through
	}
	for id, end := range c.through {
		c.skip[id] = end
	}
	c.saved = c.n
	return nil
}

func (c *lineCounter) Dirty() bool { return false }

// Held and Release make it a Holder that holds nothing: Release(Truncated)
// says a file's content starts again, so what was counted of it no longer
// holds lines back.
func (c *lineCounter) Held(File) (int64, bool) { return 0, false }

func (c *lineCounter) Release(f File, why ReleaseReason) {
	if why == Truncated {
		c.mu.Lock()
		delete(c.skip, f.ID())
		c.mu.Unlock()
	}
}

func (c *lineCounter) count() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestCheckpointExactlyOnce: a consumer's aggregates, saved and journaled
// with the offsets, count every line once across a kill -9, whenever it
// comes: after a flush was journaled, between the output and the journal,
// or with the journal torn between a flush's delta and its offsets.
func TestCheckpointExactlyOnce(t *testing.T) {
	tests := []struct {
		name   string
		before func(t *testing.T, h *harness, c *lineCounter, log, stateFile string) snapshot
	}{
		{"killed after its flush was journaled", func(t *testing.T, h *harness, c *lineCounter, log, stateFile string) snapshot {
			testutil.AppendFile(t, log, numbered("c", 1, 5))
			syncJournaled(t, h, stateFile)
			return takeSnapshot(t, stateFile)
		}},
		{"killed between the output and the journal", func(t *testing.T, h *harness, c *lineCounter, log, stateFile string) snapshot {
			entered, release := h.rec.holdFlush()
			defer release()
			testutil.AppendFile(t, log, numbered("c", 1, 5))
			select {
			case <-entered:
			case <-time.After(waitLimit):
				t.Fatal("no flush")
			}
			return takeSnapshot(t, stateFile)
		}},
		{"torn between the delta and the offsets", func(t *testing.T, h *harness, c *lineCounter, log, stateFile string) snapshot {
			testutil.AppendFile(t, log, numbered("c", 1, 5))
			syncJournaled(t, h, stateFile)
			s := takeSnapshot(t, stateFile)
			s.journal = cutAfterDelta(t, s.journal, `"n":15`)
			return s
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			stateFile := filepath.Join(t.TempDir(), "state.json")
			log := filepath.Join(dir, "app.log")
			writeFile(t, log, "")
			cfg := Config{Roots: []string{dir}, StateFile: stateFile}
			c := newLineCounter()
			h := start(t, cfg, c.recorder, func(f *Follower) { f.consumer = c })
			testutil.AppendFile(t, log, numbered("a", 1, 5))
			h.sync()
			h.tickSync() // a save: the whole count in the state file
			testutil.AppendFile(t, log, numbered("b", 1, 5))
			h.sync()
			snap := tt.before(t, h, c, log, stateFile)
			h.stop()
			snap.restore(t, stateFile)

			c2 := newLineCounter()
			h2 := start(t, cfg, c2.recorder, func(f *Follower) { f.consumer = c2 })
			h2.syncN = 100
			testutil.AppendFile(t, log, numbered("d", 1, 5))
			h2.sync()
			if got := c2.count(); got != 20 {
				t.Errorf("counted %d lines across the restart, want 20 (each of a, b, c and d once)", got)
			}
			if c.deltas == 0 {
				t.Error("no checkpoint was taken")
			}
		})
	}
}

// TestCheckpointTruncatedWhileDown: a file truncated and written again
// while logscan was down (copytruncate between a stop and a start) is new
// content under the saved identity: its lines are counted, though they
// lie below what was counted of the old content.
func TestCheckpointTruncatedWhileDown(t *testing.T) {
	dir := t.TempDir()
	stateFile := filepath.Join(t.TempDir(), "state.json")
	log := filepath.Join(dir, "app.log")
	writeFile(t, log, "")
	cfg := Config{Roots: []string{dir}, StateFile: stateFile}
	c := newLineCounter()
	h := start(t, cfg, c.recorder, func(f *Follower) { f.consumer = c })
	testutil.AppendFile(t, log, numbered("a", 1, 50))
	h.sync()
	h.stop()
	writeFile(t, log, numbered("b", 1, 5)) // truncated in place, same inode

	c2 := newLineCounter()
	h2 := start(t, cfg, c2.recorder, func(f *Follower) { f.consumer = c2 })
	h2.syncN = 100
	h2.sync()
	if got := c2.count(); got != 55 {
		t.Errorf("counted %d lines, want 55: the 50 before the stop and the 5 written after the truncation", got)
	}
}

// cutAfterDelta cuts the journal just after the delta record holding want,
// inside the file record written with it.
func cutAfterDelta(t *testing.T, j []byte, want string) []byte {
	t.Helper()
	for off := 16; off+8 <= len(j); {
		n := int(binary.LittleEndian.Uint32(j[off:]))
		payload := j[off+8 : off+8+n]
		next := off + 8 + n
		if payload[0] == 'A' && strings.Contains(string(payload), want) {
			if next+12 > len(j) {
				t.Fatal("no record after the delta")
			}
			return j[:next+12]
		}
		off = next
	}
	t.Fatalf("no delta holding %s in the journal", want)
	return nil
}
