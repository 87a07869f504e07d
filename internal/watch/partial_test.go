package watch

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/logscan/logscan/internal/testutil"
)

// TestPartialLineQuietTick: in follow mode a partial last line is held
// across a write burst and passed (without a newline, counted as one line)
// once its file has been quiet for a full tick after the read that found it;
// the rest of that line, written later, is skipped, never passed as a
// fragment. A line completed before that tick is passed whole, once. The
// initial read passes it at once, as one-shot does, except at a start at
// the end, where it is held like any later one.
func TestPartialLineQuietTick(t *testing.T) {
	type step struct {
		write string // appended to app.log, then synced; "" for none
		tick  bool   // then one tick
		want  []string
	}
	tests := []struct {
		name  string
		steps []step
		nums  map[string]int64
	}{
		{"passed after a quiet tick, its rest skipped", []step{
			{write: "a1\npart", want: linesOf("a1\n")},
			{tick: true, want: linesOf("a1\n")}, // the read was within this tick: not a full one
			{write: "ial", want: linesOf("a1\n")},
			{tick: true, want: linesOf("a1\n")}, // it grew since the last tick
			{tick: true, want: linesOf("a1\npartial\n")},
			{tick: true, want: linesOf("a1\npartial\n")},
			{write: "-rest\nnext\n", want: linesOf("a1\npartial\nnext\n")},
			{tick: true, want: linesOf("a1\npartial\nnext\n")},
		}, map[string]int64{"a1": 1, "partial": 2, "next": 3}},
		{"completed before the tick", []step{
			{write: "a1\npart", want: linesOf("a1\n")},
			{tick: true, want: linesOf("a1\n")},
			{write: "ial-done\n", want: linesOf("a1\npartial-done\n")},
			{tick: true, want: linesOf("a1\npartial-done\n")},
			{tick: true, want: linesOf("a1\npartial-done\n")},
			{write: "b1\n", want: linesOf("a1\npartial-done\nb1\n")},
		}, map[string]int64{"a1": 1, "partial-done": 2, "b1": 3}},
		{"initial read from the beginning", []step{
			{want: linesOf("old1\nold-partial\n")}, // as one-shot prints it
			{write: "-rest\nnew\n", want: linesOf("old1\nold-partial\nnew\n")},
		}, map[string]int64{"old1": 1, "old-partial": 2, "new": 3}},
		{"started at its end", []step{
			{tick: true, want: nil},
			{tick: true, want: linesOf("old-partial\n")},
			{write: "-rest\nnew\n", want: linesOf("old-partial\nnew\n")},
		}, map[string]int64{"old-partial": 0, "new": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "app.log")
			initial, startAt := "", "beginning"
			switch {
			case strings.HasPrefix(tt.name, "initial"):
				initial = "old1\nold-partial"
			case strings.Contains(tt.name, "end"):
				initial, startAt = "old1\nold-partial", "end"
			}
			writeFile(t, log, initial)
			h := start(t, Config{Roots: []string{dir}, StartAt: startAt}, nil)
			for i, s := range tt.steps {
				if s.write != "" {
					testutil.AppendFile(t, log, s.write)
				}
				h.sync()
				if s.tick {
					h.tickSync()
					h.sync()
				}
				if got := h.rec.lines(); strings.Join(got, "|") != strings.Join(s.want, "|") {
					t.Fatalf("step %d: got %q, want %q", i, got, s.want)
				}
			}
			wantNums(t, nums(t, h.rec), tt.nums)
		})
	}
}

// TestPartialLineRunOnce: an incremental run passes a partial last line, as
// one-shot does, and the next run skips the rest of that line (the state
// keeps that it is inside a line already passed); line numbers count the
// partial line as one and the skipped rest as none. At a first start at the
// end the partial line is where reading starts, so it is left for the next
// run.
func TestPartialLineRunOnce(t *testing.T) {
	tests := []struct {
		name    string
		startAt string
		initial string
		runs    []string           // appended before each run
		want    []map[string]int64 // each run's lines and numbers
	}{
		{"from the beginning", "beginning", "a1\npart", []string{"", "ial\nb1\n", "x", "", "y", "-z\nc1\n"},
			[]map[string]int64{{"a1": 1, "part": 2}, {"b1": 3}, {"x": 4}, {}, {}, {"c1": 5}}},
		{"first run at the end", "end", "a1\npart", []string{"", "ial\n", "b1\nhalf", "-rest\n"},
			[]map[string]int64{{}, {"partial": 0}, {"b1": 0, "half": 0}, {}}},
		{"first run at the end, still partial", "end", "a1\npart", []string{"", "", "ial\nb1\n"},
			[]map[string]int64{{}, {"part": 0}, {"b1": 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			stateFile := filepath.Join(t.TempDir(), "state.json")
			log := filepath.Join(dir, "app.log")
			writeFile(t, log, tt.initial)
			for i, before := range tt.runs {
				testutil.AppendFile(t, log, before)
				rec := newRecorder()
				runOnce(t, Config{Roots: []string{dir}, StateFile: stateFile, StartAt: tt.startAt}, rec)
				t.Logf("run %d", i)
				wantNums(t, nums(t, rec), tt.want[i])
			}
		})
	}
}
