package watch

import (
	"cmp"
	"slices"

	"github.com/logscan/logscan/internal/state"
)

// resume checks a state record against the file now under its inode: the
// head must still match. Otherwise the inode was reused and the file is new.
// A record of an empty file proves nothing, so its inode holds a new file
// too (read from the start, unless it is a copy of content already read).
func (l *loop) resume(t *tracked) {
	rec := t.resume
	if rec.HeadLen == 0 {
		t.verified(false)
		return
	}
	if rec.HeadLen > len(t.head) || state.Checksum(t.head[:rec.HeadLen]) != rec.HeadCRC {
		l.log.Info().Str("path", t.path).Msg("inode reused by another file; reading it from the start")
		l.retireFingerprint(recordFingerprint(*rec))
		// Its content is new under the saved identity (a copytruncate or
		// a delete and create while logscan was down): a Checkpointer's
		// count of the saved content must not hold it back.
		l.release(t, Truncated)
		t.verified(false) // a new file: its partial last line waits for its newline
		return
	}
	t.verified(true)
	t.position = recordPosition(*rec)
	t.committed = t.position
}

// recheck makes t, about to be read again under a new name without its
// descriptor having been kept, resume like a file from the state file: its
// position is trusted only if its head still matches (and, as before every
// read, the bytes before the offset).
func (l *loop) recheck(t *tracked) {
	if t.stage != reading || t.next == atEnd || t.next == exactly {
		return // its position is decided from the file's content anyway
	}
	rec := t.record()
	t.verify(&rec)
	t.position, t.committed = position{}, position{}
	t.head = t.head[:0]
}

// record is the state record of what has been flushed of t.
func (t *tracked) record() state.File {
	var rec state.File
	t.recordInto(&rec)
	return rec
}

// recordInto fills rec with the state record of what has been flushed of
// t, reusing rec's marks (the journal writes one per flush).
func (t *tracked) recordInto(rec *state.File) {
	c := t.committed
	*rec = state.File{
		Path: t.path, Dev: t.key.dev, Ino: t.key.ino,
		Offset: c.offset, TailLen: c.tailLen, TailCRC: c.tailCRC, Skipping: c.skipping,
		Line: c.line, Declined: c.declined, Marks: c.marks.appendTo(rec.Marks[:0], c.offset),
		HeadLen: len(t.head), HeadCRC: state.Checksum(t.head), Size: t.size,
	}
}

// countMissing counts, after the initial walk, the bytes that the state
// records of files not found again said were not yet done: their files were
// deleted while logscan was down, or before it had shipped them.
func (l *loop) countMissing() {
	for _, rec := range l.saved {
		if rec.Compressed || rec.Size <= rec.Offset {
			continue
		}
		n := rec.Size - rec.Offset
		l.st.LostMissing.Add(n)
		l.log.Warn().Str("path", rec.Path).Int64("offset", rec.Offset).Int64("size", rec.Size).Int64("lost_bytes", n).
			Msg("a file with content not yet done when logscan stopped is gone; those bytes are lost (logscan_lost_bytes_total{reason=\"missing_at_start\"})")
	}
}

// recordOf fills rec with what is saved of t, and reports false when
// nothing is: a file deleted, not read yet, or a copy, all decided afresh
// at the next start. A detached file is kept: it may only have been
// renamed, and its new name not seen yet, so the next start finds it by
// its key. A deleted one can never be found again.
func (l *loop) recordOf(t *tracked, rec *state.File) bool {
	switch {
	case t.gone || t.stage == deciding && t.committed.offset == 0:
		return false
	case t.stage == verifying:
		*rec = *t.resume
		rec.Path = t.path
		return true
	case t.next == atEnd || t.next == exactly || t.stage == shadowing:
		return false
	}
	t.recordInto(rec)
	return true
}

// recordPosition is the position a state record saved; a version 1 record
// has Line 0, which is "unknown".
func recordPosition(rec state.File) position {
	return position{offset: rec.Offset, tailLen: rec.TailLen, tailCRC: rec.TailCRC, skipping: rec.Skipping,
		line: rec.Line, declined: rec.Declined, marks: marksOf(rec.Marks)}
}

func recordFingerprint(rec state.File) fingerprint {
	return fingerprint{
		headLen:  rec.HeadLen,
		headCRC:  rec.HeadCRC,
		position: recordPosition(rec),
		key:      fileKey{rec.Dev, rec.Ino},
		path:     rec.Path,
	}
}

// loadState reads the state file; trouble with it is logged, and the safe
// fallback is to start every existing file at its end.
func (l *loop) loadState() {
	if l.cfg.StateFile == "" {
		return
	}
	st, err := state.Load(l.cfg.StateFile)
	switch {
	case err != nil:
		l.forceEnd = true
		l.log.Error().Err(err).Str("state_file", l.cfg.StateFile).
			Msg("cannot use the state file; starting existing files at their end (nothing is read twice, lines written while logscan was down are skipped); it will be overwritten")
		return
	case st == nil:
		l.log.Info().Str("state_file", l.cfg.StateFile).Msg("no state file yet; first start")
		return
	}
	switch r := st.Replayed; {
	case r.Records > 0 || r.Torn:
		l.log.Info().Str("state_file", l.cfg.StateFile).Int("records", r.Records).Bool("torn_tail_ignored", r.Torn).
			Msg("replayed the offsets journaled after the last save (the last run was killed, or did not save)")
	case r.Foreign:
		l.log.Debug().Str("state_file", l.cfg.StateFile).Msg("the journal continues another save of the state file; ignored")
	}
	if cp, ok := l.f.consumer.(Checkpointer); ok {
		parts := append([][]byte{st.Aggregates}, st.Deltas...)
		if err := cp.Restore(parts); err != nil {
			l.st.StateSaveErrors.Add(1)
			l.log.Error().Err(err).Str("state_file", l.cfg.StateFile).
				Msg("cannot restore the metrics and alerts of rules from the state file; they start from zero (the offsets are used)")
		}
	}
	l.haveState = true
	l.cTracked = st.Decompress
	l.saved = make(map[fileKey]state.File, len(st.Files))
	for _, f := range st.Files {
		l.saved[fileKey{f.Dev, f.Ino}] = f
	}
	for _, f := range st.Retired {
		l.retireFingerprint(recordFingerprint(f))
	}
}

// save writes the checkpointed offsets, under a new generation, and then
// starts the journal afresh for them; a failure is logged and counted and
// following goes on (the journal, if any, still continues the last save).
func (l *loop) save() {
	st := &state.State{Files: make([]state.File, 0, len(l.byKey)), Generation: newGeneration(), Retired: l.retiredRecords()}
	for _, t := range l.byKey {
		var rec state.File
		if l.recordOf(t, &rec) {
			st.Files = append(st.Files, rec)
		}
	}
	if l.cfg.Decompress {
		st.Decompress = true
		st.Files = l.compressedRecords(st.Files)
	}
	if cp, ok := l.f.consumer.(Checkpointer); ok {
		agg, err := cp.Checkpoint(true)
		if err != nil {
			l.aggregatesError(err)
			return
		}
		st.Aggregates = agg
	}
	slices.SortFunc(st.Files, func(a, b state.File) int { return cmp.Compare(a.Path, b.Path) })
	save := l.f.hooks.save
	if save == nil {
		save = state.Save
	}
	if err := save(l.cfg.StateFile, st); err != nil {
		l.st.StateSaveErrors.Add(1)
		if msg := err.Error(); msg != l.saveErr {
			l.saveErr = msg
			if l.follow {
				l.log.Error().Err(err).Msg("cannot save the state file; following continues, offsets are kept in memory and saving is retried")
			} else {
				l.log.Error().Err(err).Msg("cannot save the state file")
			}
		}
		return
	}
	if l.saveErr != "" {
		l.log.Info().Str("state_file", l.cfg.StateFile).Msg("state file saved again")
		l.saveErr = ""
	}
	l.changed = false
	if l.follow {
		l.resetJournal(st.Generation)
	}
}
