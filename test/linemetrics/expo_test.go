package linemetrics_test

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/logscan/logscan/internal/testutil"
)

// series is an exposition's samples by key: the name, and the labels
// sorted by name, `name{a="x",b="y"}` (a name alone without labels).
type series map[string]float64

var inf = math.Inf(1)

// family is the samples of the metric family name: name itself, name{...}
// and, for a histogram, name_bucket, name_sum and name_count.
func (s series) family(name string) series {
	out := series{}
	for k, v := range s {
		n := k
		if i := strings.IndexByte(k, '{'); i >= 0 {
			n = k[:i]
		}
		if n == name || n == name+"_bucket" || n == name+"_sum" || n == name+"_count" {
			out[k] = v
		}
	}
	return out
}

// families is the samples of several families.
func (s series) families(names ...string) series {
	out := series{}
	for _, n := range names {
		for k, v := range s.family(n) {
			out[k] = v
		}
	}
	return out
}

// total is the sum of the samples named name (with any labels).
func (s series) total(name string) float64 {
	var t float64
	for k, v := range s {
		if k == name || strings.HasPrefix(k, name+"{") {
			t += v
		}
	}
	return t
}

// count is how many samples are named name (with any labels).
func (s series) count(name string) int {
	n := 0
	for k := range s {
		if k == name || strings.HasPrefix(k, name+"{") {
			n++
		}
	}
	return n
}

// renamed is s with prefix put before every name (mtail's names have no
// logscan_ prefix).
func (s series) renamed(prefix string) series {
	out := series{}
	for k, v := range s {
		out[prefix+k] = v
	}
	return out
}

// diff lists, sorted, the keys whose values differ between got and want
// (a key missing on one side included), at most max of them.
func diff(got, want series, max int) []string {
	var d []string
	for k, w := range want {
		if g, ok := got[k]; !ok {
			d = append(d, fmt.Sprintf("%s: missing, want %g", k, w))
		} else if g != w {
			d = append(d, fmt.Sprintf("%s: got %g, want %g (diff %+g)", k, g, w, g-w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			d = append(d, fmt.Sprintf("%s: got %g, not expected", k, g))
		}
	}
	slices.Sort(d)
	if len(d) > max {
		d = append(d[:max], fmt.Sprintf("... %d more", len(d)-max))
	}
	return d
}

// key, formatLE and scrape are testutil's, on this package's series.
var (
	key      = testutil.Key
	formatLE = testutil.FormatLE
)

// scrape fetches and parses url's exposition; it returns the text too.
func scrape(url string) (series, string, error) {
	s, text, err := testutil.Scrape(url)
	return series(s), text, err
}
