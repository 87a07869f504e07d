// Package where compiles and evaluates --where field filters such as
// `level=error`, `latency_ms > 900` or `msg ~ "timed? out"` against a parsed
// [fields.Record]. It touches nothing but its inputs: no files, no clock, no
// mutable globals.
//
// # Syntax
//
// An expression is `field OP value`, OP one of = != < <= > >= ~ !~, with
// optional whitespace around OP. A field name is letters, digits and
// `_ . - @ /`; `a.b` is the flattened key of a nested JSON field, so it is a
// plain key lookup. The value is the rest of the expression, trimmed. It may
// be double-quoted (escapes \" and \\; any other backslash is kept, so
// `"\d+ ms"` is the regexp \d+ ms) or single-quoted (no escapes), and must be
// quoted when it is empty, has leading or trailing spaces, or starts with a
// quote or one of = ! < > ~ (so that the typo `a == b` is an error rather
// than a comparison with "= b").
//
// # Semantics
//
// A missing field is false, for every operator: `level != debug` does not
// hold for a line without a level. != and !~ are otherwise the negations of
// = and ~.
//
// When the expression's value is a number, = and != compare numerically with
// a field that is numeric (Kind Number, or text that parses as a number), so
// `status=200` matches 200, "200" and 200.0, and `latency=1.50` matches 1.5;
// with a non-numeric field they compare text. Numbers are float64: integers
// beyond 2^53 may compare equal to their neighbours. When the value is an
// RFC 3339 time, = and != compare instants with a field whose text is one.
// Otherwise = and != compare the field's unescaped text byte for byte, which
// is also how Bool fields compare (with "true" and "false").
//
// < <= > >= compare as numbers when the value is a number, and as instants
// when it is a time; a field that is not of the same sort then does not
// match (`latency_ms > 900` is false for latency_ms=slow). A value that is
// neither compares the field's text lexicographically, bytewise, so
// `level >= warn` is a string comparison; that is allowed, not an error,
// because fixed-width codes and names order usefully as text.
//
// A Null field compares as its Value text, whatever its parser stores there.
//
// ~ and !~ match an RE2 regexp (Go's regexp syntax), unanchored, against the
// field's text.
//
// # Prefilter
//
// [Expr.Literal], [Expr.KeyLiteral] and [Literals] give bytes that a raw line
// must contain for the expression to hold, so a caller can skip parsing
// lines that lack them. They are conservative: never a byte string that an
// encoder might escape, and none for values that can be spelled in several
// ways (numbers, times).
package where

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type op uint8

const (
	opEq op = iota
	opNe
	opLt
	opLe
	opGt
	opGe
	opRe
	opNotRe
)

var opText = [...]string{"=", "!=", "<", "<=", ">", ">=", "~", "!~"}

func (o op) String() string { return opText[o] }

// Expr is one compiled filter. It is immutable, so one Expr may be shared by
// goroutines.
type Expr struct {
	field string
	op    op
	value string // unescaped
	valb  []byte // value, for bytes.Compare without a conversion per line

	isNum bool
	num   float64

	isTime bool
	t      instant

	re *regexp.Regexp

	lit []byte // see Literal; nil when there is none
}

// Error is a malformed expression. Pos is the byte offset in Expr where the
// problem was found.
type Error struct {
	Expr string
	Pos  int
	Msg  string
}

// Error names the expression but not the flag or config key it came from,
// which the caller knows and prefixes: `--where "a >> 9": unexpected '>' at 3`.
func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s at %d", strconv.Quote(e.Expr), e.Msg, e.Pos)
}

const opList = "one of = != < <= > >= ~ !~"

// Parse compiles expr. Its errors are of type *Error.
func Parse(expr string) (*Expr, error) {
	fail := func(pos int, format string, args ...any) error {
		return &Error{Expr: expr, Pos: pos, Msg: fmt.Sprintf(format, args...)}
	}
	i := skipSpace(expr, 0)
	if i == len(expr) {
		return nil, fail(i, "empty expression")
	}
	j := scanName(expr, i)
	if j == i {
		return nil, fail(i, "expected a field name, found %s", charAt(expr, i))
	}
	k := skipSpace(expr, j)
	if k == len(expr) {
		return nil, fail(k, "missing operator (%s)", opList)
	}
	o, n := scanOp(expr[k:])
	switch {
	case n == 0 && expr[k] == '!':
		return nil, fail(k, "'!' must be followed by = or ~")
	case n == 0 && k == j:
		return nil, fail(k, "unexpected %s in field name", charAt(expr, k))
	case n == 0:
		return nil, fail(k, "expected an operator (%s), found %s", opList, charAt(expr, k))
	}
	vpos := skipSpace(expr, k+n)
	value, err := parseValue(expr, vpos)
	if err != nil {
		return nil, err
	}
	e := &Expr{field: expr[i:j], op: o, value: value, valb: []byte(value)}
	if msg := e.compile(); msg != "" {
		return nil, fail(vpos, "%s", msg)
	}
	return e, nil
}

// compile derives everything Match and Literal need, so that they do no work
// per line that could be done once.
func (e *Expr) compile() string {
	switch e.op {
	case opRe, opNotRe:
		re, err := regexp.Compile(e.value)
		if err != nil {
			return regexpMsg(err)
		}
		e.re = re
		if e.op == opRe {
			e.lit = regexpLiteral(e.value)
		}
		return ""
	}
	e.num, e.isNum = parseNum(e.valb)
	if !e.isNum {
		e.t, e.isTime = parseTime(e.valb)
	}
	if e.op == opEq && !e.isNum && !e.isTime {
		e.lit = longestSafe(e.value)
	}
	return ""
}

func regexpMsg(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return fmt.Sprintf("bad regexp: %s: `%s`", se.Code, se.Expr)
	}
	return "bad regexp: " + err.Error()
}

// parseValue returns the value that starts at i, unquoted.
func parseValue(s string, i int) (string, error) {
	fail := func(pos int, format string, args ...any) error {
		return &Error{Expr: s, Pos: pos, Msg: fmt.Sprintf(format, args...)}
	}
	if i == len(s) {
		return "", fail(i, `missing value (write "" for the empty string)`)
	}
	var v string
	end := 0
	switch c := s[i]; c {
	case '"':
		var ok bool
		if v, end, ok = unquoteDouble(s, i); !ok {
			return "", fail(i, "unterminated double-quoted value")
		}
	case '\'':
		n := strings.IndexByte(s[i+1:], '\'')
		if n < 0 {
			return "", fail(i, "unterminated single-quoted value")
		}
		v, end = s[i+1:i+1+n], i+2+n
	case '=', '!', '<', '>', '~':
		return "", fail(i, "unexpected %s", charAt(s, i))
	default:
		return trimSpaceRight(s[i:]), nil
	}
	if rest := skipSpace(s, end); rest != len(s) {
		return "", fail(rest, "unexpected %s after the closing quote", charAt(s, rest))
	}
	return v, nil
}

// unquoteDouble reads the double-quoted string at s[i] and returns its
// content and the offset past the closing quote.
func unquoteDouble(s string, i int) (v string, end int, ok bool) {
	var b strings.Builder
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return b.String(), j + 1, true
		case c == '\\' && j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\'):
			j++
			b.WriteByte(s[j])
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, false
}

// scanOp returns the operator at the start of s and its length, 0 if none.
func scanOp(s string) (op, int) {
	two := func(o2 op, o1 op, ok1 bool) (op, int) {
		if len(s) > 1 && s[1] == '=' {
			return o2, 2
		}
		if ok1 {
			return o1, 1
		}
		return 0, 0
	}
	switch s[0] {
	case '=':
		return opEq, 1
	case '~':
		return opRe, 1
	case '<':
		return two(opLe, opLt, true)
	case '>':
		return two(opGe, opGt, true)
	case '!':
		if len(s) > 1 && s[1] == '~' {
			return opNotRe, 2
		}
		return two(opNe, 0, false)
	}
	return 0, 0
}

func scanName(s string, i int) int {
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !isNameRune(r) {
			break
		}
		i += n
	}
	return i
}

func isNameRune(r rune) bool {
	switch r {
	case '_', '.', '-', '@', '/':
		return true
	case utf8.RuneError:
		return false
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

func trimSpaceRight(s string) string {
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// charAt quotes the character at s[i] for a message; QuoteRune makes control
// characters and broken UTF-8 visible.
func charAt(s string, i int) string {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return strconv.QuoteRune(r)
}

// Field returns the field name the expression tests.
func (e *Expr) Field() string { return e.field }

// String returns the canonical form, `field OP value`, which Parse reads
// back to an equal Expr. The value is double-quoted only when it needs to be.
func (e *Expr) String() string {
	return e.field + " " + e.op.String() + " " + quoteValue(e.value)
}

func quoteValue(v string) string {
	if v != "" && !isSpace(v[0]) && !isSpace(v[len(v)-1]) && !strings.ContainsRune(`"'=!<>~`, rune(v[0])) {
		return v
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(v) + `"`
}
