package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/logscan/logscan/internal/linemetrics"
)

// RuleMetric is one entry of rules[].metrics: a Prometheus metric fed by
// the lines the rule selects, its labels and value taken from the rule's
// named captures or the lines' fields.
type RuleMetric struct {
	Name        string
	Type        string // counter, gauge or histogram
	Help        string
	Labels      []string
	Value       string // "" on a counter: count the lines
	Buckets     []float64
	MaxSeries   int
	ExpireAfter time.Duration
}

// RuleAlert is rules[].alert: when the rule's matches fire an alert, how
// they are grouped, when it resolves, and where it goes.
type RuleAlert struct {
	Count          int           // threshold.count; 0 is the default, one match
	Window         time.Duration // threshold.window
	GroupBy        []string
	ResolveAfter   time.Duration
	RepeatInterval time.Duration
	To             []string
	MaxGroups      int
}

// Alerting is alerting.*: the destinations, configured once and named by
// the rules' alert.to.
type Alerting struct {
	Alertmanagers  []string
	Webhooks       []Webhook
	Exec           []ExecAction
	ResendInterval time.Duration
}

// Webhook is one alerting.webhooks entry.
type Webhook struct {
	Name          string
	URL           string
	SecretFile    string
	Timeout       time.Duration
	RatePerSecond float64
	Burst         int
}

// ExecAction is one alerting.exec entry: a command run without a shell.
type ExecAction struct {
	Name       string
	Argv       []string
	Timeout    time.Duration
	MaxRunning int
}

// AlertmanagerDestination is the name a rule's alert.to gives the
// Alertmanagers of alerting.alertmanagers, all of them.
const AlertmanagerDestination = "alertmanager"

var (
	metricKeys  = []string{"name", "type", "help", "labels", "value", "buckets", "max_series", "expire_after"}
	alertKeys   = []string{"threshold", "group_by", "resolve_after", "repeat_interval", "to", "max_groups"}
	webhookKeys = []string{"name", "url", "secret_file", "timeout", "rate_limit"}
	execKeys    = []string{"name", "argv", "timeout", "max_running"}
)

var actKeys = map[string]kind{
	"metric_prefix":            kString,
	"alerting.alertmanagers":   kStrings,
	"alerting.webhooks":        kRules,
	"alerting.exec":            kRules,
	"alerting.resend_interval": kDuration,
}

func init() {
	for k, v := range actKeys {
		keys[k] = v
	}
}

func actDefaults(m map[string]any) {
	m["metric_prefix"] = linemetrics.DefaultPrefix
}

// ruleMetrics decodes a rule's metrics list (sd is the rule's decoder).
func (sd *decoder) ruleMetrics() []RuleMetric {
	var out []RuleMetric
	sd.objects("metrics", "metric", metricKeys, func(at string, md *decoder) bool {
		m := RuleMetric{
			Name:        strings.TrimSpace(md.str("name")),
			Type:        strings.TrimSpace(md.str("type")),
			Help:        md.str("help"),
			Labels:      md.strs("labels"),
			Value:       strings.TrimSpace(md.str("value")),
			Buckets:     md.floats("buckets"),
			MaxSeries:   md.integer("max_series"),
			ExpireAfter: md.duration("expire_after"),
		}
		if m.Type == "" {
			m.Type = "counter"
		}
		switch {
		case m.Name == "":
			md.fail("name", "", "a metric needs a name")
		case !slices.Contains([]string{"counter", "gauge", "histogram"}, m.Type):
			md.fail("type", m.Type, "want counter, gauge or histogram")
		case m.Type != "counter" && m.Value == "":
			md.fail("value", "", "a "+m.Type+" needs a value: the capture group or field holding the number")
		case m.Type != "histogram" && m.Buckets != nil:
			md.fail("buckets", fmt.Sprint(m.Buckets), "only a histogram has buckets")
		case m.MaxSeries < 0:
			md.fail("max_series", m.MaxSeries, "want 0 (the default, 1000) or more")
		}
		return sub(sd, at, md, func() { out = append(out, m) })
	})
	return out
}

// ruleAlert decodes a rule's alert map, nil when it has none.
func (sd *decoder) ruleAlert() *RuleAlert {
	v := sd.k.Get("alert")
	if v == nil {
		return nil
	}
	if _, ok := v.(map[string]any); !ok {
		sd.fail("alert", v, "want a map with "+strings.Join(alertKeys, ", "))
		return nil
	}
	if !sd.onlyKeys("alert", alertKeys...) {
		return nil
	}
	a := &RuleAlert{
		Count:          sd.integer("alert.threshold.count"),
		Window:         sd.duration("alert.threshold.window"),
		GroupBy:        sd.strs("alert.group_by"),
		ResolveAfter:   sd.duration("alert.resolve_after"),
		RepeatInterval: sd.duration("alert.repeat_interval"),
		To:             sd.strs("alert.to"),
		MaxGroups:      sd.integer("alert.max_groups"),
	}
	sd.onlyKeys("alert.threshold", "count", "window")
	switch {
	case a.Count < 0:
		sd.fail("alert.threshold.count", a.Count, "want 1 or more")
	case a.Window > 0 && a.Count == 0:
		sd.fail("alert.threshold.window", a.Window, "a window needs a count: how many matches within it fire")
	case len(a.To) == 0:
		sd.fail("alert.to", "", "name at least one destination: alertmanager, or a webhook's or exec's name")
	case a.MaxGroups < 0:
		sd.fail("alert.max_groups", a.MaxGroups, "want 0 (the default, 1000) or more")
	}
	return a
}

// floats reads a list of numbers.
func (d *decoder) floats(key string) []float64 {
	v := d.k.Get(key)
	if v == nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		d.fail(key, v, "want a list of numbers")
		return nil
	}
	out := make([]float64, 0, len(list))
	for i, e := range list {
		switch x := e.(type) {
		case int:
			out = append(out, float64(x))
		case int64:
			out = append(out, float64(x))
		case float64:
			out = append(out, x)
		default:
			d.fail(fmt.Sprintf("%s[%d]", key, i), e, "want a number")
			return nil
		}
	}
	return out
}

func (d *decoder) alerting() Alerting {
	a := Alerting{
		Alertmanagers:  d.strs("alerting.alertmanagers"),
		ResendInterval: d.duration("alerting.resend_interval"),
	}
	for i, u := range a.Alertmanagers {
		checkURL(d, fmt.Sprintf("alerting.alertmanagers[%d]", i), u)
	}
	d.objects("alerting.webhooks", "webhook", webhookKeys, func(at string, wd *decoder) bool {
		w := Webhook{
			Name:          strings.TrimSpace(wd.str("name")),
			URL:           strings.TrimSpace(wd.str("url")),
			SecretFile:    wd.str("secret_file"),
			Timeout:       wd.duration("timeout"),
			RatePerSecond: wd.number("rate_limit.per_second"),
			Burst:         wd.integer("rate_limit.burst"),
		}
		wd.onlyKeys("rate_limit", "per_second", "burst")
		if w.Name == "" {
			wd.fail("name", "", "a webhook needs a name, which rules' alert.to refer to")
		}
		checkURL(wd, "url", w.URL)
		return sub(d, at, wd, func() { a.Webhooks = append(a.Webhooks, w) })
	})
	d.objects("alerting.exec", "exec", execKeys, func(at string, xd *decoder) bool {
		x := ExecAction{
			Name:       strings.TrimSpace(xd.str("name")),
			Argv:       xd.strs("argv"),
			Timeout:    xd.duration("timeout"),
			MaxRunning: xd.integer("max_running"),
		}
		switch {
		case x.Name == "":
			xd.fail("name", "", "a command needs a name, which rules' alert.to refer to")
		case len(x.Argv) == 0 || x.Argv[0] == "":
			xd.fail("argv", "", "want the command and its arguments as a list; it runs without a shell")
		case x.MaxRunning < 0:
			xd.fail("max_running", x.MaxRunning, "want 0 (the default, 4) or more")
		}
		return sub(d, at, xd, func() { a.Exec = append(a.Exec, x) })
	})
	return a
}

// onlyKeys fails on the first key below prefix (a map) that is not among
// known, naming it; it reports whether there was none.
func (d *decoder) onlyKeys(prefix string, known ...string) bool {
	var unknown []string
	for k := range d.k.Cut(prefix).All() {
		if first, _, _ := strings.Cut(k, "."); !slices.Contains(known, first) {
			unknown = append(unknown, first)
		}
	}
	if len(unknown) == 0 {
		return true
	}
	slices.Sort(unknown)
	what := prefix[strings.LastIndexByte(prefix, '.')+1:]
	d.fail(prefix+"."+unknown[0], "", "unknown key ("+what+" keys: "+strings.Join(known, ", ")+")")
	return false
}

func checkURL(d *decoder, key, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		d.fail(key, s, "want an http:// or https:// URL")
	}
}

// number reads one number.
func (d *decoder) number(key string) float64 {
	switch x := d.k.Get(key).(type) {
	case nil:
		return 0
	case int:
		return float64(x)
	case float64:
		if x >= 0 {
			return x
		}
	case string:
		var f float64
		if _, err := fmt.Sscan(strings.TrimSpace(x), &f); err == nil && f >= 0 {
			return f
		}
	}
	d.fail(key, d.k.Get(key), "want a number, 0 or more")
	return 0
}

// destinations are the names alert.to may use.
func (a *Alerting) destinations() []string {
	var names []string
	if len(a.Alertmanagers) > 0 {
		names = append(names, AlertmanagerDestination)
	}
	for _, w := range a.Webhooks {
		names = append(names, w.Name)
	}
	for _, x := range a.Exec {
		names = append(names, x.Name)
	}
	return names
}

// checkAct checks what ties the rules' metrics and alerts to the rest: the
// destinations alert.to names, rule names, and the mode.
func (c *Config) checkAct() error {
	dests := c.Alerting.destinations()
	seen := map[string]bool{}
	for _, n := range dests {
		if seen[n] {
			return &Error{Where: "config key alerting", Value: n, Msg: "two destinations have this name (alertmanager is the name of alerting.alertmanagers)"}
		}
		seen[n] = true
	}
	alerts := false
	for i, r := range c.Rules {
		if r.Alert == nil {
			continue
		}
		alerts = true
		at := fmt.Sprintf("rules[%d]", i)
		if r.Name == "" {
			return &Error{Where: "config key " + at + ".name", Msg: "a rule with an alert needs a name: it is the alert's alertname"}
		}
		for j, to := range r.Alert.To {
			if !seen[to] {
				known := "none are configured under alerting"
				if len(dests) > 0 {
					known = "known: " + strings.Join(dests, ", ")
				}
				return &Error{Where: fmt.Sprintf("config key %s.alert.to[%d]", at, j), Value: to, Msg: "no such destination (" + known + ")"}
			}
		}
	}
	if !alerts && len(dests) > 0 {
		return &Error{Where: "config key alerting", Msg: "destinations are configured but no rule has an alert that names them"}
	}
	return nil
}

// HasMetrics reports whether some rule has metrics.
func (c *Config) HasMetrics() bool {
	for _, r := range c.Rules {
		if len(r.Metrics) > 0 {
			return true
		}
	}
	return false
}

// HasAlerts reports whether some rule has an alert.
func (c *Config) HasAlerts() bool {
	for _, r := range c.Rules {
		if r.Alert != nil {
			return true
		}
	}
	return false
}
