package watch

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/logscan/logscan/internal/state"
	"github.com/logscan/logscan/internal/testutil"
)

// decliner declines blocks as a binary-file check would, and passes the rest
// to a recorder.
type decliner struct {
	*recorder
	decline func(block []byte) error
}

func (d *decliner) Lines(f File, block []byte, off, line int64) error {
	if err := d.decline(block); err != nil {
		return err
	}
	return d.recorder.Lines(f, block, off, line)
}

func declineNUL(block []byte) error {
	if bytes.IndexByte(block, 0) >= 0 {
		return ErrSkipFile
	}
	return nil
}

func savedRecord(t *testing.T, stateFile, path string) state.File {
	t.Helper()
	st, err := state.Load(stateFile)
	if err != nil || st == nil {
		t.Fatalf("state: %v %v", st, err)
	}
	for _, f := range st.Files {
		if f.Path == path {
			return f
		}
	}
	t.Fatalf("%s not in the state: %+v", path, st.Files)
	return state.File{}
}

// TestErrSkipFile: a file the Consumer declines passes nothing more, in this
// run or after a restart, while its offset keeps up with it; a rewrite from
// offset 0 lets the Consumer decide again. Declining is no error of the loop.
func TestErrSkipFile(t *testing.T) {
	tests := []struct {
		name    string
		initial string // bin.log before the start
		decline func(block []byte) error
		later   string // appended while running, never passed
		want    []string
	}{
		{"binary at its start", "\x00\x01binary\n", declineNUL, "more\n", nil},
		{"wrapped", "\x00\x01binary\n", func(b []byte) error {
			if err := declineNUL(b); err != nil {
				return fmt.Errorf("binary file: %w", err)
			}
			return nil
		}, "more\n", nil},
		{"declined after some lines", "ok1\nok2\n", func(b []byte) error {
			if bytes.Contains(b, []byte("STOP")) {
				return ErrSkipFile
			}
			return nil
		}, "STOP\nafter\n", []string{"ok1", "ok2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			stateFile := filepath.Join(t.TempDir(), "state.json")
			bin := filepath.Join(dir, "bin.log")
			writeFile(t, bin, tt.initial)
			cfg := Config{Roots: []string{dir}, StateFile: stateFile, StartAt: "beginning"}
			wrap := func(f *Follower) { f.consumer = &decliner{recorder: f.consumer.(*recorder), decline: tt.decline} }
			h := start(t, cfg, nil, wrap)
			h.sync()
			testutil.AppendFile(t, bin, tt.later)
			h.sync()
			testutil.AppendFile(t, bin, "still-more\n")
			h.sync()
			wantLines(t, h.rec.lines(), tt.want)
			h.stop()
			fi, err := os.Stat(bin)
			if err != nil {
				t.Fatal(err)
			}
			if r := savedRecord(t, stateFile, bin); !r.Declined || r.Offset != fi.Size() {
				t.Fatalf("saved %+v, want declined at offset %d", r, fi.Size())
			}

			// A restart keeps it declined; a rewrite clears that.
			h2 := start(t, cfg, nil, wrap)
			testutil.AppendFile(t, bin, "after-restart\n")
			h2.sync()
			wantLines(t, h2.rec.lines(), nil)
			if err := os.Truncate(bin, 0); err != nil {
				t.Fatal(err)
			}
			h2.sync()
			testutil.AppendFile(t, bin, "text-now\n")
			h2.sync()
			wantNums(t, nums(t, h2.rec), map[string]int64{"text-now": 1})
		})
	}
}
