package main

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// series is an exposition's samples by `name{a="x",b="y"}`, the labels
// sorted by name.
type series map[string]float64

func inf() float64 { return math.Inf(1) }

func formatLE(le float64) string {
	if math.IsInf(le, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(le, 'g', -1, 64)
}

var client = &http.Client{Timeout: 5 * time.Second}

func scrape(url string) (series, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return parseExposition(string(b))
}

// parseExposition reads the Prometheus text format; label values are kept
// as written (escapes and all), which is enough to compare two expositions
// of label values without quotes.
func parseExposition(text string) (series, error) {
	s := series{}
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := line, ""
		var labels []string
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.LastIndexByte(line, '}')
			if j < i {
				return nil, fmt.Errorf("%q: unbalanced braces", line)
			}
			name, rest = line[:i], line[j+1:]
			if body := line[i+1 : j]; body != "" {
				labels = strings.Split(strings.TrimSuffix(body, ","), ",")
			}
		} else if i := strings.IndexAny(line, " \t"); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return nil, fmt.Errorf("%q: no value", line)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", line, err)
		}
		slices.Sort(labels)
		k := name
		if len(labels) > 0 {
			k += "{" + strings.Join(labels, ",") + "}"
		}
		s[k] = v
	}
	return s, nil
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
