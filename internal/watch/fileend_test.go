package watch

import (
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/logscan/logscan/internal/testutil"
)

// callLog records the calls of a Consumer that is also a FileEnder, as
// "lines <file>", "end <file>" and "flush", collapsing repeated lines calls.
type callLog struct {
	mu    sync.Mutex
	root  string
	calls []string
}

func (c *callLog) add(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.calls); n == 0 || c.calls[n-1] != s {
		c.calls = append(c.calls, s)
	}
}

func (c *callLog) rel(f File) string {
	r, err := filepath.Rel(c.root, f.Path)
	if err != nil {
		return f.Path
	}
	return r
}

func (c *callLog) Lines(f File, block []byte, _, _ int64) error {
	c.add("lines " + c.rel(f))
	return declineNUL(block)
}

func (c *callLog) FileEnd(f File) { c.add("end " + c.rel(f)) }

func (c *callLog) Flush() error {
	c.add("flush")
	return nil
}

func (c *callLog) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	return out
}

// TestFileEnd: RunOnce ends every file it considered, once, in the order it
// read them, after their last Lines and before the final Flush: files with
// nothing new, empty and declined ones too. Follow mode never calls it.
func TestFileEnd(t *testing.T) {
	dir := t.TempDir()
	stateFile := filepath.Join(t.TempDir(), "state.json")
	writeFile(t, filepath.Join(dir, "a.log"), "a1\n")
	writeFile(t, filepath.Join(dir, "b.log"), "b1\n")
	writeFile(t, filepath.Join(dir, "bin.log"), "\x00bin\n")
	writeFile(t, filepath.Join(dir, "empty.log"), "")
	writeFile(t, filepath.Join(dir, "sub", "c.log"), "c1\n")
	writeFile(t, filepath.Join(dir, "skipped.txt"), "not wanted\n")
	cfg := Config{Roots: []string{dir}, StateFile: stateFile, StartAt: "beginning",
		Filter: func(p string) bool { return strings.HasSuffix(p, ".log") }}
	ends := []string{"end a.log", "end b.log", "end bin.log", "end empty.log", "end sub/c.log", "flush"}
	runs := []struct {
		before func()
		want   []string
	}{
		{nil, append([]string{"lines a.log", "lines b.log", "lines bin.log", "lines sub/c.log"}, ends...)},
		{func() {
			testutil.AppendFile(t, filepath.Join(dir, "b.log"), "b2\n")
			testutil.AppendFile(t, filepath.Join(dir, "bin.log"), "more\n")
		}, append([]string{"lines b.log"}, ends...)},
		{nil, ends}, // nothing new anywhere: still every file ends, and the Flush comes
	}
	for i, r := range runs {
		if r.before != nil {
			r.before()
		}
		c := &callLog{root: dir}
		runOnce(t, cfg, c)
		if got := c.take(); !slices.Equal(got, r.want) {
			t.Fatalf("run %d: calls\n%q\nwant\n%q", i, got, r.want)
		}
	}

	// Follow mode: lines and flushes, no FileEnd.
	c := &callLog{root: dir}
	h := start(t, Config{Roots: []string{dir}, StartAt: "beginning"}, nil, func(f *Follower) {
		f.consumer = &struct {
			*recorder
			FileEnder
		}{f.consumer.(*recorder), c}
	})
	h.sync()
	h.tickSync()
	if got := c.take(); len(got) != 0 {
		t.Errorf("follow mode called FileEnd: %q", got)
	}
}
