package search

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// spareChunks is how many full output buffers, beyond each worker's own,
// the workers may hold between them while another worker holds the output
// lock. Without them a worker whose file had more output than its buffer
// waited for the lock, and dense output (-e GET on 30% of the lines) ran
// no faster with two workers than with one: ripgrep instead buffers each
// file's whole output, in unbounded memory. Six chunks of 4 MiB keep the
// peak RSS under 64 MiB.
const spareChunks = 6

// chunks hands out spare output buffers, at most spareChunks of them at a
// time; every worker's buffer has the same capacity, so they are
// interchangeable.
type chunks struct {
	mu    sync.Mutex
	free  [][]byte
	given int // chunks out of free, spare or not yet returned
}

// get returns an empty buffer of capacity size, or nil when the budget is
// spent.
func (c *chunks) get(size int) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.free); n > 0 {
		b := c.free[n-1]
		c.free = c.free[:n-1]
		c.given++
		return b[:0]
	}
	if c.given >= spareChunks {
		return nil
	}
	c.given++
	return make([]byte, 0, size)
}

// put returns a buffer that get handed out (or one of the same capacity
// that took its place).
func (c *chunks) put(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.given--
	c.free = append(c.free, b)
}

// maxSpill bounds a worker's spill file. Past it the worker waits for the
// output lock as it did before spill files: a temporary directory on tmpfs
// is memory, if not the process's own.
const maxSpill = 1 << 30

// spillCopy is the buffer through which a spill file is written out.
const spillCopy = 1 << 20

// spillFile holds a worker's output of its current file, in order, once the
// spare chunks are spent and another worker still holds the output lock:
// with 256 MiB logs and dense output each worker's file outgrew every
// in-memory budget, so the two workers took turns and ran as one (the
// 4 GiB matrix's --json cell at 2.2x ripgrep, which instead holds each
// file's whole output in memory). It is an unlinked file in the temporary
// directory, made when first needed and emptied after each write-out, so
// its pages live only as long as the wait.
type spillFile struct {
	dir    string // "" means os.TempDir()
	f      *os.File
	n      int64 // bytes of the current file's output in f
	failed error // the first error: no more spilling
	buf    []byte
}

// write appends b and reports whether it did; it does not when the spill
// file is over maxSpill or failed, and the caller must then wait for the
// lock instead. A short write leaves n where it was, so nothing is written
// out twice.
func (s *spillFile) write(b []byte) bool {
	if s.failed != nil || s.n+int64(len(b)) > maxSpill {
		return false
	}
	if s.f == nil {
		f, err := os.CreateTemp(s.dir, "logscan-spill-*")
		if err != nil {
			s.failed = err
			return false
		}
		if err := os.Remove(f.Name()); err != nil {
			s.failed = errors.Join(err, f.Close())
			return false
		}
		s.f = f
	}
	if _, err := s.f.WriteAt(b, s.n); err != nil {
		s.failed = err
		return false
	}
	s.n += int64(len(b))
	return true
}

// writeTo hands what was spilled to put, in order, and empties the file;
// the caller holds the output lock.
func (s *spillFile) writeTo(put func([]byte)) error {
	if s.n == 0 {
		return nil
	}
	if s.buf == nil {
		s.buf = make([]byte, spillCopy)
	}
	var err error
	for off := int64(0); off < s.n && err == nil; {
		var k int
		k, err = s.f.ReadAt(s.buf[:min(int64(len(s.buf)), s.n-off)], off)
		put(s.buf[:k])
		off += int64(k)
		if k > 0 && errors.Is(err, io.EOF) {
			err = nil
		}
	}
	s.n = 0
	// Emptied, its pages are dropped at once rather than written back.
	if terr := s.f.Truncate(0); terr != nil && err == nil {
		s.failed, err = terr, nil
	}
	if err != nil {
		return fmt.Errorf("reading back spilled output: %w", err)
	}
	return nil
}

func (s *spillFile) close() error {
	if s.f == nil {
		return nil
	}
	return s.f.Close()
}
