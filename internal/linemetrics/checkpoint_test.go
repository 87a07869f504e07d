package linemetrics

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// allDefs has one metric of each type, with labels and an expiry.
func allDefs() []Def {
	return []Def{
		{Rule: 0, RuleName: "web", Key: "rules[0].metrics[0]", Name: "http_requests_total", Type: "counter", Help: "Requests.",
			Labels: []string{"method", "status"}, ExpireAfter: time.Minute},
		{Rule: 0, RuleName: "web", Key: "rules[0].metrics[1]", Name: "response_size_bytes", Type: "gauge", Value: "size", Labels: []string{"path"}},
		{Rule: 1, RuleName: "api", Key: "rules[1].metrics[0]", Name: "request_duration_seconds", Type: "histogram",
			Value: "dur", Labels: []string{"method"}, Buckets: []float64{0.01, 0.1, 1}, MaxSeries: 2},
	}
}

var (
	webLines = []string{"GET / 200 10", "GET /a 404 0.1", "POST / 500 1e300", "GET / 200 0.30000000000000004", "PUT /\xff 201 -0"}
	apiLines = []string{"GET / 200 1 0.005", "GET / 200 1 0.5", "POST / 200 1 3.3333333333333335", "PUT / 200 1 1", "DELETE / 200 1 1"}
)

func TestCheckpointRoundTrip(t *testing.T) {
	c := newClock()
	s := newSet(t, c, allDefs()...)
	feed(s, 0, webLines...)
	feed(s, 1, apiLines...)
	feed(s, 0, "GET / 200 x") // an error count
	full, err := s.Checkpoint(true)
	if err != nil {
		t.Fatal(err)
	}
	r := newSet(t, c, allDefs()...)
	if w, err := r.Restore([][]byte{full}); err != nil || len(w) > 0 {
		t.Fatalf("Restore: %v, warnings %q", err, w)
	}
	if got, want := exposition(t, r), exposition(t, s); got != want {
		t.Errorf("restored exposition:\n%s\nwant:\n%s", got, want)
	}
	if d := checkpoint(t, r, false); d != nil {
		t.Errorf("delta after Restore = %s, want nil", d)
	}
	// The restored updates keep expiring on time.
	c.t = c.t.Add(2 * time.Minute)
	s.Expire()
	r.Expire()
	if got, want := exposition(t, r), exposition(t, s); got != want {
		t.Errorf("restored exposition after Expire:\n%s\nwant:\n%s", got, want)
	}
	if again, _ := r.Checkpoint(true); string(again) == string(full) {
		t.Error("the checkpoint after Expire did not change")
	}
}

func TestCheckpointDeltas(t *testing.T) {
	c := newClock()
	s := newSet(t, c, allDefs()...)
	feed(s, 0, webLines[:2]...)
	full := checkpoint(t, s, true)
	if d := checkpoint(t, s, false); d != nil {
		t.Errorf("delta with nothing changed = %s, want nil", d)
	}
	feed(s, 0, webLines[2:]...)
	feed(s, 1, apiLines...)
	d1 := checkpoint(t, s, false)
	c.t = c.t.Add(30 * time.Second)
	feed(s, 0, "GET / 200 1")
	c.t = c.t.Add(31 * time.Second)
	s.Expire() // all but GET 200 of http_requests_total
	d2 := checkpoint(t, s, false)
	if !strings.Contains(string(d2), `"deleted":[["GET","404"],["POST","500"],["PUT","201"]]`) {
		t.Errorf("delta lacks the tombstones: %s", d2)
	}
	feed(s, 0, "GET /a 404 1") // back after its tombstone
	d3 := checkpoint(t, s, false)
	want := exposition(t, s)
	end := checkpoint(t, s, true)

	for _, tt := range []struct {
		name  string
		parts [][]byte
	}{
		{"full then deltas", [][]byte{full, d1, d2, d3}},
		{"each delta twice", [][]byte{full, d1, d1, d2, d2, d3, d3}},
		{"the full at the end", [][]byte{end}},
		{"the full at the end, twice", [][]byte{end, end}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newSet(t, c, allDefs()...)
			if _, err := r.Restore(tt.parts); err != nil {
				t.Fatal(err)
			}
			if got := exposition(t, r); got != want {
				t.Errorf("restored:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func checkpoint(t *testing.T, s *Set, full bool) []byte {
	t.Helper()
	b, err := s.Checkpoint(full)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCheckpointManyDeletions: past max_series tombstones, a delta lists
// the metric's every series instead.
func TestCheckpointManyDeletions(t *testing.T) {
	c := newClock()
	def := counterDef("http_requests_total", "path")
	def.MaxSeries, def.ExpireAfter = 3, time.Second
	s := newSet(t, c, def)
	full := checkpoint(t, s, true)
	feed(s, 0, "GET /a 200 1")
	d1 := checkpoint(t, s, false)
	feed(s, 0, "GET /b 200 1", "GET /c 200 1", "GET /d 200 1", "GET /e 200 1") // /d, /e: other
	c.t = c.t.Add(2 * time.Second)
	s.Expire() // four tombstones
	feed(s, 0, "GET /z 200 1")
	d2 := checkpoint(t, s, false)
	if !strings.Contains(string(d2), `"replace":true`) || strings.Contains(string(d2), `"deleted"`) {
		t.Errorf("delta does not replace: %s", d2)
	}
	r := newSet(t, c, def)
	if _, err := r.Restore([][]byte{full, d1, d2}); err != nil {
		t.Fatal(err)
	}
	if got, want := exposition(t, r), exposition(t, s); got != want {
		t.Errorf("restored:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(exposition(t, r), `logscan_metric_series{metric="logscan_http_requests_total"} 1`) {
		t.Errorf("restored series count is not 1:\n%s", exposition(t, r))
	}
}

func TestRestoreDropsChangedDefs(t *testing.T) {
	c := newClock()
	s := newSet(t, c, allDefs()...)
	feed(s, 0, webLines...)
	feed(s, 1, apiLines...)
	full := checkpoint(t, s, true)
	feed(s, 0, "GET / 200 1")
	delta := checkpoint(t, s, false)

	defs := allDefs()
	defs[0].Labels = []string{"method"} // changed: dropped
	defs[1].Help = "Size."              // help is not identity: kept
	defs[2].MaxSeries = 5               // nor max_series
	defs[0], defs[1] = defs[1], defs[0] // nor the order
	r := newSet(t, c, defs...)
	w, err := r.Restore([][]byte{full, delta})
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 1 || !strings.Contains(w[0], "logscan_http_requests_total") {
		t.Errorf("warnings %q, want one naming logscan_http_requests_total", w)
	}
	got := exposition(t, r)
	if strings.Contains(got, "logscan_http_requests_total{") {
		t.Errorf("changed metric restored:\n%s", got)
	}
	for _, want := range []string{`logscan_response_size_bytes{path="/a"} 0.1`, `logscan_request_duration_seconds_count{method="GET"} 2`} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("exposition lacks %s:\n%s", want, got)
		}
	}
}

func TestRestoreErrors(t *testing.T) {
	s := newSet(t, newClock(), allDefs()...)
	feed(s, 0, webLines...)
	feed(s, 1, apiLines...)
	good := checkpoint(t, s, true)
	mutate := func(f func(*checkpointJSON)) []byte {
		var c checkpointJSON
		_ = json.Unmarshal(good, &c)
		f(&c)
		b, _ := json.Marshal(c)
		return b
	}
	for _, tt := range []struct {
		name string
		part []byte
		want string
	}{
		{"not JSON", []byte(`{"version":1,`), "unexpected end"},
		{"bad value", []byte(`{"version":1,"metrics":[{"name":"x","series":[{"value":"many"}]}]}`), "many"},
		{"version", []byte(`{"version":2}`), "version 2"},
		{"labels", mutate(func(c *checkpointJSON) { c.Metrics[0].Series[0].Labels = []string{"x"} }), "1 labels, want 2"},
		{"buckets", mutate(func(c *checkpointJSON) { c.Metrics[2].Series[0].Buckets = []uint64{1} }), "1 buckets, want 4"},
		{"count", mutate(func(c *checkpointJSON) { c.Metrics[2].Series[0].Count++ }), "but the buckets hold"},
		{"errors", mutate(func(c *checkpointJSON) { c.Metrics[1].Errors = nil }), "error counts"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newSet(t, newClock(), allDefs()...)
			before := exposition(t, r)
			_, err := r.Restore([][]byte{nil, tt.part})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Restore: %v, want an error with %q", err, tt.want)
			}
			if exposition(t, r) != before {
				t.Error("a failed Restore changed the Set")
			}
		})
	}
}

func TestCarry(t *testing.T) {
	c := newClock()
	old := newSet(t, c, allDefs()...)
	feed(old, 0, webLines...)
	feed(old, 1, apiLines...)
	feed(old, 0, "GET / 200 nan")
	before := exposition(t, old)

	defs := allDefs()
	defs[1].Value = "status" // changed: starts empty
	defs[2].Help = "Latency."
	defs = append(defs, Def{Rule: 1, RuleName: "api", Key: "new", Name: "api_total", Type: "counter"})
	s := newSet(t, c, defs...)
	s.Carry(old)
	feed(s, 0, "GET / 200 1")
	got := exposition(t, s)
	for _, want := range []string{
		`logscan_http_requests_total{method="GET",status="200"} 4`,
		`logscan_request_duration_seconds_count{method="GET"} 2`,
		`logscan_response_size_bytes{path="/"} 200`,
		`logscan_metric_errors_total{metric="logscan_response_size_bytes",reason="not_a_number"} 0`,
		`logscan_metric_errors_total{metric="logscan_http_requests_total",reason="missing"} 0`,
		`# HELP logscan_request_duration_seconds Latency.`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("exposition lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, `logscan_response_size_bytes{path="/a"}`) {
		t.Errorf("changed metric carried:\n%s", got)
	}
	if exposition(t, old) != before {
		t.Error("Carry changed the old Set")
	}
	// The carried series are copies.
	feed(s, 1, apiLines...)
	if exposition(t, old) != before {
		t.Error("observing the new Set changed the old one")
	}
}

func TestCheckpointSorted(t *testing.T) {
	s := newSet(t, newClock(), allDefs()...)
	feed(s, 0, webLines...)
	var cp checkpointJSON
	if err := json.Unmarshal(checkpoint(t, s, true), &cp); err != nil {
		t.Fatal(err)
	}
	if !slices.IsSortedFunc(cp.Metrics[0].Series, func(a, b seriesJSON) int { return slices.Compare(a.Labels, b.Labels) }) {
		t.Error("series not sorted")
	}
}

func TestNumberJSON(t *testing.T) {
	for _, v := range []float64{0, math.Copysign(0, -1), 0.1, 1e300, 5e-324, math.MaxFloat64, 1 << 53, math.Inf(1), math.Inf(-1)} {
		b, err := json.Marshal(number(v))
		if err != nil {
			t.Fatalf("%v: %v", v, err)
		}
		var n number
		if err := json.Unmarshal(b, &n); err != nil {
			t.Fatalf("%v: %s: %v", v, b, err)
		}
		if math.Float64bits(float64(n)) != math.Float64bits(v) {
			t.Errorf("%v → %s → %v", v, b, float64(n))
		}
	}
}
