package pipeline

import "github.com/logscan/logscan/internal/output"

// An event that spans a rotation is still one event. When a rename-rotated
// file ends mid-event (a trace half written when logrotate moved app.log
// to app.log.1) and the new app.log starts with the trace's continuation
// lines, the new file adopts the old file's pending event: its first lines
// go to the same joiner, and the whole event is printed once, under the
// file it began in. Until then the old file's checkpoint stays at the
// event's start and the new file's at its own start, so a restart reads
// both parts again.

// adoption is an event a file took over from the one it replaced.
type adoption struct {
	name, fileID string
	res          []output.Attr
	lender       *eventFile
	at           int64 // where the event began in the lender
}

// Adopt takes over the pending multiline event of from, the state of the
// file that had the current file's name before it (rotated away or
// deleted), if it has one. The current file must be new: nothing of it
// passed yet. It reports whether it did.
func (s *Scanner) Adopt(from *FileState) bool {
	ef, old := s.ef, from.ef
	if ef == nil || old == nil || ef.join == nil || old.join == nil || old.adopted != nil || s.started {
		return false
	}
	at, _, ok := old.join.Pending()
	if !ok {
		return false
	}
	ef.join, old.join = old.join, ef.join
	ef.wrap, old.wrap = old.wrap, wrapInfo{}
	ad := &adoption{name: from.name, fileID: from.fileID, lender: old, at: at}
	ad.res = append(ad.res, old.res...)
	ef.adopted, old.lent = ad, ef
	return true
}

// Name is the name the saved file was begun under.
func (st *FileState) Name() string { return st.name }

// lentHold is where a file's event that a successor adopted began, while
// the successor still holds it.
func lentHold(ef *eventFile) (int64, bool) {
	if ef.lent == nil || ef.lent.adopted == nil || ef.lent.adopted.lender != ef {
		return 0, false
	}
	return ef.lent.adopted.at, true
}

// asAdopted runs emit with the Scanner's file naming the adopted event's
// file, and ends the adoption: the event is out.
func (s *Scanner) asAdopted(emit func() bool) bool {
	ad := s.ef.adopted
	s.ef.adopted = nil
	name, id, res := s.name, s.fileID, s.ef.ev.Resource
	s.name, s.fileID, s.ef.ev.Resource = ad.name, ad.fileID, ad.res
	ok := emit()
	s.name, s.fileID, s.ef.ev.Resource = name, id, res
	return ok
}

// Truncated keeps the current file's pending multiline event across a
// truncation (copytruncate): the file's new content, from offset 0, may
// continue it, as a renamed file's successor may. The file then holds from
// its new start until the event is out. It reports false when nothing is
// pending, and the caller starts the file afresh.
func (s *Scanner) Truncated() bool {
	ef := s.ef
	if ef == nil || ef.join == nil || ef.adopted != nil {
		return false
	}
	at, _, ok := ef.join.Pending()
	if !ok {
		return false
	}
	ef.adopted = &adoption{name: s.name, fileID: s.fileID, at: at, res: append([]output.Attr(nil), ef.res...)}
	s.started = false // the new content's head is checked again
	return true
}

// DropEvents forgets the saved file's event stages' state, after a reload
// changed the stages; Restore then starts it afresh.
func (st *FileState) DropEvents() { st.ef = nil }
