package watch

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/logscan/logscan/internal/input"
	"github.com/logscan/logscan/internal/state"
)

// Compressed files (.gz, .zst, with Config.Decompress) are history: nobody
// appends to them, they appear whole (or are being written by gzip), and the
// usual one is a rotation of a file already read. So each is read once,
// through the decompressor, from where its content is new, and then "done":
// it is never read again, nor watched for growth. Offsets, line numbers and
// fingerprints are of the decompressed stream, so that a compressed rotation
// of a followed file is recognised by the same head and tail fingerprints.

// cmode is what a compressed file not (yet) known to be done is read as,
// when no fingerprint says that its content was already read.
type cmode int

const (
	cNew        cmode = iota // appeared while running, or since a run that tracked compressed files: read whole
	cNewOrStart              // the state did not track compressed files: it may have been there all along, so StartAt
	cStart                   // at a first start or a reload: StartAt, no fingerprints
)

// cfile is one compressed file. Memory per file is a few words: fingerprints
// are kept as lengths and checksums only.
type cfile struct {
	path    string
	key     fileKey
	headLen int // of the decompressed head
	headCRC uint32
	position
	done bool

	committed     position
	committedDone bool

	mode    cmode
	rec     *state.File // record (from the state, or its own before a rename) to check first
	size    int64       // of the compressed file at the last look, for the quiet wait
	mtime   time.Time
	seen    uint64
	errMsg  string // last error logged, to log each once
	stirred bool   // just found: not quiet for a whole tick yet

	queued, waiting, detached, removed, touched, ended bool
}

func (c *cfile) fileID() File { return File{Path: c.path, Dev: c.key.dev, Ino: c.key.ino} }

func (c *cfile) record() state.File {
	p := c.committed
	return state.File{
		Path: c.path, Dev: c.key.dev, Ino: c.key.ino,
		Offset: p.offset, TailLen: p.tailLen, TailCRC: p.tailCRC, Skipping: p.skipping,
		Line: p.line, Declined: p.declined,
		HeadLen: c.headLen, HeadCRC: c.headCRC,
		Compressed: true, Done: c.committedDone,
	}
}

func (c *cfile) fingerprint() fingerprint {
	return fingerprint{headLen: c.headLen, headCRC: c.headCRC, position: c.committed, key: c.key, path: c.path}
}

func isCompressed(path string) bool { return input.IsCompressedName(path) }

// wantCompressed is the include decision for a compressed file at path.
func (l *loop) wantCompressed(path string) bool {
	if !l.cfg.Decompress || !isCompressed(path) {
		return false
	}
	if !l.rootFiles[path] && !l.inScopeDir(filepath.Dir(path)) {
		return false
	}
	return l.cfg.Filter == nil || l.cfg.Filter(path)
}

// discoverCompressed takes note of a compressed file at path. What is
// already known of it is trusted only after its head is checked, as no
// descriptor is held that would pin its inode.
func (l *loop) discoverCompressed(path string, fi fs.FileInfo, initial bool) {
	key := keyOf(fi)
	if c := l.cfiles[key]; c != nil {
		c.seen = l.gen
		if c.path == path && !c.detached {
			// A waiting file is checked by the tick, which sees any write
			// since the last one in its size or mtime.
			if !c.waiting && !c.done && l.follow && (fi.Size() != c.size || !fi.ModTime().Equal(c.mtime)) {
				l.waitCompressed(c) // failed before; it changed, so try again once quiet
			}
			return
		}
		if l.cByPath[c.path] == c {
			delete(l.cByPath, c.path)
		}
		if old := l.cByPath[path]; old != nil && old != c {
			l.detachCompressed(old)
		}
		if !c.waiting && c.rec == nil {
			rec := c.record()
			c.rec = &rec
		}
		c.path, c.detached = path, false
		l.cByPath[path] = c
		l.changed = true
		if !c.waiting {
			l.queueCompressed(c)
		}
		return
	}
	if old := l.cByPath[path]; old != nil {
		l.detachCompressed(old)
	}
	c := &cfile{path: path, key: key, size: fi.Size(), mtime: fi.ModTime(), seen: l.gen}
	l.cfiles[key] = c
	l.cByPath[path] = c
	switch {
	case initial && !l.reloading && l.saved != nil:
		if rec, ok := l.saved[key]; ok {
			delete(l.saved, key)
			c.rec = &rec
		}
		c.mode = cNew
		if !l.cTracked {
			c.mode = cNewOrStart
		}
	case initial:
		c.mode = cStart
	default:
		c.mode = cNew
	}
	if initial || !l.follow {
		l.queueCompressed(c) // RunOnce has no later tick to wait for
	} else {
		// gzip may still be writing it: read it once it has been quiet
		// for a tick, or its stream ends early and is a read error.
		l.waitCompressed(c)
	}
}

func (l *loop) queueCompressed(c *cfile) {
	if !c.queued && !c.removed {
		c.queued = true
		l.cqueue = append(l.cqueue, c)
	}
}

func (l *loop) waitCompressed(c *cfile) {
	if !c.waiting {
		c.waiting, c.stirred = true, true
		l.cwaiting = append(l.cwaiting, c)
	}
}

// checkCompressed detaches c when its name no longer leads to it.
func (l *loop) checkCompressed(c *cfile) {
	if c.detached {
		return
	}
	if fi, err := os.Lstat(c.path); err == nil && keyOf(fi) == c.key {
		return
	}
	l.detachCompressed(c)
}

// detachCompressed keeps c, by its key only, until the next tick, as a plain
// file without a descriptor is kept: a rename shows its new name in the same
// or the next batch of events, which finds it by its key and checks only its
// head instead of reading it again.
func (l *loop) detachCompressed(c *cfile) {
	if l.cByPath[c.path] == c {
		delete(l.cByPath, c.path)
	}
	if !c.detached {
		c.detached = true
		l.cdetached = append(l.cdetached, c)
	}
	l.changed = true
}

// forgetCompressed drops c; its fingerprint is retired so that a copy, or its
// reappearance under another name, is not read twice.
func (l *loop) forgetCompressed(c *cfile, retire bool) {
	if retire && c.committed.offset > 0 && c.headLen > 0 {
		l.retireFingerprint(c.fingerprint())
	}
	if l.cfiles[c.key] == c {
		delete(l.cfiles, c.key)
	}
	if l.cByPath[c.path] == c {
		delete(l.cByPath, c.path)
	}
	c.removed = true
	l.changed = true
}

// tickCompressed reads the compressed files that have been quiet since the
// last tick and forgets those whose name was not found again.
func (l *loop) tickCompressed() {
	// First those detached before this tick, so that one detached below
	// still gets until the next for its new name to show.
	for _, c := range l.cdetached {
		if c.detached && !c.removed {
			l.forgetCompressed(c, true)
		}
	}
	clear(l.cdetached)
	l.cdetached = l.cdetached[:0]

	kept := l.cwaiting[:0]
	for _, c := range l.cwaiting {
		if c.removed {
			continue
		}
		fi, err := os.Lstat(c.path)
		switch {
		case c.detached:
			// Wait for its new name, if it has one.
		case err != nil || keyOf(fi) != c.key:
			l.detachCompressed(c)
		case c.stirred || fi.Size() != c.size || !fi.ModTime().Equal(c.mtime):
			c.stirred, c.size, c.mtime = false, fi.Size(), fi.ModTime()
		default:
			c.waiting = false
			l.queueCompressed(c)
			continue
		}
		kept = append(kept, c)
	}
	clear(l.cwaiting[len(kept):])
	l.cwaiting = kept
}

// drainCompressed reads the queued compressed files, after the plain ones of
// the same batch, so that a rotation is compared with their latest offsets.
func (l *loop) drainCompressed() error {
	for i := 0; i < len(l.cqueue); i++ {
		c := l.cqueue[i]
		if l.full() {
			// The rest waits, queued, for the Pacer.
			l.paused = true
			l.cqueue = l.cqueue[:copy(l.cqueue, l.cqueue[i:])]
			return nil
		}
		c.queued = false
		if err := l.readCompressed(c); err != nil {
			clear(l.cqueue)
			l.cqueue = l.cqueue[:0]
			return err
		}
	}
	clear(l.cqueue)
	l.cqueue = l.cqueue[:0]
	return nil
}

func (l *loop) ctouch(c *cfile) {
	if !c.touched {
		c.touched = true
		l.ctouched = append(l.ctouched, c)
	}
}

// commitCompressed records that what was passed of compressed files has been
// flushed: only then may a file be saved as done.
// While a Holder holds content of one (records not yet acknowledged), its
// committed position stays where it was, and it is looked at again at the
// next commit: a stream cannot be resumed at an arbitrary offset cheaply,
// so a restart reads it again from there, repeating rather than losing.
func (l *loop) commitCompressed() {
	h, _ := l.f.consumer.(Holder)
	for _, c := range l.ctouched {
		if h != nil {
			if _, held := h.Held(c.fileID()); held {
				l.cheld = append(l.cheld, c)
				continue
			}
		}
		c.touched = false
		c.committed, c.committedDone = c.position, c.done
	}
	if len(l.ctouched) > 0 {
		l.changed = true
	}
}

// compressedRecords are the state records of the compressed files. One not
// yet read has nothing to save: the next start decides on it afresh.
func (l *loop) compressedRecords(files []state.File) []state.File {
	for _, c := range l.cfiles {
		switch {
		case c.rec != nil && !c.touched:
			rec := *c.rec
			rec.Path = c.path
			files = append(files, rec)
		case c.committedDone || c.committed.offset > 0:
			files = append(files, c.record())
		}
	}
	return files
}

// reloadCompressed drops the compressed files the new config no longer wants.
func (l *loop) reloadCompressed() {
	for _, c := range l.cfiles {
		if !c.detached && !l.wantCompressed(c.path) {
			l.forgetCompressed(c, false)
		}
	}
}

// errNoMagic is the read error of a file named as compressed that holds no
// gzip or zstd header, as one-shot reports it.
var errNoMagic = errors.New("not in gzip or zstd format")
