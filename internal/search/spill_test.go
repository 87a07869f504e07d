package search

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/logscan/logscan/internal/output"
	"github.com/logscan/logscan/internal/pipeline"
)

func TestChunksBudget(t *testing.T) {
	c := &chunks{}
	var got [][]byte
	for range spareChunks {
		b := c.get(100)
		if b == nil || cap(b) != 100 || len(b) != 0 {
			t.Fatalf("get: %d/%d, want an empty buffer of 100", len(b), cap(b))
		}
		got = append(got, append(b, "x"...))
	}
	if b := c.get(100); b != nil {
		t.Fatal("get beyond the budget returned a buffer")
	}
	c.put(got[0])
	b := c.get(100)
	if b == nil || len(b) != 0 || &b[:1][0] != &got[0][0] {
		t.Fatal("a returned buffer is not reused, emptied")
	}
}

// TestSpillFile: what is written comes back whole and in order, in pieces
// larger and smaller than the copy buffer, the file is emptied after each
// write-out and leaves no name behind, and a spill past maxSpill or into a
// directory that is not there is refused rather than lost.
func TestSpillFile(t *testing.T) {
	dir := t.TempDir()
	s := &spillFile{dir: dir}
	defer s.close()
	for round, sizes := range [][]int{{10}, {spillCopy + 7, 3, spillCopy * 2}, {1}} {
		var want bytes.Buffer
		for i, n := range sizes {
			b := bytes.Repeat([]byte{byte('a' + round + i)}, n)
			if !s.write(b) {
				t.Fatalf("round %d: write %d refused: %v", round, n, s.failed)
			}
			want.Write(b)
		}
		var got bytes.Buffer
		if err := s.writeTo(func(b []byte) { got.Write(b) }); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("round %d: got %d bytes back, want %d (or they differ)", round, got.Len(), want.Len())
		}
		if fi, err := s.f.Stat(); err != nil || fi.Size() != 0 || s.n != 0 {
			t.Fatalf("round %d: not emptied: size %v, n %d, %v", round, fi.Size(), s.n, err)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the spill file has a name in %s: %v", dir, ents)
	}
	s.n = maxSpill - 10
	if s.write(make([]byte, 11)) || s.n != maxSpill-10 {
		t.Error("a write past maxSpill was taken")
	}
	s.n = 0

	missing := &spillFile{dir: filepath.Join(dir, "missing")}
	if missing.write([]byte("x")) || missing.failed == nil || missing.n != 0 {
		t.Errorf("a spill into a missing directory: failed=%v n=%d", missing.failed, missing.n)
	}
	if err := missing.writeTo(func([]byte) { t.Error("wrote out nothing spilled") }); err != nil {
		t.Error(err)
	}
}

// gateWriter blocks every Write until open is closed, and says on started
// that the first one came: the worker that called it then holds the lock.
type gateWriter struct {
	bytes.Buffer
	started chan struct{}
	open    chan struct{}
}

func (g *gateWriter) Write(p []byte) (int, error) {
	select {
	case <-g.started:
	default:
		close(g.started)
	}
	<-g.open
	return g.Buffer.Write(p)
}

// TestSpillWhileLocked: while one worker holds the output lock with a file
// of dense output, the other searches its whole file without waiting: its
// output goes to the spare chunks left and then to the spill file, and is
// written whole, after the first file's, in its order.
func TestSpillWhileLocked(t *testing.T) {
	root := t.TempDir()
	var want [2]string
	for f := range 2 {
		var body, out strings.Builder
		for i := range 3000 {
			fmt.Fprintf(&body, "MATCH file %d line %04d\n", f, i)
			if i%3 == 0 {
				fmt.Fprintf(&body, "other %d\n", i)
			}
		}
		path := filepath.Join(root, fmt.Sprintf("f%d.log", f))
		if err := os.WriteFile(path, []byte(body.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.SplitAfter(body.String(), "\n") {
			if strings.HasPrefix(l, "MATCH") {
				out.WriteString(path + ":" + l)
			}
		}
		want[f] = out.String()
	}
	for _, spares := range []int{0, 1, spareChunks} {
		t.Run(fmt.Sprintf("spares=%d", spares), func(t *testing.T) {
			out := &gateWriter{started: make(chan struct{}), open: make(chan struct{})}
			s := &searcher{
				opts: Options{Pipeline: pipe(t, output.Options{Filename: true}, pipeline.Lines, "MATCH"),
					OutputBuffer: 4 << 10, SpillDir: t.TempDir(), Log: zerolog.Nop()},
				out: &sharedWriter{w: out},
			}
			s.spare.given = spareChunks - spares
			holder, waiter := s.newWorker(), s.newWorker()
			defer holder.close()
			defer waiter.close()
			ctx := context.Background()
			held := make(chan struct{})
			go func() {
				defer close(held)
				holder.file(ctx, job{path: filepath.Join(root, "f0.log")})
			}()
			<-out.started
			waiter.search(ctx, job{path: filepath.Join(root, "f1.log")})
			if waiter.holding || waiter.spill.n == 0 || len(waiter.pending) > spares {
				t.Fatalf("the waiter: holding %v, spilled %d bytes, %d pending; want it to spill, not hold", waiter.holding, waiter.spill.n, len(waiter.pending))
			}
			close(out.open)
			<-held
			waiter.endFile()
			if got := out.String(); got != want[0]+want[1] {
				t.Fatalf("output of %d bytes is not the two files' %d in turn", len(got), len(want[0])+len(want[1]))
			}
			if waiter.spill.n != 0 || s.spare.given != spareChunks-spares {
				t.Errorf("after write-out: %d bytes spilled, %d chunks given", waiter.spill.n, s.spare.given)
			}
		})
	}
}
