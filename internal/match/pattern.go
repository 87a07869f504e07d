package match

import (
	"bytes"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// bound is how a match must sit in its line: anywhere, as a word (-w) or as
// the whole line (-x).
type bound uint8

const (
	boundNone bound = iota
	boundWord
	boundLine
)

// pattern is one compiled pattern; pure literal patterns skip the regexp.
//
// Go's regexp cannot start a search in the middle of a line and still see
// the character before the start, nor test what follows a match without
// consuming it, so -w is built from wrappers of the user's regexp: a
// non-word character (or the line's start) is consumed before the pattern
// and one (or the line's end) after it, with the pattern in group 1. RE2
// explores every way to match, so a line has a bounded match exactly when
// a wrapper matches; the wrappers are chosen below so that the common
// cases run the unwrapped regexp or an anchored one rather than an
// unanchored scan with a large character class at every position.
type pattern struct {
	text  string         // as the user gave it
	re    *regexp.Regexp // the pattern itself, (?i) included
	lit   *literal       // non-nil when the pattern is exactly this literal
	bound bound
	// ctx is set when re looks at the character before a position (^, \A,
	// \b, \B), so it gives other results on a slice that starts later.
	ctx bool

	// boundLine, unless lit: ^(?:p)$.
	whole *regexp.Regexp
	// boundWord, unless lit. When every match of re starts with the
	// literal prefix and re does not look behind, anch = ^(p)(?:\W|$) is
	// tried at each occurrence of the prefix that has no word character
	// before it. Otherwise first = (?:^|\W)(p)(?:\W|$) finds the leftmost
	// bounded match of a line (the leftmost start of the whole match is
	// that of p), and later = \W(p)(?:\W|$) one that starts after the
	// first rune of the slice it runs on, that rune being the one before
	// the search's start. \W stands for notWordClass.
	prefix []byte
	anch   *regexp.Regexp
	first  *regexp.Regexp
	later  *lazyRegexp
	// boundNone with ctx: (?s:.)(p) finds a match that starts after the
	// first rune, which is the one before the search's start.
	after *regexp.Regexp

	// expr is a regexp that matches a line exactly when the pattern
	// selects it under its bound, for a rule's union automaton.
	expr string
	// dfa decides that regexp on ASCII lines, when it can be built.
	dfa *dfa
}

// lazyRegexp is a regexp compiled on first use. later serves only spans
// after the first, which a search that prints no colour, -o or JSON never
// asks for, and each \W in it costs a fraction of a millisecond to parse.
// It cannot fail: first holds the same text and more.
type lazyRegexp struct {
	once sync.Once
	expr string
	re   *regexp.Regexp
}

func (l *lazyRegexp) get() *regexp.Regexp {
	l.once.Do(func() { l.re = regexp.MustCompile(l.expr) })
	return l.re
}

// compilePattern compiles one pattern and extracts its prefilter literals
// (nil when it has none). The literals are those of the pattern alone: any
// -w or -x match is a match of the pattern, so it holds one of them.
func compilePattern(s string, fold, fixed bool, b bound) (pattern, []literal, error) {
	expr := s
	if fixed {
		expr = regexp.QuoteMeta(s)
	}
	// Compile the user's text first so that error messages quote what the
	// user wrote, not our (?i) prefix.
	if _, err := regexp.Compile(expr); err != nil {
		return pattern{}, nil, explainError(err)
	}
	if fold {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return pattern{}, nil, err
	}
	p := pattern{text: s, re: re, bound: b}
	sre, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return pattern{}, nil, err
	}
	sre = sre.Simplify()
	lits := requiredLiterals(sre)
	if l, ok := pureLiteral(sre); ok {
		p.lit = &l
	}
	var out []literal
	for _, l := range lits {
		out = append(out, newLiteral(l.b, l.fold))
	}
	inner := closeQuote(expr)
	p.expr = boolExpr(inner, b)
	if p.lit == nil {
		p.ctx = looksBehind(sre)
		if err := p.compileWrappers(inner); err != nil {
			return pattern{}, nil, err
		}
		p.dfa = newDFA(p.expr)
	}
	return p, out, nil
}

// boolExpr is the regexp that matches a line exactly when inner has a match
// under bound b. compileWrappers compiles it as whole (-x) and first (-w),
// and the DFA and rule unions are built from it.
func boolExpr(inner string, b bound) string {
	switch b {
	case boundLine:
		return `^(?:` + inner + `)$`
	case boundWord:
		nw := notWordClass()
		return `(?:^|` + nw + `)(` + inner + `)(?:` + nw + `|$)`
	}
	return inner
}

// compileWrappers compiles the regexps that bound and spans need around
// inner, the pattern's regexp text with any \Q quote closed.
func (p *pattern) compileWrappers(inner string) error {
	var err error
	compile := func(expr string) *regexp.Regexp {
		re, e := regexp.Compile(expr)
		if e != nil && err == nil {
			// The pattern compiled alone, so this is a limit ("expression
			// too large"); the error names the pattern, not the wrapper.
			err = e
			if se, ok := e.(*syntax.Error); ok {
				err = &syntax.Error{Code: se.Code, Expr: p.text}
			}
		}
		return re
	}
	nw := notWordClass()
	switch p.bound {
	case boundLine:
		p.whole = compile(p.expr)
	case boundWord:
		// The prefix is searched for as bytes; the regexp reads an invalid
		// byte as U+FFFD, so a prefix holding U+FFFD could miss a match.
		if pre, _ := p.re.LiteralPrefix(); pre != "" && !p.ctx && !strings.ContainsRune(pre, utf8.RuneError) {
			p.prefix = []byte(pre)
			p.anch = compile(`^(` + inner + `)(?:` + nw + `|$)`)
		} else {
			p.first = compile(p.expr)
			p.later = &lazyRegexp{expr: nw + `(` + inner + `)(?:` + nw + `|$)`}
		}
	default:
		if p.ctx {
			p.after = compile(`(?s:.)(` + inner + `)`)
		}
	}
	return err
}

// looksBehind reports whether re has an assertion that depends on the text
// before the position it is tested at.
func looksBehind(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpBeginText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	}
	for _, sub := range re.Sub {
		if looksBehind(sub) {
			return true
		}
	}
	return false
}

// closeQuote appends \E to a regexp that ends inside a \Q quote, so that
// text can follow it: a quote runs to the first \E or to the end.
func closeQuote(expr string) string {
	for i := 0; i < len(expr); i++ {
		if expr[i] != '\\' || i+1 >= len(expr) {
			continue
		}
		if expr[i+1] != 'Q' {
			i++ // an escape: skip the escaped byte
			continue
		}
		j := strings.Index(expr[i+2:], `\E`)
		if j < 0 {
			return expr + `\E`
		}
		i += 2 + j + 1
	}
	return expr
}

// match reports whether line has a match that satisfies the bound. It does
// not allocate: it is the check that Next runs on every candidate line.
func (p *pattern) match(line []byte) bool {
	if p.dfa != nil {
		if m, ok := p.dfa.match(line); ok {
			return m
		}
	}
	switch p.bound {
	case boundLine:
		if p.lit != nil {
			return len(line) == len(p.lit.s) && p.lit.equalAt(line)
		}
		return p.whole.Match(line)
	case boundWord:
		if p.lit != nil {
			_, ok := p.wordLiteral(line, 0)
			return ok
		}
		if p.anch != nil {
			for k := 0; k <= len(line); k++ {
				i := bytes.Index(line[k:], p.prefix)
				if i < 0 {
					return false
				}
				k += i
				if !wordBefore(line, k) && p.anch.Match(line[k:]) {
					return true
				}
			}
			return false
		}
		// The plain regexp is the cheaper test, and rejects most
		// prefilter hits that do not match at all.
		return p.re.Match(line) && p.first.Match(line)
	}
	if p.lit != nil {
		return p.lit.index(line) >= 0
	}
	return p.re.Match(line)
}

// wordLiteral returns the start of the first bounded occurrence of the
// literal at or after k. Occurrences may overlap ("aa" in "aaa"), so each
// start is tried.
func (p *pattern) wordLiteral(line []byte, k int) (int, bool) {
	n := len(p.lit.s)
	for k+n <= len(line) {
		i := p.lit.index(line[k:])
		if i < 0 {
			break
		}
		k += i
		if bounded(line, k, k+n) {
			return k, true
		}
		k++
	}
	return 0, false
}

// findAt returns the leftmost match that starts at or after k, with the
// bound applied; for a span the whole line is context, so anchors and \b
// keep their meaning. Among the matches at that start it takes the one
// Go's regexp prefers (leftmost-first, as RE2 and ripgrep), where grep
// takes the longest. A -w or -x match is the pattern's match alone,
// without the characters around it. It may allocate.
func (p *pattern) findAt(line []byte, k int) (start, end int, ok bool) {
	switch p.bound {
	case boundLine:
		if k == 0 && p.match(line) {
			return 0, len(line), true
		}
		return 0, 0, false
	case boundWord:
		return p.findWord(line, k)
	}
	if p.lit != nil {
		if i := p.lit.index(line[k:]); i >= 0 {
			return k + i, k + i + len(p.lit.s), true
		}
		return 0, 0, false
	}
	if k == 0 || !p.ctx {
		loc := p.re.FindIndex(line[k:])
		if loc == nil {
			return 0, 0, false
		}
		return k + loc[0], k + loc[1], true
	}
	_, w := utf8.DecodeLastRune(line[:k])
	return group1(p.after.FindSubmatchIndex(line[k-w:]), k-w)
}

func (p *pattern) findWord(line []byte, k int) (start, end int, ok bool) {
	if p.lit != nil {
		s, ok := p.wordLiteral(line, k)
		return s, s + len(p.lit.s), ok
	}
	if p.anch != nil {
		for ; k <= len(line); k++ {
			i := bytes.Index(line[k:], p.prefix)
			if i < 0 {
				break
			}
			k += i
			if wordBefore(line, k) {
				continue
			}
			if loc := p.anch.FindSubmatchIndex(line[k:]); loc != nil {
				return group1(loc, k)
			}
		}
		return 0, 0, false
	}
	if k == 0 {
		return group1(p.first.FindSubmatchIndex(line), 0)
	}
	if k > len(line) {
		return 0, 0, false
	}
	_, w := utf8.DecodeLastRune(line[:k])
	return group1(p.later.get().FindSubmatchIndex(line[k-w:]), k-w)
}

// group1 returns group 1 of a submatch index, shifted by off.
func group1(loc []int, off int) (start, end int, ok bool) {
	if loc == nil {
		return 0, 0, false
	}
	return off + loc[2], off + loc[3], true
}

// part is one piece of a user's pattern, compiled as a pattern of its own.
type part struct {
	text  string
	fixed bool
}

// literalAlternation splits a pattern that is an alternation of plain
// literals (ERROR|FATAL|panic) into those literals, each a pure-literal
// pattern: a hit on one then selects its line without running the regexp,
// as repeated -e patterns do, where the alternation as one regexp would be
// confirmed by RE2 on every candidate line (five to six times slower). The
// selection is the same: a line holds a match of the alternation exactly
// when it holds one of the literals. Anything else stays one pattern.
func literalAlternation(s string, fixed bool) []part {
	whole := []part{{s, fixed}}
	if fixed || !strings.Contains(s, "|") {
		return whole
	}
	// The parser factors common prefixes out of an alternation (u0020|u0040
	// becomes u0(?:020|040)), after which it is no longer a list of
	// literals; read the plain form from the text first.
	if pieces := strings.Split(s, "|"); !slices.ContainsFunc(pieces, func(x string) bool {
		return x == "" || regexp.QuoteMeta(x) != x
	}) {
		parts := make([]part, len(pieces))
		for i, x := range pieces {
			parts[i] = part{x, true}
		}
		return parts
	}
	re, err := syntax.Parse(s, syntax.Perl)
	if err != nil {
		return whole // compilePattern reports it
	}
	re = re.Simplify()
	if re.Op != syntax.OpAlternate {
		return whole
	}
	parts := make([]part, 0, len(re.Sub))
	for _, sub := range re.Sub {
		if sub.Op != syntax.OpLiteral || sub.Flags&syntax.FoldCase != 0 {
			return whole
		}
		parts = append(parts, part{string(sub.Rune), true})
	}
	return parts
}
