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
// every line is checked; Prefiltered reports which mode a Matcher is in.
//
// Case-insensitive literals are only searched over their ASCII pieces other
// than k and s: under (?i) those fold to the Kelvin sign U+212A and the long s
// U+017F, and other non-ASCII letters fold to several encodings, so the
// prefilter splits literals there to never miss a true match.
//
// Lines are bytes; invalid UTF-8 and NUL bytes are matched as Go's regexp
// matches them (an invalid byte is U+FFFD to the regexp, so literals holding
// U+FFFD are never used for the prefilter).
package match

import (
	"bytes"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
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
	Word       bool     // -w: every match pattern matches whole words only
	Line       bool     // -x: every match pattern matches whole lines only
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
	// Where, when set, replaces the computed location such as "rules[0].match[1]";
	// callers set it (after errors.As) to name a flag such as "--match".
	Where string
}

// Error formats the location, the pattern and the regexp error, for example
// `rules[0].match[1]: bad pattern "a(b": error parsing regexp: missing closing ): `+"`a(b`".
func (e *PatternError) Error() string {
	where := e.Where
	if where == "" {
		if e.Rule < 0 {
			where = fmt.Sprintf("%s[%d]", e.Field, e.Index)
		} else {
			where = fmt.Sprintf("rules[%d].%s[%d]", e.Rule, e.Field, e.Index)
			if e.RuleName != "" {
				where += fmt.Sprintf(" (rule %q)", e.RuleName)
			}
		}
	}
	return fmt.Sprintf("%s: bad pattern %q: %v", where, e.Pattern, e.Err)
}

// Unwrap returns the regexp error.
func (e *PatternError) Unwrap() error { return e.Err }

// pattern is one compiled pattern; pure literal patterns skip the regexp.
type pattern struct {
	text string
	re   *regexp.Regexp
	lit  *literal // non-nil when the pattern is exactly this literal
}

func (p *pattern) match(line []byte) bool {
	if p.lit != nil {
		return p.lit.index(line) >= 0
	}
	return p.re.Match(line)
}

type rule struct {
	name   string
	match  []pattern
	ignore []pattern
}

// Matcher selects lines by compiled rules. It is immutable after Compile and
// safe for concurrent use by many goroutines.
type Matcher struct {
	rules  []rule
	global []pattern
	all    bool
	// pre holds the prefilter literals; nil when every line must be checked.
	pre []literal
	// set holds the byte pairs of several literals, to find the earliest
	// of them in one pass; reach is the largest pair offset in it.
	set     []pairEntry
	reach   int
	setFold bool // some entry of set has an OR mask
	// hitProves is set when a literal hit alone selects its line by rule 0.
	hitProves bool
}

// Compile compiles the rules and options into a Matcher. An invalid pattern is
// reported as a *PatternError naming the rule, field and index.
func Compile(rules []Rule, opts Options) (*Matcher, error) {
	m := &Matcher{}
	var pres [][]literal
	prefilter := len(rules) > 0
	pure := true
	ignores := len(opts.Ignore) > 0
	for i, g := range opts.Ignore {
		p, _, err := compilePattern(g, opts.IgnoreCase, opts.Fixed)
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
			ws, wfixed := wrapWordLine(s, fixed, opts)
			p, lits, err := compilePattern(ws, fold, wfixed)
			if err != nil {
				return nil, &PatternError{Rule: ri, RuleName: r.Name, Field: "match", Index: i, Pattern: s, Err: err}
			}
			cr.match = append(cr.match, p)
			if lits == nil {
				prefilter = false
			}
			pres = append(pres, lits)
			if p.lit == nil {
				pure = false
			}
		}
		for i, s := range r.Ignore {
			p, _, err := compilePattern(s, fold, fixed)
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
	if !ignores && (len(m.rules) == 0 || len(m.rules[0].match) == 0) {
		m.all = true
	}
	if prefilter {
		m.pre = mergeLiterals(pres)
		if len(m.pre) > maxLiterals {
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
	m.hitProves = m.pre != nil && pure && !ignores && len(m.rules) == 1
	return m, nil
}

// wrapWordLine applies -w and -x by wrapping the pattern, so that the
// wrapped pattern still contains the original's literals and keeps the
// prefilter.
func wrapWordLine(s string, fixed bool, opts Options) (string, bool) {
	if !opts.Word && !opts.Line {
		return s, fixed
	}
	if fixed {
		s = regexp.QuoteMeta(s)
	}
	if opts.Line {
		return `^(?:` + s + `)$`, false
	}
	return `(?:^|\W)(?:` + s + `)(?:\W|$)`, false
}

// compilePattern compiles one pattern and extracts its prefilter literals
// (nil when it has none).
func compilePattern(s string, fold, fixed bool) (pattern, []literal, error) {
	expr := s
	if fixed {
		expr = regexp.QuoteMeta(s)
	}
	// Compile the user's text first so that error messages quote what the
	// user wrote, not our (?i) prefix.
	if _, err := regexp.Compile(expr); err != nil {
		return pattern{}, nil, err
	}
	if fold {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return pattern{}, nil, err
	}
	p := pattern{text: s, re: re}
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
	return p, out, nil
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
		hit := len(r.match) == 0
		for i := range r.match {
			if r.match[i].match(line) {
				hit = true
				break
			}
		}
		if !hit {
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
		p := m.find(block, from)
		if p < 0 {
			break
		}
		start = from + bytes.LastIndexByte(block[from:p], '\n') + 1
		end = len(block)
		if i := bytes.IndexByte(block[p:], '\n'); i >= 0 {
			end = p + i
		}
		if m.hitProves {
			return start, end, 0, true
		}
		if r, ok := m.Select(block[start:end]); ok {
			return start, end, r, true
		}
		from = end + 1
	}
	return 0, 0, -1, false
}

// find returns the smallest position at or after from where a prefilter
// literal starts, or -1. Several literals are found in one pass by findSet;
// without SIMD each is searched in windows that double in size, so that a
// rare literal is not rescanned to the block's end on every call while a
// frequent one keeps hitting.
func (m *Matcher) find(block []byte, from int) int {
	if len(m.pre) == 1 {
		if i := m.pre[0].index(block[from:]); i >= 0 {
			return from + i
		}
		return -1
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
		best := -1
		for i := range m.pre {
			l := &m.pre[i]
			e := min(hi+len(l.s)-1, len(block))
			if e-lo < len(l.s) {
				continue
			}
			if j := l.index(block[lo:e]); j >= 0 {
				best = lo + j
				hi = best // later literals only matter if they start earlier
			}
		}
		if best >= 0 {
			return best
		}
	}
	return -1
}

// findSet is find for several literals with the vector pair search: one
// pass tests every literal's pair, so the first candidate that verifies is
// the earliest start.
func (m *Matcher) findSet(block []byte, from int) int {
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
				return from + p
			}
		}
		p++
	}
	// Fewer than 32+reach bytes are left: search each literal there.
	best := -1
	for k := range m.pre {
		if j := m.pre[k].index(h[p:]); j >= 0 && (best < 0 || j < best) {
			best = j
		}
	}
	if best < 0 {
		return -1
	}
	return from + p + best
}

// MatchAll reports whether every line is selected by the same rule (no
// rules, or rule 0 has no Match patterns, and no ignores anywhere), so callers
// can skip matching; the rule is then 0, or -1 when there are no rules.
func (m *Matcher) MatchAll() bool { return m.all }

// Prefiltered reports whether Next searches for literals rather than checking
// every line; it is false when some pattern has no required literal.
func (m *Matcher) Prefiltered() bool { return m.pre != nil }

// Highlight calls fn, in order, for each non-overlapping, non-empty match
// span of the selecting rule's Match patterns in line (for --color); where
// spans of different patterns overlap, the one starting first wins, then the
// earlier pattern. It may allocate.
func (m *Matcher) Highlight(line []byte, rule int, fn func(start, end int)) {
	if rule < 0 || rule >= len(m.rules) {
		return
	}
	// Each pattern runs on the whole line so that anchors keep their meaning;
	// joining the patterns into one alternation would not survive \Q.
	var spans [][]int
	for i := range m.rules[rule].match {
		spans = append(spans, m.rules[rule].match[i].re.FindAllIndex(line, -1)...)
	}
	slices.SortStableFunc(spans, func(a, b []int) int { return a[0] - b[0] })
	last := 0
	for _, s := range spans {
		if s[1] > s[0] && s[0] >= last {
			fn(s[0], s[1])
			last = s[1]
		}
	}
}

// RuleName returns the rule's name, or "" for an unnamed or out-of-range rule.
func (m *Matcher) RuleName(rule int) string {
	if rule < 0 || rule >= len(m.rules) {
		return ""
	}
	return m.rules[rule].name
}

// Pattern returns the text of the rule's first Match pattern that matches
// line, or "" if none does; it is used in JSON output.
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
