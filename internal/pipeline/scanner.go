package pipeline

import (
	"bytes"
	"strconv"
	"time"

	"github.com/logscan/logscan/internal/fields"
	"github.com/logscan/logscan/internal/multiline"
	"github.com/logscan/logscan/internal/output"
	"github.com/logscan/logscan/internal/scan"
)

// Scanner runs the stages over one file at a time and prints into its own
// buffer. One goroutine owns a Scanner: a one-shot worker, or the follower's
// sink. Nothing on its hot path allocates: the buffer is allocated once, and
// the context ring keeps its lines' backing arrays.
type Scanner struct {
	p    *Pipeline
	json bool // the printer writes JSON

	// Buf is the output printed so far; the owner writes it out and resets
	// it, in Flush or in the callback given to NewScanner.
	Buf     []byte
	flushAt int
	flush   func(s *Scanner)
	// Tap, if set, sees every selected line's record after it is printed:
	// the follower's /matches stream and metrics. It must not keep it.
	Tap func(r *output.Record, rule int)
	// Observe, if set, sees every selected line or event in Summary mode,
	// with its fields (nil on text lines) and the index of the rule that
	// selected it: the owner's summary.Acc. It must not keep them.
	Observe func(text []byte, rec *fields.Record, rule int)
	// Now, if set, stamps records with the time they were read (follow mode).
	Now func() time.Time
	// Inline puts grep's "--" before a file's first context group itself,
	// when the Scanner printed anything before: for an owner whose buffer
	// holds many files (the follower's sink). A one-shot worker writes each
	// file on its own and decides under its output lock (GroupFirst).
	Inline  bool
	printed bool

	rec   output.Record
	spans []int
	// plain is the prefix of every printed line of the current file when
	// selected lines may be printed without a Record each (plainLines);
	// plainName and plainP are the file and pipeline it was made for.
	plain     []byte
	plainOK   bool
	plainName string
	plainP    *Pipeline

	// the event stages (events.go), when they run: the current file's state
	ef     *eventFile
	colBuf []byte
	// ParseErrors counts the lines that did not parse in their format;
	// Flushes counts the multiline events emitted, by cause.
	ParseErrors int64
	Flushes     [multiline.End + 1]int64

	// per file
	name     string
	fileID   string
	lines    int64 // lines before the current position
	numbered bool  // lines is known (the file was read from its start)
	selected int64
	stopped  bool // the file needs no more reading
	binary   bool
	started  bool // a block was seen: the binary check is done
	named    bool // named on the command line: a binary file is searched, not skipped
	nulAt    int64

	// context (-A/-B)
	ring       []ctxLine // the line-at-a-time path's last B lines, by line number
	ringN      int
	kept       []ctxLine // blockContext's last B unprinted lines, oldest first
	keptN      int
	starts     []int
	afterLeft  int
	lastOut    int64 // line number of the last line printed in this file
	GroupFirst bool  // the buffer opens with this file's first context group
	// Matches counts the selected lines of every file.
	Matches int64
	// Binary counts the files skipped as binary.
	Binary int64
}

type ctxLine struct {
	text []byte
	num  int64
	off  int64
}

// NewScanner returns a Scanner for p whose buffer holds flushAt bytes; when
// it is fuller than that after a line, flush is called to write it out.
func NewScanner(p *Pipeline, flushAt int, flush func(s *Scanner)) *Scanner {
	s := &Scanner{p: p, flushAt: flushAt, flush: flush}
	// Small at first, then full size at once (maybeFlush): growing by
	// append would leave each outgrown copy to the GC and raise the peak
	// RSS. Not full size from the start: two 4 MiB buffers took the heap of
	// a short search past the collector's 4 MB first goal, and the
	// collection cost 9-13% of a 10-40 ms -l or sparse search.
	s.Buf = make([]byte, 0, min(initialBuf, s.fullCap()))
	s.setPipeline(p)
	return s
}

// initialBuf is the output buffer until a search prints more than half of
// it: -l, -q, -c and sparse matches never do.
const initialBuf = 64 << 10

// fullCap is the output buffer's capacity once grown: flushAt, and 64 KiB
// for the line that takes it past flushAt.
func (s *Scanner) fullCap() int { return s.flushAt + 64<<10 }

// Pipeline returns the pipeline the Scanner runs.
func (s *Scanner) Pipeline() *Pipeline { return s.p }

// SetPipeline swaps in a reloaded pipeline; it takes effect at the next
// Begin.
func (s *Scanner) SetPipeline(p *Pipeline) { s.setPipeline(p) }

func (s *Scanner) setPipeline(p *Pipeline) {
	s.p = p
	// Read once: Options returns the printer's options by value, which
	// print copied for every line.
	s.json = p.Printer.Options().Format == output.JSON
	if p.Before > 0 {
		if len(s.ring) != p.Before {
			s.ring = make([]ctxLine, p.Before)
			s.kept = make([]ctxLine, p.Before)
		}
	} else {
		s.ring, s.kept = nil, nil
	}
}

// Begin starts a file named name (fileID is its device:inode in follow
// mode, else ""). line is the number of its next line, 1 at the start of
// the file, 0 when unknown. A binary file that was named (given as a root)
// is searched, and one "binary file matches" line stands for its matches,
// as in ripgrep; any other binary file is skipped.
func (s *Scanner) Begin(name, fileID string, line int64, named bool) {
	s.name, s.fileID, s.named = name, fileID, named
	s.lines, s.numbered = max(line-1, 0), line > 0
	s.selected, s.stopped, s.binary, s.started = 0, false, false, false
	s.ringN, s.keptN, s.afterLeft, s.lastOut = 0, 0, 0, 0
	s.GroupFirst = false
	switch e := s.p.events; {
	case e == nil:
		s.ef = nil
	case s.ef == nil:
		s.ef = newEventFile(e, name)
	default:
		s.ef.reset(e, name)
	}
}

// FileState is what a Scanner knows of a file between two of its blocks.
// A follower may interleave files (a copy supplies lines on another file's
// behalf, and an incremental run ends every file only after reading them
// all), so its sink saves and restores it per file. Context lines do not
// carry over.
type FileState struct {
	name, fileID    string
	lines           int64
	numbered        bool
	selected        int64
	stopped, binary bool
	started, named  bool
	nulAt, lastOut  int64
	ef              *eventFile
}

// Save returns the current file's state.
func (s *Scanner) Save() FileState {
	return FileState{
		name: s.name, fileID: s.fileID, lines: s.lines, numbered: s.numbered, selected: s.selected,
		stopped: s.stopped, binary: s.binary, started: s.started, named: s.named, nulAt: s.nulAt, lastOut: s.lastOut,
		ef: s.takeEvents(),
	}
}

// takeEvents hands the current file's event state to a FileState: the
// next Begin must not reuse it.
func (s *Scanner) takeEvents() *eventFile {
	ef := s.ef
	s.ef = nil
	return ef
}

// Restore continues a file saved with Save.
func (s *Scanner) Restore(st FileState) {
	s.name, s.fileID, s.lines, s.numbered, s.selected = st.name, st.fileID, st.lines, st.numbered, st.selected
	s.stopped, s.binary, s.started, s.named, s.nulAt, s.lastOut = st.stopped, st.binary, st.started, st.named, st.nulAt, st.lastOut
	s.ringN, s.keptN, s.afterLeft, s.GroupFirst = 0, 0, 0, false
	s.ef = st.ef
	switch e := s.p.events; {
	case e == nil:
		s.ef = nil // a reload turned the event stages off
	case s.ef == nil:
		s.ef = newEventFile(e, s.name) // or on
	}
}

// Name is the current file's name.
func (s *Scanner) Name() string { return s.name }

// Selected is the number of lines selected in the current file.
func (s *Scanner) Selected() int64 { return s.selected }

// IsBinary reports whether the current file was found to be binary.
func (s *Scanner) IsBinary() bool { return s.binary }

// Block runs the stages over a block of whole lines that starts at byte
// offset base of the file; line is the number of its first line when the
// source knows it (0: continue counting, or unknown). It reports false when
// the file needs no more reading.
func (s *Scanner) Block(block []byte, base, line int64) bool {
	if s.stopped || len(block) == 0 {
		return !s.stopped
	}
	if !s.started {
		s.started = true
		// Only a file's head decides, as in grep and ripgrep: a follower
		// that starts a file at its end has no head to look at.
		if base == 0 && !s.p.SearchBinary && scan.IsBinary(block) {
			s.binary = true
			if !s.named {
				s.stopped = true
				s.Binary++
				return false
			}
			s.nulAt = int64(bytes.IndexByte(block, 0))
		}
	}
	if s.binary {
		return s.blockBinary(block, base)
	}
	if line > 0 {
		s.lines, s.numbered = line-1, true
	}
	if s.p.MaxCount == 0 {
		s.stopped = true // grep -m 0 reads nothing
		return false
	}
	var ok bool
	switch {
	case s.ef != nil:
		ok = s.blockEvents(block, base)
	case s.p.lineByLine || s.p.Invert && (s.p.Context || s.p.After > 0 || s.p.Before > 0):
		ok = s.blockLines(block, base)
	case s.p.Context || s.p.After > 0 || s.p.Before > 0:
		ok = s.blockContext(block, base)
	case s.p.Invert:
		ok = s.blockInvert(block, base)
	default:
		ok = s.block(block, base)
	}
	if !ok {
		s.stopped = true
	}
	return ok
}

// End prints what is printed at the end of a file: its count (-c), its name
// (-l, -L), or that a named binary file matches.
func (s *Scanner) End() {
	if s.binary && !s.named || s.p.MaxCount == 0 {
		return // grep -m 0 prints nothing at all, not even -c's count
	}
	s.FlushEvents(multiline.End)
	switch s.p.Mode {
	case Count:
		s.Buf = s.p.Printer.AppendCount(s.Buf, s.name, s.selected)
	case FilesWithMatches:
		if s.selected > 0 {
			s.Buf = s.p.Printer.AppendPath(s.Buf, s.name)
		}
	case FilesWithoutMatch:
		if s.selected == 0 {
			s.Buf = s.p.Printer.AppendPath(s.Buf, s.name)
		}
	case Lines:
		if s.binary && s.selected > 0 {
			if s.p.Printer.Options().Filename {
				s.Buf = append(append(s.Buf, s.name...), ": "...)
			}
			s.Buf = append(s.Buf, `binary file matches (found "\0" byte around offset `...)
			s.Buf = append(strconv.AppendInt(s.Buf, s.nulAt, 10), ")\n"...)
		}
	}
	s.maybeFlush()
}

// blockBinary selects in a named binary file without printing its lines:
// End prints one line for them. It stops at the first selected line unless
// a count is wanted.
func (s *Scanner) blockBinary(block []byte, base int64) bool {
	for pos := 0; pos < len(block); {
		end, next := lineAt(block, pos)
		rule, sel := s.p.Matcher.Select(block[pos:end])
		if sel != s.p.Invert {
			if !s.count() || s.p.Mode == Lines {
				return false
			}
			if s.p.Mode == Summary && !s.p.Invert {
				s.observe(block[pos:end], nil, rule) // it was named: its values count
			}
			if s.p.MaxCount >= 0 && s.selected >= s.p.MaxCount {
				return false
			}
		}
		pos = next
	}
	return true
}

var nl = []byte{'\n'}

// lineAt returns the end of the line that starts at pos in b (its '\n', or
// len(b) for a last line without one) and where the next line starts.
func lineAt(b []byte, pos int) (end, next int) {
	i := bytes.IndexByte(b[pos:], '\n')
	if i < 0 {
		return len(b), len(b)
	}
	return pos + i, pos + i + 1
}

// block is the select stage with the block-level prefilter: the matcher
// finds the next selected line in the whole block.
func (s *Scanner) block(block []byte, base int64) bool {
	p := s.p
	m := p.Matcher
	numbers := p.Numbers && s.numbered
	plain := p.Mode == Lines && s.plainLines()
	counted := 0
	for pos := 0; pos < len(block); {
		start, end, rule, ok := m.Next(block, pos)
		if !ok {
			break
		}
		if numbers {
			s.lines += int64(bytes.Count(block[counted:start], nl))
			counted = start
		}
		if !s.count() {
			return false
		}
		switch {
		case plain:
			s.printPlain(block[start:end])
		case p.Mode == Lines:
			s.print(block[start:end], s.lines+1, base+int64(start), rule, false)
		case p.Mode == Summary:
			s.observe(block[start:end], nil, rule)
		}
		if p.MaxCount >= 0 && s.selected >= p.MaxCount {
			return false
		}
		pos = end + 1
	}
	if numbers {
		s.lines += int64(bytes.Count(block[counted:], nl))
		if block[len(block)-1] != '\n' {
			s.lines++
		}
	}
	return true
}

// blockInvert is -v without context: the matcher still searches the whole
// block for the lines to drop, and the spans between them are the selected
// lines, counted with one vectorised newline count per span (-c, -q, -l)
// or printed line by line.
func (s *Scanner) blockInvert(block []byte, base int64) bool {
	p := s.p
	for pos := 0; pos < len(block); {
		start, end, _, ok := p.Matcher.Next(block, pos)
		if !ok {
			start, end = len(block), len(block)
		}
		if start > pos && !s.selectSpan(block[pos:start], base+int64(pos)) {
			return false
		}
		if ok {
			s.lines++ // the dropped line
		}
		pos = end + 1
	}
	return true
}

// selectSpan selects every line of span, which starts at byte offset base:
// whole lines, but for a missing final newline at the end of the file.
func (s *Scanner) selectSpan(span []byte, base int64) bool {
	p := s.p
	if p.Mode == Count && p.MaxCount < 0 {
		n := int64(bytes.Count(span, nl))
		if span[len(span)-1] != '\n' {
			n++
		}
		s.selected += n
		s.Matches += n
		s.lines += n
		return true
	}
	if p.Mode == Lines && p.MaxCount < 0 && s.plainLines() {
		s.plainSpan(span)
		return true
	}
	for pos := 0; pos < len(span); {
		end, next := lineAt(span, pos)
		s.lines++
		if !s.count() {
			return false
		}
		switch p.Mode {
		case Lines:
			s.print(span[pos:end], s.lines, base+int64(pos), -1, false)
		case Summary:
			s.observe(span[pos:end], nil, -1)
		}
		if p.MaxCount >= 0 && s.selected >= p.MaxCount {
			return false
		}
		pos = next
	}
	return true
}

// plainLines reports whether the selected lines of the current file are
// printed as a fixed prefix and the line: nothing else sees them (no Tap,
// no read time, no spans, no context) and the printer's head does not
// change from line to line.
func (s *Scanner) plainLines() bool {
	p := s.p
	if s.plainP != p || s.plainName != s.name {
		s.plainP, s.plainName = p, s.name
		s.plain, s.plainOK = s.plain[:0], false
		if !p.Context && !p.Spans && !s.json && s.Tap == nil && s.Now == nil {
			s.plain, s.plainOK = p.Printer.PlainPrefix(s.plain, s.name)
		}
	}
	return s.plainOK
}

// plainChunk is how much of a span plainSpan prefixes between flushes: with
// prefixes no longer than the lines, a piece fits in the 64 KiB the buffer
// has beyond flushAt.
const plainChunk = 32 << 10

// plainSpan prints every line of span, all selected: -v's runs between
// matches, most of a file under a common pattern. Without a prefix (one
// file, or -h) the span is copied whole and its newlines counted; with
// one, scan.AppendPrefixed puts it before each line, where print would
// fill a Record and format it.
func (s *Scanner) plainSpan(span []byte) {
	var n int64
	last := span[len(span)-1]
	// In pieces that end at a newline, so that the output is flushed as it
	// fills and a piece fits in the 64 KiB the buffer has beyond flushAt:
	// a whole block appended at once outgrew the buffer, and append made a
	// larger copy of it.
	for len(span) > 0 {
		cut := min(len(span), plainChunk)
		if cut < len(span) {
			if i := bytes.LastIndexByte(span[:cut], '\n'); i >= 0 {
				cut = i + 1
			} else if i := bytes.IndexByte(span[cut:], '\n'); i >= 0 {
				cut += i + 1
			} else {
				cut = len(span)
			}
		}
		if len(s.plain) == 0 {
			n += int64(bytes.Count(span[:cut], nl))
			s.Buf = append(s.Buf, span[:cut]...)
		} else {
			var m int
			s.Buf, m = scan.AppendPrefixed(s.Buf, s.plain, span[:cut])
			n += int64(m)
		}
		span = span[cut:]
		s.maybeFlush()
	}
	if len(s.plain) == 0 && last != '\n' {
		s.Buf = append(s.Buf, '\n')
		n++
	}
	s.printed = true
	s.maybeFlush()
	s.lines += n
	s.selected += n
	s.Matches += n
}

// printPlain prints one selected line as the plain prefix and the line.
func (s *Scanner) printPlain(line []byte) {
	s.Buf = append(s.Buf, s.plain...)
	s.Buf = append(s.Buf, line...)
	s.Buf = append(s.Buf, '\n')
	s.printed = true
	s.maybeFlush()
}

// count records a selected line and reports whether the file needs more
// reading: -q and -l stop at the first one.
func (s *Scanner) count() bool {
	s.selected++
	s.Matches++
	switch s.p.Mode {
	case Quiet, FilesWithMatches, FilesWithoutMatch:
		return false
	}
	return true
}

func (s *Scanner) print(text []byte, num, off int64, rule int, context bool) {
	p := s.p
	r := &s.rec
	r.Path, r.FileID, r.Line, r.Offset, r.Text, r.Context = s.name, s.fileID, num, off, text, context
	if !s.numbered {
		r.Line = 0
	}
	r.Rule, r.Pattern, r.Spans = "", "", nil
	if s.Now != nil {
		r.Time = s.Now()
	}
	if !context && rule >= 0 {
		r.Rule = p.Matcher.RuleName(rule)
	}
	if !context && (s.json || s.Tap != nil) {
		r.Pattern = p.Matcher.Pattern(text, rule)
	}
	// A selected line's spans are its matches; under -v the selected lines
	// have none and the context lines hold them (grep -v -o prints those).
	if p.Spans && context == p.Invert {
		s.spans = p.Matcher.AppendSpans(s.spans[:0], text, rule)
		r.Spans = s.spans
	}
	if p.Context {
		switch {
		case s.lastOut == 0 && s.Inline:
			if s.printed {
				s.Buf = p.Printer.AppendSeparator(s.Buf)
			}
		case s.lastOut == 0:
			s.GroupFirst = true // the file's first group: the owner decides
		case num > s.lastOut+1:
			s.Buf = p.Printer.AppendSeparator(s.Buf)
		}
		s.lastOut = num
	}
	s.Buf = p.Printer.Append(s.Buf, r)
	s.printed = true
	if !context && s.Tap != nil {
		s.Tap(r, rule)
	}
	s.maybeFlush()
}

// observe hands a selected line or event to Observe (Summary mode).
func (s *Scanner) observe(text []byte, rec *fields.Record, rule int) {
	if s.Observe != nil {
		s.Observe(text, rec, rule)
	}
}

func (s *Scanner) maybeFlush() {
	if len(s.Buf) >= s.flushAt && s.flush != nil {
		s.flush(s)
		return
	}
	if c := s.fullCap(); cap(s.Buf) < c && len(s.Buf) > initialBuf/2 {
		s.Buf = append(make([]byte, 0, c), s.Buf...)
	}
}

// blockLines is the line-at-a-time path used for -A/-B/-C, which needs the
// lines around a match, and for -v, which must look at every line. It keeps
// copies of the last B lines, so a match at the start of a block still gets
// its context from the previous block.
func (s *Scanner) blockLines(block []byte, base int64) bool {
	p := s.p
	for pos := 0; pos < len(block); {
		end, next := lineAt(block, pos)
		line := block[pos:end]
		s.lines++
		num, off := s.lines, base+int64(pos)
		rule, sel := -1, false
		if p.MaxCount < 0 || s.selected < p.MaxCount {
			rule, sel = p.Matcher.Select(line)
			if p.Invert {
				rule, sel = -1, !sel
			}
		} else if s.afterLeft == 0 {
			return false // after -m, grep prints the trailing context and stops
		}
		switch {
		case sel:
			if !s.count() {
				return false
			}
			if p.Mode == Summary {
				s.observe(line, nil, rule)
			}
			if p.Mode == Count || p.Mode == Summary {
				pos = next
				continue
			}
			for i := range s.ringN {
				c := &s.ring[(int(num-1)-s.ringN+i)%len(s.ring)]
				s.print(c.text, c.num, c.off, -1, true)
			}
			s.ringN = 0
			s.print(line, num, off, rule, false)
			s.afterLeft = p.After
		case s.afterLeft > 0:
			s.afterLeft--
			s.print(line, num, off, -1, true)
		case s.ring != nil:
			c := &s.ring[int(num-1)%len(s.ring)]
			c.text = append(c.text[:0], line...)
			c.num, c.off = num, off
			if s.ringN < len(s.ring) {
				s.ringN++
			}
		}
		pos = next
	}
	return true
}
