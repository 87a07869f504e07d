package watch

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/state"
	"github.com/logscan/logscan/internal/testutil"
)

// snapshot is the state file and its journal as a kill -9 leaves them.
type snapshot struct{ st, journal []byte }

// syncJournaled is h.sync, then a wait for its flush to be journaled: the
// recorder sees the flush before the loop appends the journal record, so a
// snapshot taken right after sync could miss or tear that record.
func syncJournaled(t *testing.T, h *harness, _ string) {
	t.Helper()
	h.sync()
	h.rec.waitCommitted(t)
}

func takeSnapshot(t *testing.T, stateFile string) snapshot {
	t.Helper()
	var s snapshot
	var err error
	if s.st, err = os.ReadFile(stateFile); err != nil {
		t.Fatal(err)
	}
	if s.journal, err = os.ReadFile(state.JournalPath(stateFile)); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s snapshot) restore(t *testing.T, stateFile string) {
	t.Helper()
	if err := os.WriteFile(stateFile, s.st, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state.JournalPath(stateFile), s.journal, 0o600); err != nil {
		t.Fatal(err)
	}
}

// tearRecord cuts the journal in the middle of its record before the last
// (the last is the sync marker's flush).
func tearRecord(t *testing.T, j []byte) []byte {
	t.Helper()
	var starts []int
	for off := 16; off+8 <= len(j); off += 8 + int(binary.LittleEndian.Uint32(j[off:])) {
		starts = append(starts, off)
	}
	if len(starts) < 2 {
		t.Fatalf("journal has %d records", len(starts))
	}
	return j[:starts[len(starts)-2]+12]
}

// TestJournalKill: what a kill -9 leaves on disk, the state file and its
// journal at that moment, loses nothing at the next start and repeats at
// most the one flush whose output was written but not yet journaled. A torn
// last record repeats only its flush; a journal of another save of the
// state file is ignored (and then the state file's save bounds the repeat).
func TestJournalKill(t *testing.T) {
	tests := []struct {
		name   string
		before func(t *testing.T, h *harness, log, stateFile string) snapshot
		repeat string // lines the next start passes again
	}{
		{"killed after its flush was journaled", func(t *testing.T, h *harness, log, stateFile string) snapshot {
			testutil.AppendFile(t, log, numbered("c", 1, 5))
			syncJournaled(t, h, stateFile)
			return takeSnapshot(t, stateFile)
		}, ""},
		{"killed between the output and the journal", func(t *testing.T, h *harness, log, stateFile string) snapshot {
			entered, release := h.rec.holdFlush()
			defer release()
			testutil.AppendFile(t, log, numbered("c", 1, 5))
			select {
			case <-entered:
			case <-time.After(waitLimit):
				t.Fatal("no flush")
			}
			return takeSnapshot(t, stateFile)
		}, numbered("c", 1, 5)},
		{"torn last record", func(t *testing.T, h *harness, log, stateFile string) snapshot {
			testutil.AppendFile(t, log, numbered("c", 1, 5))
			syncJournaled(t, h, stateFile)
			s := takeSnapshot(t, stateFile)
			s.journal = tearRecord(t, s.journal)
			return s
		}, numbered("c", 1, 5)},
		{"journal of another save", func(t *testing.T, h *harness, log, stateFile string) snapshot {
			old := takeSnapshot(t, stateFile) // the save at the start, before a1
			h.tickSync()                      // saves again: a new generation
			testutil.AppendFile(t, log, numbered("c", 1, 5))
			h.sync()
			s := takeSnapshot(t, stateFile)
			s.st = old.st
			return s
		}, numbered("a", 1, 5) + numbered("b", 1, 5) + numbered("c", 1, 5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			stateFile := filepath.Join(t.TempDir(), "state.json")
			log := filepath.Join(dir, "app.log")
			writeFile(t, log, "")
			cfg := Config{Roots: []string{dir}, StateFile: stateFile}
			h := start(t, cfg, nil)
			testutil.AppendFile(t, log, numbered("a", 1, 5))
			h.sync()
			testutil.AppendFile(t, log, numbered("b", 1, 5))
			h.sync()
			snap := tt.before(t, h, log, stateFile)
			h.stop()
			snap.restore(t, stateFile)

			h2 := start(t, cfg, nil)
			h2.syncN = 100 // markers of h are read again: wait for new ones
			testutil.AppendFile(t, log, numbered("d", 1, 5))
			h2.sync()
			wantLines(t, h.rec.lines(), linesOf(numbered("a", 1, 5), numbered("b", 1, 5), numbered("c", 1, 5)))
			wantLines(t, h2.rec.lines(), linesOf(tt.repeat, numbered("d", 1, 5)))
		})
	}
}
