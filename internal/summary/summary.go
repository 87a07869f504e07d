// Package summary accumulates what --summary reports: for each rule, and
// each --by group within it, the count, min, max and sum of the numbers a
// capture group or a field holds, and a quantile sketch (DDSketch, 1 %
// relative accuracy) for p50, p90 and p99. Memory is bounded by the number
// of groups, whatever the input's size: a rule keeps at most MaxGroups
// groups (DefaultMaxGroups), and the lines of any further group are counted
// in one group, "other". Each one-shot worker fills an Acc of its own; they
// are merged at the end and printed once.
//
// It touches only what it is given: the selected lines, their parsed
// fields and the regexps of the rules' patterns. It reads no file and
// writes only into the caller's buffer; a caller logs its Warnings.
package summary

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/DataDog/sketches-go/ddsketch"

	"github.com/logscan/logscan/internal/capture"
	"github.com/logscan/logscan/internal/fields"
)

// DefaultMaxGroups is how many groups a rule keeps; the lines of further
// groups are counted in the group "other".
const DefaultMaxGroups = 1000

// RelativeAccuracy is the sketch's: a quantile it reports is within 1 % of
// the value of that rank.
const RelativeAccuracy = 0.01

// maxBins bounds each of a sketch's two stores (positive and negative
// values). At 1 % accuracy 2048 bins span values from x to 6e17·x, so real
// data never reaches the bound; it is there for input that would otherwise
// grow a sketch without end (values from 1e-300 to 1e300). Past it the
// collapsing-lowest store merges its lowest bins: the low quantiles lose
// their accuracy, and p50, p90 and p99, which an operator reads for
// latencies and sizes, keep theirs. An unbounded store would keep every
// bin; a collapsing-highest one would spoil p99 first.
const maxBins = 2048

// Reserved are the names of the text output's columns, which a --by name
// may not take.
var Reserved = []string{"rule", "count", "min", "mean", "p50", "p90", "p99", "max", "errors", "missing"}

// quantiles are the ones reported, in column order.
var quantiles = [...]float64{0.5, 0.9, 0.99}

// Spec is what to summarize and how to print it.
type Spec struct {
	Value     string   // the capture group or field holding the numbers
	By        []string // the captures or fields that group them
	JSON      bool     // print one JSON object per group, else aligned text
	MaxGroups int      // groups per rule; 0 is DefaultMaxGroups
}

// Rule is one rule of the matcher: its name and the regexps of its match
// patterns as they select a line (match.Matcher.CaptureRegexps).
type Rule = capture.Rule

// NameError is a name that no pattern captures and no field can hold
// (the lines have no fields).
type NameError struct {
	Name string
	By   bool // a --by name, else the --summary one
}

func (e *NameError) Error() string {
	return fmt.Sprintf("names no capture group of any pattern (RE2: (?P<%s>...)), and text lines have no fields (add --format json, logfmt, cri+json...)", e.Name)
}

// Extractor is a compiled Spec: immutable, shared by the workers' Accs.
// Name 0 of its capture.Extractor is Spec.Value, name i+1 is Spec.By[i].
type Extractor struct {
	spec Spec
	x    *capture.Extractor
	// names are the matcher's rule names, and last "" for the selection
	// without a rule (no rules at all, or -v).
	names []string
}

// Compile builds the Extractor of spec for rules. fields tells whether the
// lines are parsed into fields, where a name no pattern captures is looked
// up; without fields such a name is a *NameError.
func Compile(spec Spec, rules []Rule, fields bool) (*Extractor, error) {
	if spec.MaxGroups <= 0 {
		spec.MaxGroups = DefaultMaxGroups
	}
	x := capture.Compile(append([]string{spec.Value}, spec.By...), rules, fields)
	if !x.Captures(-1, spec.Value) {
		return nil, &NameError{Name: spec.Value}
	}
	for _, name := range spec.By {
		if !x.Captures(-1, name) {
			return nil, &NameError{Name: name, By: true}
		}
	}
	names := make([]string, 0, len(rules)+1)
	for _, r := range rules {
		names = append(names, r.Name)
	}
	return &Extractor{spec: spec, x: x, names: append(names, "")}, nil
}

// Acc accumulates the values of the lines one worker selects. It is not
// safe for concurrent use: each worker has its own, and Merge joins them.
type Acc struct {
	x     *Extractor
	m     *capture.Match
	rules []ruleAcc
	key   []byte   // the current line's group key, reused
	vals  [][]byte // the current line's --by values, reused
}

type ruleAcc struct {
	groups map[string]*group
	single *group // without --by, the one group
	other  *group // the lines of the groups past MaxGroups
	// overflow counts the lines counted in other.
	overflow int64
}

type group struct {
	key string // the --by values, each prefixed by its length (uvarint)
	stats
}

type stats struct {
	count, errors, missing int64
	sum, min, max          float64
	sk                     *ddsketch.DDSketch // nil until a value came
}

// NewAcc returns an empty Acc for x.
func (x *Extractor) NewAcc() *Acc {
	a := &Acc{x: x, m: x.x.NewMatch(), vals: make([][]byte, len(x.spec.By))}
	a.Reset()
	return a
}

// Reset empties a.
func (a *Acc) Reset() {
	a.rules = make([]ruleAcc, len(a.x.names))
}

// Observe counts one selected line or event: text is its text (an event's
// lines joined by '\n'), rec its fields (nil when the lines have none) and
// rule the index of the rule that selected it (-1 for none). It allocates
// nothing but a new group's key and sketch bins, and the submatch indexes
// Go's regexp returns, which it has no way to write into a caller's slice.
func (a *Acc) Observe(text []byte, rec *fields.Record, rule int) {
	x := a.x
	ri := rule
	if ri < 0 || ri >= len(x.names)-1 {
		ri = len(x.names) - 1
	}
	m := a.m
	m.Reset(text, rec, rule)
	ra := &a.rules[ri]
	var g *group
	if len(x.spec.By) == 0 {
		if ra.single == nil {
			ra.single = &group{}
		}
		g = ra.single
	} else {
		for i := range x.spec.By {
			a.vals[i], _, _ = m.Get(i + 1)
		}
		a.key = appendKey(a.key[:0], a.vals)
		g = a.group(ra)
	}
	switch n, st := m.Number(0); st {
	case capture.Missing:
		g.missing++
	case capture.NotANumber:
		g.errors++
	default:
		g.add(n)
	}
}

// group returns the group of a.key in ra: a new one while there are fewer
// than MaxGroups, else other.
func (a *Acc) group(ra *ruleAcc) *group {
	if g, ok := ra.groups[string(a.key)]; ok { // no allocation: a map index
		return g
	}
	if ra.groups == nil {
		ra.groups = map[string]*group{}
	}
	if len(ra.groups) >= a.x.spec.MaxGroups {
		ra.overflow++
		return ra.otherGroup()
	}
	g := &group{key: string(a.key)}
	ra.groups[g.key] = g
	return g
}

func (ra *ruleAcc) otherGroup() *group {
	if ra.other == nil {
		ra.other = &group{}
	}
	return ra.other
}

func (s *stats) add(n float64) {
	if s.sk == nil {
		s.sk = newSketch()
	}
	if s.sk.Add(n) != nil {
		s.errors++ // beyond the sketch's range (about 1e308)
		return
	}
	if s.count == 0 || n < s.min {
		s.min = n
	}
	if s.count == 0 || n > s.max {
		s.max = n
	}
	s.count++
	s.sum += n
}

func newSketch() *ddsketch.DDSketch {
	sk, err := ddsketch.LogCollapsingLowestDenseDDSketch(RelativeAccuracy, maxBins)
	if err != nil {
		panic(err) // only for an accuracy outside (0, 1)
	}
	return sk
}

func (s *stats) merge(o *stats) {
	s.errors += o.errors
	s.missing += o.missing
	if o.count == 0 {
		return
	}
	if s.count == 0 || o.min < s.min {
		s.min = o.min
	}
	if s.count == 0 || o.max > s.max {
		s.max = o.max
	}
	s.count += o.count
	s.sum += o.sum
	if s.sk == nil {
		s.sk = o.sk
		return
	}
	if err := s.sk.MergeWith(o.sk); err != nil {
		panic(err) // every sketch has the same mapping
	}
}

// lines is how many lines the group counted.
func (s *stats) lines() int64 { return s.count + s.errors + s.missing }

// Merge adds b's groups to a; b must not be used afterwards. A group a
// does not have joins it while a has fewer than MaxGroups, else it is
// counted in other, so which groups overflow depends on the order the
// lines came in.
func (a *Acc) Merge(b *Acc) {
	for i := range a.rules {
		ra, rb := &a.rules[i], &b.rules[i]
		if rb.single != nil {
			if ra.single == nil {
				ra.single = &group{}
			}
			ra.single.merge(&rb.single.stats)
		}
		keys := make([]string, 0, len(rb.groups))
		for k := range rb.groups {
			keys = append(keys, k)
		}
		slices.Sort(keys) // the same result for the same Accs
		for _, k := range keys {
			g := rb.groups[k]
			switch ga, ok := ra.groups[k]; {
			case ok:
				ga.merge(&g.stats)
			case len(ra.groups) < a.x.spec.MaxGroups:
				if ra.groups == nil {
					ra.groups = map[string]*group{}
				}
				ra.groups[k] = g
			default:
				ra.otherGroup().merge(&g.stats)
				ra.overflow += g.lines()
			}
		}
		if rb.other != nil {
			ra.otherGroup().merge(&rb.other.stats)
			ra.overflow += rb.overflow
		}
	}
}

// Empty reports whether a counted no line.
func (a *Acc) Empty() bool {
	for i := range a.rules {
		r := &a.rules[i]
		if r.single != nil || len(r.groups) > 0 || r.other != nil {
			return false
		}
	}
	return true
}

// Warnings says, for each rule whose groups overflowed, how many lines
// were counted in "other".
func (a *Acc) Warnings() []string {
	var out []string
	for i := range a.rules {
		if n := a.rules[i].overflow; n > 0 {
			out = append(out, fmt.Sprintf("summary: rule %s reached %d groups; lines of further groups counted in group \"other\": %d",
				ruleLabel(a.x.names[i]), a.x.spec.MaxGroups, n))
		}
	}
	return out
}

func ruleLabel(name string) string {
	if name == "" {
		return "-"
	}
	return quote(name)
}

// appendKey encodes the --by values as a map key: each value prefixed by
// its length, so that no two lists of values share a key.
func appendKey(dst []byte, vals [][]byte) []byte {
	for _, v := range vals {
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		dst = append(dst, v...)
	}
	return dst
}

// decodeKey is appendKey's inverse.
func decodeKey(key string, n int) []string {
	out := make([]string, 0, n)
	for len(key) > 0 {
		l, w := binary.Uvarint([]byte(key))
		if w <= 0 || uint64(len(key)-w) < l {
			break // not a key appendKey wrote
		}
		out = append(out, key[w:w+int(l)])
		key = key[w+int(l):]
	}
	for len(out) < n {
		out = append(out, "")
	}
	return out
}

// quote returns s as a logfmt value: as it is, or quoted (Go's escapes,
// which logscan's own logfmt parser reads) when it is empty or holds a
// space, '=', '"', a control byte or bytes that are not UTF-8.
func quote(s string) string {
	if s == "" {
		return `""`
	}
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r == '=' || r == '"' || r == 0x7f || !strconv.IsPrint(r)
	}) {
		return strconv.Quote(s)
	}
	return s
}
