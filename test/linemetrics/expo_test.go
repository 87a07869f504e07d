package linemetrics_test

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

// series is an exposition's samples by key: the name, and the labels
// sorted by name, `name{a="x",b="y"}` (a name alone without labels).
type series map[string]float64

var inf = math.Inf(1)

// key builds a series key from a name and label name/value pairs; labels
// with the value "" are left out, as Prometheus does.
func key(name string, kv ...string) string {
	type pair struct{ k, v string }
	var ps []pair
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			ps = append(ps, pair{kv[i], kv[i+1]})
		}
	}
	if len(ps) == 0 {
		return name
	}
	slices.SortFunc(ps, func(a, b pair) int { return strings.Compare(a.k, b.k) })
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", p.k, p.v)
	}
	b.WriteByte('}')
	return b.String()
}

func formatLE(le float64) string {
	if math.IsInf(le, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(le, 'g', -1, 64)
}

// parseExposition reads the Prometheus text format (0.0.4): comments are
// skipped, a sample's optional timestamp is ignored.
func parseExposition(text string) (series, error) {
	s := series{}
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		name, kv, rest, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", line, err)
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return nil, fmt.Errorf("%q: no value", line)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", line, err)
		}
		s[key(name, kv...)] = v
	}
	return s, nil
}

// parseSample splits `name{a="x",...} rest` into the name, the label pairs
// (values unescaped) and the rest.
func parseSample(line string) (string, []string, string, error) {
	i := strings.IndexAny(line, "{ \t")
	if i < 0 {
		return "", nil, "", fmt.Errorf("no value")
	}
	name := line[:i]
	if line[i] != '{' {
		return name, nil, line[i:], nil
	}
	var kv []string
	p := i + 1
	for {
		for p < len(line) && (line[p] == ' ' || line[p] == ',') {
			p++
		}
		if p < len(line) && line[p] == '}' {
			return name, kv, line[p+1:], nil
		}
		eq := strings.IndexByte(line[p:], '=')
		if eq < 0 || p+eq+1 >= len(line) || line[p+eq+1] != '"' {
			return "", nil, "", fmt.Errorf("bad label at %d", p)
		}
		lname := strings.TrimSpace(line[p : p+eq])
		p += eq + 2
		var v strings.Builder
		for ; p < len(line) && line[p] != '"'; p++ {
			if line[p] == '\\' && p+1 < len(line) {
				p++
				switch line[p] {
				case 'n':
					v.WriteByte('\n')
				default:
					v.WriteByte(line[p])
				}
				continue
			}
			v.WriteByte(line[p])
		}
		if p >= len(line) {
			return "", nil, "", fmt.Errorf("unterminated label value")
		}
		p++
		kv = append(kv, lname, v.String())
	}
}

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

var client = &http.Client{Timeout: 5 * time.Second}

// scrape fetches and parses url's exposition; it returns the text too.
func scrape(url string) (series, string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("GET %s: %s: %.200s", url, resp.Status, b)
	}
	s, err := parseExposition(string(b))
	return s, string(b), err
}
