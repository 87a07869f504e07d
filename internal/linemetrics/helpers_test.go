package linemetrics

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"go.uber.org/goleak"

	"github.com/logscan/logscan/internal/capture"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The test lines: "METHOD PATH STATUS SIZE [DURATION]", selected by rule
// 0 ("web") or rule 1 ("api").
var (
	lineRE = regexp.MustCompile(`^(?P<method>\S+) (?P<path>\S+) (?P<status>\S+) (?P<size>\S+)(?: (?P<dur>\S+))?$`)
	names  = []string{"method", "path", "status", "size", "dur"}
	start  = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
)

func extractor() *capture.Extractor {
	return capture.Compile(names, []capture.Rule{
		{Name: "web", Patterns: []*regexp.Regexp{lineRE}},
		{Name: "api", Patterns: []*regexp.Regexp{lineRE}},
	}, false)
}

// clock is the injected clock; tests move it by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newClock() *clock { return &clock{t: start} }

// newSet builds a Set of defs over extractor() with the default prefix.
func newSet(t testing.TB, c *clock, defs ...Def) *Set {
	t.Helper()
	s, err := New(defs, extractor(), Options{Prefix: DefaultPrefix, Now: c.now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// feed observes each line for rule.
func feed(s *Set, rule int, lines ...string) {
	m := extractor().NewMatch()
	for _, l := range lines {
		m.Reset([]byte(l), nil, rule)
		s.Observe(rule, m)
	}
}

// registry registers s in a pedantic registry, which checks every
// collected metric against its description.
func registry(t testing.TB, s *Set) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(s); err != nil {
		t.Fatalf("register: %v", err)
	}
	return reg
}

// exposition is the text format of everything s collects.
func exposition(t testing.TB, s *Set) string {
	t.Helper()
	mfs, err := registry(t, s).Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatalf("exposition: %v", err)
		}
	}
	return b.String()
}

// compare checks the named metrics of s against want, an exposition text
// whose lines may be indented.
func compare(t testing.TB, s *Set, want string, metrics ...string) {
	t.Helper()
	var b strings.Builder
	for l := range strings.Lines(want) {
		if l = strings.TrimSpace(l); l != "" {
			b.WriteString(l + "\n")
		}
	}
	if err := testutil.GatherAndCompare(registry(t, s), strings.NewReader(b.String()), metrics...); err != nil {
		t.Error(err)
	}
}

func counterDef(name string, labels ...string) Def {
	return Def{Rule: 0, RuleName: "web", Key: "rules[0].metrics[0]", Name: name, Type: "counter", Help: "Requests.", Labels: labels}
}
