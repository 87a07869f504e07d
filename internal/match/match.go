// Package match selects log lines by rules of RE2 match and ignore patterns.
//
// Matching follows ripgrep's approach: rather than running a regexp on every
// line, Compile extracts from every match pattern a small set of literals of
// which each match must contain one, and Next searches a whole block of lines
// for those literals. Like ripgrep's memchr crate it anchors each literal on
// its two rarest bytes by a log-text byte frequency table and tests that pair
// at 32 positions per step with AVX2 ("packed pair", pair_amd64.s), folding
// ASCII case by ORing 0x20; several literals are tested in the same pass, so
// the first verified candidate is the earliest hit. Without AVX2 a portable
// search on bytes.IndexByte does the same. Only around a hit does it find
// the line boundaries and run the rules on that single line. When some
// pattern has no usable literal (`\d+`, `.*`, an empty pattern), or when the
// patterns yield more than maxLiterals literals, the prefilter is off and
// every line is checked: by the ASCII DFA of dfa.go where it can be built,
// by the regexp otherwise.
//
// Case-insensitive literals are only searched over their ASCII pieces other
// than k and s: under (?i) those fold to the Kelvin sign U+212A and the long s
// U+017F, and other non-ASCII letters fold to several encodings, so the
// prefilter splits literals there to never miss a true match.
//
// Lines are bytes; invalid UTF-8 and NUL bytes are matched as Go's regexp
// matches them (an invalid byte is U+FFFD to the regexp, so literals holding
// U+FFFD are never used for the prefilter).
//
// Options.Word and Options.Line are grep's -w and -x. They keep the
// prefilter, since a bounded match is still a match of the pattern and so
// holds one of its literals; a pure literal's hit is checked for word
// boundaries where it lies, and regexps run in wrappers (pattern.go).
// Word characters are Unicode's (word.go). Spans gives the match spans of
// a selected line for colour, -o and JSON; PatternWarnings and the
// compile errors explain grep syntax that RE2 reads otherwise (diag.go).
package match

import (
	"bytes"
	"fmt"
	"strings"
)

// maxLiterals bounds the number of prefilter literals; each literal costs a
// pass over the block, so beyond this checking every line is cheaper.
const maxLiterals = 16

// Rule is one named selection rule.
type Rule struct {
	Name       string
	Match      []string // any one matching selects the line; empty: every line is selected
	Ignore     []string // any one matching drops a selected line
	IgnoreCase bool     // (?i) for Match and Ignore
	Fixed      bool     // patterns are literal strings, not RE2
}

// Options are applied to every rule.
type Options struct {
	Ignore     []string // global ignore patterns (apply to every rule); same IgnoreCase/Fixed as given here
	IgnoreCase bool     // forces ignore_case on all rules
	Fixed      bool     // forces fixed on all rules

	// Word is grep's -w: a Match pattern selects a line only by a match
	// that has no word character (see word.go) just before it nor just
	// after it; the line's ends count as non-word. As in grep, any match
	// will do, not only the first: `-w foo` selects "foobar foo", and an
	// empty match counts, so `-w ''` selects the lines that are empty or
	// have two non-word characters in a row or a non-word character at an
	// end. (grep's search skips an empty match where a longer one starts,
	// so `grep -w '(-x)?'` leaves out "-xa"; rg and this select it.) It
	// applies to the Match patterns of every rule, not to Ignore
	// patterns: those are a filter after the search, like the second grep
	// in `grep -w foo | grep -v bar`, which drops "bar" anywhere.
	Word bool
	// Line is grep's -x: a Match pattern selects a line only by a match of
	// the whole line, so `-x ''` selects the empty lines. Like Word it
	// leaves Ignore patterns alone, and it takes precedence over Word, as
	// in grep.
	Line bool
}

// PatternError names the pattern that failed to compile and where it came from.
// Rule is -1 for a global ignore pattern.
type PatternError struct {
	Rule     int
	RuleName string
	Field    string // "match" or "ignore"
	Index    int
	Pattern  string
	Err      error
}

// Error formats the location, the pattern and the regexp error, for example
// `rules[0].match[1]: bad pattern "a(b": error parsing regexp: missing closing ): `+"`a(b`".
func (e *PatternError) Error() string {
	where := fmt.Sprintf("%s[%d]", e.Field, e.Index)
	if e.Rule >= 0 {
		where = fmt.Sprintf("rules[%d].%s[%d]", e.Rule, e.Field, e.Index)
		if e.RuleName != "" {
			where += fmt.Sprintf(" (rule %q)", e.RuleName)
		}
	}
	return fmt.Sprintf("%s: bad pattern %q: %v", where, e.Pattern, e.Err)
}

// Unwrap returns the regexp error.
func (e *PatternError) Unwrap() error { return e.Err }

type rule struct {
	name   string
	match  []pattern
	ignore []pattern
	// any decides on an ASCII line whether some match pattern selects it,
	// in one pass instead of one per pattern; built when every line is
	// checked (no prefilter) and there are several patterns.
	any *dfa
}

// Matcher selects lines by compiled rules. It is immutable after Compile and
// safe for concurrent use by many goroutines.
type Matcher struct {
	rules  []rule
	global []pattern
	// pre holds the prefilter literals; nil when every line must be checked.
	pre []literal
	// block, when there is no prefilter, one rule and nothing to ignore,
	// decides whole blocks in one pass of that rule's automaton.
	block *dfa
	// set holds the byte pairs of several literals, to find the earliest
	// of them in one pass; reach is the largest pair offset in it.
	set     []pairEntry
	reach   int
	setFold bool // some entry of set has an OR mask
	// teddy finds four or more literals in one pass instead (teddy.go).
	teddy *teddy
	// hit says what a literal hit tells when every pattern is a pure
	// literal of rule 0 and nothing is ignored: hitProves, that it
	// selects its line; hitWord or hitLine, that it does if it is bounded
	// as -w or -x require; hitNothing, that the line must be checked.
	hit uint8
}

const (
	hitNothing = iota
	hitProves
	hitWord
	hitLine
)

// Compile compiles the rules and options into a Matcher. An invalid pattern is
// reported as a *PatternError naming the rule, field and index.
func Compile(rules []Rule, opts Options) (*Matcher, error) {
	m := &Matcher{}
	var pres [][]literal
	prefilter := len(rules) > 0
	pure := true
	ignores := len(opts.Ignore) > 0
	b := boundNone
	switch {
	case opts.Line:
		b = boundLine
	case opts.Word:
		b = boundWord
	}
	for i, g := range opts.Ignore {
		p, _, err := compilePattern(g, opts.IgnoreCase, opts.Fixed, boundNone)
		if err != nil {
			return nil, &PatternError{Rule: -1, Field: "ignore", Index: i, Pattern: g, Err: err}
		}
		m.global = append(m.global, p)
	}
	for ri, r := range rules {
		fold := r.IgnoreCase || opts.IgnoreCase
		fixed := r.Fixed || opts.Fixed
		cr := rule{name: r.Name}
		for i, s := range r.Match {
			for _, part := range literalAlternation(s, fixed) {
				p, lits, err := compilePattern(part.text, fold, part.fixed, b)
				if err != nil {
					return nil, &PatternError{Rule: ri, RuleName: r.Name, Field: "match", Index: i, Pattern: s, Err: err}
				}
				p.text = s // JSON's pattern is what the user wrote
				cr.match = append(cr.match, p)
				if lits == nil {
					prefilter = false
				}
				pres = append(pres, lits)
				if p.lit == nil {
					pure = false
				}
			}
		}
		for i, s := range r.Ignore {
			p, _, err := compilePattern(s, fold, fixed, boundNone)
			if err != nil {
				return nil, &PatternError{Rule: ri, RuleName: r.Name, Field: "ignore", Index: i, Pattern: s, Err: err}
			}
			cr.ignore = append(cr.ignore, p)
			ignores = true
		}
		if len(r.Match) == 0 {
			prefilter = false
		}
		m.rules = append(m.rules, cr)
	}
	if prefilter {
		m.pre = mergeLiterals(pres)
		m.teddy = newTeddy(m.pre)
		if len(m.pre) > maxLiterals && m.teddy == nil {
			m.pre = nil
		}
		if len(m.pre) > 1 {
			for i := range m.pre {
				e := newPairEntry(&m.pre[i])
				m.set = append(m.set, e)
				m.reach = max(m.reach, e.o2)
				m.setFold = m.setFold || e.or1[0]|e.or2[0] != 0
			}
			if len(m.set) == 2 {
				// A repeated entry changes no result and lets two literals
				// use the three-entry search, which keeps all in registers.
				m.set = append(m.set, m.set[0])
			}
		}
	}
	if m.pre == nil {
		for i := range m.rules {
			m.rules[i].any = unionDFA(m.rules[i].match)
		}
		if len(m.rules) == 1 && !ignores {
			if r := &m.rules[0]; r.any != nil {
				m.block = r.any
			} else if len(r.match) == 1 {
				m.block = r.match[0].dfa
			}
		}
	}
	if m.pre != nil && pure && !ignores && len(m.rules) == 1 {
		m.hit = [...]uint8{boundNone: hitProves, boundWord: hitWord, boundLine: hitLine}[b]
	}
	return m, nil
}

// Select reports whether one line (without its '\n') is selected and by which
// rule; it is the reference semantics that Next accelerates.
func (m *Matcher) Select(line []byte) (rule int, ok bool) {
	rule = -1
	if len(m.rules) > 0 {
		rule = m.selectRule(line)
		if rule < 0 {
			return -1, false
		}
	}
	for i := range m.global {
		if m.global[i].match(line) {
			return -1, false
		}
	}
	return rule, true
}

// selectRule returns the first rule that matches and does not ignore line, or -1.
func (m *Matcher) selectRule(line []byte) int {
	for ri := range m.rules {
		r := &m.rules[ri]
		if !r.matches(line) {
			continue
		}
		ignored := false
		for i := range r.ignore {
			if r.ignore[i].match(line) {
				ignored = true
				break
			}
		}
		if !ignored {
			return ri
		}
	}
	return -1
}

// matches reports whether some match pattern of r selects line.
func (r *rule) matches(line []byte) bool {
	if len(r.match) == 0 {
		return true
	}
	if r.any != nil {
		if m, ok := r.any.match(line); ok {
			return m
		}
	}
	for i := range r.match {
		if r.match[i].match(line) {
			return true
		}
	}
	return false
}

// unionDFA builds one automaton for "some pattern matches", or nil.
func unionDFA(ps []pattern) *dfa {
	if len(ps) < 2 {
		return nil
	}
	var b strings.Builder
	for i := range ps {
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString("(?:" + ps[i].expr + ")")
	}
	return newDFA(b.String())
}

// Next returns the next selected line in block at or after byte index from.
// block holds whole lines: each ends in '\n' except possibly the last. start
// and end bound the line without its '\n' (a '\r' stays in); rule is the index
// of the selecting rule, -1 when there are no rules. from should be 0 or just
// past a '\n' (typically the previous end+1); otherwise the bytes from from to
// the next '\n' are treated as a line. Next does not allocate.
func (m *Matcher) Next(block []byte, from int) (start, end, rule int, ok bool) {
	if from < 0 {
		from = 0
	}
	if m.block != nil {
		for {
			start, end, undecided, ok := m.block.nextLine(block, from)
			if !ok || !undecided {
				return start, end, 0, ok
			}
			if r, ok := m.Select(block[start:end]); ok {
				return start, end, r, true
			}
			from = end + 1
		}
	}
	if m.pre == nil {
		for from < len(block) {
			end = len(block)
			if i := bytes.IndexByte(block[from:], '\n'); i >= 0 {
				end = from + i
			}
			if r, ok := m.Select(block[from:end]); ok {
				return from, end, r, true
			}
			from = end + 1
		}
		return 0, 0, -1, false
	}
	for from < len(block) {
		p, k := m.find(block, from)
		if p < 0 {
			break
		}
		start = from + lastNewline(block[from:p]) + 1
		end = len(block)
		if i := bytes.IndexByte(block[p:], '\n'); i >= 0 {
			end = p + i
		}
		if m.hit == hitProves || m.hit != hitNothing && m.proves(block[start:end], p-start, k) {
			return start, end, 0, true
		}
		if r, ok := m.Select(block[start:end]); ok {
			return start, end, r, true
		}
		from = end + 1
	}
	return 0, 0, -1, false
}

// proves reports whether the hit of prefilter literal k at p in line alone
// selects the line (see Matcher.hit). When it does not, the line may still
// be selected by a later occurrence, which Select looks for.
func (m *Matcher) proves(line []byte, p, k int) bool {
	switch m.hit {
	case hitWord:
		return bounded(line, p, p+len(m.pre[k].s))
	case hitLine:
		return p == 0 && len(m.pre[k].s) == len(line)
	}
	return false
}

// find returns the smallest position at or after from where a prefilter
// literal starts and the index of that literal in pre, or -1. Several
// literals are found in one pass by findSet;
// without SIMD each is searched in windows that double in size, so that a
// rare literal is not rescanned to the block's end on every call while a
// frequent one keeps hitting.
func (m *Matcher) find(block []byte, from int) (int, int) {
	if len(m.pre) == 1 {
		if i := m.pre[0].index(block[from:]); i >= 0 {
			return from + i, 0
		}
		return -1, 0
	}
	if m.teddy != nil {
		return m.findTeddy(block, from)
	}
	if haveSIMD {
		return m.findSet(block, from)
	}
	// The window starts small so that a literal hitting on every line does
	// not make each call rescan far ahead for the others.
	w := 512
	for lo := from; lo < len(block); lo += w {
		if w < 1<<30 && lo > from {
			w *= 2
		}
		hi := min(lo+w, len(block)) // candidate starts are in [lo, hi)
		best, bestK := -1, 0
		for i := range m.pre {
			l := &m.pre[i]
			e := min(hi+len(l.s)-1, len(block))
			if e-lo < len(l.s) {
				continue
			}
			if j := l.index(block[lo:e]); j >= 0 {
				best, bestK = lo+j, i
				hi = best // later literals only matter if they start earlier
			}
		}
		if best >= 0 {
			return best, bestK
		}
	}
	return -1, 0
}

// findSet is find for several literals with the vector pair search: one
// pass tests every literal's pair, so the first candidate that verifies is
// the earliest start.
func (m *Matcher) findSet(block []byte, from int) (int, int) {
	h := block[from:]
	n := len(h) - m.reach // starts at which every pair load fits in h
	p := 0
	for n-p >= 32 {
		i := indexPairSet(h[p:], n-p, m.set, m.setFold)
		if i < 0 {
			p = n
			break
		}
		p += i
		for k := range m.pre {
			l := &m.pre[k]
			if p+len(l.s) <= len(h) && l.equalAt(h[p:p+len(l.s)]) {
				return from + p, k
			}
		}
		p++
	}
	// Fewer than 32+reach bytes are left: search each literal there.
	best, bestK := -1, 0
	for k := range m.pre {
		if j := m.pre[k].index(h[p:]); j >= 0 && (best < 0 || j < best) {
			best, bestK = j, k
		}
	}
	if best < 0 {
		return -1, 0
	}
	return from + p + best, bestK
}

// RuleName returns the rule's name, or "" for an unnamed or out-of-range rule.
func (m *Matcher) RuleName(rule int) string {
	if rule < 0 || rule >= len(m.rules) {
		return ""
	}
	return m.rules[rule].name
}

// Pattern returns the rule's first Match pattern that matches line (under
// Word and Line, as they bound it), as the user gave it: the text before
// any quoting for Fixed, (?i) or -w/-x. It is "" if none matches; it is
// used in JSON output.
func (m *Matcher) Pattern(line []byte, rule int) string {
	if rule < 0 || rule >= len(m.rules) {
		return ""
	}
	r := &m.rules[rule]
	for i := range r.match {
		if r.match[i].match(line) {
			return r.match[i].text
		}
	}
	return ""
}
