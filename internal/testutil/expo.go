package testutil

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Series are the samples of a Prometheus exposition by Key: a histogram's
// as name_bucket{le="..."}, name_sum and name_count, as the text format
// writes them.
type Series map[string]float64

// Key is the key of the sample of name with the label name/value pairs
// kv: `name{a="x",b="y"}`, labels sorted by name, values quoted with %q,
// and labels with the value "" left out, as Prometheus does.
func Key(name string, kv ...string) string {
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

// FormatLE writes a bucket bound as the le label holds it.
func FormatLE(le float64) string {
	if math.IsInf(le, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(le, 'g', -1, 64)
}

// ParseExposition reads the Prometheus text format with Prometheus's own
// parser.
func ParseExposition(text string) (Series, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		return nil, err
	}
	s := Series{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			var kv []string
			for _, l := range m.GetLabel() {
				kv = append(kv, l.GetName(), l.GetValue())
			}
			addSample(s, name, f.GetType(), m, kv)
		}
	}
	return s, nil
}

func addSample(s Series, name string, typ dto.MetricType, m *dto.Metric, kv []string) {
	switch typ {
	case dto.MetricType_COUNTER:
		s[Key(name, kv...)] = m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		s[Key(name, kv...)] = m.GetGauge().GetValue()
	case dto.MetricType_HISTOGRAM:
		h := m.GetHistogram()
		inf := Key(name+"_bucket", append(slices.Clone(kv), "le", "+Inf")...)
		s[inf] = float64(h.GetSampleCount()) // unless the exposition has its own +Inf bucket
		for _, b := range h.GetBucket() {
			s[Key(name+"_bucket", append(slices.Clone(kv), "le", FormatLE(b.GetUpperBound()))...)] = float64(b.GetCumulativeCount())
		}
		s[Key(name+"_sum", kv...)] = h.GetSampleSum()
		s[Key(name+"_count", kv...)] = float64(h.GetSampleCount())
	case dto.MetricType_SUMMARY:
		sm := m.GetSummary()
		s[Key(name+"_sum", kv...)] = sm.GetSampleSum()
		s[Key(name+"_count", kv...)] = float64(sm.GetSampleCount())
	default:
		s[Key(name, kv...)] = m.GetUntyped().GetValue()
	}
}

var scrapeClient = &http.Client{Timeout: 5 * time.Second}

// Scrape fetches and parses url's exposition; it returns the text too.
func Scrape(url string) (Series, string, error) {
	resp, err := scrapeClient.Get(url)
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
	s, err := ParseExposition(string(b))
	return s, string(b), err
}
