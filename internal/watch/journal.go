package watch

import (
	"math/rand/v2"

	"github.com/logscan/logscan/internal/state"
)

// A save (state.Save: temporary file, fsync, rename) costs milliseconds, so
// it is done once per save interval; a kill -9 between two saves used to
// repeat everything flushed since the last one (1,700 to 9,900 lines per
// kill at 10k lines/s). So in follow mode every flush also appends a small
// record per file it moved to the state file's journal, without fsync: a
// killed process leaves its writes in the page cache, so a restart repeats
// at most the last flush, whose output was written but not yet journaled.
// Each save starts the journal afresh under the save's new generation;
// state.Load replays only a journal of the generation it loaded.

// newGeneration names a save: random, so that a journal is never taken for
// one of another history of the state file (a state restored from a backup,
// another logscan's). It stays below 2^53, which JSON readers keep exactly.
func newGeneration() uint64 { return 1 + rand.Uint64N(1<<53-1) }

// journalCommit appends the records of the files this flush committed,
// after the Consumer's aggregates delta if it has one.
func (l *loop) journalCommit() {
	delta := l.aggregatesDelta()
	if l.journal == nil || len(l.touched) == 0 && len(l.ctouched) == 0 && len(l.jretired) == 0 && delta == nil {
		return
	}
	recs := l.jrecs[:0]
	for _, t := range l.touched {
		if t.naming == forgotten {
			continue // forgotten: the next save has no record of it either
		}
		recs = growRecs(recs)
		if !l.recordOf(t, &recs[len(recs)-1]) {
			recs = recs[:len(recs)-1]
		}
	}
	for _, c := range l.ctouched {
		if c.committedDone || c.committed.offset > 0 {
			recs = growRecs(recs)
			recs[len(recs)-1] = c.record()
		}
	}
	l.jrecs = recs
	if len(recs) == 0 && len(l.jretired) == 0 && delta == nil {
		return
	}
	err := l.journal.Append(recs, l.jretired, delta)
	clear(l.jretired)
	l.jretired = l.jretired[:0]
	if err != nil {
		// Appending after a failed write could leave records behind a torn
		// one, which the replay never reaches: stop until the next save
		// starts the journal again.
		l.journalError(err)
		_ = l.journal.Close() // it failed already; the next save reopens it
		l.journal = nil
	}
}

// aggregatesDelta is what the Consumer's aggregates changed since it was
// last asked, nil when nothing did or it has none. Its change is a change
// of the state, to be saved even if no offset moved.
func (l *loop) aggregatesDelta() []byte {
	cp, ok := l.f.consumer.(Checkpointer)
	if !ok {
		return nil
	}
	delta, err := cp.Checkpoint(false)
	if err != nil {
		l.aggregatesError(err)
		return nil
	}
	if delta != nil {
		l.changed = true
	}
	return delta
}

// journalAggregates journals a change of the Consumer's aggregates that
// came without a read (a tick's work), between flushes.
func (l *loop) journalAggregates() {
	if cp, ok := l.f.consumer.(Checkpointer); ok && cp.Dirty() {
		l.journalCommit()
	}
}

func (l *loop) aggregatesError(err error) {
	l.st.StateSaveErrors.Add(1)
	l.log.Error().Err(err).Msg("cannot checkpoint the metrics and alerts of rules; they are saved at the next save that succeeds")
}

// growRecs extends recs by one record, keeping the marks slice an earlier
// flush left in that place, so that a flush allocates nothing.
func growRecs(recs []state.File) []state.File {
	if len(recs) < cap(recs) {
		return recs[:len(recs)+1]
	}
	return append(recs, state.File{})
}

// resetJournal starts the journal afresh for the save just made, which
// holds everything journaled so far.
func (l *loop) resetJournal(gen uint64) {
	clear(l.jretired)
	l.jretired = l.jretired[:0]
	var err error
	if l.journal != nil {
		if err = l.journal.Reset(gen); err != nil {
			_ = l.journal.Close() // the reset error is the one to report
			l.journal = nil
		}
	} else {
		l.journal, err = state.CreateJournal(l.cfg.StateFile, gen)
	}
	if err != nil {
		l.journalError(err)
		return
	}
	if l.jerr != "" {
		l.log.Info().Str("state_file", l.cfg.StateFile).Msg("journal written again")
		l.jerr = ""
	}
}

func (l *loop) journalError(err error) {
	l.st.StateSaveErrors.Add(1)
	if msg := err.Error(); msg != l.jerr {
		l.jerr = msg
		l.log.Error().Err(err).Msg("cannot write the state journal; offsets are saved at each save interval only, so a kill -9 may repeat up to one interval of lines")
	}
}

func (l *loop) closeJournal() {
	if l.journal != nil {
		if err := l.journal.Close(); err != nil {
			l.log.Warn().Err(err).Msg("closing the state journal")
		}
		l.journal = nil
	}
}
