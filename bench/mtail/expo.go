package main

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/logscan/logscan/internal/testutil"
)

// series is an exposition's samples by `name{a="x",b="y"}`, the labels
// sorted by name.
type series map[string]float64

func inf() float64 { return math.Inf(1) }

var formatLE = testutil.FormatLE

// scrape fetches and parses url's exposition with Prometheus's parser.
func scrape(url string) (series, error) {
	s, _, err := testutil.Scrape(url)
	return series(s), err
}

// total is the sum of the samples named prefix+name or name.
func (s series) total(name, prefix string) float64 {
	var t float64
	for k, v := range s {
		for _, n := range []string{name, prefix + name} {
			if k == n || strings.HasPrefix(k, n+"{") {
				t += v
			}
		}
	}
	return t
}

// pick is the four compared families, logscan's prefix taken off.
func (s series) pick() series {
	out := series{}
	for k, v := range s {
		k = strings.TrimPrefix(k, "logscan_")
		n, _, _ := strings.Cut(k, "{")
		switch n {
		case "http_requests_total", "http_response_bytes_total", "http_bytes_bucket", "http_bytes_sum", "http_bytes_count", "last_status":
			out[k] = v
		}
	}
	return out
}

// diff lists the keys whose values differ between a and b (or that one
// side lacks), naming the sides an and bn.
func diff(a, b series, an, bn string) []string {
	var d []string
	for k, bv := range b {
		if av, ok := a[k]; !ok {
			d = append(d, fmt.Sprintf("%s: %s none, %s %g", k, an, bn, bv))
		} else if av != bv {
			d = append(d, fmt.Sprintf("%s: %s %g, %s %g", k, an, av, bn, bv))
		}
	}
	for k, av := range a {
		if _, ok := b[k]; !ok {
			d = append(d, fmt.Sprintf("%s: %s %g, %s none", k, an, av, bn))
		}
	}
	slices.Sort(d)
	return d
}
