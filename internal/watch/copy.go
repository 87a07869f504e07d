package watch

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"

	"github.com/logscan/logscan/internal/state"
)

// fingerprint is an identity of content already read: enough to recognise a
// copy of it and to know where the copy's unread part starts.
type fingerprint struct {
	head    []byte // raw head; nil when only headLen and headCRC are known
	headLen int
	headCRC uint32
	position
	age  int
	key  fileKey
	path string // where it was, for the name check of small compressed rotations
	// hold, when set, is what a copy of this content adopts: an
	// EpochHolder still held some of it at its truncation (epoch.go).
	hold *ackHold
}

func (l *loop) retire(t *tracked) { l.retireHeld(t, nil) }

// retireHeld retires t's content, which hold (if any) still holds.
func (l *loop) retireHeld(t *tracked, hold *ackHold) {
	if t.offset == 0 || len(t.head) == 0 {
		return
	}
	l.retireFingerprint(fingerprint{
		head:     bytes.Clone(t.head),
		headLen:  len(t.head),
		headCRC:  state.Checksum(t.head),
		position: t.position,
		key:      t.key,
		path:     t.path,
		hold:     hold,
	})
}

func (l *loop) retireFingerprint(fp fingerprint) {
	if len(l.retired) >= retireKeep {
		copy(l.retired, l.retired[1:])
		l.retired = l.retired[:len(l.retired)-1]
	}
	l.retired = append(l.retired, fp)
	if l.journal != nil && fp.offset >= headMax {
		// A copy of it found after a kill -9 must still be known as one.
		l.jretired = append(l.jretired, fp.record())
	}
}

// record is the state record of fp, for State.Retired.
func (fp *fingerprint) record() state.File {
	hl, hc := fp.headLen, fp.headCRC
	if fp.head != nil {
		hl, hc = len(fp.head), state.Checksum(fp.head)
	}
	return state.File{
		Path: fp.path, Dev: fp.key.dev, Ino: fp.key.ino,
		Offset: fp.offset, TailLen: fp.tailLen, TailCRC: fp.tailCRC, Skipping: fp.skipping,
		Line: fp.line, Declined: fp.declined, Marks: fp.marks.appendTo(nil, fp.offset),
		HeadLen: hl, HeadCRC: hc,
	}
}

// maxSavedRetired bounds the retired identities a save keeps: the newest,
// which are what a copy found just after a restart can be of.
const maxSavedRetired = 128

// retiredRecords are the newest retired identities a copy could be
// recognised by (at least 1 KiB read), for the state file.
func (l *loop) retiredRecords() []state.File {
	var out []state.File
	for i := len(l.retired) - 1; i >= 0 && len(out) < maxSavedRetired; i-- {
		if fp := &l.retired[i]; fp.offset >= headMax {
			if l.stillHeld(fp.hold) {
				// A copy found at the next start resumes where the
				// acknowledged lines end, not where reading stood.
				held := *fp
				held.position = fp.hold.pos
				out = append(out, held.record())
				continue
			}
			out = append(out, fp.record())
		}
	}
	slices.Reverse(out)
	return out
}

// copyVerdict is what tryCopy makes of a new file against one fingerprint.
type copyVerdict int

const (
	notCopy    copyVerdict = iota
	mayBecome              // a copy still being written? wait for it
	prefixCopy             // it ends before the offset, inside content read: nothing is new
	isCopy                 // a copy: it took the position, or became a shadow
)

// decideCopy is called before the first read of a file that appeared while
// running (or while logscan was down), or of new content under a followed
// file's inode (cp onto an existing app.log.1 truncates and refills it). If
// its head and the bytes before a known file's offset match that file, it
// is a copy (app.log.1 from copytruncate, or cp in the tree) and its bytes
// up to that offset are not read again. A copy of a file still followed
// becomes its shadow: it only moves along with the original until the
// original is truncated, and then supplies the bytes the original lost. A
// copy that ends before that offset, with every mark up to its end
// matching, is a prefix of content read: none of it is new (see marks.go).
// Content under 1 KiB is matched only when the names also say "rotation"
// (app.log.1 for app.log), so that small new files that merely look alike
// are never skipped. It reports true when the file may be
// a copy still being written, or is still empty.
func (l *loop) decideCopy(t *tracked, size int64) (wait bool) {
	if size == 0 {
		// Nothing to decide on yet, so nothing may be read: bytes written
		// since the fstat come with their own event and are decided then.
		return true
	}
	mightBe, prefix := false, false
	try := func(c fingerprint, o *tracked) bool {
		v := l.tryCopy(t, c, o, size)
		mightBe = mightBe || v == mayBecome
		// A file's own old content is no evidence for a prefix: a log
		// rewritten from its start repeats its first lines.
		prefix = prefix || v == prefixCopy && c.key != t.key
		return v == isCopy
	}
	found := false
	for _, o := range l.byKey {
		if o == t || o.stage == deciding || o.naming == forgotten || o.stage == shadowing {
			continue
		}
		if o.stage == verifying {
			if found = try(recordFingerprint(*o.resume), nil); found {
				break
			}
			continue
		}
		if found = try(fingerprint{head: o.head, position: o.position, key: o.key, path: o.path}, o); found {
			break
		}
	}
	for i := 0; !found && i < len(l.retired); i++ {
		found = try(l.retired[i], nil)
	}
	for _, rec := range l.saved {
		if found {
			break
		}
		found = try(recordFingerprint(rec), nil)
	}
	if found {
		l.copyFound(t, "new file is a copy of content already read; reading only what follows")
		return false
	}
	if (mightBe || prefix) && !t.noWait {
		if t.pendingSince.IsZero() || size < t.pendingSize {
			// First seen, or replaced since (it shrank): wait from now.
			t.pendingSince, t.pendingSize = l.now(), size
			return true
		}
		if l.now().Sub(t.pendingSince) < pendingAge {
			return true
		}
		// A prefix copy is done being written: one that grew meanwhile is
		// a log being written from its start, whatever it began with.
		prefix = prefix && size == t.pendingSize
	}
	if prefix {
		t.position = position{offset: size}
		t.placeNext(exactly) // fingerprints it there, inside a line passed if mid-line
		l.copyFound(t, "new file is a copy of content already read, ending before where that was read to; reading only what follows")
		return false
	}
	t.decided()
	return false
}

func (l *loop) copyFound(t *tracked, msg string) {
	t.decided()
	l.st.CopiesSkipped.Add(1)
	l.log.Info().Str("path", t.path).Int64("offset", t.offset).Msg(msg)
	l.touch(t)
}

// tryCopy says whether t, a new file of size bytes, is a copy of the content
// c fingerprints (o is the file followed that c is of, if any), or might
// become one as it is still being written, or is a prefix of it. A copy
// takes c's position, or becomes o's shadow.
func (l *loop) tryCopy(t *tracked, c fingerprint, o *tracked, size int64) copyVerdict {
	if c.offset < headMax && (c.key == t.key || !rotationName(t.path, c.path)) {
		// Under 1 KiB a shared head proves little (syslog and messages
		// start alike); the names must also say "rotation": copytruncate
		// of a small app.log makes app.log.1, which must not be read again.
		return notCopy
	}
	if c.head != nil {
		n := min(len(c.head), len(t.head))
		if n == 0 || !bytes.Equal(c.head[:n], t.head[:n]) {
			return notCopy
		}
		if len(t.head) < len(c.head) {
			return mayBecome // a copy whose first KiB is still being written?
		}
	} else if len(t.head) < c.headLen || state.Checksum(t.head[:c.headLen]) != c.headCRC {
		return notCopy
	}
	if size < c.offset {
		if o != nil && o.file != nil && l.sameRange(t, o, size) {
			// A copy of content already read, or still being copied.
			l.linkShadow(t, o)
			t.offset = size
			t.placeNext(exactly)
			return isCopy
		}
		if l.prefixOf(t, &c.position, size) {
			if o != nil && o.file != nil {
				// The original is still followed (its truncation not seen
				// yet, or a copy still being written): move along with it.
				l.linkShadow(t, o)
				t.offset = size
				t.placeNext(exactly)
				return isCopy
			}
			return prefixCopy
		}
		if c.head != nil {
			return mayBecome
		}
		return notCopy
	}
	n, err := pread(t.fd, l.buf[:c.tailLen], c.offset-int64(c.tailLen))
	if err != nil || n != c.tailLen || state.Checksum(l.buf[:n]) != c.tailCRC {
		return notCopy
	}
	t.position = c.position
	if o != nil {
		l.linkShadow(t, o)
	}
	l.adoptHold(t, c.hold)
	return isCopy
}

// rotationName reports whether path is named as a plain rotation of the
// file at orig, in its directory: app.log.1, app.log-20261201, app.log_old
// for app.log. It is stricter than relatedName (app-1.log is a file of its
// own), as only the names vouch for a small copy.
func rotationName(path, orig string) bool {
	if orig == "" || filepath.Dir(path) != filepath.Dir(orig) {
		return false
	}
	rest, ok := strings.CutPrefix(filepath.Base(path), filepath.Base(orig))
	return ok && rest != "" && strings.ContainsRune(".-_", rune(rest[0]))
}

// sameRange reports whether the last bytes (up to 1 KiB) before size are the
// same in t and in o.
func (l *loop) sameRange(t, o *tracked, size int64) bool {
	k := min(size, tailMax)
	a, b := l.buf[:k], l.buf[k:2*k]
	n, err := pread(t.fd, a, size-k)
	if err != nil || int64(n) != k {
		return false
	}
	m, err := pread(o.fd, b, size-k)
	return err == nil && int64(m) == k && bytes.Equal(a, b)
}

func (l *loop) linkShadow(t, o *tracked) {
	t.shadow(o)
	o.shadows = append(o.shadows, t)
}

// syncShadow moves a copy along with its live original: everything the
// original has been read to is not read again from the copy.
func (l *loop) syncShadow(t *tracked, size int64) {
	o := t.shadowOf
	target := min(size, o.offset)
	if target > t.offset {
		t.offset = target
		t.line = 0
		if target == o.offset {
			t.line = o.line
		}
		t.placeNext(exactly) // recomputes the tail fingerprint at the new offset
	}
}

// unlinkShadows turns the copies of o into ordinary files. After a
// truncation of o they continue from where o stood before it (pos), which
// recovers what copytruncate took away before it was read.
func (l *loop) unlinkShadows(o *tracked, pos *position) { l.unlinkShadowsHeld(o, pos, nil) }

// unlinkShadowsHeld is unlinkShadows where a shadow that takes over pos
// adopts hold, what an EpochHolder still holds of o's content.
func (l *loop) unlinkShadowsHeld(o *tracked, pos *position, hold *ackHold) {
	for _, s := range o.shadows {
		if s.naming == forgotten || s.shadowOf != o {
			continue
		}
		s.unshadow()
		if pos != nil && pos.offset > s.offset {
			s.position = *pos
			s.placeNext(clampEnd)
			l.touch(s) // committed with the flush of what o passed up to pos
		}
		l.adoptHold(s, hold)
		l.markDirty(s)
	}
	o.shadows = nil
}
