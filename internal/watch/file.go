package watch

import (
	"cmp"
	"errors"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/logscan/logscan/internal/state"
)

// position is where reading stands in a file, with the fingerprint of the
// bytes just before it. It moves as a whole (commit, copies, retirement), so
// a copy continuing at another file's offset takes its line number and its
// declined state along.
type position struct {
	offset   int64
	tailLen  int
	tailCRC  uint32
	skipping bool
	// line is the 1-based number of the line starting at offset, 0 when
	// lines before it were never seen (started at the end). Offset 0 is
	// always line 1, whatever line says, so resets need not set it.
	line int64
	// declined: the Consumer returned ErrSkipFile; the offset advances
	// without passing anything, until the file is rewritten from 0.
	declined bool
	// marks are earlier read boundaries of this content, to recognise a
	// copy that ends before offset (see marks.go).
	marks marks
}

// mark records the current offset as a read boundary; marks past it (it
// moved back) are of no content it holds.
func (p *position) mark() {
	p.marks.cut(p.offset)
	p.marks.add(p.offset, p.tailCRC)
}

// tracked is one followed file. Memory per file is bounded: the head
// fingerprint (at most 1 KiB), two positions with their marks (128 bytes
// each) and a few words.
type tracked struct {
	path string // current name, or last known one when detached
	key  fileKey
	file *os.File
	fd   int

	naming naming  // how its name leads to it (lifecycle.go)
	stage  stage   // how its content is decided on
	next   placing // how the next read puts its offset in place

	position           // read so far (handed to the Consumer)
	committed position // flushed, and so safe to save
	// hold is where the content a Holder keeps back begins, while holding
	// (hold.go); its offset, not position's, is committed.
	hold     position
	holding  holdState
	inHeld   bool      // queued in l.held
	ackAfter uint64    // an EpochHolder's holds of t are those after this epoch (epoch.go)
	ackAs    *ackLink  // the holds of the content t supplies as a copy, while held (epoch.go)
	retained bool      // deleted or out of reach, kept until an Acker has its lines acknowledged (hold.go)
	deferred bool      // its read waits for the Pacer (pace.go)
	lines    lineMarks // block starts while held behind the read position (holdat.go)
	head     []byte    // first min(size, 1 KiB) bytes

	size     int64 // size at the last fstat
	mtime    time.Time
	tickSize int64 // size at the previous tick, for "quiet" detection
	seen     uint64
	readSeq  uint64
	resume   *state.File // the record to verify, while verifying

	idleTicks    int
	pendingSince time.Time // a possible copy still being written
	pendingSize  int64     // its size then: a prefix copy must not grow while it waits
	openErr      string    // last open error logged, to log each once

	dirty, touched bool // queued in l.dirty, l.touched
	gone           bool // deleted (no links left)
	finalize       bool // quiet since the last tick: pass the partial line
	held           bool // the last read ended in a partial line, waiting for its newline or a quiet tick
	tickRead       bool // this read is a tick's: a held partial line is passed if the size did not change
	onlyWrites     bool // queued by write events alone since its last read (statless)
	openFailed     bool
	noWait         bool // decide copies at once (RunOnce)
	ended          bool // RunOnce: queued for FileEnd

	shadowOf *tracked   // the live original this file is a copy of, while shadowing
	shadows  []*tracked // copies of this file
}

func (t *tracked) fileID() File { return File{Path: t.path, Dev: t.key.dev, Ino: t.key.ino} }

// openFile opens t by its name and checks that the name still leads to it.
func (l *loop) openFile(t *tracked) bool {
	if t.naming == detached {
		return false
	}
	open := l.f.hooks.open
	if open == nil {
		open = openRead
	}
	file, err := open(t.path)
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
		l.shed(t)
		file, err = open(t.path)
	}
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			l.checkPath(t)
			return false
		}
		l.st.ReadErrors.Add(1)
		t.openFailed = true
		if msg := err.Error(); msg != t.openErr {
			t.openErr = msg
			l.log.Warn().Err(err).Str("path", t.path).Msg("cannot open file; will retry on its next event and every tick")
		}
		return false
	}
	fd := int(file.Fd())
	if err := fstat(fd, &l.stat); err != nil || (fileKey{uint64(l.stat.Dev), l.stat.Ino}) != t.key {
		// The name leads to another file now: detach this one (it can no
		// longer be read) and look at what the name holds.
		_ = file.Close() // read-only descriptor: nothing to lose
		path := t.path
		l.detach(t)
		l.lookAt(path, false)
		return false
	}
	if t.openErr != "" {
		l.log.Info().Str("path", t.path).Msg("file is readable again")
	}
	t.file, t.fd, t.openFailed, t.openErr = file, fd, false, ""
	l.open++
	return true
}

func (l *loop) closeFile(t *tracked) {
	if t.file == nil {
		return
	}
	if err := t.file.Close(); err != nil {
		l.log.Debug().Err(err).Str("path", t.path).Msg("closing file")
	}
	t.file, t.fd = nil, -1
	l.open--
}

// shed closes the least recently read half of the open files that can be
// reopened by name, after open failed with EMFILE or ENFILE.
func (l *loop) shed(except *tracked) {
	var open []*tracked
	for _, t := range l.byKey {
		if t.file != nil && t != except && t.naming != detached && !t.gone {
			open = append(open, t)
		}
	}
	slices.SortFunc(open, func(a, b *tracked) int { return cmp.Compare(a.readSeq, b.readSeq) })
	n := (len(open) + 1) / 2
	for _, t := range open[:n] {
		l.closeFile(t)
	}
	l.log.Warn().Int("closed", n).Msg("out of file descriptors (EMFILE); closed the least recently read files, they reopen on their next event")
}

// openRead opens path to read it, without following a symlink, and without
// updating its access time where that is allowed (O_NOATIME needs the
// file's owner or CAP_FOWNER; anyone else gets EPERM and the plain open).
// Under relatime every read of a file written since its last read dirties
// its inode: with 40 files written every 5 ms that was 8% of the
// follower's CPU (perf, touch_atime under pread).
func openRead(path string) (*os.File, error) {
	const flags = os.O_RDONLY | syscall.O_NOFOLLOW | syscall.O_NONBLOCK
	f, err := os.OpenFile(path, flags|syscall.O_NOATIME, 0)
	if errors.Is(err, syscall.EPERM) {
		f, err = os.OpenFile(path, flags, 0)
	}
	return f, err
}

func fstat(fd int, st *syscall.Stat_t) error {
	for {
		err := syscall.Fstat(fd, st)
		if err != syscall.EINTR {
			return err
		}
	}
}

func pread(fd int, b []byte, off int64) (int, error) {
	n := 0
	for n < len(b) {
		m, err := syscall.Pread(fd, b[n:], off+int64(n))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return n, nil
}

func (l *loop) fstatSize(t *tracked) (int64, bool) {
	if err := fstat(t.fd, &l.stat); err != nil {
		l.st.ReadErrors.Add(1)
		l.log.Warn().Err(err).Str("path", t.path).Msg("cannot stat open file")
		l.closeFile(t)
		return 0, false
	}
	t.size = l.stat.Size
	t.gone = l.stat.Nlink == 0
	return t.size, true
}

// loadHead refreshes the head fingerprint while it is shorter than 1 KiB.
func (l *loop) loadHead(t *tracked, size int64) bool {
	want := int(min(size, headMax))
	if len(t.head) >= want {
		return true
	}
	if cap(t.head) < want {
		h := make([]byte, len(t.head), headMax)
		copy(h, t.head)
		t.head = h
	}
	n, err := pread(t.fd, t.head[:want], 0)
	if err != nil {
		l.readError(t, err)
		return false
	}
	t.head = t.head[:n]
	return true
}

func (l *loop) readError(t *tracked, err error) {
	l.st.ReadErrors.Add(1)
	l.log.Warn().Err(err).Str("path", t.path).Msg("cannot read file; will retry")
	l.closeFile(t)
}

// ensureBuf allocates the read buffer. It never grows: a longer line is
// gathered in l.long (readLong).
func (l *loop) ensureBuf() {
	if l.buf == nil {
		l.dataCap = min(bufData, l.cfg.MaxLine+1)
		// seekToEnd reads 2 KiB at once, whatever MaxLine is.
		l.buf = make([]byte, max(tailMax+l.dataCap, 2*tailMax))
		l.tbuf = make([]byte, tailMax)
	}
}
