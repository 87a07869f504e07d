// Package capture reads named values out of a selected line or event: a
// named capture group of the pattern that selected it, else a parsed field
// of that name. --summary, the metrics of rules and the alerts' group_by
// all take their labels and numbers from here, so that a name means the
// same thing to each of them.
//
// It touches only what it is given: the rules' compiled regexps, the
// selected text and its fields. It keeps no state between lines but the
// scratch of a Match, which its one owner reuses.
package capture

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"unsafe"

	"github.com/logscan/logscan/internal/fields"
)

// Rule is one rule of the matcher: its name and the regexps of its match
// patterns as they select a line (match.Matcher.CaptureRegexps).
type Rule struct {
	Name     string
	Patterns []*regexp.Regexp
}

// NameError is a name that no pattern captures and no field can hold (the
// lines have no fields).
type NameError struct {
	Name string
	Rule string // the rule that must capture it, "" for any rule
}

func (e *NameError) Error() string {
	where := "any pattern"
	if e.Rule != "" {
		where = fmt.Sprintf("a pattern of rule %q", e.Rule)
	}
	return fmt.Sprintf("%q names no capture group of %s (RE2: (?P<%s>...)), and text lines have no fields (add --format json, logfmt, cri+json...)", e.Name, where, e.Name)
}

// Extractor finds a fixed list of names in the lines the rules select. It
// is immutable and may be shared; each goroutine uses a Match of its own.
type Extractor struct {
	names []string
	// rules are the matcher's rules, and last the selection without a rule
	// (no rules at all, or -v).
	rules  []ruleX
	fields bool
}

type ruleX struct {
	name string
	pats []patX // the patterns that capture a wanted name, in order
}

// patX is a pattern's regexp and the group of each wanted name, -1 where
// it has none.
type patX struct {
	re     *regexp.Regexp
	groups []int
}

// Compile builds the Extractor of names for rules. fields tells whether
// the lines are parsed into fields, where a name that the pattern does not
// capture is looked up. Compile checks nothing about coverage: callers ask
// Captures, per rule or for any rule, and report a *NameError with their
// own key.
func Compile(names []string, rules []Rule, fields bool) *Extractor {
	x := &Extractor{names: slices.Clone(names), fields: fields}
	for _, r := range append(slices.Clone(rules), Rule{}) {
		rx := ruleX{name: r.Name}
		for _, re := range r.Patterns {
			p := patX{re: re, groups: make([]int, len(names))}
			wanted := false
			for i, name := range names {
				p.groups[i] = re.SubexpIndex(name)
				wanted = wanted || p.groups[i] >= 0
			}
			if wanted {
				rx.pats = append(rx.pats, p)
			}
		}
		x.rules = append(x.rules, rx)
	}
	return x
}

// Names are the names x extracts; Match.Get takes an index into them.
func (x *Extractor) Names() []string { return x.names }

// Index is the index of name in Names, -1 when x does not extract it.
func (x *Extractor) Index(name string) int { return slices.Index(x.names, name) }

// Fields tells whether a name may come from the lines' fields.
func (x *Extractor) Fields() bool { return x.fields }

// Captures tells whether a line selected by rule (-1 for any rule) can
// hold name: some pattern of that rule has a group of that name, or the
// lines have fields.
func (x *Extractor) Captures(rule int, name string) bool {
	if x.fields {
		return true
	}
	i := x.Index(name)
	if i < 0 {
		return false
	}
	for ri := range x.rules {
		if rule >= 0 && ri != rule {
			continue
		}
		for _, p := range x.rules[ri].pats {
			if p.groups[i] >= 0 {
				return true
			}
		}
	}
	return false
}

// CheckNames returns a *NameError for the first of names that no line
// selected by rule (-1 for any) can hold.
func (x *Extractor) CheckNames(rule int, names []string) error {
	for _, n := range names {
		if !x.Captures(rule, n) {
			ne := &NameError{Name: n}
			if rule >= 0 && rule < len(x.rules)-1 {
				ne.Rule = x.rules[rule].name
			}
			return ne
		}
	}
	return nil
}

// Match is one selected line's or event's values. It is reused: Reset
// points it at the next one. Its values are valid until then, as long as
// the text and fields it was given are.
type Match struct {
	x     *Extractor
	text  []byte
	rec   *fields.Record
	rx    *ruleX
	found bool // the pattern search ran
	pat   *patX
	line  []byte
	loc   []int
}

// NewMatch returns a Match for x.
func (x *Extractor) NewMatch() *Match { return &Match{x: x} }

// Reset points m at text (an event's lines joined by '\n'), its fields
// (nil when the lines have none), selected by rule (-1 for none). The
// patterns run at the first Get, so a line whose values nobody asks for
// costs nothing.
func (m *Match) Reset(text []byte, rec *fields.Record, rule int) {
	x := m.x
	ri := rule
	if ri < 0 || ri >= len(x.rules)-1 {
		ri = len(x.rules) - 1
	}
	m.text, m.rec, m.rx = text, rec, &x.rules[ri]
	m.found, m.pat, m.line, m.loc = false, nil, nil, nil
}

// Text is the selected line or event.
func (m *Match) Text() []byte { return m.text }

// Record is its fields, nil when the lines have none.
func (m *Match) Record() *fields.Record { return m.rec }

// Get returns the value of name i: its submatch in the first line of the
// text that a pattern capturing a wanted name matches (missing when the
// group took no part), else the field of that name. f is the field, nil
// for a capture. It allocates nothing but what Go's regexp returns for the
// submatch indexes, once per Match and line.
func (m *Match) Get(i int) (v []byte, f *fields.Field, ok bool) {
	if !m.found {
		m.found = true
		if len(m.rx.pats) > 0 {
			m.pat, m.line, m.loc = m.rx.find(m.text)
		}
	}
	if m.pat != nil {
		if gi := m.pat.groups[i]; gi >= 0 {
			if m.loc[2*gi] < 0 {
				return nil, nil, false
			}
			return m.line[m.loc[2*gi]:m.loc[2*gi+1]], nil, true
		}
	}
	if m.rec != nil && m.x.fields {
		if f := m.rec.Get(m.x.names[i]); f != nil {
			return f.Value, f, true
		}
	}
	return nil, nil, false
}

// Status says what a number lookup found.
type Status uint8

const (
	// OK is a number.
	OK Status = iota
	// Missing is a name the line does not hold.
	Missing
	// NotANumber is a value that does not parse as a finite number.
	NotANumber
)

// Number returns name i as a number: a numeric field's value, or the text
// parsed by ParseValue.
func (m *Match) Number(i int) (float64, Status) {
	v, f, ok := m.Get(i)
	if !ok {
		return 0, Missing
	}
	if f != nil && f.Kind == fields.Number {
		if math.IsInf(f.Num, 0) || math.IsNaN(f.Num) { // 1e999 parses as +Inf
			return 0, NotANumber
		}
		return f.Num, OK
	}
	n, ok := ParseValue(v)
	if !ok {
		return 0, NotANumber
	}
	return n, OK
}

// find returns the first pattern that captures a wanted name and matches
// a line of text (an event's lines in order), that line, and the
// submatch indexes; nil when none matches.
func (rx *ruleX) find(text []byte) (*patX, []byte, []int) {
	for len(text) > 0 {
		line, rest := text, []byte(nil)
		if i := indexNL(text); i >= 0 {
			line, rest = text[:i], text[i+1:]
		}
		for i := range rx.pats {
			if loc := rx.pats[i].re.FindSubmatchIndex(line); loc != nil {
				return &rx.pats[i], line, loc
			}
		}
		text = rest
	}
	return nil, nil, nil
}

func indexNL(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}

// ParseValue reads a value as strconv.ParseFloat does (decimal or
// hexadecimal, with an exponent or not); NaN, infinities and numbers out
// of float64's range are not values. It does not allocate for a number.
func ParseValue(b []byte) (float64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	// ParseFloat copies the text into its error, so it may look at b
	// without a copy of its own.
	n, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		return 0, false
	}
	return n, true
}
