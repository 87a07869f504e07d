package linemetrics

import (
	"bytes"
	"errors"
	"math"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/logscan/logscan/internal/capture"
	"github.com/logscan/logscan/internal/fields"
)

func TestNewErrors(t *testing.T) {
	ok := func(f func(*Def)) []Def {
		d := Def{Rule: 0, RuleName: "web", Key: "rules[0].metrics[1]", Name: "x_total", Type: "counter", Labels: []string{"status"}}
		f(&d)
		return []Def{d}
	}
	hist := func(f func(*Def)) []Def {
		return ok(func(d *Def) { d.Name, d.Type, d.Value = "x_seconds", "histogram", "dur"; f(d) })
	}
	second := func(f func(*Def)) []Def {
		a := ok(func(*Def) {})[0]
		b := a
		b.Rule, b.RuleName, b.Key = 1, "api", "rules[1].metrics[0]"
		f(&b)
		return []Def{a, b}
	}
	tests := []struct {
		name string
		defs []Def
		want string // in the error, after the key
	}{
		{"type", ok(func(d *Def) { d.Type = "summary" }), `type "summary"`},
		{"name", ok(func(d *Def) { d.Name = "x-total" }), `name "logscan_x-total"`},
		{"utf8 name", ok(func(d *Def) { d.Name = "größe" }), `name "logscan_größe"`},
		{"self name", ok(func(d *Def) { d.Name = "metric_series" }), `"logscan_metric_series" is logscan's own`},
		{"label name", ok(func(d *Def) { d.Labels = []string{"1st"} }), `label "1st"`},
		{"reserved label", ok(func(d *Def) { d.Labels = []string{"__name__"} }), `label "__name__"`},
		{"duplicate label", ok(func(d *Def) { d.Labels = []string{"status", "path", "status"} }), `label "status" is listed twice`},
		{"le", hist(func(d *Def) { d.Labels = []string{"le"} }), `label "le" is reserved`},
		{"buckets order", hist(func(d *Def) { d.Buckets = []float64{1, 2, 2} }), "not strictly increasing: 2 after 2"},
		{"buckets inf", hist(func(d *Def) { d.Buckets = []float64{1, math.Inf(1)} }), "bucket +Inf"},
		{"gauge value", ok(func(d *Def) { d.Type = "gauge" }), "a gauge needs a value"},
		{"histogram value", hist(func(d *Def) { d.Value = "" }), "a histogram needs a value"},
		{"max series", ok(func(d *Def) { d.MaxSeries = -1 }), "max_series -1"},
		{"expire", ok(func(d *Def) { d.ExpireAfter = -1 }), "expire_after -1ns"},
		{"unknown label", ok(func(d *Def) { d.Labels = []string{"user"} }), `"user" is not among the names`},
		{"unknown value", ok(func(d *Def) { d.Value = "bytes" }), `"bytes" is not among the names`},
		{"uncaptured", ok(func(d *Def) { d.Rule = 2; d.Labels = []string{"path"} }), `"path" names no capture group`},
		{"rule index", ok(func(d *Def) { d.Rule = -2 }), "rule index -2"},
		{"twice, other type", second(func(d *Def) { d.Type, d.Value = "gauge", "size" }), "is a counter at rules[0].metrics[1], not a gauge"},
		{"twice, other labels", second(func(d *Def) { d.Labels = []string{"path"} }), `has labels ["status"] at rules[0].metrics[1]`},
		{"twice, other help", func() []Def {
			ds := second(func(d *Def) { d.Help = "b" })
			ds[0].Help = "a" // an empty help would take the other's
			return ds
		}(), `has help "a" at rules[0].metrics[1], not "b"`},
		{"twice, same rule", second(func(d *Def) { d.Rule = 0 }), "defined twice for the same rule"},
		{"twice, other max", second(func(d *Def) { d.MaxSeries = 5 }), "max_series 1000 at"},
		{"histogram suffix", append(hist(func(*Def) {}), ok(func(d *Def) { d.Key, d.Name = "rules[0].metrics[2]", "x_seconds_count" })...), "collides with the series of histogram"},
		{"twice, other buckets", append(hist(func(*Def) {}), hist(func(d *Def) { d.Rule, d.Key, d.Buckets = 1, "rules[1].metrics[0]", []float64{1} })...), "has buckets"},
	}
	x := capture.Compile(names, []capture.Rule{
		{Name: "web", Patterns: []*regexp.Regexp{lineRE}},
		{Name: "api", Patterns: []*regexp.Regexp{lineRE}},
		{Name: "short", Patterns: []*regexp.Regexp{regexp.MustCompile(`(?P<status>\d+)`)}},
	}, false)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.defs, x, Options{Prefix: DefaultPrefix})
			if err == nil {
				t.Fatalf("New: no error, want %q", tt.want)
			}
			var de *DefError
			if !errors.As(err, &de) {
				t.Fatalf("New: %T %v, want a *DefError", err, err)
			}
			key := tt.defs[len(tt.defs)-1].Key
			if !strings.HasPrefix(err.Error(), key+": ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want %s: ...%s...", err, key, tt.want)
			}
		})
	}
	var ne *capture.NameError
	_, err := New(ok(func(d *Def) { d.Rule = 2; d.Value = "size" }), x, Options{})
	if !errors.As(err, &ne) || ne.Name != "size" || ne.Rule != "short" {
		t.Errorf("New: %v, want a *capture.NameError for size in rule short", err)
	}
}

func TestNewShares(t *testing.T) {
	// The same name on two rules, one with help and one without, with
	// values of their own: one family.
	defs := []Def{
		{Rule: 0, RuleName: "web", Key: "a", Name: "bytes_total", Type: "counter", Value: "size"},
		{Rule: 1, RuleName: "api", Key: "b", Name: "bytes_total", Type: "counter", Value: "dur", Help: "Bytes."},
	}
	s := newSet(t, newClock(), defs...)
	feed(s, 0, "GET / 200 10 99")
	feed(s, 1, "GET / 200 10 5")
	compare(t, s, `
		# HELP logscan_bytes_total Bytes.
		# TYPE logscan_bytes_total counter
		logscan_bytes_total 15
	`, "logscan_bytes_total")
}

// TestPromtool lints the exposition of every type with promtool, whose
// checks go beyond the pedantic registry's.
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed: apt-get install prometheus")
	}
	s := newSet(t, newClock(), allDefs()...)
	feed(s, 0, webLines...)
	feed(s, 1, apiLines...)
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition(t, s))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil || out.Len() > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out.String())
	}
}

// benchSet is a Set of a counter with two labels and a histogram, and a
// Match whose values come from fields, so that no regexp runs.
func benchSet(tb testing.TB) (*Set, *capture.Match) {
	tb.Helper()
	x := capture.Compile([]string{"method", "status", "dur"}, nil, true)
	defs := []Def{
		{Rule: -1, Key: "a", Name: "http_requests_total", Type: "counter", Labels: []string{"method", "status"}},
		{Rule: -1, Key: "b", Name: "request_duration_seconds", Type: "histogram", Value: "dur", Labels: []string{"method"}},
	}
	s, err := New(defs, x, Options{Prefix: DefaultPrefix})
	if err != nil {
		tb.Fatal(err)
	}
	var rec fields.Record
	rec.Add([]byte("method"), []byte("GET"), fields.String, 0)
	rec.Add([]byte("status"), []byte("200"), fields.String, 0)
	rec.Add([]byte("dur"), []byte("0.25"), fields.Number, 0.25)
	m := x.NewMatch()
	m.Reset(nil, &rec, -1)
	return s, m
}

func BenchmarkObserve(b *testing.B) {
	s, m := benchSet(b)
	s.Observe(-1, m)
	b.ReportAllocs()
	for b.Loop() {
		s.Observe(-1, m)
	}
}
