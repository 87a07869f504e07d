package watch

import "bytes"

// A line longer than the read buffer (bufData) used to double the buffer
// and read the line again from its start, each time: a 100 MiB line peaked
// at 60 to 77 MiB of RSS in follow mode with the 16 MiB cap, as the
// outgrown buffers stayed resident, and the 16 MiB one then served, and
// filled, every later read. Now such a line is gathered in l.long,
// allocated once (tailMax+MaxLine+1) the first time a line needs it, and
// kept; only bytes not in it yet are read into it, at most bufData at a
// time. Every other read, skipping the rest of a cut line too, uses the
// small buffer. A line still held (no newline yet) keeps what was gathered,
// so the next read of that file goes on from there instead of gathering it
// all again.

// readLong gathers the line starting at t's offset, which the small buffer
// (read from start, its tail already checked) could not hold, and passes it
// whole, cut at MaxLine, or as a partial last line unless hold; more says
// that readLines should read on from the new offset.
func (l *loop) readLong(t *tracked, start int64, hold bool) (more bool, err error) {
	tl := t.tailLen
	if l.long == nil {
		l.long = make([]byte, tailMax+l.cfg.MaxLine+1)
	}
	first := l.buf[:tl+l.dataCap]
	n := 0
	if l.longOf == t && l.longStart == start && l.longN >= len(first) && bytes.Equal(l.long[:len(first)], first) {
		n = l.longN // held since an earlier read: go on from there
	} else {
		n = copy(l.long, first)
	}
	l.longOf = nil
	limit := tl + l.cfg.MaxLine + 1
	nl := -1
	for n < limit && nl < 0 {
		want := min(bufData, limit-n)
		m, err := l.pread(t.fd, l.long[n:n+want], start+int64(n))
		if err != nil {
			l.readError(t, err)
			return false, nil
		}
		if i := bytes.IndexByte(l.long[n:n+m], '\n'); i >= 0 {
			nl = n + i
		}
		n += m
		if m < want {
			break // at the end of what is there
		}
	}
	if !l.tailStill(t, start) {
		return true, nil // changed under the reads: the next one sees how
	}
	line := l.long[tl:n]
	switch {
	case nl >= 0:
		line = l.long[tl : nl+1]
	case len(line) > l.cfg.MaxLine:
		if err := l.emit(t, line[:l.cfg.MaxLine]); err != nil {
			return false, err
		}
		l.noteHold(t, line[:l.cfg.MaxLine], l.long, start)
		l.st.LongLines.Add(1)
		l.advance(t, l.long, start, l.cfg.MaxLine)
		t.skipping = true
		return true, nil
	case hold:
		t.held = true
		l.longOf, l.longStart, l.longN = t, start, n
		return false, nil
	}
	if err := l.emit(t, line); err != nil {
		return false, err
	}
	l.noteHold(t, line, l.long, start)
	l.advance(t, l.long, start, len(line))
	if nl < 0 {
		t.skipping = true // a partial line passed: its rest is no line of its own
		return false, nil
	}
	return true, nil
}

// dropLong forgets what l.long gathered of t, whose content changed.
func (l *loop) dropLong(t *tracked) {
	if l.longOf == t {
		l.longOf = nil
	}
}
