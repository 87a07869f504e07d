package pipeline

import (
	"bytes"
	"time"

	"github.com/logscan/logscan/internal/fields"
	"github.com/logscan/logscan/internal/multiline"
)

// blockEvents is the select stage when the event stages run: each line is
// unwrapped (CRI, Docker), joined (multiline) and, once an event is whole,
// parsed, filtered and printed. Single-line events of a plain format take
// blockCandidates instead, which parses only the lines a literal or a rule
// has found.
func (s *Scanner) blockEvents(block []byte, base int64) bool {
	ef := s.ef
	if ef.detect {
		ef.f = detectFormat(block)
		ef.detect = false
	}
	if s.candidates(block) {
		if ef.f.outer == fields.FormatCRI {
			return s.blockCRI(block, base)
		}
		return s.blockCandidates(block, base)
	}
	for pos := 0; pos < len(block); {
		next, ok := s.walkLine(block, base, pos)
		if !ok {
			return false
		}
		pos = next
	}
	return true
}

// walkLine takes the line of block at pos through eventLine, numbering it,
// and returns where the next line starts.
func (s *Scanner) walkLine(block []byte, base int64, pos int) (int, bool) {
	end, next := lineAt(block, pos)
	s.lines++
	num := int64(0)
	if s.numbered {
		num = s.lines
	}
	return next, s.eventLine(block[pos:end], base+int64(pos), base+int64(next), num)
}

// detectFormat decides an auto file's wrapper from its first line: a CRI
// or Docker file is one through and through, and its messages are sniffed
// one by one (+auto). Any other file stays auto and each line is sniffed
// (JSON, logfmt or text): a banner line before the JSON must not make the
// whole file text.
func detectFormat(block []byte) format {
	end, _ := lineAt(block, 0)
	switch f := fields.Detect(block[:end]); f {
	case fields.FormatCRI, fields.FormatDocker:
		return format{outer: f, inner: fields.FormatAuto}
	}
	return format{outer: fields.FormatAuto, inner: fields.FormatText}
}

// candidates reports whether the block can be searched for candidate lines
// rather than walked: every line is an event of its own, and an event is
// selected only if it holds a rule's match or every filter's literal.
func (s *Scanner) candidates(block []byte) bool {
	e, ef := s.p.events, s.ef
	switch {
	case ef.join != nil || s.p.Invert || s.p.lineByLine:
		return false
	case ef.f.outer == fields.FormatCRI || ef.f.outer == fields.FormatDocker:
		// A rule sees the message, not the runtime's line (^ERROR), so
		// only a filter's literal, which is in the line wherever it is in
		// the message, may find candidates; and only where no line is a
		// part of a split one, whose literal may straddle two parts
		// (blockCRI walks those).
		return e.seek != nil && (ef.f.outer == fields.FormatCRI || !ef.parts.Pending() && wholeLines(block))
	}
	return s.p.Matcher.NumRules() > 0 || e.seek != nil
}

var (
	criParts      = [][]byte{[]byte(" stdout P"), []byte(" stderr P")}
	dockerNewline = []byte(`\n","stream":"`)
)

// wholeLines reports whether no line of a Docker block is a partial part:
// a line is whole when its log ends in \n (Docker writes log, stream and
// time in that order), which two vectorised counts over the block tell.
func wholeLines(block []byte) bool {
	return bytes.Count(block, dockerNewline) == bytes.Count(block, nl)+boolInt(block[len(block)-1] != '\n')
}

// blockCRI is the candidate search over a CRI block: the stretches between
// split lines are searched for the filter's literal, and each run of P
// parts up to its F line is walked line by line and joined. A message that
// merely holds " stdout P" is walked too, which is exact, only slower.
func (s *Scanner) blockCRI(block []byte, base int64) bool {
	ef := s.ef
	for pos := 0; pos < len(block); {
		if !ef.parts.Pending() {
			p := nextPart(block, pos)
			if p > pos && !s.blockCandidates(block[pos:p], base+int64(pos)) {
				return false
			}
			pos = p
		}
		// the split line, and its parts up to the one that ends it
		for pos < len(block) {
			next, ok := s.walkLine(block, base, pos)
			if !ok {
				return false
			}
			pos = next
			if !ef.parts.Pending() {
				break
			}
		}
	}
	return true
}

// nextPart returns the start of the first line at or after from that may
// be a CRI P part, or len(block).
func nextPart(block []byte, from int) int {
	i := len(block)
	for _, tag := range criParts {
		if j := bytes.Index(block[from:i], tag); j >= 0 {
			i = from + j
		}
	}
	if i == len(block) {
		return i
	}
	return lineStart(block, from, i)
}

// lineStart returns the start of the line holding block[i], not before
// from (a line start).
func lineStart(block []byte, from, i int) int {
	if j := bytes.LastIndexByte(block[from:i], '\n'); j >= 0 {
		return from + j + 1
	}
	return from
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// blockCandidates finds the next line that can be selected (a rule's
// match, or the longest filter literal) in the whole block, as the grep
// path does, and parses only those lines.
func (s *Scanner) blockCandidates(block []byte, base int64) bool {
	m := s.p.Matcher
	wrapped := s.ef.f.outer == fields.FormatCRI || s.ef.f.outer == fields.FormatDocker
	if m.NumRules() == 0 || wrapped {
		m = s.p.events.seek
	}
	counted := 0
	for pos := 0; pos < len(block); {
		start, end, _, ok := m.Next(block, pos)
		if !ok {
			break
		}
		s.lines += int64(bytes.Count(block[counted:start], nl)) + 1
		counted = min(end+1, len(block))
		num := int64(0)
		if s.numbered {
			num = s.lines
		}
		next := base + int64(min(end+1, len(block)))
		if wrapped {
			ok = s.eventLine(block[start:end], base+int64(start), next, num)
		} else {
			ok = s.event(block[start:end], base+int64(start), next, num, 1, false, wrapInfo{})
		}
		if !ok {
			return false
		}
		pos = end + 1
	}
	s.lines += int64(bytes.Count(block[counted:], nl))
	if counted < len(block) && block[len(block)-1] != '\n' {
		s.lines++
	}
	return true
}

// eventLine takes one physical line at offset off (next is just past it)
// through unwrapping and joining, and emits what they complete.
func (s *Scanner) eventLine(line []byte, off, next, num int64) bool {
	ef := s.ef
	msg, wrap := line, wrapInfo{}
	switch ef.f.outer {
	case fields.FormatCRI, fields.FormatDocker:
		var ok bool
		if msg, wrap, ok = s.unwrap(line, off, num); !ok {
			return true // a partial part, held; or a dropped bad line
		}
		if ef.partOff >= 0 {
			off, num = ef.partOff, ef.partLine
			ef.partOff = -1
		}
	}
	if ef.join == nil {
		return s.event(msg, off, next, num, 1, ef.parts.Truncated(), wrap)
	}
	ev, ok := ef.join.Add(msg, off, next, num, s.now())
	if ok && !s.joined(ev) {
		return false
	}
	if p, _, held := ef.join.Pending(); held && p == off {
		// This line began the pending event: keep its wrapper's time and
		// stream, which the line's buffer will not hold for long.
		w := &ef.wrap
		w.time = append(w.time[:0], wrap.time...)
		w.stream = append(w.stream[:0], wrap.stream...)
	}
	return true
}

// joined emits a multiline event.
func (s *Scanner) joined(ev *multiline.Event) bool {
	s.Flushes[ev.Reason]++
	emit := func() bool {
		return s.event(ev.Text, ev.Offset, ev.EndOffset, ev.Line, ev.Lines, ev.Truncated, s.ef.wrap)
	}
	ok := false
	if s.ef.adopted != nil {
		ok = s.asAdopted(emit)
	} else {
		ok = emit()
	}
	s.ef.join.Trim() // printed: its text is no longer needed
	return ok
}

// unwrap strips a CRI or Docker line to its message, joining the parts
// that the runtime split a long line into. ok is false while parts are
// pending, and for a line that does not parse when on_parse_error is drop.
func (s *Scanner) unwrap(line []byte, off, num int64) (msg []byte, w wrapInfo, ok bool) {
	ef := s.ef
	pending := ef.parts.Pending()
	var partial bool
	if ef.f.outer == fields.FormatCRI {
		c, err := fields.ParseCRI(line)
		if err != nil {
			return s.badWrapper(line)
		}
		partial, w.stream = c.Partial, c.Stream
		msg, ok = ef.parts.AddCRI(c)
	} else {
		ef.wrapRec.Reset()
		d, err := fields.ParseDocker(line, &ef.wrapRec)
		if err != nil {
			return s.badWrapper(line)
		}
		partial, w.stream = d.Partial, d.Stream
		msg, ok = ef.parts.AddDocker(d)
	}
	if partial && !pending {
		ef.partOff, ef.partLine = off, num
	}
	w.time = ef.parts.Time()
	return msg, w, ok
}

// badWrapper keeps a line that is not of its file's wrapper format as
// text, or drops it, and counts it either way.
func (s *Scanner) badWrapper(line []byte) ([]byte, wrapInfo, bool) {
	s.ParseErrors++
	return line, wrapInfo{}, !s.p.events.drop
}

func (s *Scanner) now() time.Time {
	if s.Now == nil {
		return time.Time{}
	}
	return s.Now()
}

// FlushEvents emits the current file's pending event, if any: at the end
// of a file read once (reason End), when it has been idle, rotated away,
// or at shutdown. Parts of a split line still pending are passed as a line
// first.
func (s *Scanner) FlushEvents(r multiline.Reason) {
	ef := s.ef
	if ef == nil || s.stopped {
		return
	}
	if ef.parts.Pending() {
		msg := ef.parts.Flush()
		off, num := ef.partOff, ef.partLine
		ef.partOff = -1
		w := wrapInfo{time: ef.parts.Time()}
		if ef.join == nil {
			s.event(msg, off, off, num, 1, true, w)
		} else if ev, ok := ef.join.Add(msg, off, off, num, s.now()); ok {
			s.joined(ev)
		}
	}
	if ef.join != nil {
		if ev, ok := ef.join.Flush(r); ok && !s.stopped {
			if !s.joined(ev) {
				s.stopped = true
			}
		}
	}
}

// EventsDue reports whether the current file's pending event has been
// idle for multiline.idle_flush.
func (s *Scanner) EventsDue(now time.Time) bool {
	return s.ef != nil && s.ef.join != nil && s.ef.join.Due(now)
}

// Held returns where the content the event stages still hold for the
// current file begins (a pending event, parts of a split line), and that
// line's number: a follower commits that offset and no further, so that a
// restart reads the whole event again. ok is false when nothing is held.
func (s *Scanner) Held() (off, line int64, ok bool) { return heldOf(s.ef) }

// Held is Scanner.Held for a saved file.
func (st *FileState) Held() (off, line int64, ok bool) { return heldOf(st.ef) }

// Due is Scanner.EventsDue for a saved file.
func (st *FileState) Due(now time.Time) bool {
	return st.ef != nil && st.ef.join != nil && st.ef.join.Due(now)
}

// HasEvents reports whether the event stages run.
func (p *Pipeline) HasEvents() bool { return p.events != nil }

func heldOf(ef *eventFile) (off, line int64, ok bool) {
	if ef == nil {
		return 0, 0, false
	}
	if ef.adopted != nil {
		return 0, 1, true // the adopted event goes on in this file's first lines
	}
	if at, ok := lentHold(ef); ok {
		return at, 0, true
	}
	if ef.join != nil {
		if off, line, ok = ef.join.Pending(); ok {
			return off, line, true
		}
	}
	if ef.parts.Pending() {
		return ef.partOff, ef.partLine, true
	}
	return 0, 0, false
}
