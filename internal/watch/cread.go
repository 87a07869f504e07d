package watch

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/logscan/logscan/internal/input"
	"github.com/logscan/logscan/internal/scan"
	"github.com/logscan/logscan/internal/state"
)

// cstream is the decompressed content of the compressed file being read. It
// can only go forward, so it keeps where it stands and the bytes just
// before, for the tail fingerprints.
type cstream struct {
	r     io.Reader
	off   int64
	tail  []byte // the last bytes read, up to tailMax
	err   error  // the first error other than io.EOF; the stream is broken after it
	close func() error
	proc  string // the /proc name it was opened by, to put the real name in errors
}

func (s *cstream) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	s.off += int64(n)
	s.tail = keepTail(s.tail, p[:n])
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// skipTo reads up to offset to and reports whether the stream got there.
func (s *cstream) skipTo(to int64) bool {
	if to > s.off {
		if _, err := io.CopyN(io.Discard, s, to-s.off); err != nil {
			return false
		}
	}
	return s.off == to
}

// keepTail appends b to tail, keeping only the last tailMax bytes.
func keepTail(tail, b []byte) []byte {
	if len(b) >= tailMax {
		return append(tail[:0], b[len(b)-tailMax:]...)
	}
	if over := len(tail) + len(b) - tailMax; over > 0 {
		tail = tail[:copy(tail, tail[over:])]
	}
	return append(tail, b...)
}

// counter counts what is read through it: at the end of the stream, that
// places the held partial last line.
type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

func (l *loop) ensureDecoder() {
	if l.opener == nil {
		l.opener = input.NewOpener(true)
		l.sp = scan.NewSplitter(nil, 0, l.cfg.MaxLine)
		// The last line is passed only once the stream has ended cleanly:
		// before a decompression error it may be cut short.
		l.sp.SetHoldPartial(true)
		l.chead = make([]byte, headMax)
		l.ctail = make([]byte, 0, tailMax)
		l.cs.tail = make([]byte, 0, tailMax)
	}
}

// readCompressed reads c, if it is not done, from where its content is new
// to its end, then marks it done. Like read, it returns only the Consumer's
// errors; a decompression error is logged and counted, and what was passed
// before it is kept, so that a retry continues after it.
func (l *loop) readCompressed(c *cfile) error {
	if c.removed || c.detached {
		return nil
	}
	l.ensureBuf()
	l.ensureDecoder()
	if !l.openCompressed(c) {
		return nil
	}
	defer l.closeCompressed(c)
	if !l.follow && !c.ended {
		c.ended = true
		l.ends = append(l.ends, endRef{c: c})
	}
	n, _ := io.ReadFull(&l.cs, l.chead) // short at the end of the stream; errors stay in cs
	head := l.chead[:n]
	pos, done := l.compressedStart(c, head)
	c.mode = cNew // from now on its own record says what was read
	c.headLen, c.headCRC = len(head), state.Checksum(head)
	if done {
		// Nothing passed, so nothing to wait for a Flush for: a failing
		// Flush must not make the next start take it for a new file.
		c.position, c.done = pos, true
		c.committed, c.committedDone = pos, true
		l.changed = true
		return nil
	}
	l.ctouch(c)
	c.position = pos
	src := l.seekCompressed(c, head)
	if src == nil {
		return nil
	}
	return l.passCompressed(c, src)
}

// openCompressed opens c by its name, checks that the name still leads to
// it, and has the Opener decompress it through /proc/self/fd, so that what
// is decompressed is the file checked, whatever a rename does meanwhile.
func (l *loop) openCompressed(c *cfile) bool {
	l.cs.proc = ""
	open := l.f.hooks.open
	if open == nil {
		open = openRead
	}
	f, err := open(c.path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			l.detachCompressed(c)
		} else {
			l.compressedError(c, err)
		}
		return false
	}
	// Read-only, so nothing to lose at close; the Opener holds a descriptor
	// of its own.
	defer func() { _ = f.Close() }()
	fd := int(f.Fd())
	if err := fstat(fd, &l.stat); err != nil {
		l.compressedError(c, err)
		return false
	}
	if (fileKey{uint64(l.stat.Dev), l.stat.Ino}) != c.key {
		path := c.path
		l.detachCompressed(c)
		l.lookAt(path, false)
		return false
	}
	c.size, c.mtime = l.stat.Size, time.Unix(l.stat.Mtim.Unix())
	var magic [4]byte
	if m, _ := pread(fd, magic[:], 0); m > 0 && !bytes.HasPrefix(magic[:m], []byte{0x1f, 0x8b}) && !bytes.HasPrefix(magic[:m], []byte{0x28, 0xb5, 0x2f, 0xfd}) {
		// Through /proc the Opener cannot fall back on the name, and it
		// would read this as plain text, where one-shot fails it.
		l.compressedError(c, fmt.Errorf("%s: %w", c.path, errNoMagic))
		return false
	}
	proc := "/proc/self/fd/" + strconv.Itoa(fd)
	r, _, closeFn, err := l.opener.Open(proc)
	if errors.Is(err, os.ErrNotExist) {
		proc = "" // no /proc: by name, which a rename right now could fool
		r, _, closeFn, err = l.opener.Open(c.path)
	}
	if err != nil {
		l.cs.proc = proc
		l.compressedError(c, err)
		return false
	}
	l.cs = cstream{r: r, tail: l.cs.tail[:0], close: closeFn, proc: proc}
	return true
}

// closeCompressed closes c's stream, reporting a decompression error it met.
func (l *loop) closeCompressed(c *cfile) {
	s := &l.cs
	if s.err != nil {
		l.compressedError(c, s.err)
	}
	if s.close != nil {
		if err := s.close(); err != nil {
			l.log.Debug().Err(err).Str("path", c.path).Msg("closing compressed file")
		}
	}
	s.r, s.err, s.close = nil, nil, nil
}

func (l *loop) compressedError(c *cfile, err error) {
	l.st.ReadErrors.Add(1)
	msg := err.Error()
	if l.cs.proc != "" {
		msg = strings.ReplaceAll(msg, l.cs.proc, c.path)
	}
	if msg != c.errMsg {
		c.errMsg = msg
		l.log.Warn().Str("error", msg).Str("path", c.path).
			Msg("cannot read compressed file; the lines decoded before the error are passed on, the rest is tried again when the file changes or at the next run")
	}
}

// compressedStart decides where c's new content starts, and whether there
// is none (done).
func (l *loop) compressedStart(c *cfile, head []byte) (position, bool) {
	rec := c.rec
	c.rec = nil
	if rec == nil && (c.committedDone || c.committed.offset > 0) {
		own := c.record() // tried before in this run, and cut short
		rec = &own
	}
	if rec != nil && rec.Compressed && rec.Done {
		if doneHeadMatches(*rec, head) {
			return recordPosition(*rec), true
		}
		l.log.Info().Str("path", c.path).Msg("compressed file is not the one its inode held; checking it like a new one")
		l.retireFingerprint(recordFingerprint(*rec))
		rec = nil
	}
	if c.mode == cStart {
		return l.compressedAtStart()
	}
	best, found, live := l.findContinuation(c, head, rec)
	switch {
	case live:
		return best.position, true // the live file passes what follows itself
	case found && !best.sameKey:
		l.st.CopiesSkipped.Add(1)
		l.log.Info().Str("path", c.path).Int64("offset", best.offset).
			Msg("compressed file holds content already read (a compressed rotation); reading only what follows")
		fallthrough
	case found:
		return best.position, false
	case c.mode == cNewOrStart:
		return l.compressedAtStart()
	}
	return position{line: 1}, false
}

// compressedAtStart is StartAt for a compressed file: at the end means done
// unread (its length is never learnt: that would mean decompressing it).
func (l *loop) compressedAtStart() (position, bool) {
	if l.cfg.StartAt == "end" || l.forceEnd {
		return position{}, true
	}
	return position{line: 1}, false
}

// doneHeadMatches checks a done record against the head of the file now
// under its inode. A compressed file does not grow, so a head shorter than
// 1 KiB must be the whole of it.
func doneHeadMatches(rec state.File, head []byte) bool {
	if rec.HeadLen < headMax && len(head) != rec.HeadLen {
		return false
	}
	return len(head) >= rec.HeadLen && state.Checksum(head[:rec.HeadLen]) == rec.HeadCRC
}

// ccand is a fingerprint a compressed file may continue.
type ccand struct {
	fingerprint
	live    bool // a plain file still followed: it reads its own rest
	sameKey bool // c's own record, from before a rename
}

// findContinuation compares c's decompressed head, and the bytes before each
// known offset, with every fingerprint of content already read, and returns
// the one with the largest offset that c continues. It reads c's stream up
// to the offsets it checks.
func (l *loop) findContinuation(c *cfile, head []byte, rec *state.File) (best ccand, found, live bool) {
	cands := l.ccands[:0]
	add := func(fp fingerprint, live, sameKey bool) {
		if fp.offset == 0 || !headMatches(fp, head) {
			return
		}
		// Under 1 KiB, a whole file could be the start of an unrelated
		// one by chance: the names must also say "rotation".
		if fp.offset < headMax && !sameKey && !relatedName(c.path, fp.path) {
			return
		}
		cands = append(cands, ccand{fingerprint: fp, live: live, sameKey: sameKey})
	}
	if rec != nil {
		// A compressed file is never a plain one turned compressed in place
		// (gzip writes a new file), so a plain record under its inode is
		// inode reuse, not evidence.
		add(recordFingerprint(*rec), false, rec.Compressed)
	}
	for _, o := range l.byKey {
		switch {
		case o.stage == deciding || o.naming == forgotten || o.stage == shadowing || o.next == atEnd || o.next == exactly:
		case o.stage == verifying:
			add(recordFingerprint(*o.resume), o.naming != detached, false)
		default:
			add(fingerprint{head: o.head, position: o.position, path: o.path}, o.file != nil || o.naming != detached, false)
		}
	}
	for _, r := range l.retired {
		add(r, false, false)
	}
	for _, r := range l.saved {
		add(recordFingerprint(r), false, false)
	}
	for _, o := range l.cfiles {
		if o != c && !o.removed {
			add(o.fingerprint(), false, false)
		}
	}
	slices.SortFunc(cands, func(a, b ccand) int { return cmp.Compare(a.offset, b.offset) })
	s := &l.cs
	for _, cd := range cands {
		var got []byte
		if cd.offset <= int64(len(head)) {
			got = head[cd.offset-int64(cd.tailLen) : cd.offset]
		} else if s.skipTo(cd.offset) {
			got = s.tail[len(s.tail)-cd.tailLen:]
		} else {
			break // c ends (or fails) before this offset, and so before all the rest
		}
		if state.Checksum(got) == cd.tailCRC {
			best, found = cd, true
			live = live || cd.live
		}
	}
	clear(cands)
	l.ccands = cands[:0]
	return best, found, live
}

func headMatches(fp fingerprint, head []byte) bool {
	if fp.head != nil {
		n := len(fp.head)
		return n > 0 && len(head) >= n && bytes.Equal(head[:n], fp.head)
	}
	return fp.headLen > 0 && len(head) >= fp.headLen && state.Checksum(head[:fp.headLen]) == fp.headCRC
}

// relatedName reports whether compressed file path may be a rotation of the
// file once at orig: its name starts with orig's up to the first dot, as
// app.log.1.gz and app-20250101.log.gz do for app.log.
func relatedName(path, orig string) bool {
	b := filepath.Base(orig)
	if i := strings.IndexByte(b, '.'); i > 0 {
		b = b[:i]
	}
	return orig != "" && strings.HasPrefix(filepath.Base(path), b)
}

// seekCompressed puts c's stream at c's offset, skipping the rest of a cut
// line if the offset is inside one, and returns the reader that yields the
// content from there, or nil if the stream failed first. It reuses what the
// head and the fingerprint checks read when it can, and reopens otherwise.
func (l *loop) seekCompressed(c *cfile, head []byte) io.Reader {
	s := &l.cs
	x, hl := c.offset, int64(len(head))
	var src io.Reader = s
	switch {
	case s.off == hl && x <= hl:
		l.ctail = keepTail(l.ctail[:0], head[max(0, x-tailMax):x])
		l.creplay = input.Replay{Prefix: head[x:], R: s}
		src = &l.creplay
	case x == s.off:
		l.ctail = append(l.ctail[:0], s.tail...)
	default:
		s.err = nil // met again, and reported, by the stream reopened
		l.closeCompressed(c)
		if !l.openCompressed(c) || !s.skipTo(x) {
			return nil
		}
		l.ctail = append(l.ctail[:0], s.tail...)
	}
	if !c.skipping {
		return src
	}
	buf := l.buf
	for {
		n, err := src.Read(buf)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			l.ctail = keepTail(l.ctail, buf[:i+1])
			c.offset += int64(i + 1)
			c.skipping = false
			l.cskip = input.Replay{Prefix: buf[i+1 : n], R: src}
			return &l.cskip
		}
		l.ctail = keepTail(l.ctail, buf[:n])
		c.offset += int64(n)
		if err != nil {
			return src // at the end, or failed: passCompressed sees it again
		}
	}
}

// passCompressed splits the rest of c's stream into blocks of whole lines
// and passes them on; at a clean end of the stream, c is done.
func (l *loop) passCompressed(c *cfile, src io.Reader) error {
	l.ccount = counter{r: src}
	l.sp.Reset(&l.ccount)
	base := c.offset
	defer func() { c.tailLen, c.tailCRC = len(l.ctail), state.Checksum(l.ctail) }()
	for {
		block, err := l.sp.Next()
		// With the partial line held, a block without a newline that is not
		// a cut line is the piece before a read error: not passed.
		if n := len(block); n > 0 && (block[n-1] == '\n' || l.sp.Cut()) {
			if err := l.passCompressedBlock(c, block, base+l.sp.Offset(), l.sp.Cut()); err != nil {
				return err
			}
			if c.declined {
				c.done = true // nothing more of it is wanted, ever
				break
			}
		}
		if err == io.EOF {
			if p := l.sp.Pending(); len(p) > 0 {
				if err := l.passCompressedBlock(c, p, base+l.ccount.n-int64(len(p)), false); err != nil {
					return err
				}
			}
			c.done = true
			break
		}
		if err != nil {
			if l.cs.err == nil {
				l.cs.err = err // the splitter's own (no progress): reported as the stream's
			}
			break
		}
	}
	return nil
}

func (l *loop) passCompressedBlock(c *cfile, block []byte, off int64, cut bool) error {
	if off != c.offset {
		l.ctail = l.ctail[:0] // the skipped rest of a cut line lies between
	}
	if err := l.pass(c.fileID(), &c.position, block, off); err != nil {
		return err
	}
	if l.full() && !l.waitRoom() {
		return l.ctx.Err()
	}
	l.ctail = keepTail(l.ctail, block)
	c.offset = off + int64(len(block))
	c.skipping = cut
	if cut {
		l.st.LongLines.Add(1)
	}
	return nil
}
