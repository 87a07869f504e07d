package fields

// JSON parsing is a small hand-written scanner rather than a library.
// BenchmarkParseJSON on a 313-byte nginx-style line with 13 fields (two
// nested), each parser filling a Record with the same fields; medians of
// 3 runs on a loaded 2-core machine, go1.26, ns/op (allocs/op):
//
//	                        all fields     want 2 keys
//	this scanner            1690 (0)       1130 (0)
//	valyala/fastjson 1.6.10 2060 (0)       1370 (2)
//	tidwall/gjson 1.20.2    5140 (15)      1760 (5)
//
// (Unloaded, the scanner ran 1100 and 720 ns/op.) fastjson builds a tree
// that must then be walked again into the Record and cannot skip values;
// gjson re-scans per key, allocates its Results, and its values still have
// to be typed and copied. The scanner writes straight into the Record,
// points strings without escapes into the line, skips unwanted values
// without decoding them, stops once every wanted key is found, and costs
// no dependency.

import (
	"bytes"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// maxDepth matches encoding/json's nesting limit, so that every line it
// accepts is accepted here too.
const maxDepth = 10000

// SyntaxError is a line that is not what its parser expects.
type SyntaxError struct {
	Format string // "json", "logfmt", "cri", "docker"
	Offset int    // byte offset in the line where parsing stopped
	Msg    string
}

func (e *SyntaxError) Error() string {
	return e.Format + ": " + e.Msg + " at offset " + strconv.Itoa(e.Offset)
}

// ParseJSON adds the fields of the JSON object in line to r, in order.
// Nested objects are flattened to dotted keys and arrays kept as their JSON
// text (see [Field]); a string value that is an RFC 3339 timestamp has Kind
// Time. Invalid UTF-8 is passed through as it is.
//
// If want is not nil, only the fields whose flattened key is in want are
// added, the other values are skipped without being decoded, and parsing
// stops as soon as every key in want has been found, so the rest of the
// line is not validated; a repeated key keeps its first value (for the
// first 64 keys of want). With want nil every field is added, repeats included.
//
// r is not reset first. A line that is not one JSON object returns a
// *SyntaxError, and r keeps the fields added before the error.
func ParseJSON(line []byte, r *Record, want []string) error {
	s := jsonScanner{b: line, r: r, want: want}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		// A text line in a JSON file is the common failure: it must not
		// cost an allocation per line.
		return errNotObject
	}
	if len(want) > 0 && len(want) <= 64 {
		s.all = 1<<len(want) - 1
		if len(want) == 64 {
			s.all = ^uint64(0)
		}
	}
	if err := s.object(nil, false, 0); err != nil {
		if err == errDone {
			return nil
		}
		return err
	}
	s.ws()
	if s.i != len(s.b) {
		return s.fail("data after the object")
	}
	return nil
}

// errDone stops the scan once every wanted key has been found.
var errDone = &SyntaxError{Format: "json", Msg: "done"}

// errNotObject is returned for a line that does not start with '{'.
var errNotObject = &SyntaxError{Format: "json", Msg: "not a JSON object"}

type jsonScanner struct {
	b     []byte
	i     int
	r     *Record
	want  []string
	found uint64 // bit i: want[i] has been added
	all   uint64 // found's value once all of want is; 0 to never stop early
}

func (s *jsonScanner) fail(msg string) error {
	return &SyntaxError{Format: "json", Offset: s.i, Msg: msg}
}

func (s *jsonScanner) ws() {
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// object reads the object at s.i whose flattened key is prefix (top level
// when nested is false).
func (s *jsonScanner) object(prefix []byte, nested bool, depth int) error {
	if depth >= maxDepth {
		return s.fail("nesting too deep")
	}
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
		if err := s.member(prefix, nested, key, depth); err != nil {
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
			return nil
		default:
			return s.fail("expected ',' or '}'")
		}
	}
}

// member reads the value of key, deciding from want whether it is worth
// decoding before the flattened key is ever built.
func (s *jsonScanner) member(prefix []byte, nested bool, key []byte, depth int) error {
	if s.i >= len(s.b) {
		return s.fail("expected a value")
	}
	isObj := s.b[s.i] == '{'
	idx := -1
	if s.want != nil {
		if isObj {
			if !s.wanted(prefix, nested, key, true) {
				return s.skip(depth)
			}
		} else if idx = s.wantIndex(prefix, nested, key); idx < 0 || idx < 64 && s.found&(1<<idx) != 0 {
			return s.skip(depth)
		}
	}
	full := key
	if nested {
		full = s.r.Own(prefix, dot, key)
	}
	if isObj {
		return s.object(full, true, depth+1)
	}
	if err := s.value(full, depth); err != nil {
		return err
	}
	if idx >= 0 && idx < 64 {
		s.found |= 1 << idx
		if s.found == s.all {
			return errDone
		}
	}
	return nil
}

var dot = []byte{'.'}

// wantIndex is the index in want of prefix.key, or -1.
func (s *jsonScanner) wantIndex(prefix []byte, nested bool, key []byte) int {
	for i, w := range s.want {
		if matchKey(w, prefix, nested, key, false) {
			return i
		}
	}
	return -1
}

// wanted reports whether some wanted key lies inside the object prefix.key.
func (s *jsonScanner) wanted(prefix []byte, nested bool, key []byte, inside bool) bool {
	for _, w := range s.want {
		if matchKey(w, prefix, nested, key, inside) {
			return true
		}
	}
	return false
}

// matchKey compares w with prefix+"."+key piece by piece, so that skipped
// keys are never joined; inside asks whether w starts with that and a dot.
func matchKey(w string, prefix []byte, nested bool, key []byte, inside bool) bool {
	if nested {
		if len(w) <= len(prefix) || w[len(prefix)] != '.' || w[:len(prefix)] != string(prefix) {
			return false
		}
		w = w[len(prefix)+1:]
	}
	if inside {
		return len(w) > len(key) && w[len(key)] == '.' && w[:len(key)] == string(key)
	}
	return w == string(key)
}

// value adds the scalar or array at s.i as the field key.
func (s *jsonScanner) value(key []byte, depth int) error {
	switch c := s.b[s.i]; c {
	case '"':
		v, err := s.str()
		if err != nil {
			return err
		}
		kind := String
		if isRFC3339(v) {
			kind = Time
		}
		s.r.Add(key, v, kind, 0)
	case '[':
		start := s.i
		if err := s.skip(depth); err != nil {
			return err
		}
		s.r.Add(key, s.b[start:s.i], String, 0)
	case 't', 'f', 'n':
		start := s.i
		if err := s.literal(); err != nil {
			return err
		}
		kind := Bool
		if c == 'n' {
			kind = Null
		}
		s.r.Add(key, s.b[start:s.i], kind, 0)
	default:
		start := s.i
		if !s.number() {
			return s.fail("invalid value")
		}
		v := s.b[start:s.i]
		s.r.Add(key, v, Number, parseNum(v))
	}
	return nil
}

// parseNum parses a number that has already been checked against JSON's
// grammar. strconv does not keep its argument, so the bytes are lent to it
// as a string instead of copied; an out-of-range value is ±Inf.
func parseNum(v []byte) float64 {
	f, _ := strconv.ParseFloat(unsafe.String(unsafe.SliceData(v), len(v)), 64)
	return f
}

func (s *jsonScanner) literal() error {
	rest := s.b[s.i:]
	for _, lit := range [...]string{"true", "false", "null"} {
		if len(rest) >= len(lit) && string(rest[:len(lit)]) == lit {
			s.i += len(lit)
			return nil
		}
	}
	return s.fail("invalid literal")
}

// number advances over a JSON number, reporting whether there was one.
func (s *jsonScanner) number() bool {
	n := numberLen(s.b[s.i:])
	s.i += n
	return n > 0
}

// numberLen is the length of the JSON number that b starts with, or 0.
func numberLen(b []byte) int {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return 0
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return 0
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return 0
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i
}

// str reads the string at s.i. Without escapes it is a slice of the line;
// with them it is unescaped into the arena.
func (s *jsonScanner) str() ([]byte, error) {
	start := s.i + 1
	// Log strings are short: a plain loop beats two IndexByte calls.
	for j := start; j < len(s.b); j++ {
		switch s.b[j] {
		case '"':
			s.i = j + 1
			return s.b[start:j], nil
		case '\\':
			s.i = start
			return s.unescape()
		}
	}
	s.i = len(s.b)
	return nil, s.fail("unterminated string")
}

// unescape decodes the rest of the string at s.i, up to and past its
// closing quote, appending it to the arena.
func (s *jsonScanner) unescape() ([]byte, error) {
	r := s.r
	from := len(r.arena)
	for {
		n := bytes.IndexAny(s.b[s.i:], `"\`)
		if n < 0 {
			s.i = len(s.b)
			return nil, s.fail("unterminated string")
		}
		r.arena = append(r.arena, s.b[s.i:s.i+n]...)
		s.i += n
		if s.b[s.i] == '"' {
			s.i++
			return r.arena[from:len(r.arena):len(r.arena)], nil
		}
		n, ok := appendEscape(&r.arena, s.b[s.i:])
		if !ok {
			return nil, s.fail("invalid escape")
		}
		s.i += n
	}
}

// appendEscape decodes the escape that b starts with (b[0] is '\') onto
// *dst and returns its length. Lone surrogates become U+FFFD, as
// encoding/json decodes them.
func appendEscape(dst *[]byte, b []byte) (int, bool) {
	if len(b) < 2 {
		return 0, false
	}
	c := b[1]
	switch c {
	case '"', '\\', '/':
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'u':
		r, ok := hex4(b[2:])
		if !ok {
			return 0, false
		}
		n := 6
		if r >= 0xD800 && r < 0xDC00 {
			if lo, ok := lowSurrogate(b[6:]); ok {
				r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
				n = 12
			} else {
				r = utf8.RuneError
			}
		} else if r >= 0xDC00 && r < 0xE000 {
			r = utf8.RuneError
		}
		*dst = utf8.AppendRune(*dst, r)
		return n, true
	default:
		return 0, false
	}
	*dst = append(*dst, c)
	return 2, true
}

func lowSurrogate(b []byte) (rune, bool) {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return 0, false
	}
	r, ok := hex4(b[2:])
	return r, ok && r >= 0xDC00 && r < 0xE000
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
