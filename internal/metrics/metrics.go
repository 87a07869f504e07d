// Package metrics defines logscan's Prometheus metrics and the registry that
// /metrics serves.
//
// Most pipeline numbers are owned by the follow engine as atomic counters;
// rather than double-counting them here, the caller registers a function per
// metric ([Metrics.counterFunc], [Metrics.gaugeFunc], or all at once with
// [Metrics.Observe]) that is read at scrape time. What only the output and
// service paths know (matches per rule, reloads, stream drops) is counted
// natively here, without allocating on the per-match path.
//
// Labels are bounded by design: rule names from the config, a fixed set of
// read-error reasons and reload results. Paths and regexps never become label
// values, because each distinct value is a new time series.
package metrics

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metric names, exported so the caller wiring engine counters uses the same
// spelling as the documentation and the tests.
const (
	LinesRead          = "logscan_lines_read_total"
	BytesRead          = "logscan_bytes_read_total"
	Matches            = "logscan_matches_total"
	FilesWatched       = "logscan_files_watched"
	ReadErrors         = "logscan_read_errors_total"
	Rotations          = "logscan_rotations_total"
	Truncations        = "logscan_truncations_total"
	ConfigReloads      = "logscan_config_reloads_total"
	LastMatchTimestamp = "logscan_last_match_timestamp_seconds"
	LagBytes           = "logscan_lag_bytes"
	TruncatedBytes     = "logscan_truncated_bytes_total"
	LostBytes          = "logscan_lost_bytes_total"
	LongLines          = "logscan_long_lines_total"
	DeletedOpenBytes   = "logscan_deleted_open_bytes"
	StreamDropped      = "logscan_stream_dropped_total"
	StreamClients      = "logscan_stream_clients"
	BuildInfo          = "logscan_build_info"
)

// UnnamedRule is the label value used for a rule without a name.
const UnnamedRule = "unnamed"

// Metrics holds the registry and the natively counted metrics. Its methods
// are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	matches   *prometheus.CounterVec
	lastMatch *prometheus.GaugeVec
	reloadOK  prometheus.Counter
	reloadErr prometheus.Counter
	dropped   prometheus.Counter

	// rules is a copy-on-write map so that Match can look a rule up with one
	// atomic load and no lock; writers serialise on mu.
	rules atomic.Pointer[map[string]*RuleMetrics]
	mu    sync.Mutex

	events *EventMetrics // registered on first use (events.go)
}

// RuleMetrics are the prebound metrics of one rule; holding one avoids even
// the map lookup of [Metrics.Match].
type RuleMetrics struct {
	matches   prometheus.Counter
	lastMatch prometheus.Gauge
}

// Match counts one selected line at time t. It does not allocate.
func (r *RuleMetrics) Match(t time.Time) {
	r.matches.Inc()
	r.lastMatch.Set(float64(t.UnixNano()) / 1e9)
}

// New returns Metrics with a fresh registry holding the Go and process
// collectors, logscan_build_info and the native metrics. version is the
// build's version; empty means the main module's version from the build info.
func New(version string) *Metrics {
	if version == "" {
		version = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			version = bi.Main.Version
		}
	}
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.matches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: Matches,
		Help: "Lines selected, by rule name.",
	}, []string{"rule"})
	m.lastMatch = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: LastMatchTimestamp,
		Help: "Unix time of the last line selected, by rule name.",
	}, []string{"rule"})
	reloads := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: ConfigReloads,
		Help: "Configuration reloads, by result (success or failure).",
	}, []string{"result"})
	// Both results exist from the start so that rate() and alerts on failure
	// work before the first failure.
	m.reloadOK = reloads.WithLabelValues("success")
	m.reloadErr = reloads.WithLabelValues("failure")
	m.dropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: StreamDropped,
		Help: "Matches not sent to a /matches client because its buffer was full.",
	})
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: BuildInfo,
		Help: "Always 1; the labels carry the logscan version and the Go version it was built with.",
	}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)

	empty := map[string]*RuleMetrics{}
	m.rules.Store(&empty)
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.matches, m.lastMatch, reloads, m.dropped, buildInfo,
	)
	return m
}

// Registry returns the registry to serve on /metrics.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Rule returns the prebound metrics of the named rule ("" is reported as
// "unnamed"), creating its series at zero on first use.
func (m *Metrics) Rule(name string) *RuleMetrics {
	if name == "" {
		name = UnnamedRule
	}
	if r, ok := (*m.rules.Load())[name]; ok {
		return r
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.rules.Load()
	if r, ok := old[name]; ok {
		return r
	}
	r := &RuleMetrics{
		matches:   m.matches.WithLabelValues(name),
		lastMatch: m.lastMatch.WithLabelValues(name),
	}
	next := make(map[string]*RuleMetrics, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[name] = r
	m.rules.Store(&next)
	return r
}

// SetRules declares the configured rules, at start-up and after each reload:
// their series exist at zero before the first match, and the series of rules
// no longer configured are removed so that a renamed rule does not linger.
func (m *Metrics) SetRules(names []string) {
	next := make(map[string]*RuleMetrics, len(names))
	for _, name := range names {
		if name == "" {
			name = UnnamedRule
		}
		next[name] = &RuleMetrics{
			matches:   m.matches.WithLabelValues(name),
			lastMatch: m.lastMatch.WithLabelValues(name),
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for name := range *m.rules.Load() {
		if _, keep := next[name]; !keep {
			m.matches.DeleteLabelValues(name)
			m.lastMatch.DeleteLabelValues(name)
		}
	}
	m.rules.Store(&next)
}

// Match counts one line selected by rule at time t. After the rule's first
// use it does not allocate.
func (m *Metrics) Match(rule string, t time.Time) {
	if rule == "" {
		rule = UnnamedRule
	}
	r, ok := (*m.rules.Load())[rule]
	if !ok {
		r = m.Rule(rule)
	}
	r.Match(t)
}

// ConfigReload counts one configuration reload, successful if err is nil.
func (m *Metrics) ConfigReload(err error) {
	if err != nil {
		m.reloadErr.Inc()
		return
	}
	m.reloadOK.Inc()
}

// StreamDropped counts one match dropped for a slow /matches client; its
// method value is meant to be passed to httpapi.NewHub.
func (m *Metrics) StreamDropped() { m.dropped.Inc() }

// counterFunc registers a counter whose value is read from fn at scrape
// time; fn must be safe for concurrent use and never decrease.
func (m *Metrics) counterFunc(name, help string, fn func() float64) error {
	c := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, fn)
	if err := m.reg.Register(c); err != nil {
		return fmt.Errorf("metrics: register counter %s: %w", name, err)
	}
	return nil
}

// gaugeFunc registers a gauge whose value is read from fn at scrape time; fn
// must be safe for concurrent use.
func (m *Metrics) gaugeFunc(name, help string, fn func() float64) error {
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn)
	if err := m.reg.Register(g); err != nil {
		return fmt.Errorf("metrics: register gauge %s: %w", name, err)
	}
	return nil
}

// counterVecFunc registers a counter with one label whose series are read at
// scrape time: fn calls yield once per label value with its current count.
// It suits engine-owned counters kept per reason, such as read errors.
func (m *Metrics) counterVecFunc(name, help, label string, fn func(yield func(value string, count float64))) error {
	c := &vecFunc{desc: prometheus.NewDesc(name, help, []string{label}, nil), fn: fn}
	if err := m.reg.Register(c); err != nil {
		return fmt.Errorf("metrics: register counter %s: %w", name, err)
	}
	return nil
}

type vecFunc struct {
	desc *prometheus.Desc
	fn   func(yield func(string, float64))
}

func (v *vecFunc) Describe(ch chan<- *prometheus.Desc) { ch <- v.desc }

func (v *vecFunc) Collect(ch chan<- prometheus.Metric) {
	v.fn(func(value string, count float64) {
		ch <- prometheus.MustNewConstMetric(v.desc, prometheus.CounterValue, count, value)
	})
}

// Sources are the engine- and server-owned values behind the metrics that
// are not counted here. Each non-nil field is read at scrape time and must
// be safe for concurrent use; a nil field leaves its metric unregistered.
type Sources struct {
	LinesRead        func() float64                             // lines read from all files
	BytesRead        func() float64                             // bytes read from all files
	FilesWatched     func() float64                             // files currently followed
	ReadErrors       func(yield func(reason string, n float64)) // read errors per reason
	Rotations        func() float64                             // rotations detected
	Truncations      func() float64                             // truncations detected
	LagBytes         func() float64                             // bytes written but not yet read, summed over files
	TruncatedBytes   func() float64                             // bytes skipped because a file was truncated
	LongLines        func() float64                             // lines cut at the line-length cap
	DeletedOpenBytes func() float64                             // bytes held by deleted files still open
	StreamClients    func() float64                             // connected /matches clients
	LostBytes        func(yield func(reason string, n float64)) // bytes never read or shipped, per reason
}

// Observe registers every non-nil source under its standard name and help
// text. It stops at the first registration error.
func (m *Metrics) Observe(s Sources) error {
	type fn struct {
		name, help string
		f          func() float64
		counter    bool
	}
	fns := []fn{
		{LinesRead, "Lines read from followed files.", s.LinesRead, true},
		{BytesRead, "Bytes read from followed files.", s.BytesRead, true},
		{FilesWatched, "Files currently followed.", s.FilesWatched, false},
		{Rotations, "File rotations detected.", s.Rotations, true},
		{Truncations, "File truncations detected.", s.Truncations, true},
		{LagBytes, "Bytes written to followed files but not yet read, summed over files.", s.LagBytes, false},
		{TruncatedBytes, "Bytes never read because their file was truncated before they were.", s.TruncatedBytes, true},
		{LongLines, "Lines cut at the line-length cap.", s.LongLines, true},
		{DeletedOpenBytes, "Bytes held on disk by deleted files that are still open.", s.DeletedOpenBytes, false},
		{StreamClients, "Clients connected to the /matches stream.", s.StreamClients, false},
	}
	for _, f := range fns {
		if f.f == nil {
			continue
		}
		var err error
		if f.counter {
			err = m.counterFunc(f.name, f.help, f.f)
		} else {
			err = m.gaugeFunc(f.name, f.help, f.f)
		}
		if err != nil {
			return err
		}
	}
	if s.LostBytes != nil {
		if err := m.counterVecFunc(LostBytes, "Bytes that were never read, or never acknowledged by the OTLP receiver, and cannot be read again, by reason.", "reason", s.LostBytes); err != nil {
			return err
		}
	}
	if s.ReadErrors != nil {
		return m.counterVecFunc(ReadErrors, "Errors reading followed files, by reason.", "reason", s.ReadErrors)
	}
	return nil
}
