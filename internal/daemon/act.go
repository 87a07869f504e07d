package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logscan/logscan/internal/alert"
	"github.com/logscan/logscan/internal/capture"
	"github.com/logscan/logscan/internal/config"
	"github.com/logscan/logscan/internal/fields"
	"github.com/logscan/logscan/internal/linemetrics"
	"github.com/logscan/logscan/internal/output"
	"github.com/logscan/logscan/internal/pipeline"
)

// alertCloseTimeout bounds the wait, at shutdown, for notifications in
// flight; what is left stays in the outbox, saved with the state.
const alertCloseTimeout = 5 * time.Second

// act is the accumulate stage's sinks in follow mode: the metrics and the
// alerts of the rules, fed with each selected record. Their state is saved
// with the offsets (watch.Checkpointer), with, per file, the end of the
// last record they counted: a restart reads again from the committed
// offset, which the exporter's acknowledgements may hold below that end,
// and the records it reads again below it are not counted twice. It is
// used from the follower's goroutine; /metrics scrapes read the Set under
// its own lock.
type act struct {
	m      *capture.Match
	set    *linemetrics.Set // nil without metrics
	alerts *alert.Engine    // nil without alerts
	// alertOf maps the pipeline's rule index to the engine's (the rule's
	// index at the start: a reload maps the rules by name); -1 for a rule
	// without an alert the engine knows.
	alertOf []int
	// counted is, per file ID, the end of the last record counted; changed
	// the entries to journal (-1: the file is forgotten).
	counted map[string]int64
	changed map[string]int64
	// skip is what the restored state counted: a file's records that start
	// below are counted already.
	skip map[string]int64
}

// aggregates is the JSON of act's checkpoint.
type aggregates struct {
	Metrics json.RawMessage  `json:"metrics,omitempty"`
	Alerts  json.RawMessage  `json:"alerts,omitempty"`
	Counted map[string]int64 `json:"counted,omitempty"`
}

// metricsProxy is the one collector registered for the rules' metrics:
// a reload swaps the Set behind it. It describes nothing (an unchecked
// collector), since the Set changes.
type metricsProxy struct {
	cur atomic.Pointer[linemetrics.Set]
}

func (p *metricsProxy) Describe(chan<- *prometheus.Desc) {}

func (p *metricsProxy) Collect(ch chan<- prometheus.Metric) {
	if s := p.cur.Load(); s != nil {
		s.Collect(ch)
	}
}

// newAct builds the act stage of cfg over p's extractor, nil when no rule
// has metrics or an alert. Its alerts go to the engine the start built
// (d.engine), whose rules are the start's: a reload maps its rules to them
// by name.
func (d *daemon) newAct(cfg *config.Config, p *pipeline.Pipeline) (*act, error) {
	if p.Capture == nil {
		return nil, nil
	}
	a := &act{m: p.Capture.NewMatch(), counted: map[string]int64{}, changed: map[string]int64{}}
	var err error
	if cfg.HasMetrics() {
		if a.set, err = d.newMetricSet(cfg, p.Capture); err != nil {
			return nil, err
		}
	}
	if cfg.HasAlerts() && d.engine != nil {
		a.alerts = d.engine
		names := p.RuleNames()
		a.alertOf = make([]int, len(names))
		for i, n := range names {
			a.alertOf[i] = -1
			if j, ok := d.alertRules[n]; ok && i < len(cfg.Rules) && cfg.Rules[i].Alert != nil {
				a.alertOf[i] = j
			}
		}
	}
	return a, nil
}

// checkMetricNames refuses a metric of a rule that, with metric_prefix,
// has the name of one of logscan's own metrics; it runs once these are
// all registered. running is the configuration whose metrics the registry
// serves now (a reload), nil at the start.
func (d *daemon) checkMetricNames(cfg, running *config.Config) error {
	fams, err := d.met.Registry().Gather()
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	own := map[string]bool{}
	for _, f := range fams {
		own[f.GetName()] = true
	}
	for _, n := range exposedNames(running) {
		delete(own, n) // linemetrics.New refuses the Set's own self-metric names
	}
	for i, r := range cfg.Rules {
		for j, m := range r.Metrics {
			if own[cfg.MetricPrefix+m.Name] {
				return &config.Error{Where: fmt.Sprintf("config key rules[%d].metrics[%d].name", i, j), Value: m.Name, Msg: "with metric_prefix it is the name of one of logscan's own metrics"}
			}
		}
	}
	return nil
}

// exposedNames are the names of the metrics of cfg's rules.
func exposedNames(cfg *config.Config) []string {
	if cfg == nil {
		return nil
	}
	var names []string
	for _, r := range cfg.Rules {
		for _, m := range r.Metrics {
			names = append(names, cfg.MetricPrefix+m.Name)
		}
	}
	return names
}

// newMetricSet builds the Set of the rules' metrics.
func (d *daemon) newMetricSet(cfg *config.Config, x *capture.Extractor) (*linemetrics.Set, error) {
	var defs []linemetrics.Def
	for i, r := range cfg.Rules {
		for j, m := range r.Metrics {
			key := fmt.Sprintf("rules[%d].metrics[%d]", i, j)
			defs = append(defs, linemetrics.Def{
				Rule: i, RuleName: r.Name, Key: key, Name: m.Name, Type: m.Type, Help: m.Help,
				Labels: m.Labels, Value: m.Value, Buckets: m.Buckets, MaxSeries: m.MaxSeries, ExpireAfter: m.ExpireAfter,
			})
		}
	}
	set, err := linemetrics.New(defs, x, linemetrics.Options{Prefix: cfg.MetricPrefix, Now: d.o.Now})
	if de, ok := errors.AsType[*linemetrics.DefError](err); ok {
		return nil, &config.Error{Where: "config key " + de.Key, Msg: de.Err.Error()}
	}
	if err != nil {
		return nil, &config.Error{Where: "config key rules", Msg: err.Error()}
	}
	return set, nil
}

// newAlertEngine builds the alert engine of cfg; its rules are the start's
// for as long as it runs (alertRules).
func (d *daemon) newAlertEngine(cfg *config.Config, x *capture.Extractor) (*alert.Engine, error) {
	ac := alert.Config{Alertmanagers: cfg.Alerting.Alertmanagers, ResendInterval: cfg.Alerting.ResendInterval}
	d.alertRules = map[string]int{}
	for i, r := range cfg.Rules {
		if r.Alert == nil {
			continue
		}
		a := r.Alert
		ac.Rules = append(ac.Rules, alert.Rule{
			Index: i, Name: r.Name, Key: fmt.Sprintf("rules[%d].alert", i),
			Count: a.Count, Window: a.Window, GroupBy: a.GroupBy, ResolveAfter: a.ResolveAfter,
			RepeatInterval: a.RepeatInterval, To: a.To, MaxGroups: a.MaxGroups,
		})
		d.alertRules[r.Name] = i
	}
	for i, w := range cfg.Alerting.Webhooks {
		hook := alert.Webhook{Name: w.Name, URL: w.URL, Timeout: w.Timeout, RatePerSecond: w.RatePerSecond, Burst: w.Burst}
		if w.SecretFile != "" {
			b, err := os.ReadFile(w.SecretFile)
			if err != nil {
				return nil, &config.Error{Where: fmt.Sprintf("config key alerting.webhooks[%d].secret_file", i), Value: w.SecretFile, Msg: err.Error()}
			}
			hook.Secret = []byte(strings.TrimSpace(string(b)))
			if len(hook.Secret) == 0 {
				return nil, &config.Error{Where: fmt.Sprintf("config key alerting.webhooks[%d].secret_file", i), Value: w.SecretFile, Msg: "is empty"}
			}
		}
		ac.Webhooks = append(ac.Webhooks, hook)
	}
	for _, x := range cfg.Alerting.Exec {
		ac.Exec = append(ac.Exec, alert.Exec{Name: x.Name, Argv: x.Argv, Timeout: x.Timeout, MaxRunning: x.MaxRunning})
	}
	host, err := hostName(cfg)
	if err != nil {
		return nil, err
	}
	e, err := alert.New(ac, alert.Options{
		Now: d.o.Now, Host: host, Log: d.log.With().Str("component", "alert").Logger(),
		Registerer: d.met.Registry(), Extractor: x,
	})
	if err != nil {
		return nil, &config.Error{Where: "config key alerting", Msg: err.Error()}
	}
	return e, nil
}

// hostName is the host of the shipped records' resource and of the alerts'
// host label: otlp.host_name when set (a DaemonSet sets it from the node's
// name), else the machine's.
func hostName(cfg *config.Config) (string, error) {
	if cfg.OTLP.HostName != "" {
		return cfg.OTLP.HostName, nil
	}
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("otlp.host_name: not set, and the host name is unknown: %w", err)
	}
	return h, nil
}

// takeOver continues old, the act of the pipeline before a reload: the
// series of unchanged metrics, the engine and what was counted.
func (a *act) takeOver(old *act) {
	if old == nil {
		return
	}
	if a.set != nil && old.set != nil {
		a.set.Carry(old.set)
	}
	a.counted, a.changed, a.skip = old.counted, old.changed, old.skip
}

// observe feeds one selected record to the metrics and the alert of its
// rule, unless the restored state counted it already.
func (a *act) observe(r *output.Record, rule int) {
	id := r.FileID
	if lim, ok := a.skip[id]; ok {
		if r.Offset < lim {
			return
		}
		delete(a.skip, id) // past what was counted: the rest is new
	}
	var rec *fields.Record
	end := r.Offset + int64(len(r.Text)) + 1
	if r.Event != nil {
		rec, end = r.Event.Fields, r.Event.EndOffset
	}
	a.m.Reset(r.Text, rec, rule)
	if a.set != nil {
		a.set.Observe(rule, a.m)
	}
	if a.alerts != nil && rule >= 0 && rule < len(a.alertOf) && a.alertOf[rule] >= 0 {
		a.alerts.Observe(a.alertOf[rule], a.m, r.Path)
	}
	if id != "" {
		a.counted[id] = end
		a.changed[id] = end
	}
}

// truncated: the file's content starts again at offset 0.
func (a *act) truncated(id string) {
	delete(a.skip, id)
	if _, ok := a.counted[id]; ok {
		a.counted[id] = 0
		a.changed[id] = 0
	}
}

// forgotten: the file is followed no more.
func (a *act) forgotten(id string) {
	delete(a.skip, id)
	if _, ok := a.counted[id]; ok {
		delete(a.counted, id)
		a.changed[id] = -1
	}
}

// tick is the maintenance tick's work: expiring idle series, resolving and
// resending alerts.
func (a *act) tick() {
	if a.set != nil {
		a.set.Expire()
	}
	if a.alerts != nil {
		a.alerts.Tick()
	}
}

// checkpoint implements watch.Checkpointer's Checkpoint.
func (a *act) checkpoint(full bool) ([]byte, error) {
	var g aggregates
	var err error
	if a.set != nil {
		if g.Metrics, err = a.set.Checkpoint(full); err != nil {
			return nil, fmt.Errorf("metrics of rules: %w", err)
		}
	}
	if a.alerts != nil {
		if g.Alerts, err = a.alerts.Checkpoint(full); err != nil {
			return nil, fmt.Errorf("alerts: %w", err)
		}
	}
	if full {
		g.Counted = a.counted
	} else if len(a.changed) > 0 {
		g.Counted = a.changed
	}
	if !full && g.Metrics == nil && g.Alerts == nil && g.Counted == nil {
		return nil, nil
	}
	b, err := json.Marshal(&g)
	clear(a.changed)
	return b, err
}

// restore implements watch.Checkpointer's Restore.
func (a *act) restore(parts [][]byte) ([]string, error) {
	var mparts, aparts [][]byte
	for i, p := range parts {
		if len(p) == 0 {
			continue
		}
		var g aggregates
		if err := json.Unmarshal(p, &g); err != nil {
			return nil, fmt.Errorf("aggregates (part %d of %d): %w", i+1, len(parts), err)
		}
		mparts, aparts = append(mparts, g.Metrics), append(aparts, g.Alerts)
		for id, end := range g.Counted {
			if end < 0 {
				delete(a.counted, id)
			} else {
				a.counted[id] = end
			}
		}
	}
	a.skip = make(map[string]int64, len(a.counted))
	for id, end := range a.counted {
		if end > 0 {
			a.skip[id] = end
		}
	}
	var warnings []string
	if a.set != nil {
		w, err := a.set.Restore(mparts)
		if err != nil {
			return nil, fmt.Errorf("metrics of rules: %w", err)
		}
		warnings = append(warnings, w...)
	}
	if a.alerts != nil {
		w, err := a.alerts.Restore(aparts)
		if err != nil {
			return warnings, fmt.Errorf("alerts: %w", err)
		}
		warnings = append(warnings, w...)
	}
	return warnings, nil
}

// alertSettings prints what the alert engine is built from, to tell a
// reload that changes it (which takes effect at the next restart).
func alertSettings(cfg *config.Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%+v", cfg.Alerting)
	for _, r := range cfg.Rules {
		if r.Alert != nil {
			fmt.Fprintf(&b, " %s:%+v", r.Name, *r.Alert)
		}
	}
	return b.String()
}
