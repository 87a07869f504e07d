package fields

import "bytes"

// CRI is one line of the Kubernetes container runtime log format
// (/var/log/pods/...): "<RFC 3339 time> <stdout|stderr> <F|P>[:tags] <msg>".
// Its slices point into the parsed line.
type CRI struct {
	Time    []byte
	Stream  []byte
	Partial bool // tag P: the runtime split a long line, more parts follow
	Msg     []byte
}

// ParseCRI splits a CRI log line (without its newline; one trailing '\n'
// is dropped). It allocates only for a malformed line, whose
// *SyntaxError says which part is wrong.
func ParseCRI(line []byte) (CRI, error) {
	var c CRI
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 || !isRFC3339(line[:sp]) {
		return c, criError(0, "time is not RFC 3339")
	}
	c.Time = line[:sp]
	rest := line[sp+1:]
	switch {
	case bytes.HasPrefix(rest, []byte("stdout ")), bytes.HasPrefix(rest, []byte("stderr ")):
		c.Stream = rest[:6]
		rest = rest[7:]
	default:
		return c, criError(sp+1, "stream is not stdout or stderr")
	}
	tagAt := len(line) - len(rest)
	tags := rest
	if sp := bytes.IndexByte(rest, ' '); sp >= 0 {
		tags, c.Msg = rest[:sp], rest[sp+1:]
	} else {
		// The runtime writes "F " before an empty message, but a line
		// whose trailing space was trimmed is still well formed.
		c.Msg = rest[len(rest):]
	}
	tag := tags
	if colon := bytes.IndexByte(tags, ':'); colon >= 0 {
		tag = tags[:colon]
	}
	switch string(tag) {
	case "F":
	case "P":
		c.Partial = true
	default:
		return c, criError(tagAt, "tag is not F or P")
	}
	return c, nil
}

func criError(off int, msg string) error {
	return &SyntaxError{Format: "cri", Offset: off, Msg: msg}
}

// Docker is one line of Docker's json-file log driver
// (/var/lib/docker/containers/*/*-json.log):
//
//	{"log":"text\n","stream":"stdout","time":"2026-01-02T03:04:05.123456789Z"}
type Docker struct {
	Log     []byte // without its final "\n"
	Stream  []byte
	Time    []byte
	Partial bool // Log had no final "\n": Docker split a line longer than 16 KiB
}

// ParseDocker decodes a json-file line. Log is unescaped into r's arena
// when it has escapes (nearly always, for its "\n"); r gets no Fields, and
// the caller resets r per line as it would for ParseJSON. Other keys, such
// as "attrs", are skipped. A line that is not a JSON object, or has no
// "log" string, returns a *SyntaxError.
func ParseDocker(line []byte, r *Record) (Docker, error) {
	var d Docker
	s := jsonScanner{b: line, r: r}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return d, dockerError(s.i, "not a JSON object")
	}
	hasLog := false
	err := s.members(func(key []byte) error {
		var dst *[]byte
		switch string(key) {
		case "log":
			dst, hasLog = &d.Log, true
		case "stream":
			dst = &d.Stream
		case "time":
			dst = &d.Time
		default:
			return s.skip(0)
		}
		if s.b[s.i] != '"' {
			return s.fail("expected a string")
		}
		v, err := s.str()
		*dst = v
		return err
	})
	if err != nil {
		return d, err
	}
	if !hasLog {
		return d, dockerError(0, `no "log" key`)
	}
	if n := len(d.Log); n > 0 && d.Log[n-1] == '\n' {
		d.Log = d.Log[:n-1]
	} else {
		d.Partial = true
	}
	return d, nil
}

func dockerError(off int, msg string) error {
	return &SyntaxError{Format: "docker", Offset: off, Msg: msg}
}

// members walks the top-level object at s.i, calling value with s.i at
// each member's value; value must advance past it.
func (s *jsonScanner) members(value func(key []byte) error) error {
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.fail("expected a key")
		}
		key, err := s.str()
		if err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.fail("expected ':'")
		}
		s.i++
		s.ws()
		if s.i >= len(s.b) {
			return s.fail("expected a value")
		}
		if err := value(key); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.fail("unterminated object")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			s.ws()
			if s.i != len(s.b) {
				return s.fail("data after the object")
			}
			return nil
		default:
			return s.fail("expected ',' or '}'")
		}
	}
}
