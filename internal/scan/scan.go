// Package scan splits a byte stream into blocks of whole lines with one
// bounded buffer.
//
// Unlike bufio.Scanner, no line ends the input early: a line longer than the
// cap (MaxLine) is cut, returned alone, and the rest of it is skipped and
// counted, so a single runaway line costs at most MaxLine+1 bytes of memory
// and never hides the lines after it.
//
// A Splitter touches nothing but the reader it is given and its own two
// buffers: the BufSize one, and a MaxLine+1 one allocated the first time a
// line outgrows BufSize and kept from then on (see [Splitter]).
// [AppendPrefixed], the printers' helper for runs of lines, touches only its
// arguments.
//
// A line is the bytes up to, not including, '\n'; a '\r' before the '\n'
// stays part of the line, and invalid UTF-8 and NUL bytes pass through
// untouched. Blocks are slices of the Splitter's buffer: the matcher searches
// whole blocks at once, which is why Next returns as many whole lines as the
// buffer holds rather than one line at a time.
package scan

import (
	"bytes"
	"errors"
	"io"
	"iter"
)

// DefaultBufSize is the buffer size, and so the size of each read, used when
// NewSplitter is given 0.
const DefaultBufSize = 256 << 10

// DefaultMaxLine is the longest line returned whole when NewSplitter is given
// 0; longer lines are cut.
const DefaultMaxLine = 16 << 20

// maxEmptyReads bounds how many (0, nil) reads in a row are tolerated before
// giving up, as bufio does, so a broken reader cannot spin Next forever.
const maxEmptyReads = 100

// errNegativeRead guards against readers that violate the io.Reader contract;
// trusting their count would corrupt the buffer indices.
var errNegativeRead = errors.New("scan: reader returned an invalid count")

// Splitter reads an input and returns blocks of whole lines. It reads into a
// BufSize buffer; a line that outgrows it moves to a second buffer of
// MaxLine+1 bytes, and back once the unreturned bytes fit BufSize again.
//
// The long-line buffer is allocated at full size once and kept, rather than
// grown by doubling: doubling from 256 KiB to 16 MiB leaves ~16 MiB of
// outgrown copies to the GC on every long line, and the process's peak RSS
// then depends on when the GC runs. Reads stay at most BufSize bytes even
// into the big buffer, so a line of 1 MiB makes only about 1 MiB of it
// resident; pages of a fresh allocation the reads never reach cost nothing.
// Peak memory is thus BufSize + MaxLine + 1 whatever the line lengths, and a
// Splitter that never meets a line longer than BufSize never allocates the
// big buffer. A Splitter is not safe for concurrent use; a worker owns one
// and reuses it across inputs with Reset.
type Splitter struct {
	r io.Reader

	base    []byte // the BufSize buffer
	big     []byte // the MaxLine+1 buffer, nil until a line outgrows base; kept across Reset
	usedBig bool   // a line of this input needed big: Reset releases its pages
	buf     []byte // the buffer in use: base or big
	start   int    // buf[start:end] is read but not yet returned
	end     int
	scanned int   // buf[start:start+scanned] is known to hold no '\n', so searches never rescan it
	off     int64 // input offset of buf[start]

	bufSize int
	maxLine int

	err      error // read error not yet reported; io.EOF is reported once, others are sticky
	blockOff int64
	cut      bool
	skipping bool // inside the remainder of a cut line
	hold     bool

	cutLines int64
	cutBytes int64

	lineNum int64 // lines yielded by Lines since the last Reset
	lineErr error
}

// NewSplitter returns a Splitter reading r with a buffer of bufSize bytes that
// may grow to hold lines of up to maxLine bytes. Zero or negative values
// select DefaultBufSize and DefaultMaxLine; bufSize is lowered to maxLine+1
// when larger, because a buffer that could hold a longer line whole would
// let such a line escape the cut.
func NewSplitter(r io.Reader, bufSize, maxLine int) *Splitter {
	if bufSize <= 0 {
		bufSize = DefaultBufSize
	}
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	bufSize = min(bufSize, maxLine+1)
	s := &Splitter{
		r:       r,
		base:    make([]byte, bufSize),
		bufSize: bufSize,
		maxLine: maxLine,
	}
	s.buf = s.base
	return s
}

// Reset makes s read r from its start, keeping the buffers, so a worker can
// reuse one Splitter for many inputs without allocating. It clears every
// counter, the held partial line, Err and the line numbers of Lines.
func (s *Splitter) Reset(r io.Reader) {
	if s.usedBig {
		releasePages(s.big)
	}
	*s = Splitter{
		r:       r,
		base:    s.base,
		big:     s.big,
		buf:     s.base,
		bufSize: s.bufSize,
		maxLine: s.maxLine,
		hold:    s.hold,
	}
}

// Head returns the buffer that holds the start of an input: a caller that
// reads an input's first bytes itself (to sniff its compression) reads them
// into Head and passes the count to ResetHead, and they are not copied.
func (s *Splitter) Head() []byte { return s.base }

// ResetHead is Reset for an input whose first n bytes the caller has read
// into Head()[:n]; r yields the rest.
func (s *Splitter) ResetHead(r io.Reader, n int) {
	if n < 0 || n > len(s.base) {
		panic("scan: ResetHead count outside Head")
	}
	s.Reset(r)
	s.end = n
}

// Next returns the next block: one or more whole lines, each ending in '\n',
// except the final line of the input (no '\n' at EOF) or a cut line. The
// block is valid until the next call. At the end of the input it returns
// nil, io.EOF. A read error is returned after the bytes read before it
// (whole lines first, then any partial line as a block of its own); it is
// sticky until Reset, while io.EOF is not, so a Next after io.EOF reads again
// (follow mode relies on this).
func (s *Splitter) Next() ([]byte, error) {
	s.cut = false
	for {
		if s.skipping {
			s.skip()
		}
		if !s.skipping {
			data := s.buf[s.start:s.end]
			// IndexByte first: LastIndexByte tests a byte at a time,
			// which over a line of megabytes with no '\n' was 7.7% of a
			// search of gencorpus's tree; IndexByte is vectorised, and
			// where lines are short both stop within a line.
			if rest := data[s.scanned:]; bytes.IndexByte(rest, '\n') >= 0 {
				return s.take(s.scanned + bytes.LastIndexByte(rest, '\n') + 1), nil
			}
			s.scanned = len(data)
			if len(data) > s.maxLine {
				// At least maxLine+1 bytes without '\n': the line is
				// longer than the cap whatever follows.
				s.cut = true
				s.skipping = true
				s.cutLines++
				return s.take(s.maxLine), nil
			}
		}
		if s.err != nil {
			return s.atError()
		}
		s.fill()
	}
}

// atError decides what Next returns once the reader has reported an error
// and no whole line is buffered.
func (s *Splitter) atError() ([]byte, error) {
	err := s.err
	n := s.end - s.start
	if err == io.EOF {
		if s.hold {
			// Keep the partial line (or the skip state of a cut
			// line) for when the file grows.
			s.err = nil
			return nil, io.EOF
		}
		s.skipping = false
		if n > 0 {
			// Report io.EOF on the following call, without
			// reading again.
			return s.take(n), nil
		}
		s.err = nil
		return nil, io.EOF
	}
	if n > 0 && !s.skipping {
		return s.take(n), nil
	}
	return nil, err
}

// take returns the first n unreturned bytes as the current block.
func (s *Splitter) take(n int) []byte {
	block := s.buf[s.start : s.start+n]
	s.blockOff = s.off
	s.start += n
	s.off += int64(n)
	// Blocks end at the last '\n' buffered (or inside a cut line), so
	// what remains holds no '\n' that has been seen.
	s.scanned = max(s.scanned-n, 0)
	if !s.cut {
		s.scanned = s.end - s.start
	}
	return block
}

// skip discards buffered bytes of the remainder of a cut line, up to and
// including its '\n'.
func (s *Splitter) skip() {
	data := s.buf[s.start:s.end]
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		s.cutBytes += int64(len(data))
		s.off += int64(len(data))
		s.start = s.end
		s.scanned = 0
		return
	}
	s.cutBytes += int64(i)
	s.off += int64(i + 1)
	s.start += i + 1
	s.scanned = 0
	s.skipping = false
}

// fill makes room in the buffer (moving the unreturned bytes to its front,
// moving them back to base once they fit or to big for a long line) and
// reads once, at most BufSize bytes.
func (s *Splitter) fill() {
	n := s.end - s.start
	switch {
	case len(s.buf) > s.bufSize && n < s.bufSize:
		copy(s.base, s.buf[s.start:s.end])
		s.buf = s.base
	case n == len(s.buf):
		// base is full without a '\n' and not past the cap yet (Next
		// would have cut it; big is never full here, since it holds
		// MaxLine+1): the line needs the big buffer.
		if s.big == nil {
			s.big = make([]byte, s.maxLine+1)
		}
		copy(s.big, s.buf[s.start:s.end])
		s.buf = s.big
		s.usedBig = true
	case s.start > 0:
		copy(s.buf, s.buf[s.start:s.end])
	}
	s.start, s.end = 0, n
	// Bounded so that a long line makes resident only the part of big it
	// needs, not all MaxLine+1 bytes at the first read.
	room := s.buf[s.end:min(len(s.buf), s.end+s.bufSize)]
	for range maxEmptyReads {
		m, err := s.r.Read(room)
		if m < 0 || m > len(room) {
			s.err = errNegativeRead
			return
		}
		s.end += m
		if err != nil {
			s.err = err
			return
		}
		if m > 0 {
			return
		}
	}
	s.err = io.ErrNoProgress
}

// Offset returns the byte offset in the input of the first byte of the last
// block returned by Next or Flush.
func (s *Splitter) Offset() int64 { return s.blockOff }

// Cut reports whether the last block is a single line that was cut at
// MaxLine; the rest of that line, up to and including its '\n', is skipped.
func (s *Splitter) Cut() bool { return s.cut }

// CutLines returns how many lines have been cut since the last Reset.
func (s *Splitter) CutLines() int64 { return s.cutLines }

// cutBytesSkipped returns how many bytes of cut lines were skipped since the last
// Reset, not counting the '\n' that ended them.
func (s *Splitter) cutBytesSkipped() int64 { return s.cutBytes }

// SetHoldPartial sets follow mode: when on, a trailing line without '\n' at
// EOF is not returned; Next returns io.EOF and keeps the bytes, and a later
// Next, after the input grew, returns the line once its '\n' arrives. The
// setting survives Reset.
func (s *Splitter) SetHoldPartial(hold bool) { s.hold = hold }

// Pending returns the bytes of a held partial line, valid until the next
// call that reads; it is empty while the remainder of a cut line is skipped.
func (s *Splitter) Pending() []byte {
	if s.skipping {
		return nil
	}
	return s.buf[s.start:s.end]
}

// Flush returns the held partial line as a final block and forgets it, for
// when a rotated file has been drained and will not grow any more. It also
// ends the skipping of a cut line. It returns nil when nothing is held.
func (s *Splitter) Flush() []byte {
	s.cut = false
	if s.skipping {
		s.skip()
		s.skipping = false
	}
	n := s.end - s.start
	if n == 0 {
		return nil
	}
	return s.take(n)
}

// Line is one line yielded by Lines.
type Line struct {
	// Text is the line without its '\n', valid only during the iteration
	// step that yields it.
	Text []byte
	// Num is the 1-based number of the line among those yielded since the
	// last Reset; a cut line counts as one line.
	Num int64
	// Offset is the byte offset of the line's first byte in the input.
	Offset int64
	// Cut reports that the line was longer than MaxLine and Text holds
	// only its first MaxLine bytes.
	Cut bool
}

// Lines returns a single-use iterator over the lines of the input, drawn from
// Next. Like bufio.Scanner, an error ends the iteration and is reported by
// Err after the loop:
//
//	for line := range s.Lines() {
//		use(line)
//	}
//	if err := s.Err(); err != nil {
//		return err
//	}
//
// In follow mode (SetHoldPartial) the loop ends at EOF without the partial
// line, and a new Lines loop after the input grew continues the numbering.
func (s *Splitter) Lines() iter.Seq[Line] {
	return func(yield func(Line) bool) {
		s.lineErr = nil
		for {
			block, err := s.Next()
			if len(block) > 0 {
				if !s.yieldBlock(block, yield) {
					return
				}
			}
			if err != nil {
				if err != io.EOF {
					s.lineErr = err
				}
				return
			}
		}
	}
}

// yieldBlock yields the lines of one block and reports whether the consumer
// wants more.
func (s *Splitter) yieldBlock(block []byte, yield func(Line) bool) bool {
	off := s.blockOff
	if s.cut {
		s.lineNum++
		return yield(Line{Text: block, Num: s.lineNum, Offset: off, Cut: true})
	}
	for len(block) > 0 {
		text := block
		n := len(block)
		if i := bytes.IndexByte(block, '\n'); i >= 0 {
			text, n = block[:i], i+1
		}
		s.lineNum++
		if !yield(Line{Text: text, Num: s.lineNum, Offset: off}) {
			return false
		}
		block = block[n:]
		off += int64(n)
	}
	return true
}

// Err returns the error that ended the last Lines loop, or nil if it ended at
// EOF or because the consumer stopped.
func (s *Splitter) Err() error { return s.lineErr }

// IsBinary reports whether block, the first block of an input, holds a NUL
// byte, the same test grep uses to call a file binary.
func IsBinary(block []byte) bool { return bytes.IndexByte(block, 0) >= 0 }
