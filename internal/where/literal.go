package where

import (
	"regexp/syntax"
	"strings"
	"unicode"
)

// The prefilter literals are byte strings that every raw line whose record
// matches must contain, so a caller may skip parsing lines without them. A
// field's Value is the unescaped text, while the raw line holds it escaped
// (JSON, quoted logfmt, and JSON once more inside a Docker wrapper), so a
// literal may only contain bytes that no common encoder escapes: printable
// ASCII other than `"` and `\` (escaped by every encoder), `<`, `>` and `&`
// (Go's encoding/json), `/` (PHP) and `'` (some HTML-safe encoders).
// Non-ASCII may be written \uXXXX, and control characters always are.
//
// A run of such bytes inside the Value is written verbatim and contiguously,
// whatever happens to the bytes around it, so any safe run of a required
// piece of text is itself required. Letters written as \u0061 would defeat
// this; no encoder does that.
//
// The literals assume that keys and values come from the line's own text, as
// they do for JSON and logfmt. A parser that synthesizes fields (the CRI
// wrapper's stream and time) breaks KeyLiteral for those fields.

func safeByte(c byte) bool {
	return c >= 0x20 && c < 0x7f && !strings.ContainsRune(`"\<>&/'`, rune(c))
}

// longestSafe returns the longest run of safe bytes in s, nil if none.
func longestSafe(s string) []byte {
	best := ""
	for len(s) > 0 {
		i := 0
		for i < len(s) && safeByte(s[i]) {
			i++
		}
		if i > len(best) {
			best = s[:i]
		}
		for i < len(s) && !safeByte(s[i]) {
			i++
		}
		s = s[i:]
	}
	if best == "" {
		return nil
	}
	return []byte(best)
}

// Literal returns bytes that the raw line must contain for the expression to
// hold, for `=` with a value that is neither a number nor a time (the longest
// safe run of the value) and for `~` (a piece of text every match of the
// regexp contains). ok is false otherwise: a number or a time may be spelled
// in many ways (1.5, 1.50, 15e-1), and the negated and ordering operators
// need no particular value text.
func (e *Expr) Literal() (lit []byte, ok bool) {
	if e.lit == nil {
		return nil, false
	}
	return append([]byte(nil), e.lit...), true
}

// KeyLiteral returns bytes of the field name that the raw line must contain,
// nil if none. Since a missing field is false for every operator, it is
// required for every operator. It is the longest safe run of any dotted
// component, not only the last: `a.b` is the key "a.b" or the key "b" nested
// in the object "a", and either way each component is in the line. Keys are
// case-sensitive, and so is the literal.
func (e *Expr) KeyLiteral() []byte {
	var best []byte
	for _, part := range strings.Split(e.field, ".") {
		if l := longestSafe(part); len(l) > len(best) {
			best = l
		}
	}
	return best
}

// Literals returns, for each expression, its longest required literal
// (Literal or KeyLiteral), nil for one that has none. Each must appear in a
// raw line for all the expressions to hold; bytes.Contains is true for nil.
func Literals(exprs []*Expr) [][]byte {
	out := make([][]byte, len(exprs))
	for i, e := range exprs {
		best := e.KeyLiteral()
		if l, ok := e.Literal(); ok && len(l) > len(best) {
			best = l
		}
		out[i] = best
	}
	return out
}

// regexpLiteral returns the longest safe text every match of pattern
// contains, nil if it finds none. It works on the parsed, simplified regexp,
// where x{2,} is already xx+ and common prefixes of alternatives are factored
// out (foo|foobar is foo(?:|bar)).
func regexpLiteral(pattern string) []byte {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	info := analyze(re.Simplify())
	if info.exact {
		return longestSafe(info.text)
	}
	return info.best
}

// litInfo describes the text of a regexp's matches. If exact, every match is
// text. Otherwise every match starts with pre and ends with suf, and contains
// best, which is already reduced to safe bytes. pre and suf are kept whole
// because a concatenation joins them with its neighbours' text.
type litInfo struct {
	exact    bool
	text     string
	pre, suf string
	best     []byte
}

func exactInfo(s string) litInfo {
	return litInfo{exact: true, text: s, pre: s, suf: s, best: longestSafe(s)}
}

func analyze(re *syntax.Regexp) litInfo {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 && hasCaseVariants(re.Rune) {
			return litInfo{}
		}
		return exactInfo(string(re.Rune))
	case syntax.OpCharClass:
		if len(re.Rune) == 2 && re.Rune[0] == re.Rune[1] {
			return exactInfo(string(re.Rune[:1]))
		}
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return exactInfo("")
	case syntax.OpCapture:
		return analyze(re.Sub[0])
	case syntax.OpPlus:
		return atLeastOnce(analyze(re.Sub[0]))
	case syntax.OpRepeat:
		if re.Min == 1 && re.Max == 1 {
			return analyze(re.Sub[0])
		}
		if re.Min >= 1 {
			return atLeastOnce(analyze(re.Sub[0]))
		}
	case syntax.OpConcat:
		return concatInfo(re.Sub)
	}
	// Star, quest, alternation, any-char, no-match: nothing is required.
	return litInfo{}
}

// atLeastOnce is x+ for x described by s: one copy of x is there, but the
// whole is no longer exact.
func atLeastOnce(s litInfo) litInfo {
	return litInfo{pre: s.pre, suf: s.suf, best: s.best}
}

// concatInfo joins the exact pieces of a concatenation into runs, each
// bounded by the suffix and prefix of the inexact pieces around it.
func concatInfo(subs []*syntax.Regexp) litInfo {
	var out litInfo
	run := ""
	exact := true
	for _, sub := range subs {
		s := analyze(sub)
		if s.exact {
			run += s.text
			if exact {
				out.pre += s.text
			}
			continue
		}
		out.best = longer(out.best, longestSafe(run+s.pre))
		out.best = longer(out.best, s.best)
		if exact {
			out.pre += s.pre
			exact = false
		}
		run = s.suf
	}
	if exact {
		return exactInfo(run)
	}
	out.suf = run
	out.best = longer(out.best, longestSafe(run))
	return out
}

func longer(a, b []byte) []byte {
	if len(b) > len(a) {
		return b
	}
	return a
}

// hasCaseVariants reports whether (?i) makes any of rs match more than
// itself; (?i)404 still requires "404".
func hasCaseVariants(rs []rune) bool {
	for _, r := range rs {
		if unicode.SimpleFold(r) != r {
			return true
		}
	}
	return false
}
