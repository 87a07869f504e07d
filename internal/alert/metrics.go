package alert

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names.
const (
	AlertsTotal     = "logscan_alerts_total"
	SuppressedTotal = "logscan_action_suppressed_total"
	DeliverySeconds = "logscan_alert_delivery_seconds"
	Outbox          = "logscan_alert_outbox"
)

// The result label of logscan_alerts_total: fired and resolved count
// episodes, once each whatever their destinations; sent, failed and
// dropped count notifications, per destination: sent is delivered (2xx, or
// a command that exited 0), failed is refused for good (a 4xx or 3xx, or a
// command that failed or timed out), dropped is lost on our side (the
// outbox was full, or its destination is gone after a restart).
const (
	resultFired    = "fired"
	resultResolved = "resolved"
	resultSent     = "sent"
	resultFailed   = "failed"
	resultDropped  = "dropped"
)

// The reason label of logscan_action_suppressed_total, each counted once
// per match or notification: a match of a firing alert whose rule has a
// webhook or command is cooldown (the action waits for RepeatInterval),
// one whose rule only goes to Alertmanager is dedup (Alertmanager has the
// alert already); ratelimit is a firing or repeat notification to a
// webhook that its token bucket dropped.
const (
	reasonDedup     = "dedup"
	reasonRateLimit = "ratelimit"
	reasonCooldown  = "cooldown"
)

// metrics exist whether or not they are registered. Registering where an
// Engine before (a reload) registered them reuses those, so that counters
// go on across reloads.
type metrics struct {
	alerts     *prometheus.CounterVec
	suppressed *prometheus.CounterVec
	deliveries *prometheus.HistogramVec
	outboxes   *prometheus.GaugeVec

	dedup, ratelimit, cooldown prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{}
	var err error
	if m.alerts, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: AlertsTotal,
		Help: "Alert episodes fired and resolved, and notifications sent, failed (refused for good) and dropped (outbox full), by rule.",
	}, []string{"rule", "result"})); err != nil {
		return nil, err
	}
	if m.suppressed, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: SuppressedTotal,
		Help: "Matches and notifications that notified nobody, by reason: dedup (alert already firing), cooldown (webhook or command within repeat_interval), ratelimit (webhook's token bucket empty).",
	}, []string{"reason"})); err != nil {
		return nil, err
	}
	if m.deliveries, err = register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    DeliverySeconds,
		Help:    "Time from a notification's creation to its delivery, by destination.",
		Buckets: prometheus.ExponentialBuckets(0.01, 4, 10),
	}, []string{"destination"})); err != nil {
		return nil, err
	}
	if m.outboxes, err = register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: Outbox,
		Help: "Notifications pending in the outbox, by destination.",
	}, []string{"destination"})); err != nil {
		return nil, err
	}
	m.dedup = m.suppressed.WithLabelValues(reasonDedup)
	m.ratelimit = m.suppressed.WithLabelValues(reasonRateLimit)
	m.cooldown = m.suppressed.WithLabelValues(reasonCooldown)
	return m, nil
}

func register[T prometheus.Collector](reg prometheus.Registerer, c T) (T, error) {
	if reg == nil {
		return c, nil
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if old, ok := are.ExistingCollector.(T); ok {
				return old, nil
			}
		}
		return c, fmt.Errorf("alert: registering metrics: %w", err)
	}
	return c, nil
}

// declare makes the series of e's rules and destinations exist at zero,
// and removes the outbox gauges of destinations e does not have.
func (m *metrics) declare(e *Engine) {
	for _, r := range e.rules {
		for _, res := range []string{resultFired, resultResolved, resultSent, resultFailed, resultDropped} {
			m.alerts.WithLabelValues(r.Name, res)
		}
	}
	m.outboxes.Reset()
	for _, d := range e.dests {
		m.outboxes.WithLabelValues(d.name).Set(0)
		m.deliveries.WithLabelValues(d.name)
	}
}

func (m *metrics) rule(name, result string) prometheus.Counter {
	return m.alerts.WithLabelValues(name, result)
}

func (m *metrics) outbox(d *dest) prometheus.Gauge { return m.outboxes.WithLabelValues(d.name) }

func (m *metrics) delivery(d *dest) prometheus.Observer { return m.deliveries.WithLabelValues(d.name) }
