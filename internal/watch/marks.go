package watch

import "github.com/logscan/logscan/internal/state"

// A copy can end before the offset its original was read to: logrotate's
// copytruncate copies the file, the writer appends a few lines, logscan
// reads them, and only then is the original truncated. The position's tail
// fingerprint is then past the copy's end and proves nothing about it, so
// each position also keeps marks: earlier read boundaries of the same
// content, each with the CRC of the bytes before it. A copy whose head
// matches and that holds every mark up to its size is content already read.

// maxMarks bounds the marks kept per position (16 bytes each).
const maxMarks = 8

// mark is a read boundary: an offset and the CRC of the min(off, 1 KiB)
// bytes before it.
type mark struct {
	off int64
	crc uint32
}

// marks are read boundaries by increasing offset. When full, the one whose
// removal leaves the smallest gap for its distance from the newest is
// dropped, so they thin out geometrically with age: dense where copies are
// usually cut (the last few reads), and still reaching back to older ones.
type marks struct {
	n int
	m [maxMarks]mark
}

// add records a read boundary past the last one.
func (ms *marks) add(off int64, crc uint32) {
	if off <= 0 || ms.n > 0 && off <= ms.m[ms.n-1].off {
		return
	}
	if ms.n == maxMarks {
		ms.drop(off)
	}
	ms.m[ms.n] = mark{off, crc}
	ms.n++
}

// cut removes the marks past off, where a position moved back to (a former
// copy that ends before its original's offset).
func (ms *marks) cut(off int64) {
	for ms.n > 0 && ms.m[ms.n-1].off > off {
		ms.n--
	}
}

// drop removes the mark whose neighbours are closest together relative to
// how far back it lies from end, the offset about to be added.
func (ms *marks) drop(end int64) {
	best, bestScore := 0, 2.0
	for i := range ms.n {
		prev := int64(0)
		if i > 0 {
			prev = ms.m[i-1].off
		}
		next := end
		if i+1 < ms.n {
			next = ms.m[i+1].off
		}
		score := float64(next-prev) / float64(end-prev)
		if score < bestScore {
			best, bestScore = i, score
		}
	}
	copy(ms.m[best:ms.n], ms.m[best+1:ms.n])
	ms.n--
}

// appendTo appends the marks as they are saved to dst, those at or before
// off (the saved offset) only: state.Load refuses the whole file over one
// past it.
func (ms *marks) appendTo(dst []state.Mark, off int64) []state.Mark {
	for _, m := range ms.m[:ms.n] {
		if m.off <= off {
			dst = append(dst, state.Mark{Offset: m.off, CRC: m.crc})
		}
	}
	return dst
}

// marksOf loads saved marks, which state.Load has checked; more than
// maxMarks (a later version's) keeps the newest.
func marksOf(list []state.Mark) marks {
	var ms marks
	for _, m := range list[max(0, len(list)-maxMarks):] {
		ms.add(m.Offset, m.CRC)
	}
	return ms
}

// prefixOf reports whether t, of size bytes, whose head already matched
// that of the content p was read over, holds that content up to its size:
// the bytes before every mark of p within size match, and there is one.
// Nothing of t is then new.
func (l *loop) prefixOf(t *tracked, p *position, size int64) bool {
	found := false
	for _, m := range p.marks.m[:p.marks.n] {
		if m.off > size {
			break
		}
		tl := min(m.off, tailMax)
		n, err := pread(t.fd, l.buf[:tl], m.off-tl)
		if err != nil || int64(n) != tl || state.Checksum(l.buf[:n]) != m.crc {
			return false
		}
		found = true
	}
	return found
}
