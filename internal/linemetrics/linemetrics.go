// Package linemetrics computes Prometheus metrics from the lines the rules
// select, as mtail and grok_exporter do: each configured metric of a rule
// takes its label values and its number from the line's named captures or
// parsed fields (package capture), and a [Set] exposes them as a
// prometheus.Collector.
//
// It touches only what it is given: the definitions, the matches of the
// selected lines and the clock of its Options. It reads and writes no
// files and no network; the caller stores what [Set.Checkpoint] returns
// and hands it back to [Set.Restore].
//
// Decisions, so that the configuration documentation can repeat them:
//
//   - A label whose name the line does not hold has the value "", which
//     Prometheus treats as no label at all.
//   - A value that is missing, not a number, or negative for a counter is
//     never taken as zero: the line leaves that metric alone and counts
//     in logscan_metric_errors_total{metric,reason} instead.
//   - A metric keeps at most MaxSeries label sets. The lines of any further
//     one go to the single series whose every label value is [Other]
//     ("other"), which is not counted against MaxSeries, and they count in
//     logscan_metric_overflow_total. A line whose labels are all "other"
//     anyway lands in that same series.
//   - An expired series disappears from the exposition and, if a line
//     brings it back, starts again from zero (a counter reset, which
//     Prometheus handles).
//   - The same exposed name on several rules, with the same type, labels,
//     buckets, max_series and expire_after, is one metric family: the lines
//     of all those rules update the same series (two rules counting
//     http_requests_total{status} add into one http_requests_total{
//     status="500"}). Each rule may take the value from a name of its own.
//     Two different configured helps are an error; an empty help takes the
//     other's, and when all are empty one is generated naming every rule.
//   - A metric's identity, for [Set.Carry] across a reload and for
//     [Set.Restore], is a digest of its exposed name, type, labels, buckets
//     and of the rule name and value of every definition in its family.
//     Help, max_series and expire_after are not part of it: changing them
//     keeps the counts. A lowered max_series keeps every carried series;
//     only new label sets overflow.
//   - Label values are made valid UTF-8 (invalid bytes become U+FFFD) when
//     a series is created, as Prometheus requires.
//   - The self-metrics always carry the "logscan_" prefix, whatever
//     Options.Prefix is, and exist at zero from the start.
package linemetrics

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/logscan/logscan/internal/capture"
)

const (
	// DefaultPrefix is what callers prepend to every configured name.
	DefaultPrefix = "logscan_"
	// DefaultMaxSeries is the series limit of a Def whose MaxSeries is 0.
	DefaultMaxSeries = 1000
	// Other is every label value of a metric's overflow series.
	Other = "other"
)

// DefaultBuckets are the buckets of a histogram configured without any.
var DefaultBuckets = prometheus.DefBuckets

// The self-metrics. Their "metric" label is the exposed name.
const (
	ErrorsName   = "logscan_metric_errors_total"
	OverflowName = "logscan_metric_overflow_total"
	SeriesName   = "logscan_metric_series"
	ExpiredName  = "logscan_metric_expired_total"
)

// Def is one configured metric of one rule.
type Def struct {
	Rule        int           // index of the selecting rule in the matcher; -1 = the lines no rule names
	RuleName    string        // for the generated help, the digest and errors
	Key         string        // where it was configured, e.g. "rules[0].metrics[1]", for error messages
	Name        string        // as configured, e.g. "http_requests_total"
	Type        string        // "counter", "gauge", "histogram"
	Help        string        // "" → a generated help text naming the rule
	Labels      []string      // names looked up in the capture.Match
	Value       string        // "" for a counter means "count lines (add 1)"; required for gauge and histogram
	Buckets     []float64     // histogram; empty → DefaultBuckets
	MaxSeries   int           // 0 → DefaultMaxSeries
	ExpireAfter time.Duration // 0 → never expire
}

// Options are the settings shared by all metrics of a Set.
type Options struct {
	Prefix string           // prepended to every Name; callers pass DefaultPrefix by default
	Now    func() time.Time // the clock; nil → time.Now
}

// DefError is an invalid Def: Key is where it was configured.
type DefError struct {
	Key string
	Err error
}

func (e *DefError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *DefError) Unwrap() error { return e.Err }

func defErr(d *Def, format string, args ...any) error {
	return &DefError{Key: d.Key, Err: fmt.Errorf(format, args...)}
}

type kind uint8

const (
	counter kind = iota
	gauge
	histogram
)

var kinds = map[string]kind{"counter": counter, "gauge": gauge, "histogram": histogram}

func (k kind) String() string { return [...]string{"counter", "gauge", "histogram"}[k] }

// Error reasons, the index into family.errs.
const (
	missing = iota
	notANumber
	negative
	nReasons
)

var reasons = [nReasons]string{"missing", "not_a_number", "negative"}

// Set is the metrics of all rules. Observe and Expire are called from one
// goroutine; Collect, Checkpoint, Restore and Carry may run from others.
type Set struct {
	now func() time.Time

	// mu guards the series and counters of every family, and the
	// checkpoint bookkeeping.
	mu     sync.Mutex
	fams   []*family // in the order of their first Def
	byName map[string]*family
	rules  [][]binding // the bindings of rule r at r+1

	// scratch is the series key of the line Observe handles; only
	// Observe's goroutine touches it, so it needs no lock.
	scratch []byte

	self [4]*prometheus.Desc // errors, overflow, series, expired
}

// family is one exposed metric: the series that all its Defs update.
type family struct {
	name      string
	kind      kind
	help      string // configured, or generated in finish
	labels    []string
	buckets   []float64
	maxSeries int
	expire    time.Duration
	defs      []*Def
	desc      *prometheus.Desc
	digest    string
	otherKey  string // the key of the overflow series; "" when there are no labels

	series map[string]*series
	count  int     // series but the overflow one
	other  *series // the overflow series, nil until a line overflows

	errs     [nReasons]uint64
	overflow uint64
	expired  uint64

	// Since the last Checkpoint: counters changed, series deleted (key →
	// labels), or so many deleted that the next delta lists every series.
	dirty   bool
	tombs   map[string][]string
	replace bool
}

// binding is one Def as Observe applies it: the family it updates and
// the indexes into the Extractor's names of its labels and value.
type binding struct {
	fam    *family
	labels []int
	value  int // -1: count lines
}

// New validates defs against x and builds their Set. Every label and value
// name must be among x.Names() and be held by the lines of the Def's rule.
func New(defs []Def, x *capture.Extractor, opt Options) (*Set, error) {
	s := &Set{now: opt.Now, byName: map[string]*family{}}
	if s.now == nil {
		s.now = time.Now
	}
	for i := range defs {
		d := &defs[i]
		b, f, err := compile(d, x, opt.Prefix)
		if err != nil {
			return nil, err
		}
		if b.fam, err = s.join(d, f); err != nil {
			return nil, err
		}
		for len(s.rules) <= d.Rule+1 {
			s.rules = append(s.rules, nil)
		}
		s.rules[d.Rule+1] = append(s.rules[d.Rule+1], b)
	}
	for _, f := range s.fams {
		if err := s.finish(f); err != nil {
			return nil, err
		}
	}
	s.self = [4]*prometheus.Desc{
		prometheus.NewDesc(ErrorsName, "Lines that did not update a metric of a rule because its value was missing, not a number, or negative for a counter.", []string{"metric", "reason"}, nil),
		prometheus.NewDesc(OverflowName, "Lines whose label set was beyond a metric's max_series and went to its series labelled \"other\".", []string{"metric"}, nil),
		prometheus.NewDesc(SeriesName, "Series that a metric of a rule holds, its \"other\" series included.", []string{"metric"}, nil),
		prometheus.NewDesc(ExpiredName, "Series of a metric of a rule dropped for being idle longer than its expire_after.", []string{"metric"}, nil),
	}
	return s, nil
}

// compile checks d alone and returns its binding (without family) and the
// family it asks for.
func compile(d *Def, x *capture.Extractor, prefix string) (binding, *family, error) {
	b := binding{value: -1}
	k, ok := kinds[d.Type]
	if !ok {
		return b, nil, defErr(d, "type %q is not counter, gauge or histogram", d.Type)
	}
	f := &family{name: prefix + d.Name, kind: k, help: d.Help, labels: slices.Clone(d.Labels),
		maxSeries: cmp.Or(d.MaxSeries, DefaultMaxSeries), expire: d.ExpireAfter}
	switch {
	case d.Rule < -1:
		return b, nil, defErr(d, "rule index %d is not a rule", d.Rule)
	case !model.LegacyValidation.IsValidMetricName(f.name):
		return b, nil, defErr(d, "name %q is not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)", f.name)
	case d.MaxSeries < 0:
		return b, nil, defErr(d, "max_series %d is negative", d.MaxSeries)
	case d.ExpireAfter < 0:
		return b, nil, defErr(d, "expire_after %v is negative", d.ExpireAfter)
	case d.Value == "" && k != counter:
		return b, nil, defErr(d, "a %s needs a value", k)
	}
	if err := checkLabels(d, k); err != nil {
		return b, nil, err
	}
	if k == histogram {
		if err := checkBuckets(d); err != nil {
			return b, nil, err
		}
		f.buckets = slices.Clone(d.Buckets)
		if len(f.buckets) == 0 {
			f.buckets = slices.Clone(DefaultBuckets)
		}
	}
	names := slices.Clone(d.Labels)
	if d.Value != "" {
		names = append(names, d.Value)
	}
	for _, n := range names {
		if x.Index(n) < 0 {
			return b, nil, defErr(d, "%q is not among the names extracted from the lines", n)
		}
	}
	if err := x.CheckNames(d.Rule, names); err != nil {
		return b, nil, &DefError{Key: d.Key, Err: err}
	}
	for _, l := range d.Labels {
		b.labels = append(b.labels, x.Index(l))
	}
	if d.Value != "" {
		b.value = x.Index(d.Value)
	}
	return b, f, nil
}

func checkLabels(d *Def, k kind) error {
	for i, l := range d.Labels {
		switch {
		case !model.LegacyValidation.IsValidLabelName(l):
			return defErr(d, "label %q is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)", l)
		case strings.HasPrefix(l, "__"):
			return defErr(d, "label %q: names starting with __ are reserved", l)
		case k == histogram && l == "le":
			return defErr(d, "label \"le\" is reserved for the buckets of a histogram")
		case slices.Contains(d.Labels[:i], l):
			return defErr(d, "label %q is listed twice", l)
		}
	}
	return nil
}

func checkBuckets(d *Def) error {
	for i, v := range d.Buckets {
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
			return defErr(d, "bucket %v is not a finite number (the +Inf bucket is implicit)", v)
		case i > 0 && v <= d.Buckets[i-1]:
			return defErr(d, "buckets are not strictly increasing: %v after %v", v, d.Buckets[i-1])
		}
	}
	return nil
}

// join returns the family named f.name, adding f as a new one or checking
// that the existing one is the same metric.
func (s *Set) join(d *Def, f *family) (*family, error) {
	old, ok := s.byName[f.name]
	if !ok {
		for _, n := range []string{ErrorsName, OverflowName, SeriesName, ExpiredName} {
			if f.name == n {
				return nil, defErr(d, "name %q is logscan's own", f.name)
			}
		}
		f.defs = []*Def{d}
		s.fams = append(s.fams, f)
		s.byName[f.name] = f
		return f, nil
	}
	first := old.defs[0].Key
	switch {
	case old.kind != f.kind:
		return nil, defErr(d, "%s is a %s at %s, not a %s", f.name, old.kind, first, f.kind)
	case !slices.Equal(old.labels, f.labels):
		return nil, defErr(d, "%s has labels %q at %s, not %q", f.name, old.labels, first, f.labels)
	case !slices.Equal(old.buckets, f.buckets):
		return nil, defErr(d, "%s has buckets %v at %s, not %v", f.name, old.buckets, first, f.buckets)
	case old.maxSeries != f.maxSeries:
		return nil, defErr(d, "%s has max_series %d at %s, not %d", f.name, old.maxSeries, first, f.maxSeries)
	case old.expire != f.expire:
		return nil, defErr(d, "%s has expire_after %v at %s, not %v", f.name, old.expire, first, f.expire)
	case old.help != "" && f.help != "" && old.help != f.help:
		return nil, defErr(d, "%s has help %q at %s, not %q", f.name, old.help, first, f.help)
	}
	for _, od := range old.defs {
		if od.Rule == d.Rule {
			return nil, defErr(d, "%s is defined twice for the same rule (also at %s)", f.name, od.Key)
		}
	}
	old.help = cmp.Or(old.help, f.help)
	old.defs = append(old.defs, d)
	return old, nil
}

// finish completes f once all its Defs are known.
func (s *Set) finish(f *family) error {
	if f.kind == histogram {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if o, ok := s.byName[f.name+suffix]; ok {
				return defErr(o.defs[0], "%s collides with the series of histogram %s (%s)", o.name, f.name, f.defs[0].Key)
			}
		}
	}
	if f.help == "" {
		f.help = generatedHelp(f)
	}
	if len(f.labels) > 0 {
		other := make([]string, len(f.labels))
		for i := range other {
			other[i] = Other
		}
		f.otherKey = string(appendKey(nil, other))
	}
	f.desc = prometheus.NewDesc(f.name, f.help, f.labels, nil)
	f.digest = digest(f)
	f.series = map[string]*series{}
	f.tombs = map[string][]string{}
	return nil
}

func generatedHelp(f *family) string {
	parts := make([]string, len(f.defs))
	for i, d := range f.defs {
		from := fmt.Sprintf("the lines of rule %q", cmp.Or(d.RuleName, "unnamed"))
		if d.Rule < 0 {
			from = "the lines no rule selects"
		}
		switch {
		case f.kind == counter && d.Value == "":
			parts[i] = "Count of " + from
		case f.kind == counter:
			parts[i] = fmt.Sprintf("Sum of %s over %s", d.Value, from)
		case f.kind == gauge:
			parts[i] = fmt.Sprintf("Last %s in %s", d.Value, from)
		default:
			parts[i] = fmt.Sprintf("Distribution of %s in %s", d.Value, from)
		}
	}
	return strings.Join(parts, "; ") + " (logscan rule metric)."
}

// digest is f's identity for Carry and Restore (see the package doc).
func digest(f *family) string {
	type member struct{ rule, value string }
	ms := make([]member, len(f.defs))
	for i, d := range f.defs {
		ms[i] = member{d.RuleName, d.Value}
		if d.Rule < 0 {
			ms[i].rule = "\x00none"
		}
	}
	slices.SortFunc(ms, func(a, b member) int {
		return cmp.Or(strings.Compare(a.rule, b.rule), strings.Compare(a.value, b.value))
	})
	var b []byte
	b = appendKey(b, []string{f.name, f.kind.String()})
	b = appendKey(b, f.labels)
	for _, v := range f.buckets {
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
		b = append(b, ',')
	}
	for _, m := range ms {
		b = appendKey(b, []string{m.rule, m.value})
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
