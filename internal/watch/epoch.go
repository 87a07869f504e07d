package watch

// A file truncated while a Holder that ships elsewhere still holds lines of
// its old content (copytruncate while the collector is down) leaves those
// lines in the copy logrotate made, under another identity, while the
// original goes on with new content under its own. The Holder's holds are
// by identity, so at the truncation the Follower takes an Epoch: the
// original's holds are from then on those after it, and the copy that
// supplies the old content (the shadow that takes over, or the file that
// later matches the retired fingerprint) is held by the original's holds
// up to it. Its committed position starts where the acknowledged lines
// end, so a restart before the rest is acknowledged sends it again from
// the copy, instead of taking it as read.

// EpochHolder is a [Holder] whose holds can be asked for one epoch of a
// file's content: the OTLP exporter's. Epoch seals what was passed so far
// and returns the epoch; HeldIn is Held for the content passed in epochs
// (after, upto], upto 0 meaning up to now.
type EpochHolder interface {
	Holder
	Epoch() uint64
	HeldIn(f File, after, upto uint64) (off int64, ok bool)
}

// ackLink names the holds that apply to a copy: f's, in epochs (after, upto].
type ackLink struct {
	f           File
	after, upto uint64
}

// ackHold is what a copy of held content adopts: the position the holds
// begin at, and whose they are.
type ackHold struct {
	pos  position
	link ackLink
}

// heldOf asks the Holder where t's held content begins: its own, from its
// epoch on, and that of the file whose content it supplies, while that is
// held.
func (l *loop) heldOf(t *tracked) (int64, bool) {
	h, ok := l.f.consumer.(Holder)
	if !ok {
		return 0, false
	}
	eh, epochs := h.(EpochHolder)
	if !epochs {
		return h.Held(t.fileID())
	}
	off, held := eh.HeldIn(t.fileID(), t.ackAfter, 0)
	if a := t.ackAs; a != nil {
		if o, ok := eh.HeldIn(a.f, a.after, a.upto); ok {
			if !held || o < off {
				off, held = o, true
			}
		} else {
			t.ackAs = nil // acknowledged: the copy is on its own
		}
	}
	return off, held
}

// epochAt, called as t is found truncated and before its hold is dropped,
// closes the epoch of t's old content when an EpochHolder still holds some
// of it, and returns what a copy of that content must adopt.
func (l *loop) epochAt(t *tracked) *ackHold {
	eh, ok := l.f.consumer.(EpochHolder)
	if !ok || !l.unacked(t) {
		return nil // a pending event's hold ends with the content (Release)
	}
	hold := &ackHold{pos: l.committable(t), link: ackLink{f: t.fileID(), after: t.ackAfter}}
	hold.link.upto = eh.Epoch()
	t.ackAfter = hold.link.upto
	return hold
}

// adoptHold makes c, a copy that took over the content hold is of, held by
// it: committed no further than where it begins until it is acknowledged.
func (l *loop) adoptHold(c *tracked, hold *ackHold) {
	if hold == nil || hold.pos.offset > c.offset {
		return
	}
	link := hold.link
	c.ackAs = &link
	c.committed, c.hold, c.holding = hold.pos, hold.pos, heldAt
	if !c.inHeld {
		c.inHeld = true
		l.held = append(l.held, c)
	}
	l.touch(c)
}

// stillHeld reports whether hold's content is still held, for the retired
// records saved in the state file.
func (l *loop) stillHeld(hold *ackHold) bool {
	eh, ok := l.f.consumer.(EpochHolder)
	if !ok || hold == nil {
		return false
	}
	_, held := eh.HeldIn(hold.link.f, hold.link.after, hold.link.upto)
	return held
}
