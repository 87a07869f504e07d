package metrics

import "github.com/prometheus/client_golang/prometheus"

// The event stages' metric names.
const (
	ParseErrors    = "logscan_parse_errors_total"
	MultilineFlush = "logscan_multiline_flush_total"
)

// FlushReasons are the label values of logscan_multiline_flush_total, in
// the order of multiline.Reason; all exist from the start, so that rate()
// works before the first flush of each kind.
var FlushReasons = []string{"next_start", "idle", "max_lines", "max_bytes", "rotate", "shutdown", "end"}

// EventMetrics are the event stages' counters.
type EventMetrics struct {
	ParseErrors prometheus.Counter
	Flushes     []prometheus.Counter // by FlushReasons index
}

// Events registers the event stages' counters, once per Metrics.
func (m *Metrics) Events() *EventMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.events != nil {
		return m.events
	}
	e := &EventMetrics{ParseErrors: prometheus.NewCounter(prometheus.CounterOpts{
		Name: ParseErrors,
		Help: "Lines that did not parse in their file's format (kept as text, or dropped with on_parse_error: drop).",
	})}
	flush := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MultilineFlush,
		Help: "Multiline events emitted, by what ended them.",
	}, []string{"reason"})
	for _, r := range FlushReasons {
		e.Flushes = append(e.Flushes, flush.WithLabelValues(r))
	}
	m.reg.MustRegister(e.ParseErrors, flush)
	m.events = e
	return e
}
