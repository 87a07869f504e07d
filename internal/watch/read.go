package watch

import (
	"bytes"
	"errors"
	"time"

	"github.com/logscan/logscan/internal/state"
)

// read reads t from its offset to its end, handing whole lines to the
// Consumer. It returns only the Consumer's errors; trouble with the file is
// logged and counted, and retried on its next event.
func (l *loop) read(t *tracked) error {
	tickRead := t.tickRead
	t.tickRead = false
	if t.file == nil {
		if t.naming == detached {
			// No descriptor to drain it through. It is kept (and saved)
			// until the next tick, so that the new name of a rename, whose
			// event may come in a later batch, finds it by its key.
			return nil
		}
		if !l.openFile(t) {
			return nil
		}
	}
	l.readSeq++
	t.readSeq = l.readSeq
	t.idleTicks = 0
	if l.statless(t, tickRead) {
		return l.readLines(t, true)
	}
	if err := fstat(t.fd, &l.stat); err != nil {
		l.readError(t, err)
		return nil
	}
	size := l.stat.Size
	t.size, t.gone = size, l.stat.Nlink == 0
	if !l.follow && !t.ended {
		t.ended = true
		l.ends = append(l.ends, endRef{t: t})
	}
	if l.f.hooks.statted != nil {
		l.f.hooks.statted(t.path)
	}
	t.mtime = time.Unix(l.stat.Mtim.Unix())
	l.ensureBuf()
	if t.stage == deciding {
		// Not decided yet, and it may have been replaced meanwhile (cp
		// onto it again): the decision is on what it holds now.
		t.head = t.head[:0]
	}
	if !l.loadHead(t, size) {
		return nil
	}
	if t.stage == verifying {
		l.resume(t)
	}
	if t.stage == deciding {
		if wait := l.decideCopy(t, size); wait {
			return nil
		}
	}
	if t.stage == shadowing {
		if o := t.shadowOf; o.naming == forgotten || o.naming == detached {
			t.unshadow()
		} else {
			l.syncShadow(t, size)
		}
	}
	fromEnd, ok := l.placeOffset(t, size)
	if !ok {
		return nil
	}
	if t.stage == shadowing {
		return nil // its content is read through the original
	}
	if size < t.offset {
		l.truncated(t, size)
		return nil
	}
	if tickRead {
		if t.held && size == t.tickSize {
			t.finalize = true
		} else {
			t.tickSize = size
		}
	}
	// A RunOnce, and a follower's initial read, pass a partial last line
	// now, as a one-shot run would, except at a first start at the end,
	// where it is the boundary: it is read later, whole or still partial.
	// After the initial read a follower holds it until it is completed or
	// its file is quiet.
	hold := fromEnd || l.follow && !l.initial && !t.finalize
	return l.readLines(t, hold)
}

// statless reports whether t's read can skip the fstat, and clears the
// write-only mark. A followed file in steady state, that only write events
// queued, needs nothing the fstat says: the read's own tail check finds a
// truncation (the bytes before the offset are short or differ), and the
// events a deletion, a rename or a change of mode send queue it through
// markDirty, which takes the full path. At 40 files written every 5 ms
// this is one system call of three per read. t.size is then refreshed from
// the read (readLines); t.mtime stays that of the last fstat, which can
// only make a rescan read the file once more.
func (l *loop) statless(t *tracked, tickRead bool) bool {
	ok := t.onlyWrites && l.follow && !l.initial && !tickRead && t.file != nil &&
		t.stage == reading && t.next == placed && t.naming == attached && !t.gone &&
		len(t.head) >= headMax && len(t.shadows) == 0 && !t.finalize
	t.onlyWrites = false
	return ok
}

// placeOffset puts t's offset in place as its placing says, and reports
// whether it was placed at the end (a start at the end); false means a read
// error, logged.
func (l *loop) placeOffset(t *tracked, size int64) (fromEnd, ok bool) {
	next := t.next
	t.placeNext(placed)
	if next == clampEnd && size < t.offset {
		// Everything in the copy was passed through its original.
		t.offset = size
		t.line = 0
		next = exactly
	}
	if next == exactly && !l.placeAt(t, t.offset) {
		return false, false
	}
	if next == atEnd {
		return true, l.seekToEnd(t, size)
	}
	return false, true
}

// readLines reads t from its offset to its end, checking the bytes before
// the offset first, and hands the whole lines to the Consumer. A partial
// last line is held unless hold is false; then it is passed, and the rest
// of its line, if it ever comes, is skipped.
func (l *loop) readLines(t *tracked, hold bool) error {
	t.held = false
	for {
		if l.full() {
			l.deferRead(t)
			return nil
		}
		start := t.offset - int64(t.tailLen)
		n, err := l.pread(t.fd, l.buf[:t.tailLen+l.dataCap], start)
		if err != nil {
			l.readError(t, err)
			return nil
		}
		if n < t.tailLen || state.Checksum(l.buf[:t.tailLen]) != t.tailCRC {
			size := start + int64(n)
			if n < t.tailLen {
				// Shrunk: the read cannot tell by how much, and a statless
				// read has no fstat of its own.
				s, ok := l.fstatSize(t)
				if !ok {
					return nil
				}
				size = s
			}
			l.truncated(t, size)
			return nil
		}
		data := l.buf[t.tailLen:n]
		full := len(data) == l.dataCap
		if !full {
			t.size = max(t.size, start+int64(n)) // where the file ended for this read
		}
		if len(data) == 0 {
			break
		}
		if !l.tailStill(t, start) {
			continue // changed under the read: the next one sees how
		}
		if t.skipping {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				l.advance(t, l.buf, start, len(data))
				if full {
					continue
				}
				break
			}
			t.skipping = false
			l.advance(t, l.buf, start, i+1)
			continue
		}
		if last := bytes.LastIndexByte(data, '\n'); last >= 0 {
			if err := l.emit(t, data[:last+1]); err != nil {
				return err
			}
			l.noteHold(t, data[:last+1], l.buf, start)
			l.advance(t, l.buf, start, last+1)
			if full {
				continue
			}
			data = data[last+1:]
			if len(data) == 0 {
				break
			}
		}
		if len(data) > l.cfg.MaxLine {
			if err := l.emit(t, data[:l.cfg.MaxLine]); err != nil {
				return err
			}
			l.noteHold(t, data[:l.cfg.MaxLine], l.buf, start)
			l.st.LongLines.Add(1)
			l.advance(t, l.buf, start, l.cfg.MaxLine)
			t.skipping = true
			continue
		}
		if full {
			// A line longer than the read buffer, which MaxLine allows.
			more, err := l.readLong(t, start, hold)
			if err != nil || !more {
				return err
			}
			continue
		}
		if !hold {
			// A drained rotated or deleted file, a quiet one, or a RunOnce:
			// the partial line is passed as one line, as one-shot does, and
			// the rest of it, should it come, is no line of its own.
			if err := l.emit(t, data); err != nil {
				return err
			}
			l.noteHold(t, data, l.buf, start)
			l.advance(t, l.buf, start, len(data))
			t.skipping = true
		} else {
			t.held = true
		}
		break
	}
	l.readDone(t)
	return nil
}

// readDone ends a read of t: its offset is a read boundary.
func (l *loop) readDone(t *tracked) {
	t.mark()
	// pread reads what is there now, which may be more than the size the
	// head was loaded for (a write landed after the fstat): extend the head
	// over what was read, or the saved record would claim an empty head,
	// which proves nothing, and the next start would read it all again.
	if int64(len(t.head)) < min(t.offset, headMax) {
		l.loadHead(t, t.offset)
	}
}

// tailStill checks the bytes before t's offset again, after the pread that
// checked them and read the data in one go. A truncate and refill during
// that pread can tear it: the old bytes before the offset, the new ones
// after it, which would pass a fragment of a new line (the model test
// found one in a thousand replays of a copytruncate). Now that the data is
// in hand, the file still holding the old bytes means the data followed
// them. Only a refill whose 1 KiB before the offset is the same as before
// escapes this, and then the offset is a line boundary of the new content
// too.
func (l *loop) tailStill(t *tracked, start int64) bool {
	if t.tailLen == 0 {
		return true // at 0: nothing before the offset can change under it
	}
	n, err := l.pread(t.fd, l.tbuf[:t.tailLen], start)
	return err == nil && n == t.tailLen && state.Checksum(l.tbuf[:n]) == t.tailCRC
}

// pread is pread(2) through the test hook that tears reads.
func (l *loop) pread(fd int, b []byte, off int64) (int, error) {
	if l.f.hooks.pread != nil {
		return l.f.hooks.pread(fd, b, off)
	}
	return pread(fd, b, off)
}

// advance moves t's offset n bytes on, refreshing the tail fingerprint
// from buf, which holds the file's bytes from start.
func (l *loop) advance(t *tracked, buf []byte, start int64, n int) {
	t.offset += int64(n)
	t.tailLen = int(min(t.offset, tailMax))
	end := int(t.offset - start)
	t.tailCRC = state.Checksum(buf[end-t.tailLen : end])
	l.touch(t)
}

func (l *loop) touch(t *tracked) {
	if !t.touched {
		t.touched = true
		l.touched = append(l.touched, t)
	}
}

// emit hands block, which starts at t's offset, to the Consumer. The caller
// advances the offset.
func (l *loop) emit(t *tracked, block []byte) error {
	return l.pass(t.fileID(), &t.position, block, t.offset)
}

// pass hands block, at offset off of f, to the Consumer unless p was
// declined, and moves p's line number past it; p's offset is the caller's.
func (l *loop) pass(f File, p *position, block []byte, off int64) error {
	if off == 0 {
		p.line = 1
	}
	n := int64(bytes.Count(block, nl))
	if !p.declined {
		err := l.f.consumer.Lines(f, block, off, p.line)
		l.emitted = true
		switch {
		case errors.Is(err, ErrSkipFile):
			p.declined = true
			l.log.Debug().Str("path", f.Path).Msg("the consumer declined the file; its offset is followed without passing it on")
		case err != nil:
			return err
		default:
			l.st.LinesRead.Add(n)
			l.st.BytesRead.Add(int64(len(block)))
		}
	}
	if p.line > 0 {
		p.line += lineCount(block, n)
	}
	return nil
}

// lineCount is the number of lines in block, which holds n newlines: a block
// without a final newline (a cut line, or a flushed partial one) ends in a
// line of its own, as one-shot counts it; the rest of a cut line, skipped up
// to its newline, is no line.
func lineCount(block []byte, n int64) int64 {
	if len(block) > 0 && block[len(block)-1] != '\n' {
		n++
	}
	return n
}

var nl = []byte{'\n'}

// truncated restarts t at 0 because its content before the offset is gone:
// it shrank (copytruncate) or was rewritten (truncate and refill). The old
// identity is retired so that a copy of it is still recognised. The new
// content is decided on like a new file, as it may be a copy of content
// already read (cp onto an existing app.log.1 truncates and refills it),
// and read again by the drain.
func (l *loop) truncated(t *tracked, size int64) {
	hold := l.epochAt(t)    // before the hold of the old content is dropped
	l.release(t, Truncated) // what a Holder kept of the old content ends here
	t.holding = notHeld
	t.lines.reset()
	l.retireHeld(t, hold)
	if len(t.shadows) > 0 {
		pos := t.position
		l.unlinkShadowsHeld(t, &pos, hold)
	}
	l.st.Truncations.Add(1)
	l.st.TruncatedBytes.Add(max(0, t.offset-size))
	l.log.Info().Str("path", t.path).Int64("offset", t.offset).Int64("size", size).Msg("file truncated or rewritten; reading it again from the start")
	t.position = position{line: 1} // new content: numbered, and decided on again
	t.held, t.tickSize = false, -1
	t.decide()
	l.dropLong(t)
	t.head = t.head[:0]
	l.loadHead(t, size)
	l.touch(t)
	l.markDirty(t)
}

// seekToEnd places t after the last newline before its offset (the size at
// discovery), so that a partial last line is read whole once completed.
// Its line number stays only if the offset does not move: the lines before
// the new offset were never counted. The newline and the tail fingerprint
// come from one pread, so a truncate and refill in between cannot pair a
// line boundary of the old content with the bytes of the new.
func (l *loop) seekToEnd(t *tracked, size int64) bool {
	was := t.offset
	end := min(t.offset, size)
	start := max(0, end-2*tailMax)
	n, err := l.pread(t.fd, l.buf[:end-start], start)
	if err != nil {
		l.readError(t, err)
		return false
	}
	b := l.buf[:n]
	end = start + int64(n)
	off := end
	last := b[max(0, n-tailMax):]
	switch i := bytes.LastIndexByte(last, '\n'); {
	case i >= 0:
		off = end - int64(len(last)-i-1)
		t.skipping = false // at the start of a line
	case start == 0 && n <= tailMax:
		off = 0 // one partial line so far: read it whole once complete
		t.skipping = false
	default:
		// Inside a line of over 1 KiB: its start is not known, so its rest
		// is skipped rather than passed as a fragment.
		t.skipping = n > 0
	}
	if off != was {
		t.line = 0
	}
	tl := min(off, tailMax)
	t.marks.cut(off)
	if off-tl < start {
		// It shrank below the window meanwhile: the next read sees the
		// mismatch and starts it again.
		t.offset, t.tailLen, t.tailCRC = off, int(tl), ^state.Checksum(b)
		l.touch(t)
		return true
	}
	t.offset, t.tailLen, t.tailCRC = off, int(tl), state.Checksum(b[off-tl-start:off-start])
	t.mark()
	l.touch(t)
	return true
}

// placeAt moves t to off, all of whose bytes before were passed (through the
// original of a copy), so that in the middle of a line the rest of it is
// skipped, and fingerprints the bytes before it, all in one pread.
func (l *loop) placeAt(t *tracked, off int64) bool {
	tl := int(min(off, tailMax))
	n, err := l.pread(t.fd, l.buf[:tl], off-int64(tl))
	if err != nil {
		l.readError(t, err)
		return false
	}
	t.offset, t.tailLen, t.tailCRC = off, tl, state.Checksum(l.buf[:n])
	t.skipping = n > 0 && l.buf[n-1] != '\n'
	t.marks.cut(off)
	if n < tl { // shrank meanwhile: the next read sees the mismatch
		t.tailCRC = ^t.tailCRC
	} else {
		t.mark()
	}
	l.touch(t)
	return true
}
