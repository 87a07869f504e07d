package watch

import (
	"bytes"
	"syscall"

	"github.com/logscan/logscan/internal/state"
)

// A Holder that ships lines elsewhere (the OTLP exporter) holds them until
// the receiver acknowledges them, seconds after they were read and many
// blocks behind the read position, and its hold moves on between reads.
// The position committed for such a hold is built at the held offset from
// the file itself: the tail fingerprint from the bytes before it, the line
// number by counting newlines from the nearest block start before it whose
// line number is known. lineMarks keeps those block starts.

// maxLineMarks bounds the block starts kept per held file (16 bytes each).
const maxLineMarks = 32

type lineMark struct{ off, line int64 }

// lineMarks are block starts by increasing offset. When full, every other
// one is dropped: the distance from a hold to the mark before it stays
// within a few blocks of what is held, whatever the lag.
type lineMarks struct {
	m []lineMark
}

func (ls *lineMarks) add(off, line int64) {
	if n := len(ls.m); n > 0 && off <= ls.m[n-1].off {
		return
	}
	if len(ls.m) == maxLineMarks {
		k := 1
		for i := 2; i < len(ls.m); i += 2 {
			ls.m[k] = ls.m[i]
			k++
		}
		ls.m = ls.m[:k]
	}
	ls.m = append(ls.m, lineMark{off, line})
}

// before returns the last mark at or before off, and drops the ones before
// it: a hold only moves on, so they are not needed again.
func (ls *lineMarks) before(off int64) (lineMark, bool) {
	i := len(ls.m) - 1
	for i >= 0 && ls.m[i].off > off {
		i--
	}
	if i < 0 {
		return lineMark{}, false
	}
	m := ls.m[i]
	ls.m = ls.m[:copy(ls.m, ls.m[i:])]
	return m, true
}

func (ls *lineMarks) reset() { ls.m = ls.m[:0] }

// holdScratch is the size of the buffer positionAt reads through.
const holdScratch = 64 << 10

// holdAt makes the position at off, a line start before t's offset, t's
// hold; when it cannot be built (no descriptor, a read error, or off
// before what was committed) nothing more is committed until the hold
// moves, so that a restart repeats rather than loses.
func (l *loop) holdAt(t *tracked, off int64) {
	if p, ok := l.positionAt(t, off); ok {
		t.hold, t.holding = p, heldAt
		return
	}
	t.holding = heldUnknown
}

// positionAt builds the position at off from the file's bytes before it.
func (l *loop) positionAt(t *tracked, off int64) (position, bool) {
	if off < t.committed.offset || off > t.offset {
		return position{}, false
	}
	fd, done, ok := l.holdFD(t)
	if !ok {
		return position{}, false
	}
	defer done()
	base := lineMark{t.committed.offset, t.committed.line}
	if t.holding == heldAt && t.hold.offset <= off && t.hold.offset > base.off {
		base = lineMark{t.hold.offset, t.hold.line}
	}
	if m, ok := t.lines.before(off); ok && m.off > base.off {
		base = m
	}
	p := t.position
	p.marks.cut(off)
	p.offset, p.skipping = off, false
	p.tailLen = int(min(off, tailMax))
	if l.scratch == nil {
		l.scratch = make([]byte, holdScratch)
	}
	// Count the newlines from base to off, reading backwards so that the
	// last read holds the tail; without a known line number only the tail
	// is read.
	from := base.off
	if base.line == 0 {
		from = max(from, off-int64(p.tailLen))
	}
	from = min(from, off-int64(p.tailLen))
	var lines int64
	for end := off; end > from; {
		start := max(from, end-int64(len(l.scratch)))
		b := l.scratch[:end-start]
		if n, err := l.pread(fd, b, start); err != nil || n < len(b) {
			return position{}, false
		}
		if end == off {
			p.tailCRC = state.Checksum(b[len(b)-p.tailLen:])
		}
		if start < base.off {
			b = b[base.off-start:]
		}
		lines += int64(bytes.Count(b, nl))
		end = start
	}
	if off == 0 {
		p.tailCRC = state.Checksum(nil)
	}
	p.line = 0
	if base.line > 0 && base.off <= off {
		p.line = base.line + lines
	}
	if off == 0 {
		p.line = 1
	}
	return p, true
}

// holdFD is a descriptor of t to read its held bytes through: its own, or,
// when it was closed (idle, or after the initial walk), one opened by its
// name for this read, if the name still leads to it.
func (l *loop) holdFD(t *tracked) (fd int, done func(), ok bool) {
	if t.file != nil {
		return t.fd, func() {}, true
	}
	if t.naming == detached {
		return 0, nil, false
	}
	f, err := openRead(t.path)
	if err != nil {
		return 0, nil, false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil || (fileKey{uint64(st.Dev), st.Ino}) != t.key {
		_ = f.Close() // read-only, and not the file: nothing to lose
		return 0, nil, false
	}
	return int(f.Fd()), func() { _ = f.Close() }, true
}
