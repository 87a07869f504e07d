package watch

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
)

// bigCounter passes small blocks on to the recorder (the sync markers, the
// line after) and only measures the big ones, which a recorder would copy.
type bigCounter struct {
	*recorder
	big, bigBytes int
}

func (c *bigCounter) Lines(f File, b []byte, off, line int64) error {
	if len(b) < 1<<10 {
		return c.recorder.Lines(f, b, off, line)
	}
	c.big++
	c.bigBytes += len(b)
	return nil
}

// TestLongLineMemory: a 100 MiB line written to a followed file in eight
// writes, the follower reading after each, costs one buffer of MaxLine
// (allocated once), not a series of doubled ones, and each byte is read
// about once, not again from the line's start at each read; the line is
// passed once, cut at MaxLine, and the next one whole.
func TestLongLineMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 100 MiB")
	}
	const total, parts = 100 << 20, 8
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	writeFile(t, log, "")
	var preads atomic.Int64
	var c *bigCounter
	h := start(t, Config{Roots: []string{dir}}, nil, func(f *Follower) {
		c = &bigCounter{recorder: f.consumer.(*recorder)}
		f.consumer = c
		f.hooks.pread = func(fd int, b []byte, off int64) (int, error) {
			n, err := pread(fd, b, off)
			preads.Add(int64(n))
			return n, err
		}
	})
	w, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	chunk := bytes.Repeat([]byte("x"), total/parts)
	h.sync()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	preads.Store(0)
	for range parts {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
		h.sync()
	}
	if _, err := w.WriteString("\nafter\n"); err != nil {
		t.Fatal(err)
	}
	h.sync()
	runtime.ReadMemStats(&after)
	maxLine := DefaultMaxLine
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("100 MiB line: %.1f MiB allocated, %.1f MiB read by pread", float64(alloc)/(1<<20), float64(preads.Load())/(1<<20))
	if alloc > uint64(maxLine)+4<<20 {
		t.Errorf("%d bytes allocated for a 100 MiB line, want at most MaxLine (%d) + 4 MiB", alloc, maxLine)
	}
	if n := preads.Load(); n > total+total/10 {
		t.Errorf("%d bytes read for a %d-byte line: read again from its start", n, total)
	}
	if c.big != 1 || c.bigBytes != maxLine {
		t.Errorf("passed %d big blocks of %d bytes, want one of MaxLine (%d)", c.big, c.bigBytes, maxLine)
	}
	wantLines(t, h.rec.lines(), []string{"after"})
	if n := h.f.Stats().LongLines.Load(); n != 1 {
		t.Errorf("LongLines = %d, want 1", n)
	}
}

// TestLongLinesGathered: lines longer than the read buffer but within
// MaxLine are passed whole however many reads they take, longer ones cut
// once, and a long partial line is held, then passed at a quiet tick, its
// rest skipped; RunOnce passes a long partial line at once.
func TestLongLinesGathered(t *testing.T) {
	const maxLine = 1 << 20 // over the 256 KiB read buffer
	long := func(c string, n int) string { return string(bytes.Repeat([]byte(c), n)) }
	tests := []struct {
		name   string
		writes []string // each appended, then synced
		ticks  int      // then
		after  string   // appended after the ticks
		want   []string
	}{
		{"whole, in parts", []string{long("a", 300<<10), long("a", 300<<10), long("a", 100<<10) + "\nnext\n"}, 0, "",
			[]string{long("a", 700<<10), "next"}},
		{"cut at MaxLine", []string{long("b", 600<<10), long("b", 600<<10), long("b", 300<<10) + "\nnext\n"}, 0, "",
			[]string{long("b", maxLine), "next"}},
		{"held, then passed when quiet", []string{long("c", 400<<10), long("c", 300<<10)}, 3, "-rest\nnext\n",
			[]string{long("c", 700<<10), "next"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "app.log")
			writeFile(t, log, "")
			h := start(t, Config{Roots: []string{dir}, MaxLine: maxLine}, nil)
			for _, w := range tt.writes {
				appendString(t, log, w)
				h.sync()
			}
			for range tt.ticks {
				h.tickSync()
			}
			if tt.after != "" {
				appendString(t, log, tt.after)
			}
			h.sync()
			got := h.rec.lines()
			if len(got) != len(tt.want) {
				t.Fatalf("got %d lines, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("line %d: %d bytes %.10q..., want %d bytes %.10q...", i, len(got[i]), got[i], len(tt.want[i]), tt.want[i])
				}
			}
		})
	}
	t.Run("RunOnce passes a long partial line", func(t *testing.T) {
		dir := t.TempDir()
		log := filepath.Join(dir, "app.log")
		writeFile(t, log, "a1\n"+long("d", 500<<10))
		stateFile := filepath.Join(t.TempDir(), "state.json")
		cfg := Config{Roots: []string{dir}, StartAt: "beginning", StateFile: stateFile, MaxLine: maxLine}
		rec := newRecorder()
		runOnce(t, cfg, rec)
		wantNums(t, nums(t, rec), map[string]int64{"a1": 1, long("d", 500<<10): 2})
		appendString(t, log, long("d", 300<<10)+"\nb1\n")
		rec = newRecorder()
		runOnce(t, cfg, rec)
		wantNums(t, nums(t, rec), map[string]int64{"b1": 3})
	})
}

func appendString(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
