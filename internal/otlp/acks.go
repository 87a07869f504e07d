package otlp

// acks tracks, per file, which offsets are still held by batches not done.
//
// A file's FIFO has one entry per batch that has records of the file, in
// batch order, with the lowest offset of those records. Batches may be done
// in any order (a retried batch can finish after a later one), so an entry
// is marked done where it stands and popped only once every entry before it
// is done too: the file is held at the first entry not done, since a
// restart must read again from there. A FIFO that empties is dropped, so
// the map holds only files with records in flight.
type acks struct {
	files map[string]*fileQ
	free  []*fileQ // emptied FIFOs, reused to keep Add free of allocations
}

type fileQ struct {
	id   string
	ents []ackEntry
	head int // ents[:head] are popped
}

type ackEntry struct {
	seq  uint64
	off  int64
	done bool
}

// maxFree bounds the FIFOs kept for reuse: enough for the files that are
// busy at once, not a pool that grows with every file ever seen.
const maxFree = 64

// add records that batch seq holds off of file id. It returns the file's
// FIFO when it made a new entry, which the batch keeps to mark it done,
// and nil when the batch had one already.
func (a *acks) add(id string, seq uint64, off int64) *fileQ {
	q := a.files[id]
	if q == nil {
		q = a.newQ(id)
	} else if last := &q.ents[len(q.ents)-1]; last.seq == seq {
		last.off = min(last.off, off)
		return nil
	}
	q.ents = append(q.ents, ackEntry{seq: seq, off: off})
	return q
}

func (a *acks) newQ(id string) *fileQ {
	var q *fileQ
	if n := len(a.free); n > 0 {
		q, a.free = a.free[n-1], a.free[:n-1]
	} else {
		q = new(fileQ)
	}
	q.id = id
	a.files[id] = q
	return q
}

// done marks batch seq's entry in q done and pops the done entries at the
// front.
func (a *acks) done(q *fileQ, seq uint64) {
	for i := q.head; i < len(q.ents); i++ {
		if q.ents[i].seq == seq {
			q.ents[i].done = true
			break
		}
	}
	for q.head < len(q.ents) && q.ents[q.head].done {
		q.head++
	}
	switch {
	case q.head == len(q.ents):
		delete(a.files, q.id)
		q.id, q.ents, q.head = "", q.ents[:0], 0
		if len(a.free) < maxFree {
			a.free = append(a.free, q)
		}
	case q.head > len(q.ents)/2:
		// Compact so that a file that is never idle does not grow ents.
		n := copy(q.ents, q.ents[q.head:])
		q.ents, q.head = q.ents[:n], 0
	}
}

// held returns the offset of the first entry of id not done.
func (a *acks) held(id string) (int64, bool) {
	q := a.files[id]
	if q == nil {
		return 0, false
	}
	return q.ents[q.head].off, true
}

// heldIn is held for the entries of batches in (after, upto] only (upto 0:
// no upper bound): the content a file had in one epoch (see Epoch).
func (a *acks) heldIn(id string, after, upto uint64) (int64, bool) {
	q := a.files[id]
	if q == nil {
		return 0, false
	}
	for _, e := range q.ents[q.head:] {
		switch {
		case upto != 0 && e.seq > upto:
			return 0, false
		case e.done || e.seq <= after:
			continue
		}
		return e.off, true
	}
	return 0, false
}
