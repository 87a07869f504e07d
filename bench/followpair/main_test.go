package main

import "testing"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		line    string
		seq     int
		ns      int64
		matched bool
	}{
		{"2026-12-03T10:00:00Z app[42]: MATCHME seq=12 ns=1700000000000000001", 12, 1700000000000000001, true},
		{"A app.log:1: MATCHME seq=-1 ns=5", -1, 5, true},
		{`{"body":"MATCHME seq=7 ns=99","attributes":{}}`, 7, 99, true}, // a collector's quoted body
		{"app[42]: ordinary line 3 with some padding", 0, 0, false},
		{"MATCHME seq=12", 0, 0, false},
		{"MATCHME seq=x ns=1", 0, 0, false},
		{"MATCHME seq=1 ns=", 0, 0, false},
	} {
		seq, ns, ok := parse([]byte(tc.line))
		if ok != tc.matched || (ok && (seq != tc.seq || ns != tc.ns)) {
			t.Errorf("parse(%q) = %d, %d, %v; want %d, %d, %v", tc.line, seq, ns, ok, tc.seq, tc.ns, tc.matched)
		}
	}
}

func TestQuantiles(t *testing.T) {
	q := quantiles([]float64{5, 1, 4, 2, 3, 6, 7, 8, 9, 10})
	if q(0.5) != 6 || q(0.99) != 10 || q(1) != 10 || q(0) != 1 {
		t.Errorf("quantiles: p0 %v p50 %v p99 %v max %v", q(0), q(0.5), q(0.99), q(1))
	}
	if quantiles(nil)(0.5) != 0 {
		t.Error("quantiles of nothing is not 0")
	}
}
