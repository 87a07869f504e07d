package fields

// DefaultMaxBytes bounds a joined message when Joiner.MaxBytes is 0.
const DefaultMaxBytes = 1 << 20

// Joiner reassembles a line that a container runtime split into partial
// parts (CRI's P tag, Docker's log without "\n"). Its zero value is ready;
// it keeps one buffer, reused from message to message.
//
// The time of a joined message is its first part's: that is when the line
// began to be written, and the order of lines by time is kept.
type Joiner struct {
	// MaxBytes bounds the buffered message; the rest of a longer one is
	// dropped and Truncated reports it. 0 means DefaultMaxBytes. A lone
	// full part is passed through uncut, since it costs no buffer.
	MaxBytes int

	buf       []byte
	time      []byte
	timeBuf   []byte
	pending   bool
	truncated bool
}

// Add takes the next part. While partial parts come it returns (nil,
// false). The full part that ends a message returns the whole message and
// true; the slice is valid until the next call. A full part with nothing
// pending is returned as it is, without a copy.
func (j *Joiner) Add(part []byte, partial bool) (msg []byte, complete bool) {
	if !j.pending {
		j.truncated = false
		if !partial {
			return part, true
		}
		j.buf = j.buf[:0]
		j.pending = true
	}
	j.append(part)
	if partial {
		return nil, false
	}
	j.pending = false
	return j.buf, true
}

func (j *Joiner) append(part []byte) {
	limit := j.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	if room := limit - len(j.buf); len(part) > room {
		part = part[:max(room, 0)]
		j.truncated = true
	}
	j.buf = append(j.buf, part...)
}

// AddCRI is Add for a CRI line, also keeping the first part's time for Time.
func (j *Joiner) AddCRI(c CRI) ([]byte, bool) { return j.addTimed(c.Msg, c.Partial, c.Time) }

// AddDocker is Add for a Docker line, also keeping the first part's time.
func (j *Joiner) AddDocker(d Docker) ([]byte, bool) { return j.addTimed(d.Log, d.Partial, d.Time) }

func (j *Joiner) addTimed(part []byte, partial bool, t []byte) ([]byte, bool) {
	switch {
	case !j.pending && !partial:
		j.time = t
	case !j.pending:
		// The line buffer t points into is reused before the message
		// completes, so the first part's time is copied.
		j.timeBuf = append(j.timeBuf[:0], t...)
		j.time = j.timeBuf
	}
	return j.Add(part, partial)
}

// Time is the time of the message last returned or pending: that of its
// first part, when it came through AddCRI or AddDocker.
func (j *Joiner) Time() []byte { return j.time }

// Truncated reports whether the message last returned (or pending) was
// cut at MaxBytes.
func (j *Joiner) Truncated() bool { return j.truncated }

// Pending reports whether partial parts are waiting for their full part.
func (j *Joiner) Pending() bool { return j.pending }

// Flush returns the pending parts as a message, for a file or stream that
// ends before the full part; nil if nothing is pending. The slice is valid
// until the next call.
func (j *Joiner) Flush() []byte {
	if !j.pending {
		return nil
	}
	j.pending = false
	return j.buf
}
