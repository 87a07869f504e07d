package linemetrics

import (
	"encoding/binary"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logscan/logscan/internal/capture"
)

// series is one label set of a family.
type series struct {
	labels  []string
	value   float64  // a counter's or gauge's value, a histogram's sum
	count   uint64   // a histogram's observations
	buckets []uint64 // a histogram's observations per bucket (not cumulative), +Inf last
	updated int64    // Unix nanoseconds of the last line, for Expire
	dirty   bool     // updated since the last Checkpoint
}

// appendKey appends the map key of a label set: each value preceded by
// its length, so that no two label sets share a key whatever bytes they
// hold.
func appendKey[S ~string | ~[]byte](b []byte, values []S) []byte {
	for _, v := range values {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}

// Observe updates the metrics of rule (-1: the lines no rule selects) for
// the line m holds. It allocates nothing for a series that exists.
func (s *Set) Observe(rule int, m *capture.Match) {
	if rule+1 < 0 || rule+1 >= len(s.rules) {
		return
	}
	bs := s.rules[rule+1]
	if len(bs) == 0 {
		return
	}
	now := s.now().UnixNano() // once: a clock read may cost more than the rest
	for i := range bs {
		s.observe(&bs[i], m, now)
	}
}

func (s *Set) observe(b *binding, m *capture.Match, now int64) {
	f := b.fam
	v, st := 1.0, capture.OK
	if b.value >= 0 {
		v, st = m.Number(b.value)
	}
	// The regexp runs in the first Get, outside the lock that scrapes wait
	// for.
	key := s.scratch[:0]
	if st == capture.OK {
		for _, li := range b.labels {
			lv, _, _ := m.Get(li)
			key = binary.AppendUvarint(key, uint64(len(lv)))
			key = append(key, lv...)
		}
		s.scratch = key
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case st == capture.Missing:
		f.errs[missing]++
		f.dirty = true
		return
	case st == capture.NotANumber:
		f.errs[notANumber]++
		f.dirty = true
		return
	case f.kind == counter && v < 0:
		f.errs[negative]++
		f.dirty = true
		return
	}
	se := f.series[string(key)]
	if se == nil {
		se = f.newSeries(b, m, key)
	}
	switch f.kind {
	case counter:
		se.value += v
	case gauge:
		se.value = v
	case histogram:
		se.buckets[bucket(f.buckets, v)]++
		se.count++
		se.value += v
	}
	se.updated = now
	se.dirty = true
}

// bucket is the index of the first bucket whose upper bound holds v,
// len(bounds) for +Inf.
func bucket(bounds []float64, v float64) int {
	lo, hi := 0, len(bounds)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if bounds[mid] < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// newSeries returns the series of the line's label set, which key does
// not find: the same labels made valid UTF-8, a new series, or the
// overflow series. Only the last two allocate, and the overflow series
// only once.
func (f *family) newSeries(b *binding, m *capture.Match, key []byte) *series {
	var labels []string
	valid := true
	for _, li := range b.labels {
		lv, _, _ := m.Get(li)
		valid = valid && utf8.Valid(lv)
	}
	if !valid {
		labels = make([]string, len(b.labels))
		for i, li := range b.labels {
			lv, _, _ := m.Get(li)
			labels[i] = strings.ToValidUTF8(string(lv), "\uFFFD")
		}
		key = appendKey(nil, labels)
		if se := f.series[string(key)]; se != nil {
			return se
		}
	}
	if len(b.labels) > 0 && string(key) == f.otherKey {
		return f.otherSeries()
	}
	if f.count >= f.maxSeries {
		f.overflow++
		f.dirty = true
		return f.otherSeries()
	}
	if labels == nil {
		labels = make([]string, len(b.labels))
		for i, li := range b.labels {
			lv, _, _ := m.Get(li)
			labels[i] = string(lv)
		}
	}
	return f.add(string(key), labels)
}

func (f *family) otherSeries() *series {
	if f.other == nil {
		labels := make([]string, len(f.labels))
		for i := range labels {
			labels[i] = Other
		}
		f.add(f.otherKey, labels)
	}
	return f.other
}

// add stores a new empty series; Restore and Carry fill theirs in.
func (f *family) add(key string, labels []string) *series {
	se := &series{labels: labels}
	if f.kind == histogram {
		se.buckets = make([]uint64, len(f.buckets)+1)
	}
	f.series[key] = se
	if len(f.labels) > 0 && key == f.otherKey {
		f.other = se
	} else {
		f.count++
	}
	// A series deleted and made again is no longer a tombstone: the
	// delta lists it with its new value.
	delete(f.tombs, key)
	return se
}

// remove deletes the series at key, leaving a tombstone for the next
// delta; too many tombstones and the next delta lists every series.
func (f *family) remove(key string, se *series) {
	delete(f.series, key)
	if se == f.other {
		f.other = nil
	} else {
		f.count--
	}
	if !f.replace {
		f.tombs[key] = se.labels
		if len(f.tombs) > f.maxSeries {
			f.replace = true
			clear(f.tombs)
		}
	}
}

// Expire drops the series not updated for longer than their metric's
// ExpireAfter, as of the clock's now.
func (s *Set) Expire() {
	now := s.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.fams {
		if f.expire <= 0 {
			continue
		}
		cutoff := now - int64(f.expire)
		for key, se := range f.series {
			if se.updated < cutoff {
				f.remove(key, se)
				f.expired++
				f.dirty = true
			}
		}
	}
}

// Describe sends the descriptions of every metric and of the
// self-metrics.
func (s *Set) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range s.fams {
		ch <- f.desc
	}
	for _, d := range s.self {
		ch <- d
	}
}

// Collect sends every series and the self-metrics. It builds them under
// the lock and sends them after, so that Observe does not wait for the
// scrape's reader.
func (s *Set) Collect(ch chan<- prometheus.Metric) {
	for _, m := range s.metrics() {
		ch <- m
	}
}

func (s *Set) metrics() []prometheus.Metric {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.fams {
		n += len(f.series) + nReasons + 3
	}
	out := make([]prometheus.Metric, 0, n)
	for _, f := range s.fams {
		for _, se := range f.series {
			out = append(out, f.metric(se))
		}
		for r, c := range f.errs {
			out = append(out, prometheus.MustNewConstMetric(s.self[0], prometheus.CounterValue, float64(c), f.name, reasons[r]))
		}
		out = append(out,
			prometheus.MustNewConstMetric(s.self[1], prometheus.CounterValue, float64(f.overflow), f.name),
			prometheus.MustNewConstMetric(s.self[2], prometheus.GaugeValue, float64(len(f.series)), f.name),
			prometheus.MustNewConstMetric(s.self[3], prometheus.CounterValue, float64(f.expired), f.name))
	}
	return out
}

func (f *family) metric(se *series) prometheus.Metric {
	switch f.kind {
	case counter:
		return prometheus.MustNewConstMetric(f.desc, prometheus.CounterValue, se.value, se.labels...)
	case gauge:
		return prometheus.MustNewConstMetric(f.desc, prometheus.GaugeValue, se.value, se.labels...)
	}
	cum := make(map[float64]uint64, len(f.buckets))
	var n uint64
	for i, ub := range f.buckets {
		n += se.buckets[i]
		cum[ub] = n
	}
	return prometheus.MustNewConstHistogram(f.desc, se.count, se.value, cum, se.labels...)
}
