package watch

import (
	"bytes"

	"github.com/logscan/logscan/internal/state"
)

// holdState says what a Holder keeps back of a file.
type holdState uint8

const (
	notHeld holdState = iota
	// heldAt: t.hold is the position where the held content begins.
	heldAt
	// heldUnknown: the held content began where no position could be
	// taken (inside a line longer than the read buffer); nothing more is
	// committed until the hold ends, so a restart repeats rather than
	// loses.
	heldUnknown
)

// noteHold asks the Holder, after block (at t's offset, not yet advanced
// over) was passed, whether it holds content of t, and takes the position
// of where that begins. buf holds the file's bytes from start, the tail
// before t's offset included, as readLines reads them.
func (l *loop) noteHold(t *tracked, block, buf []byte, start int64) {
	if _, ok := l.f.consumer.(Holder); !ok {
		return
	}
	off, held := l.heldOf(t)
	// The pass moved the line number past block already.
	line := t.line
	if line > 0 {
		line -= lineCount(block, int64(bytes.Count(block, nl)))
	}
	if held && off < t.offset {
		t.lines.add(t.offset, line) // this block's start, for a later positionAt
	}
	switch {
	case !held:
		t.holding = notHeld
		t.lines.reset()
	case t.holding == heldAt && t.hold.offset == off:
		// the same hold as before: its position stands
	case off < t.offset:
		l.holdAt(t, off)
	case off == t.offset:
		t.hold, t.holding = t.position, heldAt
		t.hold.line = line
	case off > t.offset && off <= t.offset+int64(len(block)) && buf != nil:
		t.hold, t.holding = t.position, heldAt
		t.hold.marks.cut(t.offset)
		t.hold.offset, t.hold.skipping = off, false
		if line > 0 {
			t.hold.line = line + int64(bytes.Count(block[:off-t.offset], nl))
		}
		end := int(off - start)
		t.hold.tailLen = int(min(off, tailMax))
		t.hold.tailCRC = state.Checksum(buf[end-t.hold.tailLen : end])
	default:
		t.holding = heldUnknown
	}
	if t.holding != notHeld && !t.inHeld {
		t.inHeld = true
		l.held = append(l.held, t)
	}
}

// committable is the position of t that a commit may record: where the
// held content begins while a Holder keeps some back.
func (l *loop) committable(t *tracked) position {
	switch t.holding {
	case heldAt:
		if t.hold.offset < t.position.offset {
			return t.hold
		}
	case heldUnknown:
		return t.committed
	}
	return t.position
}

// refreshHolds asks again about the files held at the last commit: the
// Holder may have let go of them since (an idle flush) without a read, and
// their records must then move on to what was read. A hold that moved on
// without a read keeps the old position: a restart then repeats, never
// loses.
func (l *loop) refreshHolds() {
	if _, ok := l.f.consumer.(Holder); !ok || len(l.held) == 0 {
		return
	}
	kept := l.held[:0]
	for _, t := range l.held {
		if t.naming == forgotten {
			t.inHeld = false
			continue
		}
		off, held := l.heldOf(t)
		if t.retained && !l.unacked(t) {
			t.inHeld = false
			l.forget(t, true) // acknowledged at last: a retained file goes
			continue
		}
		if !held {
			t.holding, t.inHeld = notHeld, false
			t.lines.reset()
			l.touch(t)
			continue
		}
		if off != t.hold.offset && off <= t.offset {
			// An acknowledgement moved the hold on without a read.
			l.holdAt(t, off)
			l.touch(t)
		}
		kept = append(kept, t)
	}
	clear(l.held[len(kept):])
	l.held = kept
}

// release tells the Holder that t gets nothing more, so that it emits what
// it holds; the output is flushed with the next batch.
func (l *loop) release(t *tracked, why ReleaseReason) {
	if h, ok := l.f.consumer.(Holder); ok {
		h.Release(t.fileID(), why)
		l.emitted = true
	}
}

// unacked reports whether an Acker still holds lines of t.
func (l *loop) unacked(t *tracked) bool {
	a, ok := l.f.consumer.(Acker)
	return ok && a.Unacked(t.fileID())
}

// forgetAcked forgets t, a file deleted or rotated out of reach and read to
// its end, unless an Acker still holds lines of it: then it is retained,
// read no more, until refreshHolds sees them acknowledged.
func (l *loop) forgetAcked(t *tracked) {
	if !l.unacked(t) {
		l.forget(t, true)
		return
	}
	t.retained = true
	if !t.inHeld {
		t.inHeld = true
		l.held = append(l.held, t)
	}
}

// countUnacked counts, at shutdown, what retained files still hold
// unacknowledged: a restart cannot read them again.
func (l *loop) countUnacked() {
	for _, t := range l.byKey {
		if !t.retained || !l.unacked(t) {
			continue
		}
		from := l.committable(t).offset
		n := max(0, t.size-from)
		l.st.LostUnacked.Add(n)
		l.log.Warn().Str("path", t.path).Int64("offset", from).Int64("size", t.size).Int64("lost_bytes", n).
			Msg("a deleted file's lines were not acknowledged by shutdown and cannot be read again; they are lost (logscan_lost_bytes_total{reason=\"unacknowledged\"})")
	}
}
