package metrics

import (
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
)

// gather returns name{label=value,...} → value for every logscan_ series.
func gather(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, s := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range s.GetLabel() {
				key += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			out[key] = value(mf.GetType(), s)
		}
	}
	return out
}

func value(typ dto.MetricType, s *dto.Metric) float64 {
	switch typ {
	case dto.MetricType_COUNTER:
		return s.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return s.GetGauge().GetValue()
	case dto.MetricType_UNTYPED:
		return s.GetUntyped().GetValue()
	}
	return -1
}

func allSources() Sources {
	f := func(v float64) func() float64 { return func() float64 { return v } }
	return Sources{
		LinesRead: f(10), BytesRead: f(1000), FilesWatched: f(3),
		ReadErrors: func(yield func(string, float64)) {
			yield("permission", 2)
			yield("io", 1)
		},
		Rotations: f(4), Truncations: f(5), LagBytes: f(6), TruncatedBytes: f(7),
		LongLines: f(8), DeletedOpenBytes: f(9), StreamClients: f(1),
	}
}

func TestMatchCountsOnce(t *testing.T) {
	tests := []struct {
		name    string
		matches []string // rule of each match
		want    map[string]float64
	}{
		{"one match", []string{"errors"}, map[string]float64{"errors": 1}},
		{"unnamed rule", []string{""}, map[string]float64{UnnamedRule: 1}},
		{"per rule", []string{"a", "b", "a"}, map[string]float64{"a": 2, "b": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New("v1.2.3")
			at := time.Unix(1700000000, 500_000_000)
			for _, r := range tt.matches {
				m.Match(r, at)
			}
			got := gather(t, m)
			n := 0
			for k, v := range got {
				if len(k) > len(Matches) && k[:len(Matches)] == Matches {
					n++
					rule := k[len(Matches)+len("{rule=") : len(k)-1]
					if v != tt.want[rule] {
						t.Errorf("%s = %v, want %v", k, v, tt.want[rule])
					}
				}
			}
			if n != len(tt.want) {
				t.Errorf("%d %s series, want %d: %v", n, Matches, len(tt.want), got)
			}
			for rule := range tt.want {
				if ts := got[LastMatchTimestamp+"{rule="+rule+"}"]; ts != 1700000000.5 {
					t.Errorf("last match timestamp of %q = %v", rule, ts)
				}
			}
		})
	}
}

func TestRuleHandleSharesSeries(t *testing.T) {
	m := New("v")
	r := m.Rule("x")
	r.Match(time.Unix(1, 0))
	m.Match("x", time.Unix(2, 0))
	if got := gather(t, m)[Matches+"{rule=x}"]; got != 2 {
		t.Fatalf("matches = %v, want 2", got)
	}
}

func TestConcurrentMatches(t *testing.T) {
	m := New("v")
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				m.Match([]string{"a", "b"}[(w+i)%2], time.Now())
			}
		}()
	}
	wg.Wait()
	got := gather(t, m)
	if got[Matches+"{rule=a}"]+got[Matches+"{rule=b}"] != 4000 {
		t.Fatalf("lost matches: %v", got)
	}
}

func TestSetRules(t *testing.T) {
	m := New("v")
	m.SetRules([]string{"old", "kept"})
	m.Match("kept", time.Unix(1, 0))
	m.SetRules([]string{"kept", "new"})
	got := gather(t, m)
	want := map[string]float64{"kept": 1, "new": 0}
	for rule, v := range want {
		if g, ok := got[Matches+"{rule="+rule+"}"]; !ok || g != v {
			t.Errorf("rule %q: got %v (present %v), want %v", rule, g, ok, v)
		}
	}
	if _, ok := got[Matches+"{rule=old}"]; ok {
		t.Errorf("series of removed rule still exported")
	}
}

func TestReloadsAndDrops(t *testing.T) {
	m := New("v")
	got := gather(t, m)
	for _, k := range []string{ConfigReloads + "{result=success}", ConfigReloads + "{result=failure}"} {
		if v, ok := got[k]; !ok || v != 0 {
			t.Errorf("%s before any reload: %v %v, want present at 0", k, v, ok)
		}
	}
	m.ConfigReload(nil)
	m.ConfigReload(errors.New("bad regexp"))
	m.ConfigReload(nil)
	m.StreamDropped()
	got = gather(t, m)
	for k, want := range map[string]float64{
		ConfigReloads + "{result=success}": 2,
		ConfigReloads + "{result=failure}": 1,
		StreamDropped:                      1,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
}

func TestObserveAndBuildInfo(t *testing.T) {
	m := New("v1.2.3")
	if err := m.Observe(allSources()); err != nil {
		t.Fatal(err)
	}
	got := gather(t, m)
	want := map[string]float64{
		LinesRead: 10, BytesRead: 1000, FilesWatched: 3, Rotations: 4, Truncations: 5,
		LagBytes: 6, TruncatedBytes: 7, LongLines: 8, DeletedOpenBytes: 9, StreamClients: 1,
		ReadErrors + "{reason=permission}":                                  2,
		ReadErrors + "{reason=io}":                                          1,
		BuildInfo + "{goversion=" + runtime.Version() + "}{version=v1.2.3}": 1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Error("Go collector missing")
	}
	if _, ok := got["process_start_time_seconds"]; !ok {
		t.Error("process collector missing")
	}
	// Registering a source twice names the metric at fault.
	err := m.counterFunc(LinesRead, "again", func() float64 { return 0 })
	if err == nil {
		t.Fatal("duplicate registration accepted")
	}
}

// TestLint runs promlint, the linter behind testutil.GatherAndLint, over
// every logscan_ metric with all of them populated.
func TestLint(t *testing.T) {
	m := New("v")
	if err := m.Observe(allSources()); err != nil {
		t.Fatal(err)
	}
	m.Match("r", time.Now())
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var ours []*dto.MetricFamily
	for _, mf := range mfs {
		if len(mf.GetName()) > 8 && mf.GetName()[:8] == "logscan_" {
			ours = append(ours, mf)
		}
	}
	if len(ours) != 16 {
		t.Errorf("%d logscan_ metric families, want 16", len(ours))
	}
	problems, err := promlint.NewWithMetricFamilies(ours).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	m := New("v")
	now := time.Now()
	m.Match("r", now)
	r := m.Rule("r")
	if n := testing.AllocsPerRun(1000, func() { m.Match("r", now) }); n != 0 {
		t.Errorf("Match allocates %v per call", n)
	}
	if n := testing.AllocsPerRun(1000, func() { r.Match(now) }); n != 0 {
		t.Errorf("RuleMetrics.Match allocates %v per call", n)
	}
}

func BenchmarkMatch(b *testing.B) {
	m := New("v")
	m.SetRules([]string{"a", "b", "c"})
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Match("b", now)
		}
	})
}

func BenchmarkRuleMatch(b *testing.B) {
	r := New("v").Rule("b")
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		r.Match(now)
	}
}
