package otlp

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the exporter's. They exist whether or not they are
// registered, so that counting needs no nil checks.
type metrics struct {
	recordsSent, recordsFailed, recordsDropped  prometheus.Counter
	batchesSent, batchesFailed, batchesDropped  prometheus.Counter
	recordsRetried, batchesRetried, deadLetters prometheus.Counter
	duration                                    prometheus.Histogram

	all []prometheus.Collector
	reg prometheus.Registerer // where all were registered, nil when not
}

// The result label's values: sent is acknowledged; failed is refused for
// good by the collector (and dead-lettered when a file is configured);
// dropped is lost on our side or by the collector's choice: rejected in a
// partial success, or refused and not written to the dead-letter file.
const (
	resultSent    = "sent"
	resultFailed  = "failed"
	resultDropped = "dropped"
)

func newMetrics(e *Exporter) *metrics {
	records := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "logscan_otlp_records_total",
		Help: "Records done by the OTLP exporter, by result: sent (acknowledged), failed (refused by the collector), dropped (rejected in a partial success, or refused and not dead-lettered).",
	}, []string{"result"})
	batches := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "logscan_otlp_batches_total",
		Help: "Batches done by the OTLP exporter, by result, as logscan_otlp_records_total.",
	}, []string{"result"})
	m := &metrics{
		recordsSent:    records.WithLabelValues(resultSent),
		recordsFailed:  records.WithLabelValues(resultFailed),
		recordsDropped: records.WithLabelValues(resultDropped),
		batchesSent:    batches.WithLabelValues(resultSent),
		batchesFailed:  batches.WithLabelValues(resultFailed),
		batchesDropped: batches.WithLabelValues(resultDropped),
		recordsRetried: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logscan_otlp_records_retried_total",
			Help: "Records in OTLP export attempts that failed and were retried, counted per attempt.",
		}),
		batchesRetried: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logscan_otlp_batches_retried_total",
			Help: "OTLP export attempts that failed and were retried.",
		}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logscan_otlp_dead_letter_batches_total",
			Help: "Batches refused by the collector and written to the dead-letter file.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "logscan_otlp_export_duration_seconds",
			Help:    "Duration of OTLP export requests, failed ones included.",
			Buckets: prometheus.DefBuckets,
		}),
	}
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "logscan_otlp_queue_bytes",
		Help: "Estimated bytes of the records added to the OTLP exporter and not yet done.",
	}, func() float64 { return float64(e.queued()) })
	oldest := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "logscan_otlp_oldest_unacked_age_seconds",
		Help: "Age of the oldest record added to the OTLP exporter and not yet done, 0 when none.",
	}, func() float64 {
		t := e.oldest()
		if t.IsZero() {
			return 0
		}
		return max(e.now().Sub(t).Seconds(), 0)
	})
	m.all = []prometheus.Collector{records, batches, m.recordsRetried, m.batchesRetried,
		m.deadLetters, m.duration, queue, oldest}
	return m
}

// register registers every metric on reg, or none: one Exporter at a time
// per registry, since the gauges read this Exporter.
func (m *metrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for i, c := range m.all {
		if err := reg.Register(c); err != nil {
			for _, d := range m.all[:i] {
				reg.Unregister(d)
			}
			return fmt.Errorf("otlp: registering metrics: %w", err)
		}
	}
	m.reg = reg
	return nil
}

func (m *metrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.all {
		m.reg.Unregister(c)
	}
	m.reg = nil
}
