package linemetrics

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// observeTests are lines and the exposition they make.
var observeTests = []struct {
	name  string
	defs  []Def
	lines map[int][]string // by rule
	want  string
	names []string
}{{
	name: "counter counts lines per label set",
	defs: []Def{counterDef("http_requests_total", "method", "status")},
	lines: map[int][]string{0: {
		"GET / 200 10", "GET /a 200 20", "POST / 500 1", "GET / 200 0",
	}},
	want: `
		# HELP logscan_http_requests_total Requests.
		# TYPE logscan_http_requests_total counter
		logscan_http_requests_total{method="GET",status="200"} 3
		logscan_http_requests_total{method="POST",status="500"} 1
	`,
	names: []string{"logscan_http_requests_total"},
}, {
	name: "counter adds the value; negative and non-numbers are errors",
	defs: []Def{{Rule: 0, RuleName: "web", Key: "k", Name: "response_bytes_total", Type: "counter", Value: "size", Labels: []string{"method"}}},
	lines: map[int][]string{0: {
		"GET / 200 10", "GET / 200 2.5", "GET / 200 -3", "GET / 200 abc", "GET / 200 0x1p4",
	}},
	want: `
		# HELP logscan_response_bytes_total Sum of size over the lines of rule "web" (logscan rule metric).
		# TYPE logscan_response_bytes_total counter
		logscan_response_bytes_total{method="GET"} 28.5
		# HELP logscan_metric_errors_total Lines that did not update a metric of a rule because its value was missing, not a number, or negative for a counter.
		# TYPE logscan_metric_errors_total counter
		logscan_metric_errors_total{metric="logscan_response_bytes_total",reason="missing"} 0
		logscan_metric_errors_total{metric="logscan_response_bytes_total",reason="negative"} 1
		logscan_metric_errors_total{metric="logscan_response_bytes_total",reason="not_a_number"} 1
	`,
	names: []string{"logscan_response_bytes_total", ErrorsName},
}, {
	name:  "gauge takes the last value; a missing one leaves it",
	defs:  []Def{{Rule: 0, RuleName: "web", Key: "k", Name: "last_size_bytes", Type: "gauge", Value: "dur"}},
	lines: map[int][]string{0: {"GET / 200 10 7", "GET / 200 10 -2.5", "GET / 200 10"}},
	want: `
		# HELP logscan_last_size_bytes Last dur in the lines of rule "web" (logscan rule metric).
		# TYPE logscan_last_size_bytes gauge
		logscan_last_size_bytes -2.5
		# HELP logscan_metric_errors_total Lines that did not update a metric of a rule because its value was missing, not a number, or negative for a counter.
		# TYPE logscan_metric_errors_total counter
		logscan_metric_errors_total{metric="logscan_last_size_bytes",reason="missing"} 1
		logscan_metric_errors_total{metric="logscan_last_size_bytes",reason="negative"} 0
		logscan_metric_errors_total{metric="logscan_last_size_bytes",reason="not_a_number"} 0
	`,
	names: []string{"logscan_last_size_bytes", ErrorsName},
}, {
	name: "histogram buckets are cumulative, le inclusive",
	defs: []Def{{Rule: 0, RuleName: "web", Key: "k", Name: "request_seconds", Type: "histogram", Help: "Latency.",
		Value: "dur", Labels: []string{"method"}, Buckets: []float64{0.1, 1, 10}}},
	lines: map[int][]string{0: {
		"GET / 200 1 0.05", "GET / 200 1 0.1", "GET / 200 1 0.5", "GET / 200 1 1", "GET / 200 1 11", "GET / 200 1 -1",
	}},
	want: `
		# HELP logscan_request_seconds Latency.
		# TYPE logscan_request_seconds histogram
		logscan_request_seconds_bucket{method="GET",le="0.1"} 3
		logscan_request_seconds_bucket{method="GET",le="1"} 5
		logscan_request_seconds_bucket{method="GET",le="10"} 5
		logscan_request_seconds_bucket{method="GET",le="+Inf"} 6
		logscan_request_seconds_sum{method="GET"} 11.65
		logscan_request_seconds_count{method="GET"} 6
	`,
	names: []string{"logscan_request_seconds"},
}, {
	name: "two rules share one family and its series",
	defs: []Def{
		counterDef("http_requests_total", "status"),
		{Rule: 1, RuleName: "api", Key: "rules[1].metrics[0]", Name: "http_requests_total", Type: "counter", Labels: []string{"status"}},
	},
	lines: map[int][]string{0: {"GET / 200 1", "GET / 500 1"}, 1: {"GET / 200 1"}},
	want: `
		# HELP logscan_http_requests_total Requests.
		# TYPE logscan_http_requests_total counter
		logscan_http_requests_total{status="200"} 2
		logscan_http_requests_total{status="500"} 1
	`,
	names: []string{"logscan_http_requests_total"},
}, {
	name: "generated help names every rule; rule -1 is the lines of no rule",
	defs: []Def{
		{Rule: 0, RuleName: "web", Key: "a", Name: "lines_total", Type: "counter"},
		{Rule: -1, Key: "b", Name: "lines_total", Type: "counter"},
	},
	lines: map[int][]string{0: {"GET / 200 1"}, -1: {"x", "y"}, 1: {"GET / 200 1"}},
	want: `
		# HELP logscan_lines_total Count of the lines of rule "web"; Count of the lines no rule selects (logscan rule metric).
		# TYPE logscan_lines_total counter
		logscan_lines_total 3
	`,
	names: []string{"logscan_lines_total"},
}}

func TestObserve(t *testing.T) {
	for _, tt := range observeTests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSet(t, newClock(), tt.defs...)
			for rule := -1; rule <= 1; rule++ {
				feed(s, rule, tt.lines[rule]...)
			}
			compare(t, s, tt.want, tt.names...)
		})
	}
}

func TestMissingLabelIsEmpty(t *testing.T) {
	s := newSet(t, newClock(), counterDef("http_requests_total", "method", "dur"))
	feed(s, 0, "GET / 200 1", "GET / 200 1 5")
	got := exposition(t, s)
	for _, want := range []string{
		`logscan_http_requests_total{dur="",method="GET"} 1`,
		`logscan_http_requests_total{dur="5",method="GET"} 1`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("exposition lacks %s:\n%s", want, got)
		}
	}
}

func TestInvalidUTF8Labels(t *testing.T) {
	s := newSet(t, newClock(), counterDef("http_requests_total", "path"))
	// Two different invalid byte strings that sanitize to the same value
	// must land in one series, or the registry would see a duplicate.
	feed(s, 0, "GET /\xff 200 1", "GET /\xfe 200 1", "GET /\uFFFD 200 1", "GET /ok 200 1")
	compare(t, s, `
		# HELP logscan_http_requests_total Requests.
		# TYPE logscan_http_requests_total counter
		logscan_http_requests_total{path="/ok"} 1
		logscan_http_requests_total{path="/`+"\uFFFD"+`"} 3
	`, "logscan_http_requests_total")
}

func TestOverflow(t *testing.T) {
	const max, lines = 10, 100_000
	d := counterDef("http_requests_total", "path", "status")
	d.MaxSeries = max
	s := newSet(t, newClock(), d)
	m := extractor().NewMatch()
	for i := range lines {
		m.Reset(fmt.Appendf(nil, "GET /%d 200 1", i), nil, 0)
		s.Observe(0, m)
	}
	feed(s, 0, "GET /0 200 1", "GET other other 1") // an existing series, and "other" itself
	compare(t, s, fmt.Sprintf(`
		# HELP logscan_metric_overflow_total Lines whose label set was beyond a metric's max_series and went to its series labelled "other".
		# TYPE logscan_metric_overflow_total counter
		logscan_metric_overflow_total{metric="logscan_http_requests_total"} %d
		# HELP logscan_metric_series Series that a metric of a rule holds, its "other" series included.
		# TYPE logscan_metric_series gauge
		logscan_metric_series{metric="logscan_http_requests_total"} %d
	`, lines-max, max+1), OverflowName, SeriesName)
	got := exposition(t, s)
	for _, want := range []string{
		fmt.Sprintf(`logscan_http_requests_total{path="other",status="other"} %d`, lines-max+1),
		`logscan_http_requests_total{path="/0",status="200"} 2`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("exposition lacks %s", want)
		}
	}
	if n := len(s.fams[0].series); n != max+1 {
		t.Errorf("%d series stored, want %d", n, max+1)
	}
}

func TestExpire(t *testing.T) {
	c := newClock()
	d := counterDef("http_requests_total", "path")
	d.ExpireAfter = time.Minute
	keep := Def{Rule: 0, RuleName: "web", Key: "k2", Name: "forever_total", Type: "counter", Help: "h", Labels: []string{"path"}}
	s := newSet(t, c, d, keep)
	feed(s, 0, "GET /old 200 1", "GET /old 200 1", "GET /new 200 1")
	c.t = c.t.Add(50 * time.Second)
	feed(s, 0, "GET /new 200 1")
	c.t = c.t.Add(11 * time.Second) // /old idle 61s, /new 11s
	s.Expire()
	compare(t, s, `
		# HELP logscan_http_requests_total Requests.
		# TYPE logscan_http_requests_total counter
		logscan_http_requests_total{path="/new"} 2
		# HELP logscan_metric_expired_total Series of a metric of a rule dropped for being idle longer than its expire_after.
		# TYPE logscan_metric_expired_total counter
		logscan_metric_expired_total{metric="logscan_forever_total"} 0
		logscan_metric_expired_total{metric="logscan_http_requests_total"} 1
		# HELP logscan_forever_total h
		# TYPE logscan_forever_total counter
		logscan_forever_total{path="/new"} 2
		logscan_forever_total{path="/old"} 2
	`, "logscan_http_requests_total", ExpiredName, "logscan_forever_total")

	// Idle exactly ExpireAfter is not longer than it.
	c.t = c.t.Add(49 * time.Second)
	s.Expire()
	feed(s, 0, "GET /old 200 1") // back from zero
	compare(t, s, `
		# HELP logscan_http_requests_total Requests.
		# TYPE logscan_http_requests_total counter
		logscan_http_requests_total{path="/new"} 2
		logscan_http_requests_total{path="/old"} 1
	`, "logscan_http_requests_total")
}

func TestObserveAllocs(t *testing.T) {
	s, m := benchSet(t)
	s.Observe(-1, m)
	if n := testing.AllocsPerRun(1000, func() { s.Observe(-1, m) }); n != 0 {
		t.Errorf("Observe of existing series: %v allocs, want 0", n)
	}
	// Overflowing lines do not allocate either, once "other" exists.
	d := counterDef("http_requests_total", "path")
	d.MaxSeries = 1
	s = newSet(t, newClock(), d)
	feed(s, 0, "GET /a 200 1", "GET /b 200 1")
	mo := extractor().NewMatch()
	mo.Reset([]byte("GET /c 200 1"), nil, 0)
	mo.Get(0)
	if n := testing.AllocsPerRun(1000, func() { s.Observe(0, mo) }); n != 0 {
		t.Errorf("Observe of an overflowing line: %v allocs, want 0", n)
	}
}

// TestConcurrentScrape runs scrapes while lines are observed and expired;
// it is meant for -race.
func TestConcurrentScrape(t *testing.T) {
	c := newClock()
	d := counterDef("http_requests_total", "path")
	d.ExpireAfter = time.Second
	s := newSet(t, c, d)
	reg := registry(t, s)
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
				if _, err := reg.Gather(); err != nil {
					t.Error(err)
					return
				}
				_, _ = s.Checkpoint(false)
			}
		}
	})
	for i := range 2000 {
		feed(s, 0, fmt.Sprintf("GET /%d 200 1", i%50))
		if i%100 == 0 {
			c.t = c.t.Add(time.Second)
			s.Expire()
		}
	}
	close(done)
	wg.Wait()
	if n := testutil.CollectAndCount(s, "logscan_http_requests_total"); n == 0 || n > 50 {
		t.Errorf("%d series, want 1..50", n)
	}
}
