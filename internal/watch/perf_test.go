package watch

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/logscan/logscan/internal/testutil"
)

type nopConsumer struct{ lines int }

func (c *nopConsumer) Lines(_ File, b []byte, _, _ int64) error {
	c.lines += bytes.Count(b, nl)
	return nil
}
func (c *nopConsumer) Flush() error { return nil }

// appendLoop builds a loop by hand (no goroutines) following one file, and
// returns a function that appends a block and handles its write event the
// way Run does.
// With journal, it has a state file, and each flush appends to its journal.
func appendLoop(tb testing.TB, journal bool) (step func(), c *nopConsumer, block []byte) {
	dir := tb.TempDir()
	log := filepath.Join(dir, "app.log")
	if err := os.WriteFile(log, nil, 0o644); err != nil {
		tb.Fatal(err)
	}
	c = &nopConsumer{}
	cfg := Config{Roots: []string{dir}}
	if journal {
		cfg.StateFile = filepath.Join(tb.TempDir(), "state.json")
	}
	f, err := New(cfg, c)
	if err != nil {
		tb.Fatal(err)
	}
	l := newLoop(f, true)
	l.addRoot(dir, false)
	if len(l.byPath) != 1 {
		tb.Fatalf("following %d files, want 1", len(l.byPath))
	}
	if err := l.drain(); err != nil {
		tb.Fatal(err)
	}
	if journal {
		l.save() // as Run does after the initial read: starts the journal
		if l.journal == nil {
			tb.Fatal("no journal after the first save")
		}
		tb.Cleanup(l.closeJournal)
	}
	w, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		w.Close()
		for _, t := range l.byKey {
			l.closeFile(t)
		}
	})
	block = bytes.Repeat([]byte("2026-05-01T12:00:00.000000000Z app[42]: ordinary line 12345 with some padding text\n"), 100)
	ev := fsnotify.Event{Name: log, Op: fsnotify.Write}
	return func() {
		if _, err := w.Write(block); err != nil {
			tb.Fatal(err)
		}
		l.handle(ev)
		if err := l.drain(); err != nil {
			tb.Fatal(err)
		}
	}, c, block
}

// TestFollowDoesNotAllocatePerLine: handling a write event and reading,
// emitting and checkpointing its 100 lines allocates nothing, journal
// record included.
func TestFollowDoesNotAllocatePerLine(t *testing.T) {
	for _, journal := range []bool{false, true} {
		step, c, _ := appendLoop(t, journal)
		step()
		if allocs := testing.AllocsPerRun(200, step); allocs != 0 {
			t.Errorf("journal %v: %.1f allocations per 100-line append, want 0", journal, allocs)
		}
		// AllocsPerRun calls step once more to warm up.
		if c.lines != 202*100 {
			t.Errorf("journal %v: consumer got %d lines, want %d", journal, c.lines, 202*100)
		}
	}
}

// BenchmarkFollowAppend: one op is a write event for a 100-line append
// (write(2) included), read and handed to the Consumer, and with a state
// file its journal record written.
func BenchmarkFollowAppend(b *testing.B) {
	for _, journal := range []bool{false, true} {
		b.Run(map[bool]string{false: "no-state", true: "journal"}[journal], func(b *testing.B) {
			step, _, block := appendLoop(b, journal)
			b.SetBytes(int64(len(block)))
			b.ReportAllocs()
			for b.Loop() {
				step()
			}
		})
	}
}

// TestManyFiles: thousands of files in hundreds of directories do not hold a
// descriptor each; idle ones are closed and reopened on their next event.
func TestManyFiles(t *testing.T) {
	dirs, per := 100, 10
	if !testing.Short() {
		dirs = 1000 // 10,000 files
	}
	root := t.TempDir()
	for d := range dirs {
		for i := range per {
			writeFile(t, filepath.Join(root, fmt.Sprintf("d%04d", d), fmt.Sprintf("f%d.log", i)), "old\n")
		}
	}
	base := openFDs(t)
	h := start(t, Config{Roots: []string{root}, IdleClose: 1}, nil)
	if n := h.f.Stats().FilesWatched.Load(); n != int64(dirs*per) {
		t.Fatalf("FilesWatched = %d, want %d", n, dirs*per)
	}
	if fds := openFDs(t) - base; fds > 10 {
		t.Errorf("%d descriptors held after the initial walk of %d files, want a handful", fds, dirs*per)
	}
	var want []string
	for d := 0; d < dirs; d += dirs / 50 {
		line := fmt.Sprintf("new-%d", d)
		testutil.AppendFile(t, filepath.Join(root, fmt.Sprintf("d%04d", d), "f0.log"), line+"\n")
		want = append(want, line)
	}
	h.sync()
	wantLines(t, h.rec.lines(), want)
	h.tickSync()
	h.tickSync()
	if h.lastOpen != 0 {
		t.Errorf("%d descriptors still open after the idle ticks", h.lastOpen)
	}
}

// TestIdleCPU: 1,000 watched files and no writes cost (next to) no CPU: no
// busy polling. It measures for a second, so it is skipped with -short.
func TestIdleCPU(t *testing.T) {
	if testing.Short() {
		t.Skip("measures CPU over a second of idling")
	}
	root := t.TempDir()
	for d := range 100 {
		for i := range 10 {
			writeFile(t, filepath.Join(root, fmt.Sprintf("d%03d", d), fmt.Sprintf("f%d.log", i)), "x\n")
		}
	}
	f, err := New(Config{Roots: []string{root}}, &nopConsumer{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithCancel()
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	<-f.Ready()
	var before, after syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &before); err != nil {
		t.Fatal(err)
	}
	const window = 1500 * time.Millisecond
	time.Sleep(window) // the measurement window itself, not a wait for an event
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &after); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
	pct := 100 * float64(cpu) / float64(window)
	t.Logf("idle CPU with 1,000 watched files: %v in %v (%.2f%%)", cpu, window, pct)
	if pct > 1 {
		t.Errorf("idle CPU %.2f%%, want under 1%%", pct)
	}
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
