package alert

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logscan/logscan/internal/capture"
)

func TestNewErrors(t *testing.T) {
	am := []string{"http://127.0.0.1:9093"}
	rule := func(mod func(*Rule)) Config {
		r := Rule{Name: "sshfail", Key: "rules[3].alert", To: []string{Alertmanager}}
		mod(&r)
		return Config{Rules: []Rule{r}, Alertmanagers: am}
	}
	hook := func(mod func(*Webhook)) Config {
		w := Webhook{Name: "hook", URL: "https://example.com/x"}
		mod(&w)
		return Config{Webhooks: []Webhook{w}}
	}
	textOnly := capture.Compile([]string{"user"}, []capture.Rule{{Name: "r", Patterns: []*regexp.Regexp{regexp.MustCompile(`x`)}}}, false)
	for _, tc := range []struct {
		name string
		cfg  Config
		x    *capture.Extractor
		want string
	}{
		{"no destination", rule(func(r *Rule) { r.To = nil }), nil, "rules[3].alert: to: names no destination"},
		{"unknown destination", rule(func(r *Rule) { r.To = []string{"pager"} }), nil, `rules[3].alert: to: "pager": no webhook or exec`},
		{"alertmanager unconfigured", Config{Rules: []Rule{{Name: "a", Key: "rules[0].alert", To: []string{Alertmanager}}}}, nil, "no Alertmanager is configured"},
		{"to twice", rule(func(r *Rule) { r.To = []string{Alertmanager, Alertmanager} }), nil, "listed twice"},
		{"negative count", rule(func(r *Rule) { r.Count = -1 }), nil, "rules[3].alert: count: -1"},
		{"count too big", rule(func(r *Rule) { r.Count = MaxCount + 1 }), nil, "at most 10000"},
		{"count without window", rule(func(r *Rule) { r.Count = 3 }), nil, "count 3 needs a window"},
		{"negative window", rule(func(r *Rule) { r.Window = -time.Second }), nil, "window -1s"},
		{"negative resolve", rule(func(r *Rule) { r.ResolveAfter = -1 }), nil, "resolve_after"},
		{"no name", rule(func(r *Rule) { r.Name = "" }), nil, "needs a name"},
		{"negative index", rule(func(r *Rule) { r.Index = -1 }), nil, "index -1"},
		{"group_by alertname", rule(func(r *Rule) { r.GroupBy = []string{"alertname"} }), testExtractor(), `"alertname" is a label of every alert`},
		{"group_by same label", rule(func(r *Rule) { r.GroupBy = []string{"user", "user"} }), testExtractor(), "both the label"},
		{"group_by not extracted", rule(func(r *Rule) { r.GroupBy = []string{"nope"} }), testExtractor(), `"nope" is not extracted`},
		{"group_by no extractor", rule(func(r *Rule) { r.GroupBy = []string{"user"} }), nil, "not extracted"},
		{"group_by not captured", rule(func(r *Rule) { r.GroupBy = []string{"user"} }), textOnly, "rules[3].alert: group_by: \"user\" names no capture group"},
		{"am url", Config{Alertmanagers: []string{"ftp://x"}}, nil, "alertmanagers[0]: ftp://x: not an http"},
		{"am url no host", Config{Alertmanagers: []string{"http://"}}, nil, "alertmanagers[0]"},
		{"am twice", Config{Alertmanagers: []string{"http://a:1", "http://a:1/"}}, nil, "alertmanagers[1]: http://a:1/api/v2/alerts: listed twice"},
		{"webhook url", hook(func(w *Webhook) { w.URL = "x" }), nil, `webhook "hook": url`},
		{"webhook no name", hook(func(w *Webhook) { w.Name = "" }), nil, "webhooks[0]: name: must not be empty"},
		{"webhook reserved", hook(func(w *Webhook) { w.Name = Alertmanager }), nil, "reserved"},
		{"webhook rate", hook(func(w *Webhook) { w.RatePerSecond = -1 }), nil, `webhook "hook": rate_per_second`},
		{"webhook header", hook(func(w *Webhook) { w.Headers = map[string]string{"A": "b\r\nc"} }), nil, "headers"},
		{"duplicate names", Config{Webhooks: []Webhook{{Name: "x", URL: "http://a"}}, Exec: []Exec{{Name: "x", Argv: []string{"/bin/true"}}}}, nil, `exec[0]: name "x": another`},
		{"exec argv", Config{Exec: []Exec{{Name: "x"}}}, nil, `exec "x": argv: must not be empty`},
		{"exec not found", Config{Exec: []Exec{{Name: "x", Argv: []string{"no-such-command-here"}}}}, nil, `exec "x": argv[0]`},
		{"exec not executable", Config{Exec: []Exec{{Name: "x", Argv: []string{"/etc/passwd"}}}}, nil, `exec "x": argv[0]`},
		{"two alerts on a rule", Config{Alertmanagers: am, Rules: []Rule{{Name: "a", To: []string{Alertmanager}}, {Name: "b", Key: "rules[1].alert", To: []string{Alertmanager}}}}, nil, "rule 0 has another alert"},
		{"two alerts of a name", Config{Alertmanagers: am, Rules: []Rule{{Name: "a", To: []string{Alertmanager}}, {Index: 1, Name: "a", To: []string{Alertmanager}}}}, nil, `another alert has the name "a"`},
		{"outbox", Config{OutboxMax: -1}, nil, "outbox_max"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, Options{Extractor: tc.x})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want %q", err, tc.want)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	e, err := New(Config{
		Rules:    []Rule{{Name: "a", To: []string{"hook", "cmd"}, GroupBy: []string{"src.ip", "9x"}}},
		Webhooks: []Webhook{{Name: "hook", URL: "http://127.0.0.1:1"}},
		Exec:     []Exec{{Name: "cmd", Argv: []string{"true"}}},
	}, Options{Extractor: capture.Compile([]string{"src.ip", "9x"}, nil, true)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(0)
	r := e.rules[0]
	if r.Count != 1 || r.ResolveAfter != DefaultResolveAfter || r.RepeatInterval != DefaultRepeatInterval || r.MaxGroups != DefaultMaxGroups {
		t.Errorf("rule defaults %+v", r.Rule)
	}
	if e.cfg.ResendInterval != DefaultResendInterval || e.cfg.OutboxMax != DefaultOutboxMax {
		t.Errorf("config defaults %+v", e.cfg)
	}
	h, x := e.dests[0].hook, e.dests[1].exec
	if h.Timeout != DefaultTimeout || h.RatePerSecond != DefaultRatePerSecond || h.Burst != DefaultBurst {
		t.Errorf("webhook defaults %+v", h)
	}
	if x.Timeout != DefaultTimeout || x.MaxRunning != DefaultMaxRunning || !strings.HasPrefix(e.dests[1].path, "/") {
		t.Errorf("exec defaults %+v, path %s", x, e.dests[1].path)
	}
	if got := strings.Join(r.labels, ","); got != "src_ip,_9x" {
		t.Errorf("labels %s", got)
	}
	if e.opt.Host == "" {
		t.Error("no host name")
	}
}

// TestCloseDrains: Close cuts a backoff short and delivers what is pending.
func TestCloseDrains(t *testing.T) {
	s := newServer(t, func(n int) int {
		if n == 0 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	sl := newSleeps(true)
	f := newFixture(t, amConfig(s, Rule{}), func(o *Options) { o.Sleep = sl.Sleep })
	f.start(t)
	f.line(0, "user=root", nil)
	s.next()
	<-sl.called
	if err := f.e.Close(wait); err != nil {
		t.Fatal(err)
	}
	if s.calls() != 2 || f.e.pending() != 0 {
		t.Errorf("%d calls, %d pending", s.calls(), f.e.pending())
	}
	f.e.Start(context.Background()) // after Close: nothing
	f.line(0, "user=other", nil)
	f.e.Tick()
}

// TestContextStops: a done Start context stops the goroutines; Close then
// returns at once.
func TestContextStops(t *testing.T) {
	s := newServer(t, func(int) int { return http.StatusServiceUnavailable })
	sl := newSleeps(true)
	f := newFixture(t, amConfig(s, Rule{}), func(o *Options) { o.Sleep = sl.Sleep })
	ctx, cancel := context.WithCancel(context.Background())
	f.e.Start(ctx)
	f.e.Start(ctx) // a second Start does nothing
	f.line(0, "user=root", nil)
	<-sl.called
	cancel()
	start := time.Now()
	if err := f.e.Close(time.Hour); err == nil || time.Since(start) > wait {
		t.Fatalf("Close: %v after %v", err, time.Since(start))
	}
}

func TestMetrics(t *testing.T) {
	s := newServer(t, nil)
	f := newFixture(t, amConfig(s, Rule{}))
	d := f.e.dests[0]
	f.line(0, "user=root", nil)
	if v := testutil.ToFloat64(f.e.met.outbox(d)); v != 1 {
		t.Errorf("outbox gauge %v, want 1", v)
	}
	f.clock.Advance(3 * time.Second)
	f.start(t)
	s.next()
	eventually(t, "delivered", func() bool { return testutil.ToFloat64(f.e.met.outbox(d)) == 0 })
	eventually(t, "observed", func() bool { return testutil.CollectAndCount(f.e.met.deliveries) == 1 })
	n, err := testutil.GatherAndCount(f.reg, AlertsTotal, SuppressedTotal, DeliverySeconds, Outbox)
	if err != nil || n != 5+3+1+1 {
		t.Errorf("%d series (%v), want 10", n, err)
	}
	// A second Engine on the registry, as after a reload, takes the
	// metrics over.
	g, err := New(f.e.cfg, Options{Registerer: f.reg, Extractor: f.x})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close(0)
	if got := testutil.ToFloat64(g.met.rule("sshfail", resultSent)); got != 1 {
		t.Errorf("sent %v after the reload, want 1", got)
	}
	if err := prometheus.NewRegistry().Register(g.met.alerts); err != nil {
		t.Error(err)
	}
}
