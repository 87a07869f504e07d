package watch

// full reports whether the Consumer, a Pacer, takes no more lines now.
func (l *loop) full() bool { return l.pacer != nil && l.pacer.Full() }

// deferRead stops t's read where it stands, at a block boundary: it is read
// on from there when the Pacer wakes the loop (resume).
func (l *loop) deferRead(t *tracked) {
	l.paused = true
	if !t.deferred {
		t.deferred = true
		l.deferred = append(l.deferred, t)
	}
}

// resumeReads marks the files whose reads the Pacer stopped dirty again.
func (l *loop) resumeReads() {
	for _, t := range l.deferred {
		t.deferred = false
		if t.naming != forgotten {
			l.markDirty(t)
		}
	}
	clear(l.deferred)
	l.deferred = l.deferred[:0]
}

// waitRoom flushes what was passed, so that the Consumer can ship it, and
// waits until the Pacer takes lines again; false when the run is stopping.
// Only RunOnce and compressed files, which cannot stop mid-stream, wait
// here: a follower's loop goes on with its ticks (resume).
func (l *loop) waitRoom() bool {
	if l.emitted {
		if err := l.f.consumer.Flush(); err == nil {
			l.emitted = false
		}
	}
	for l.full() {
		select {
		case <-l.pacer.Wake():
		case <-l.ctx.Done():
			return false
		}
	}
	return true
}
