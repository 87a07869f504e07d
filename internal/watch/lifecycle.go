package watch

import (
	"time"

	"github.com/logscan/logscan/internal/state"
)

// A followed file's life has two sides that change independently: how its
// name leads to it (naming), and how its content is decided on before it is
// read (stage); a copy renamed while its copy decision waits is both moved
// and deciding. A third field says how the next read puts its offset in
// place. Each of the three changes only through the transitions below, one
// place each; tracked's booleans are facts of their own (queued, deleted,
// a partial line held, per-read flags).
//
//	naming:  attached ⇄ moved → detached → forgotten   (forgotten from any)
//	stage:   verifying → reading | deciding
//	         deciding  → reading | shadowing
//	         shadowing → reading
//	         reading   → verifying (rechecked) | deciding (new content)

// naming is how t's name leads to it.
type naming uint8

const (
	// attached: followed under its path.
	attached naming = iota
	// moved: its inode is now under another followed name (a rename within
	// the tree): read as usual, and its partial last line passed once it
	// has been quiet for a tick, as a rotated file's; then attached again.
	moved
	// detached: no name leads to it any more (rotated out of the tree,
	// deleted, or its name holds another file): drained through its
	// descriptor until quiet, then forgotten. Saved under its last name
	// until then, as a rename's other half may still come.
	detached
	// forgotten: dropped from every map, never read again; pointers left
	// in a queue or a shadow see it so and skip it.
	forgotten
)

// stage is how t's content is decided on.
type stage uint8

const (
	// reading: decided, read from its position.
	reading stage = iota
	// verifying: a record (resume: from the state file, or its own before
	// it was seen again without a descriptor) to check against its head
	// before its position is trusted.
	verifying
	// deciding: new content, which may be a copy of content already read
	// (decideCopy); pendingSince is set while a possible copy waits.
	deciding
	// shadowing: a copy of a live file (shadowOf) that moves along with it
	// and reads nothing of itself until the original is truncated or gone.
	shadowing
)

// placing is how the next read puts t's offset in place.
type placing uint8

const (
	placed   placing = iota // where it is
	atEnd                   // after the last newline before the offset (a start at the end)
	exactly                 // at the offset, everything before it passed: skip the rest of a line
	clampEnd                // a former copy: an offset past its end means all of it was read
)

// detach: no name leads to t any more.
func (t *tracked) detach() {
	if t.naming != forgotten {
		t.naming = detached
	}
}

// moveTo: t's inode is found under path, a name followed.
func (t *tracked) moveTo(path string) {
	t.path = path
	if t.naming != forgotten {
		t.naming = moved
	}
}

// settle: a moved file drained and quiet, or found to hold new content, is
// followed as any other.
func (t *tracked) settle() {
	if t.naming == moved {
		t.naming = attached
	}
}

// drop: t is forgotten.
func (t *tracked) drop() { t.naming = forgotten }

// verify: t's position comes from rec, once its head is checked.
func (t *tracked) verify(rec *state.File) {
	t.stage, t.resume = verifying, rec
}

// verified: the record was checked; a new file if it did not match (the
// inode was reused, or the record proves nothing), whose partial last line
// then waits like any new file's.
func (t *tracked) verified(ok bool) {
	t.resume = nil
	if ok {
		t.stage = reading
		return
	}
	t.stage = deciding
	t.settle()
}

// decide: t holds new content (appeared, or truncated and refilled), to
// be decided on before any of it is read.
func (t *tracked) decide() {
	t.stage, t.pendingSince = deciding, time.Time{}
}

// decided: the copy decision is made; a copy that became a shadow stays one.
func (t *tracked) decided() {
	if t.stage == deciding {
		t.stage = reading
	}
	t.pendingSince = time.Time{}
}

// shadow: t is a copy of o, which is still followed.
func (t *tracked) shadow(o *tracked) {
	t.stage, t.shadowOf = shadowing, o
}

// unshadow: t's original was truncated or is gone; t reads on from its own
// position.
func (t *tracked) unshadow() {
	if t.stage == shadowing {
		t.stage = reading
	}
	t.shadowOf = nil
}

// placeNext says how the next read puts t's offset in place.
func (t *tracked) placeNext(p placing) { t.next = p }

// draining reports whether t is read until quiet, its partial last line
// then passed: moved or detached (or deleted, which is t.gone).
func (t *tracked) draining() bool { return t.naming == moved || t.naming == detached }
