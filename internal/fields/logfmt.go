package fields

import "bytes"

// ParseLogfmt adds the key=value pairs of line to r, in order, as written
// by go-logfmt, logrus's text formatter and Heroku:
//
//	time=2026-01-02T03:04:05Z level=info msg="user \"bob\" logged in" took=1.5 cached
//
// A key is any run of bytes above ' ' other than '=' and '"'. An unquoted
// value runs to the next space or control byte and is typed: a JSON number
// is Number, true and false are Bool, an RFC 3339 timestamp is Time, the
// rest String; key= is an empty String. A quoted value is unescaped
// (\" \\ \n \t \r \/ \b \f \uXXXX; any other backslash is kept as written)
// and is a String or, if it is a timestamp, Time: quotes say the writer
// meant text. A bare key is Bool "true", as Heroku's logfmt reads a flag.
//
// A line with no key=value pair, or with a '"' or '=' where a key should
// start, or an unterminated quote, returns a *SyntaxError; r keeps the
// fields added before it. r is not reset first.
func ParseLogfmt(line []byte, r *Record, want []string) error {
	_, err := parseLogfmt(line, r, want)
	return err
}

// parseLogfmt is ParseLogfmt that also counts the key=value pairs.
func parseLogfmt(line []byte, r *Record, want []string) (pairs int, err error) {
	i := 0
	for {
		for i < len(line) && line[i] <= ' ' {
			i++
		}
		if i >= len(line) {
			break
		}
		start := i
		for i < len(line) && line[i] > ' ' && line[i] != '=' && line[i] != '"' {
			i++
		}
		if i == start {
			return pairs, &SyntaxError{Format: "logfmt", Offset: i, Msg: "expected a key"}
		}
		key := line[start:i]
		if i >= len(line) || line[i] != '=' {
			if i < len(line) && line[i] == '"' {
				return pairs, &SyntaxError{Format: "logfmt", Offset: i, Msg: "unexpected '\"' in key"}
			}
			if wants(want, key) {
				r.Add(key, trueText, Bool, 0)
			}
			continue
		}
		pairs++
		i++
		if i < len(line) && line[i] == '"' {
			n, err := logfmtQuoted(line, i, r, key, wants(want, key))
			if err != nil {
				return pairs, err
			}
			i = n
			continue
		}
		start = i
		for i < len(line) && line[i] > ' ' {
			i++
		}
		if wants(want, key) {
			addTyped(r, key, line[start:i])
		}
	}
	if pairs == 0 {
		return 0, errNoPair // a text line, the common failure: no allocation
	}
	return pairs, nil
}

var trueText = []byte("true")

// errNoPair is returned for a line without a key=value pair.
var errNoPair = &SyntaxError{Format: "logfmt", Msg: "no key=value pair"}

func wants(want []string, key []byte) bool {
	if want == nil {
		return true
	}
	for _, w := range want {
		if w == string(key) {
			return true
		}
	}
	return false
}

// logfmtQuoted reads the quoted value at line[i] and returns the offset
// after it, adding it as key's field if add is set.
func logfmtQuoted(line []byte, i int, r *Record, key []byte, add bool) (int, error) {
	start := i + 1
	j := start
	esc := false
	for j < len(line) && line[j] != '"' {
		if line[j] == '\\' {
			esc = true
			j++
		}
		j++
	}
	if j >= len(line) {
		return 0, &SyntaxError{Format: "logfmt", Offset: i, Msg: "unterminated quote"}
	}
	if !add {
		return j + 1, nil
	}
	v := line[start:j]
	if esc {
		v = unescapeLogfmt(r, v)
	}
	kind := String
	if isRFC3339(v) {
		kind = Time
	}
	r.Add(key, v, kind, 0)
	return j + 1, nil
}

// unescapeLogfmt decodes v's escapes into r's arena. Unlike JSON an
// unknown escape is not an error: logfmt writers disagree on what they
// escape, and dropping the line would lose more than keeping a backslash.
func unescapeLogfmt(r *Record, v []byte) []byte {
	from := len(r.arena)
	for len(v) > 0 {
		n := bytes.IndexByte(v, '\\')
		if n < 0 {
			r.arena = append(r.arena, v...)
			break
		}
		r.arena = append(r.arena, v[:n]...)
		v = v[n:]
		if m, ok := appendEscape(&r.arena, v); ok {
			v = v[m:]
			continue
		}
		m := min(2, len(v))
		r.arena = append(r.arena, v[:m]...)
		v = v[m:]
	}
	return r.arena[from:len(r.arena):len(r.arena)]
}

// addTyped adds an unquoted value with the kind its text has.
func addTyped(r *Record, key, v []byte) {
	switch {
	case len(v) > 0 && numberLen(v) == len(v):
		r.Add(key, v, Number, parseNum(v))
	case string(v) == "true" || string(v) == "false":
		r.Add(key, v, Bool, 0)
	case isRFC3339(v):
		r.Add(key, v, Time, 0)
	default:
		r.Add(key, v, String, 0)
	}
}
