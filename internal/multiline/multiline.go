package multiline

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Defaults for the zero fields of [Config]; they are declared once here so
// the config layer and the docs quote the same numbers.
const (
	DefaultMaxLines  = 500
	DefaultMaxBytes  = 1 << 20
	DefaultIdleFlush = 2 * time.Second
)

// Config selects how lines are joined. The zero Config disables joining.
type Config struct {
	// Preset is "", "java", "python", "go" or "ruby". It cannot be combined
	// with Start or Continue.
	Preset string
	// Start is an RE2 regexp: a line matching it starts an event. If
	// Continue is empty, every other line continues the current event.
	Start string
	// Continue is an RE2 regexp: a line matching it (and not Start)
	// continues the current event; every other line starts one.
	Continue string
	// MaxLines caps the lines in one event; 0 means DefaultMaxLines.
	MaxLines int
	// MaxBytes caps the bytes of one event's text; 0 means DefaultMaxBytes.
	MaxBytes int
	// IdleFlush is how long after the last appended line a pending event is
	// flushed; 0 means DefaultIdleFlush, a negative value never flushes on
	// idle (one-shot reads of whole files).
	IdleFlush time.Duration
}

// Enabled reports whether c asks for joining at all; a caller skips the
// stage when it does not.
func (c Config) Enabled() bool {
	return c.Preset != "" || c.Start != "" || c.Continue != ""
}

// Error is a configuration error naming the key and value at fault, in the
// same shape as the config package's errors so it can be reported as is.
type Error struct {
	Key   string // "multiline.start", "multiline.preset", ...
	Value string
	Msg   string
	Err   error // the regexp error, if any
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s: %q", e.Key, e.Msg, e.Value)
}

func (e *Error) Unwrap() error { return e.Err }

// Reason says why an event was flushed.
type Reason uint8

// The reasons, in the order a reader of the metrics meets them: the normal
// ones first, then the limits, then the caller-driven ones.
const (
	NextStart Reason = iota // the next line started a new event
	Idle                    // no line was appended for IdleFlush
	MaxLines                // the event reached MaxLines lines
	MaxBytes                // the event reached MaxBytes bytes
	Rotate                  // the file was rotated or replaced
	Shutdown                // the process is stopping
	End                     // end of a file read once
)

var reasonNames = [...]string{"next_start", "idle", "max_lines", "max_bytes", "rotate", "shutdown", "end"}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// Event is one joined event. The Joiner reuses it: it and its Text are valid
// only until the next call on the Joiner.
type Event struct {
	Text      []byte // the lines joined with '\n', no trailing '\n'
	Offset    int64  // byte offset of the first line in its file
	EndOffset int64  // byte offset just past the last line, its '\n' included
	Line      int64  // number of the first line, 0 if unknown
	Lines     int    // number of lines joined
	// Truncated says a limit cut the event: its following lines went to the
	// next event (Reason MaxLines or MaxBytes), or Dropped bytes of an
	// over-long line were cut, or both.
	Truncated bool
	// Cont says the event continues the previous one, which a limit cut;
	// together with Truncated it lets an operator stitch a long trace back.
	Cont    bool
	Dropped int    // bytes cut from lines longer than what was left of MaxBytes
	Reason  Reason // why it was flushed
}

// Joiner joins lines into events for one file. It is not safe for
// concurrent use; a caller following several files keeps one per file,
// made cheaply with [Joiner.Clone].
type Joiner struct {
	maxLines int
	maxBytes int
	idle     time.Duration
	rules    classifier

	// buf holds the pending event; spare holds the last emitted one, whose
	// Text must survive until the next call. They swap on every emit, so
	// after warm-up neither grows and Add does not allocate.
	buf, spare []byte

	have    bool
	off     int64
	end     int64
	num     int64
	lines   int
	dropped int
	cont    bool // the pending event continues one cut by a limit
	cutNext bool // the last emit was a limit cut: the next event continues it
	last    time.Time

	ev Event
}

// New checks c and returns a Joiner for it. A bad regexp, an unknown preset
// or a bad limit is an *Error naming the key.
func New(c Config) (*Joiner, error) {
	rules, err := compile(c)
	if err != nil {
		return nil, err
	}
	j := &Joiner{rules: rules, maxLines: c.MaxLines, maxBytes: c.MaxBytes, idle: c.IdleFlush}
	if j.maxLines == 0 {
		j.maxLines = DefaultMaxLines
	}
	if j.maxBytes == 0 {
		j.maxBytes = DefaultMaxBytes
	}
	if j.idle == 0 {
		j.idle = DefaultIdleFlush
	}
	return j, nil
}

func compile(c Config) (classifier, error) {
	if c.MaxLines < 0 {
		return nil, &Error{Key: "multiline.max_lines", Value: strconv.Itoa(c.MaxLines), Msg: "must not be negative"}
	}
	if c.MaxBytes < 0 {
		return nil, &Error{Key: "multiline.max_bytes", Value: strconv.Itoa(c.MaxBytes), Msg: "must not be negative"}
	}
	if c.Preset != "" {
		if c.Start != "" || c.Continue != "" {
			return nil, &Error{Key: "multiline.preset", Value: c.Preset,
				Msg: "cannot be combined with multiline.start or multiline.continue"}
		}
		p, ok := presets[c.Preset]
		if !ok {
			return nil, &Error{Key: "multiline.preset", Value: c.Preset,
				Msg: "unknown preset (want java, python, go or ruby)"}
		}
		return p(), nil
	}
	var r custom
	var err error
	if r.start, err = compileRE("multiline.start", c.Start); err != nil {
		return nil, err
	}
	if r.next, err = compileRE("multiline.continue", c.Continue); err != nil {
		return nil, err
	}
	if r.start == nil && r.next == nil {
		// Nothing continues: every line is its own event, which is what a
		// caller that did not check Enabled gets instead of an error.
		r.next = neverRE
	}
	return &r, nil
}

var neverRE = regexp.MustCompile(`[^\x00-\x{10FFFF}]`)

func compileRE(key, expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, &Error{Key: key, Value: expr, Msg: "bad regexp", Err: err}
	}
	return re, nil
}

// Clone returns a new, empty Joiner with j's configuration. The compiled
// regexps are shared (they are safe for concurrent use) and no buffer is
// allocated until the first line, so one Joiner per followed file is cheap.
func (j *Joiner) Clone() *Joiner {
	return &Joiner{maxLines: j.maxLines, maxBytes: j.maxBytes, idle: j.idle, rules: j.rules.fresh()}
}

// Add takes one line, without its '\n', found at byte offset off, with next
// the offset just past it (its '\n' included), line number num (0 if
// unknown), arriving at time now. It returns the event that the line's
// arrival completed, if any; the line itself is kept as the start or a
// continuation of the pending event. The line's bytes are copied.
//
// A pending event idle for IdleFlush is flushed here too (Reason Idle), so a
// caller that does not poll Due still never joins lines across a long gap.
func (j *Joiner) Add(line []byte, off, next, num int64, now time.Time) (*Event, bool) {
	var ev *Event
	var ok bool
	if j.have && j.idle > 0 && now.Sub(j.last) >= j.idle {
		ev, ok = j.emit(Idle)
	}
	// Classify even with nothing pending: the presets' state machines must
	// see every line to know where the next one stands.
	cont := j.rules.cont(trimCR(line))
	if j.have {
		switch {
		case !cont:
			ev, ok = j.emit(NextStart)
		case j.lines >= j.maxLines:
			ev, ok = j.cut(MaxLines)
		case len(j.buf)+1+len(line) > j.maxBytes:
			ev, ok = j.cut(MaxBytes)
		}
	}
	j.appendLine(line, off, next, num)
	j.last = now
	return ev, ok
}

func (j *Joiner) appendLine(line []byte, off, next, num int64) {
	if !j.have {
		j.have, j.off, j.num = true, off, num
		j.lines, j.dropped = 0, 0
		j.cont, j.cutNext = j.cutNext, false
		j.buf = j.buf[:0]
	} else {
		j.buf = append(j.buf, '\n')
	}
	if room := j.maxBytes - len(j.buf); len(line) > room {
		j.dropped += len(line) - room
		line = line[:room]
	}
	j.buf = append(j.buf, line...)
	j.end = next
	j.lines++
}

// cut flushes the pending event because of a limit; the line that did not
// fit starts the next event, marked as continuing this one.
func (j *Joiner) cut(r Reason) (*Event, bool) {
	ev, ok := j.emit(r)
	ev.Truncated = true
	j.cutNext = true
	return ev, ok
}

func (j *Joiner) emit(r Reason) (*Event, bool) {
	j.ev = Event{
		Text:      j.buf,
		Offset:    j.off,
		EndOffset: j.end,
		Line:      j.num,
		Lines:     j.lines,
		Truncated: j.dropped > 0,
		Cont:      j.cont,
		Dropped:   j.dropped,
		Reason:    r,
	}
	j.buf, j.spare = j.spare[:0], j.buf
	if cap(j.buf) > keepCap {
		j.buf = nil // a rare huge trace must not pin its size in every file
	}
	j.have = false
	j.cutNext = false
	return &j.ev, true
}

// Flush emits the pending event, if any, with reason r. Any reason but Idle
// also forgets the presets' state (Rotate, Shutdown, End: the next line, if
// any, comes from a fresh file); after Idle the next line may still be the
// end of a slow traceback.
func (j *Joiner) Flush(r Reason) (*Event, bool) {
	var ev *Event
	var ok bool
	if j.have {
		ev, ok = j.emit(r)
	}
	if r != Idle {
		j.rules.reset()
		j.cutNext = false
	}
	return ev, ok
}

// Pending returns the offset and line number of the pending event's first
// line. A follower commits this offset rather than the read position, so a
// restart re-reads the whole event instead of emitting its tail alone.
func (j *Joiner) Pending() (off, line int64, ok bool) {
	return j.off, j.num, j.have
}

// Due reports whether the pending event has been idle for IdleFlush: idle
// counts from the last appended line, so a slow trace is not split while
// its lines keep coming.
func (j *Joiner) Due(now time.Time) bool {
	return j.have && j.idle > 0 && now.Sub(j.last) >= j.idle
}

// Deadline returns when the pending event becomes Due, for a caller's timer.
func (j *Joiner) Deadline() (time.Time, bool) {
	if !j.have || j.idle <= 0 {
		return time.Time{}, false
	}
	return j.last.Add(j.idle), true
}

// keepCap is the largest buffer a Joiner keeps once its event is out: a
// follower holds one Joiner per file, and thousands of files that each
// once had a 1 MiB trace must not keep 2 MiB each.
const keepCap = 64 << 10

// Trim lets go of the last emitted event's buffer if it is larger than
// keepCap; the caller is done with that event's Text.
func (j *Joiner) Trim() {
	if cap(j.spare) > keepCap {
		j.spare = nil
	}
}

// Reset drops the pending event without emitting it, for a file that was
// truncated under it: its bytes are gone, and its offsets no longer mean
// anything. The buffers are kept.
func (j *Joiner) Reset() {
	j.have = false
	j.cutNext = false
	j.buf = j.buf[:0]
	j.rules.reset()
}

// trimCR hides the '\r' of a CRLF line from the rules, so "$" and the
// presets' end-of-line checks work on Windows logs; the event keeps it.
func trimCR(l []byte) []byte {
	if n := len(l); n > 0 && l[n-1] == '\r' {
		return l[:n-1]
	}
	return l
}
