package watch

import (
	"os"
	"time"
)

func (l *loop) tickInterval() time.Duration {
	d := l.cfg.SaveInterval
	if l.cfg.PollInterval > 0 {
		d = min(d, l.cfg.PollInterval)
	} else if l.polled() > 0 {
		d = min(d, fallbackPoll)
	}
	return d
}

// ticksFor converts a duration into a number of maintenance ticks, at least 1.
func (l *loop) ticksFor(d time.Duration) int {
	if l.every <= 0 {
		return 1 // injected ticks: each one counts as "long enough"
	}
	return max(1, int(d/l.every))
}

func (l *loop) polled() int {
	n := 0
	for _, w := range l.dirs {
		if !w {
			n++
		}
	}
	return n
}

// tick does the periodic work: polling, draining rotated files until they
// are quiet, closing idle descriptors, retrying what failed, and saving.
func (l *loop) tick() {
	l.ticks++
	lag, deleted := l.tickFiles()
	l.st.LagBytes.Store(lag)
	l.st.DeletedOpenBytes.Store(deleted)

	kept := l.retired[:0]
	for _, r := range l.retired {
		r.age++
		if r.age <= l.ticksFor(retireAge) {
			kept = append(kept, r)
		}
	}
	clear(l.retired[len(kept):])
	l.retired = kept
	l.tickCompressed()

	for r := range l.missing {
		if _, err := os.Stat(r); err == nil {
			delete(l.missing, r)
			l.log.Info().Str("root", r).Msg("root appeared; following it")
			l.addRoot(r, false)
		}
	}
	poll := l.cfg.PollInterval
	if poll == 0 {
		poll = fallbackPoll
	}
	if l.ticks-l.lastPoll >= l.ticksFor(poll) && l.polled() > 0 {
		l.lastPoll = l.ticks
		l.rescan(false)
	}
	l.logWatchLimit()
	if l.ticker != nil {
		if d := l.tickInterval(); d != l.every {
			l.every = d
			l.ticker.Reset(d)
		}
	}
	l.journalAggregates()
	if l.cfg.StateFile != "" && l.changed && l.ticks-l.lastSave >= l.ticksFor(l.cfg.SaveInterval) {
		l.lastSave = l.ticks
		l.save()
	}
}

// tickFiles is the tick's work on each plain file: a rotated one is read
// until quiet, a held partial line read again to see whether its file is
// quiet, an idle descriptor closed, a detached file without one forgotten,
// a failed open or a pending copy decision retried. It returns the bytes
// not read yet and those of deleted files still open.
func (l *loop) tickFiles() (lag, deleted int64) {
	idle := l.ticksFor(l.cfg.IdleClose)
	for _, t := range l.byKey {
		switch {
		case t.file != nil && (t.draining() || t.gone):
			size, ok := l.fstatSize(t)
			if !ok {
				continue
			}
			if size == t.tickSize {
				t.finalize = true
			}
			t.tickSize = size
			l.markDirty(t)
		case t.held && t.naming != detached:
			// Its last line has no newline yet: the tick's read passes it
			// if the file has not grown since the previous tick, and with
			// the descriptor closed (after the initial walk) it reopens it.
			t.tickRead = true
			l.markDirty(t)
		case t.file != nil:
			t.idleTicks++
			if t.idleTicks >= idle && t.stage != deciding && !t.deferred {
				l.closeFile(t)
			}
		case t.naming == detached:
			if !l.foundRenamed(t) {
				l.forgetAcked(t)
			}
			continue
		case t.openFailed:
			l.markDirty(t)
		}
		if t.stage == deciding && !t.pendingSince.IsZero() {
			l.markDirty(t) // re-decide: copy or new
		}
		if t.size > t.offset {
			lag += t.size - t.offset
		}
		if t.gone && t.file != nil {
			deleted += t.size
		}
	}
	return lag, deleted
}
