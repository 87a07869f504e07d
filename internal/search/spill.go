package search

import "sync"

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
