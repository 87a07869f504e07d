package watch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"

	"github.com/logscan/logscan/internal/scan"
	"github.com/logscan/logscan/internal/state"
	"github.com/logscan/logscan/internal/testutil"
)

// nums maps each line the recorder flushed (sync markers left out) to the
// line number it came with; a line seen twice fails the test.
func nums(t *testing.T, r *recorder) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	for _, x := range r.records() {
		if strings.HasPrefix(x.line, "sync-") {
			continue
		}
		if _, dup := m[x.line]; dup {
			t.Fatalf("line %q passed twice", x.line)
		}
		m[x.line] = x.num
	}
	return m
}

func wantNums(t *testing.T, got, want map[string]int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d lines %v, want %d %v", len(got), got, len(want), want)
	}
	for line, n := range want {
		if g, ok := got[line]; !ok || g != n {
			t.Errorf("line %q: number %d (passed: %v), want %d", line, g, ok, n)
		}
	}
}

// oneShotNums numbers the lines of content as a one-shot search does, with
// scan.Splitter: the follower must agree with it, cut lines included.
func oneShotNums(content string, maxLine int) map[string]int64 {
	sp := scan.NewSplitter(strings.NewReader(content), 0, maxLine)
	m := map[string]int64{}
	for l := range sp.Lines() {
		m[string(l.Text)] = l.Num
	}
	return m
}

// TestLineNumbers: in follow mode each block comes with the number of its
// first line, the one a one-shot run gives it, when every line before it
// was seen in the file's current identity, and 0 when not.
func TestLineNumbers(t *testing.T) {
	long := strings.Repeat("L", 40)
	hundred := numbered("hundred-lines-", 1, 100) // over the 1 KiB a copy must share
	tests := []struct {
		name    string
		startAt string
		maxLine int
		before  string // app.log at the start
		steps   func(t *testing.T, h *harness, log string)
		want    map[string]int64
	}{
		{"from the beginning", "beginning", 0, "a1\na2\n", func(t *testing.T, h *harness, log string) {
			testutil.AppendFile(t, log, "a3\n")
		}, map[string]int64{"a1": 1, "a2": 2, "a3": 3}},
		{"from the end", "end", 0, "a1\na2\n", func(t *testing.T, h *harness, log string) {
			testutil.AppendFile(t, log, "a3\n")
		}, map[string]int64{"a3": 0}},
		{"from the end, partial first line", "end", 0, "par", func(t *testing.T, h *harness, log string) {
			testutil.AppendFile(t, log, "tial\nnext\n") // read from 0 after all
		}, map[string]int64{"partial": 1, "next": 2}},
		{"truncated after a start at the end", "end", 0, "a1\na2\n", func(t *testing.T, h *harness, log string) {
			if err := os.Truncate(log, 0); err != nil {
				t.Fatal(err)
			}
			h.sync()
			testutil.AppendFile(t, log, "b1\nb2\n")
		}, map[string]int64{"b1": 1, "b2": 2}},
		{"new file", "end", 0, "a1\n", func(t *testing.T, h *harness, log string) {
			writeFile(t, filepath.Join(filepath.Dir(log), "sub", "new.log"), "n1\nn2\n")
		}, map[string]int64{"n1": 1, "n2": 2}},
		{"cut lines count as one, as in one-shot", "beginning", 16, "", func(t *testing.T, h *harness, log string) {
			testutil.AppendFile(t, log, "short\n"+long+"\nafter1\n")
			h.sync()
			testutil.AppendFile(t, log, strings.Repeat("M", 30)) // cut before its newline comes
			h.sync()
			testutil.AppendFile(t, log, strings.Repeat("N", 30)+"\nafter2\n")
		}, oneShotNums("short\n"+long+"\nafter1\n"+strings.Repeat("M", 30)+strings.Repeat("N", 30)+"\nafter2\n", 16)},
		{"flushed partial line of a rotated file", "beginning", 0, "l1\n", func(t *testing.T, h *harness, log string) {
			testutil.AppendFile(t, log, "no-newline")
			h.sync()
			mustRename(t, log, log+".1")
			h.sync()
			h.tickSync()
			h.tickSync()
			testutil.AppendFile(t, log, "n1\n")
		}, map[string]int64{"l1": 1, "no-newline": 2, "n1": 1}},
		{"copytruncate, seen only after it", "beginning", 0, hundred, func(t *testing.T, h *harness, log string) {
			h.sync()
			h.f.hooks.dropEvents.Store(true)
			testutil.AppendFile(t, log, "x1\nx2\n")
			copyTruncate(t, log, log+".1")
			testutil.AppendFile(t, log, "y1\n")
			h.errs <- fsnotify.ErrEventOverflow
			h.rec.waitFor(t, "the rescan", func(l []string) bool { return contains(l, "x2") && contains(l, "y1") })
			h.f.hooks.dropEvents.Store(false)
		}, union(oneShotNums(hundred, 0), map[string]int64{"x1": 101, "x2": 102, "y1": 1})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "app.log")
			writeFile(t, log, tt.before)
			h := start(t, Config{Roots: []string{dir}, StartAt: tt.startAt, MaxLine: tt.maxLine}, nil)
			tt.steps(t, h, log)
			h.sync()
			wantNums(t, nums(t, h.rec), tt.want)
		})
	}
}

// runOnce runs one incremental pass with cfg into c and returns the
// Follower, for its stats, and what it logged.
func runOnce(t *testing.T, cfg Config, c Consumer) (*Follower, string) {
	t.Helper()
	logs := &testutil.SyncBuffer{}
	cfg.Logger = zerolog.New(logs)
	f, err := New(cfg, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.RunOnce(context.Background()); err != nil {
		t.Fatalf("RunOnce: %v\n%s", err, logs)
	}
	return f, logs.String()
}

// TestLineNumbersAcrossRuns: line numbers survive in the state file, through
// resumes, renames and copies; a state file from before line numbers makes
// them unknown until the file starts again at 0.
func TestLineNumbersAcrossRuns(t *testing.T) {
	hundred := numbered("hundred-lines-", 1, 100) // over the 1 KiB a copy must share
	tests := []struct {
		name    string
		startAt string
		before  string
		setup   func(t *testing.T, log, stateFile string) // before the first run
		runs    []func(t *testing.T, log string)          // each before a run
		want    []map[string]int64                        // each run's lines
	}{
		{"resume", "beginning", "a1\na2\n", nil, []func(*testing.T, string){
			nil,
			func(t *testing.T, log string) { testutil.AppendFile(t, log, "a3\n") },
		}, []map[string]int64{{"a1": 1, "a2": 2}, {"a3": 3}}},
		{"first run at the end", "end", "a1\na2\n", nil, []func(*testing.T, string){
			nil,
			func(t *testing.T, log string) { testutil.AppendFile(t, log, "a3\n") },
			func(t *testing.T, log string) { testutil.AppendFile(t, log, "a4\n") },
		}, []map[string]int64{{}, {"a3": 0}, {"a4": 0}}},
		{"version 1 state", "beginning", "a1\na2\n", func(t *testing.T, log, stateFile string) {
			fi, err := os.Stat(log)
			if err != nil {
				t.Fatal(err)
			}
			k := keyOf(fi)
			content := []byte("a1\na2\n")
			writeFile(t, stateFile, fmt.Sprintf(`{"kind":"logscan-state","version":1,"files":[{"path":%q,"dev":%d,"ino":%d,"offset":6,"head_len":6,"head_crc32c":%d,"tail_len":6,"tail_crc32c":%d}]}`,
				log, k.dev, k.ino, state.Checksum(content), state.Checksum(content)))
		}, []func(*testing.T, string){
			func(t *testing.T, log string) { testutil.AppendFile(t, log, "a3\n") },
			func(t *testing.T, log string) { testutil.AppendFile(t, log, "a4\n") },
			func(t *testing.T, log string) {
				if err := os.Truncate(log, 0); err != nil {
					t.Fatal(err)
				}
				testutil.AppendFile(t, log, "b1\n")
			},
		}, []map[string]int64{{"a3": 0}, {"a4": 0}, {"b1": 1}}},
		{"renamed while down", "beginning", hundred, nil, []func(*testing.T, string){
			nil,
			func(t *testing.T, log string) {
				testutil.AppendFile(t, log, "x1\n")
				mustRename(t, log, log+".1")
				testutil.AppendFile(t, log+".1", "x2\n")
				testutil.AppendFile(t, log, "y1\n")
			},
		}, []map[string]int64{oneShotNums(hundred, 0), {"x1": 101, "x2": 102, "y1": 1}}},
		{"copytruncate while down", "beginning", hundred, nil, []func(*testing.T, string){
			nil,
			func(t *testing.T, log string) {
				testutil.AppendFile(t, log, "x1\nx2\n")
				copyTruncate(t, log, log+".1")
				testutil.AppendFile(t, log, "y1\n")
			},
		}, []map[string]int64{oneShotNums(hundred, 0), {"x1": 101, "x2": 102, "y1": 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			stateFile := filepath.Join(t.TempDir(), "state.json")
			log := filepath.Join(dir, "app.log")
			writeFile(t, log, tt.before)
			if tt.setup != nil {
				tt.setup(t, log, stateFile)
			}
			for i, before := range tt.runs {
				if before != nil {
					before(t, log)
				}
				rec := newRecorder()
				runOnce(t, Config{Roots: []string{dir}, StateFile: stateFile, StartAt: tt.startAt}, rec)
				t.Logf("run %d", i)
				wantNums(t, nums(t, rec), tt.want[i])
			}
		})
	}
}
