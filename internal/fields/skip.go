package fields

import "bytes"

// skip advances over the value at s.i without decoding it, checking only
// what is needed to find its end and reject a malformed line.
func (s *jsonScanner) skip(depth int) error {
	if s.i >= len(s.b) {
		return s.fail("expected a value")
	}
	switch s.b[s.i] {
	case '"':
		return s.skipString()
	case '{':
		return s.skipComposite('}', depth)
	case '[':
		return s.skipComposite(']', depth)
	case 't', 'f', 'n':
		return s.literal()
	}
	if !s.number() {
		return s.fail("invalid value")
	}
	return nil
}

// skipString finds the closing quote by its parity of backslashes, which
// is much faster than decoding escapes that nobody reads.
func (s *jsonScanner) skipString() error {
	i := s.i + 1
	for {
		q := bytes.IndexByte(s.b[i:], '"')
		if q < 0 {
			s.i = len(s.b)
			return s.fail("unterminated string")
		}
		i += q
		bs := 0
		for j := i - 1; j > s.i && s.b[j] == '\\'; j-- {
			bs++
		}
		i++
		if bs%2 == 0 {
			s.i = i
			return nil
		}
	}
}

// skipComposite skips an object (end '}') or array (end ']').
func (s *jsonScanner) skipComposite(end byte, depth int) error {
	if depth >= maxDepth {
		return s.fail("nesting too deep")
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == end {
		s.i++
		return nil
	}
	for {
		s.ws()
		if end == '}' {
			if s.i >= len(s.b) || s.b[s.i] != '"' {
				return s.fail("expected a key")
			}
			if err := s.skipString(); err != nil {
				return err
			}
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return s.fail("expected ':'")
			}
			s.i++
			s.ws()
		}
		if err := s.skip(depth + 1); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.fail("unterminated object or array")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case end:
			s.i++
			return nil
		default:
			return s.fail("expected ',' or a closing bracket")
		}
	}
}
