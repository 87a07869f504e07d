// Package alert turns matching log lines into alerts, as swatch, fail2ban
// and logcheck do: a rule fires when enough of its lines arrive within a
// window, per group of captured values, and resolves after a quiet period.
// Alerts go to Alertmanager (API v2), to webhooks and to commands.
//
// What it touches: the network, to the configured Alertmanager and webhook
// URLs only; child processes, of the configured argv only (never a shell),
// in process groups of their own that it kills on timeout; its own
// goroutines, which Start starts and Close stops. It opens no file: a
// webhook's secret is read by the config loader and passed in, and the
// state (active alerts, undelivered notifications) leaves as the bytes of
// Checkpoint and comes back through Restore.
//
// Observe and Tick run on the follower's goroutine and never wait for the
// network or a command: they put notifications in a bounded outbox per
// destination, which a goroutine per destination empties. A notification
// leaves the outbox when it was delivered, refused for good (a 4xx), or its
// command finished; until then it is in every Checkpoint, so that a restart
// loses none, and delivered ones are not sent again (at least once: one
// delivered after the last journaled checkpoint is sent again, with the
// same idempotency key).
//
// Delivery: each destination has its own outbox and retry state, so one
// that is down delays no other. A 2xx is delivered; a network error, a
// timeout, 408, 429 and 5xx are retried with exponential backoff and
// jitter (500ms doubling to 30s, or the Retry-After); any other status is
// refused for good and dropped (counted failed). An Alertmanager gets the
// latest state of each alert only (a newer one replaces an undelivered
// one), every ResendInterval while it fires, with endsAt 4×ResendInterval
// ahead. Webhooks and commands get the firing, a repeat every
// RepeatInterval while it fires, and the resolve; a webhook's token bucket
// drops firings and repeats beyond its rate, never a resolve (the resolve
// of a firing it dropped is not sent). A command that exits non-zero or
// times out is not run again: it may have had effects.
//
// Labels: every alert has alertname and rule (the rule's name) and host.
// host is Options.Host, unless group_by names host and the rule's lines
// can hold one (a capture or field called host, as a syslog collector's
// lines have): then it is the line's host, and Options.Host for a line
// without one. group_by may name host either way, as the example of the
// issue does; alertname and rule it may not. Each group_by name is looked up in the capture.Match (a
// capture group, else a field) and becomes a label of that name, with
// every character outside [A-Za-z0-9_] replaced by '_'; a missing value is
// "". Values are made valid UTF-8 and cut at 256 bytes.
package alert

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/logscan/logscan/internal/capture"
	"github.com/logscan/logscan/internal/retry"
)

// Defaults, applied by New to zero fields; the config package may refer
// to them.
const (
	DefaultResolveAfter   = 5 * time.Minute
	DefaultRepeatInterval = time.Hour
	DefaultMaxGroups      = 1000
	DefaultResendInterval = time.Minute // Prometheus's resend delay
	DefaultOutboxMax      = 10000
	DefaultTimeout        = 10 * time.Second // webhook, exec and Alertmanager requests
	DefaultRatePerSecond  = 1
	DefaultBurst          = 10
	DefaultMaxRunning     = 4
	// MaxCount bounds Rule.Count: each group keeps its last Count match
	// times.
	MaxCount = 10000
	// Alertmanager is the name in Rule.To of all of Config.Alertmanagers.
	Alertmanager = "alertmanager"
)

// Rule is the alert of one matcher rule.
type Rule struct {
	Index int    // matcher rule index this alert belongs to
	Name  string // rule name (alertname)
	Key   string // "rules[2].alert", for errors
	// Count matches of one group within Window fire. Count 0 is 1: one
	// match fires (Window is then ignored); Count > 1 needs a Window.
	Count  int
	Window time.Duration
	// GroupBy names are looked up in the capture.Match; each group of
	// values is an alert of its own. See the package doc for host.
	GroupBy        []string
	ResolveAfter   time.Duration // quiet period before resolve; 0: DefaultResolveAfter
	RepeatInterval time.Duration // webhook/exec re-notification while firing; 0: DefaultRepeatInterval
	To             []string      // "alertmanager", or a webhook's or exec's Name
	// MaxGroups bounds the groups of the rule (0: DefaultMaxGroups); the
	// lines of further groups share one group whose group_by labels are
	// all "other".
	MaxGroups int
}

// Webhook is a URL that each notification is POSTed to as JSON.
type Webhook struct {
	Name, URL string
	// Secret, when set, signs each request: X-Logscan-Signature is
	// "sha256=" + hex HMAC-SHA256(Secret, X-Logscan-Timestamp + "." +
	// body). The loader reads it from secret_file.
	Secret        []byte
	Timeout       time.Duration // 0: DefaultTimeout
	RatePerSecond float64       // firing notifications; 0: DefaultRatePerSecond
	Burst         int           // 0: DefaultBurst
	Headers       map[string]string
}

// Exec is a command run once per notification, with the notification in
// its environment (LOGSCAN_*).
type Exec struct {
	Name       string
	Argv       []string      // argv[0] absolute, or looked up in $PATH by New
	Timeout    time.Duration // 0: DefaultTimeout
	MaxRunning int           // 0: DefaultMaxRunning
}

// Config is the alerting configuration.
type Config struct {
	Rules         []Rule
	Alertmanagers []string // base URLs; alerts are POSTed to {url}/api/v2/alerts
	Webhooks      []Webhook
	Exec          []Exec
	// ResendInterval is how often a firing alert is posted to
	// Alertmanager again; 0: DefaultResendInterval.
	ResendInterval time.Duration
	// OutboxMax bounds the pending notifications of each destination
	// (0: DefaultOutboxMax); beyond it the oldest is dropped and counted.
	OutboxMax int
}

// Options are the Engine's surroundings.
type Options struct {
	Now        func() time.Time // nil: time.Now
	Host       string           // the host label; "": os.Hostname()
	Log        zerolog.Logger
	Client     *http.Client          // nil: a client with sane timeouts that follows no redirects
	Registerer prometheus.Registerer // nil: no metrics registered
	Extractor  *capture.Extractor    // to find GroupBy names; needed when a rule has GroupBy

	// For tests: the waits between delivery attempts (nil: a timer; an
	// error means ctx is done), and the jitter in [0,1) (nil: math/rand/v2).
	Sleep func(ctx context.Context, d time.Duration) error
	Rand  func() float64
}

// New checks cfg and returns an Engine; nothing runs until Start. Errors
// name the key (a rule's Key, a destination's name or URL).
func New(cfg Config, opt Options) (*Engine, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Sleep == nil {
		opt.Sleep = retry.Sleep
	}
	if opt.Rand == nil {
		opt.Rand = rand.Float64
	}
	if opt.Client == nil {
		opt.Client = defaultClient()
	}
	if opt.Host == "" {
		opt.Host, _ = os.Hostname() // none is better than no alerts
	}
	if err := defaults(&cfg); err != nil {
		return nil, err
	}
	e := newEngine(cfg, opt)
	if err := e.addDestinations(cfg); err != nil {
		return nil, err
	}
	for i := range cfg.Rules {
		if err := e.addRule(cfg.Rules[i], opt.Extractor); err != nil {
			return nil, err
		}
	}
	met, err := newMetrics(opt.Registerer)
	if err != nil {
		return nil, err
	}
	e.met = met
	e.met.declare(e)
	return e, nil
}

func defaults(cfg *Config) error {
	if err := positive("resend_interval", &cfg.ResendInterval, DefaultResendInterval); err != nil {
		return err
	}
	if err := positive("outbox_max", &cfg.OutboxMax, DefaultOutboxMax); err != nil {
		return err
	}
	cfg.Rules = append([]Rule(nil), cfg.Rules...)
	cfg.Webhooks = append([]Webhook(nil), cfg.Webhooks...)
	cfg.Exec = append([]Exec(nil), cfg.Exec...)
	return nil
}

func positive[T int | float64 | time.Duration](key string, v *T, def T) error {
	switch {
	case *v == 0:
		*v = def
	case *v < 0:
		return fmt.Errorf("%s: %v: must not be negative", key, *v)
	}
	return nil
}

// addDestinations checks and adds the Alertmanagers, webhooks and
// commands, in that order.
func (e *Engine) addDestinations(cfg Config) error {
	seen := map[string]bool{Alertmanager: true}
	for i, s := range cfg.Alertmanagers {
		u, err := checkURL(s)
		if err != nil {
			return fmt.Errorf("alertmanagers[%d]: %w", i, err)
		}
		u.Path = strings.TrimSuffix(u.Path, "/") + "/api/v2/alerts"
		name := "alertmanager " + u.Redacted()
		if seen[name] {
			return fmt.Errorf("alertmanagers[%d]: %s: listed twice", i, u.Redacted())
		}
		seen[name] = true
		e.addDest(&dest{kind: kindAM, name: name, url: u.String(), timeout: DefaultTimeout})
	}
	for i := range cfg.Webhooks {
		w := &cfg.Webhooks[i]
		if err := checkName(seen, "webhooks", i, w.Name); err != nil {
			return err
		}
		if err := checkWebhook(w); err != nil {
			return fmt.Errorf("webhook %q: %w", w.Name, err)
		}
		lim := rate.NewLimiter(rate.Limit(w.RatePerSecond), w.Burst)
		e.addDest(&dest{kind: kindWebhook, name: w.Name, url: w.URL, timeout: w.Timeout, hook: w, limiter: lim})
	}
	for i := range cfg.Exec {
		x := &cfg.Exec[i]
		if err := checkName(seen, "exec", i, x.Name); err != nil {
			return err
		}
		path, err := checkExec(x)
		if err != nil {
			return fmt.Errorf("exec %q: %w", x.Name, err)
		}
		e.addDest(&dest{kind: kindExec, name: x.Name, path: path, timeout: x.Timeout, exec: x})
	}
	return nil
}

func checkName(seen map[string]bool, list string, i int, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s[%d]: name: must not be empty", list, i)
	case name == Alertmanager:
		return fmt.Errorf("%s[%d]: name %q is reserved for the Alertmanagers", list, i, name)
	case seen[name]:
		return fmt.Errorf("%s[%d]: name %q: another webhook or exec has it", list, i, name)
	}
	seen[name] = true
	return nil
}

func checkURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%s: not an http:// or https:// URL", u.Redacted())
	}
	return u, nil
}

func checkWebhook(w *Webhook) error {
	if _, err := checkURL(w.URL); err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if err := positive("timeout", &w.Timeout, DefaultTimeout); err != nil {
		return err
	}
	if err := positive("rate_per_second", &w.RatePerSecond, DefaultRatePerSecond); err != nil {
		return err
	}
	if err := positive("burst", &w.Burst, DefaultBurst); err != nil {
		return err
	}
	for k, v := range w.Headers {
		if k == "" || strings.ContainsAny(k, " \t\r\n:") || strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("headers: %q: not a valid header", k)
		}
	}
	return nil
}

// checkExec returns the path argv[0] runs, looked up now: the commands
// run with a minimal environment whose PATH may differ.
func checkExec(x *Exec) (string, error) {
	if len(x.Argv) == 0 || x.Argv[0] == "" {
		return "", errors.New("argv: must not be empty")
	}
	if err := positive("timeout", &x.Timeout, DefaultTimeout); err != nil {
		return "", err
	}
	if err := positive("max_running", &x.MaxRunning, DefaultMaxRunning); err != nil {
		return "", err
	}
	path, err := exec.LookPath(x.Argv[0])
	if err != nil {
		return "", fmt.Errorf("argv[0]: %w", err)
	}
	if !strings.HasPrefix(path, "/") {
		if wd, err := os.Getwd(); err == nil {
			path = wd + "/" + path
		}
	}
	return path, nil
}

// addRule checks r and adds it.
func (e *Engine) addRule(r Rule, x *capture.Extractor) error {
	key := r.Key
	if key == "" {
		key = fmt.Sprintf("alert of rule %d", r.Index)
	}
	if err := checkRule(&r, key); err != nil {
		return err
	}
	if r.Index < len(e.byIndex) && e.byIndex[r.Index] != nil {
		return fmt.Errorf("%s: rule %d has another alert (%s)", key, r.Index, e.byIndex[r.Index].Key)
	}
	if e.byName[r.Name] != nil {
		return fmt.Errorf("%s: another alert has the name %q", key, r.Name)
	}
	ru := &rule{Rule: r, groups: map[string]*group{}}
	if err := ru.groupBy(key, x); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, to := range r.To {
		if seen[to] {
			return fmt.Errorf("%s: to: %q listed twice", key, to)
		}
		seen[to] = true
		if err := e.route(ru, to); err != nil {
			return fmt.Errorf("%s: to: %w", key, err)
		}
	}
	for len(e.byIndex) <= r.Index {
		e.byIndex = append(e.byIndex, nil)
	}
	e.byIndex[r.Index] = ru
	e.byName[r.Name] = ru
	e.rules = append(e.rules, ru)
	return nil
}

func checkRule(r *Rule, key string) error {
	switch {
	case r.Index < 0:
		return fmt.Errorf("%s: rule index %d: must not be negative", key, r.Index)
	case r.Name == "":
		return fmt.Errorf("%s: the rule needs a name to alert", key)
	case len(r.To) == 0:
		return fmt.Errorf("%s: to: names no destination (%q, a webhook or an exec)", key, Alertmanager)
	case r.Count > MaxCount:
		return fmt.Errorf("%s: count %d: at most %d", key, r.Count, MaxCount)
	}
	if err := positive(key+": count", &r.Count, 1); err != nil {
		return err
	}
	if r.Window < 0 {
		return fmt.Errorf("%s: window %v: must not be negative", key, r.Window)
	}
	if r.Count > 1 && r.Window == 0 {
		return fmt.Errorf("%s: count %d needs a window", key, r.Count)
	}
	if err := positive(key+": resolve_after", &r.ResolveAfter, DefaultResolveAfter); err != nil {
		return err
	}
	if err := positive(key+": repeat_interval", &r.RepeatInterval, DefaultRepeatInterval); err != nil {
		return err
	}
	return positive(key+": max_groups", &r.MaxGroups, DefaultMaxGroups)
}

// groupBy resolves the GroupBy names to the Extractor's indexes and their
// label names.
func (r *rule) groupBy(key string, x *capture.Extractor) error {
	seen := map[string]string{}
	for _, name := range r.GroupBy {
		label := labelName(name)
		if name == "host" && (x == nil || x.Index(name) < 0 || !x.Captures(r.Index, name)) {
			continue // the host label every alert has: logscan's host
		}
		switch {
		case name == "":
			return fmt.Errorf("%s: group_by: an empty name", key)
		case label == "alertname" || label == "rule" || label == "host" && name != "host":
			return fmt.Errorf("%s: group_by: %q is a label of every alert; capture the value under another name", key, name)
		case seen[label] != "":
			return fmt.Errorf("%s: group_by: %q and %q are both the label %q", key, seen[label], name, label)
		case x == nil || x.Index(name) < 0:
			return fmt.Errorf("%s: group_by: %q is not extracted (internal: the Extractor lacks it)", key, name)
		}
		if err := x.CheckNames(r.Index, []string{name}); err != nil {
			return fmt.Errorf("%s: group_by: %w", key, err)
		}
		seen[label] = name
		r.labels = append(r.labels, label)
		r.idx = append(r.idx, x.Index(name))
	}
	return nil
}

// labelName is name with each character outside [A-Za-z0-9_] replaced by
// '_', and '_' before a leading digit.
func labelName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	if len(b) > 0 && b[0] >= '0' && b[0] <= '9' {
		return "_" + string(b)
	}
	return string(b)
}

// route adds the destination named to to r.
func (e *Engine) route(r *rule, to string) error {
	if to == Alertmanager {
		n := 0
		for _, d := range e.dests {
			if d.kind == kindAM {
				r.ams = append(r.ams, d)
				n++
			}
		}
		if n == 0 {
			return fmt.Errorf("%q, but no Alertmanager is configured", to)
		}
		return nil
	}
	for _, d := range e.dests {
		if d.kind != kindAM && d.name == to {
			r.hooks = append(r.hooks, d)
			r.wantFields = r.wantFields || d.kind == kindExec
			return nil
		}
	}
	return fmt.Errorf("%q: no webhook or exec has this name", to)
}
