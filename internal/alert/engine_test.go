package alert

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/logscan/logscan/internal/capture"
	"github.com/logscan/logscan/internal/fields"
)

// amConfig is one rule of matcher rule 0 to a fake Alertmanager.
func amConfig(s *server, r Rule) Config {
	r.Name, r.Key, r.To = "sshfail", "rules[0].alert", []string{Alertmanager}
	return Config{Rules: []Rule{r}, Alertmanagers: []string{s.srv.URL}}
}

func TestThreshold(t *testing.T) {
	for _, tc := range []struct {
		name    string
		count   int
		window  time.Duration
		at      []time.Duration // match times from t0
		firesAt int             // index of the match that fires, -1 none
		starts  time.Duration   // the episode's startsAt
	}{
		{"default: one match fires", 0, 0, []time.Duration{5 * time.Second}, 0, 5 * time.Second},
		{"count 1 ignores the window", 1, time.Minute, []time.Duration{0}, 0, 0},
		{"three within a minute", 3, time.Minute, []time.Duration{0, 10 * time.Second, 20 * time.Second}, 2, 0},
		{"spread too wide", 3, time.Minute, []time.Duration{0, 30 * time.Second, 70 * time.Second}, -1, 0},
		{"the window slides", 3, time.Minute, []time.Duration{0, 30 * time.Second, 70 * time.Second, 80 * time.Second}, 3, 30 * time.Second},
		{"exactly the window", 2, time.Minute, []time.Duration{0, time.Minute}, 1, 0},
		{"two short of the count", 5, time.Minute, []time.Duration{0, 1, 2}, -1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, nil)
			f := newFixture(t, amConfig(s, Rule{Count: tc.count, Window: tc.window, ResolveAfter: time.Hour}))
			for i, at := range tc.at {
				f.clock.Advance(t0.Add(at).Sub(f.clock.Now()))
				f.line(0, "Failed password user=root", nil)
				want := 0
				if tc.firesAt >= 0 && i >= tc.firesAt {
					want = 1
				}
				if got := f.firing("sshfail"); got != want {
					t.Fatalf("after match %d: %d firing, want %d", i, got, want)
				}
			}
			if tc.firesAt < 0 {
				if f.alerts("sshfail", resultFired) != 0 || f.e.pending() != 0 {
					t.Fatal("fired")
				}
				return
			}
			f.start(t)
			a := s.alerts()
			if len(a) != 1 || mustTime(t, a[0].StartsAt) != t0.Add(tc.starts) {
				t.Fatalf("posted %+v, want startsAt %v", a, t0.Add(tc.starts))
			}
			if want := len(tc.at) - tc.firesAt - 1 + max(tc.count, 1); a[0].Annotations["count"] != strconv.Itoa(want) {
				t.Errorf("count %s, want %d", a[0].Annotations["count"], want)
			}
			if f.alerts("sshfail", resultFired) != 1 {
				t.Error("fired not counted once")
			}
		})
	}
}

func TestGroupBy(t *testing.T) {
	s := newServer(t, nil)
	f := newFixture(t, amConfig(s, Rule{GroupBy: []string{"user"}}))
	f.line(0, "Failed password user=root", nil)
	f.line(0, "Failed password user=admin", nil)
	f.line(0, "Failed password user=root", nil)
	if got := f.groups("sshfail"); got != 2 {
		t.Fatalf("%d groups, want 2", got)
	}
	f.start(t)
	var got []amAlert
	for len(got) < 2 {
		got = append(got, s.alerts()...)
	}
	users := map[string]bool{}
	for _, a := range got {
		users[a.Labels["user"]] = true
		if a.Labels["alertname"] != "sshfail" || a.Labels["rule"] != "sshfail" || a.Labels["host"] != "h1" || len(a.Labels) != 4 {
			t.Errorf("labels %v", a.Labels)
		}
	}
	if !users["root"] || !users["admin"] {
		t.Errorf("alerts %+v, want one per user", got)
	}
	if f.suppressed(reasonDedup) != 1 {
		t.Errorf("dedup %v, want 1 (the second root line)", f.suppressed(reasonDedup))
	}
}

// TestGroupByHost: group_by host is the line's host when the lines hold
// one (a syslog collector's), logscan's for a line without; and logscan's
// when they cannot hold one (the example, group_by: [host, route]).
func TestGroupByHost(t *testing.T) {
	re := regexp.MustCompile(`user=(?P<user>\w+)`)
	rules := []capture.Rule{{Name: "r0", Patterns: []*regexp.Regexp{re}}}
	rec := &fields.Record{}
	rec.Add([]byte("host"), []byte("web7"), fields.String, 0)
	for _, tc := range []struct {
		name  string
		x     *capture.Extractor
		rec   *fields.Record
		hosts []string
	}{
		{"the lines' host", capture.Compile([]string{"user", "host"}, rules, true), rec, []string{"web7"}},
		{"a line without one", capture.Compile([]string{"user", "host"}, rules, true), nil, []string{"h1"}},
		{"lines that hold none", capture.Compile([]string{"user"}, rules, false), rec, []string{"h1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, nil)
			f := newFixture(t, amConfig(s, Rule{GroupBy: []string{"host", "user"}}), func(o *Options) { o.Extractor = tc.x })
			m := tc.x.NewMatch()
			m.Reset([]byte("Failed password user=root"), tc.rec, 0)
			f.e.Observe(0, m, "/var/log/auth.log")
			f.start(t)
			got := s.alerts()
			if len(got) != 1 || got[0].Labels["host"] != tc.hosts[0] || got[0].Labels["user"] != "root" || len(got[0].Labels) != 4 {
				t.Errorf("alerts %+v, want one with host %s", got, tc.hosts[0])
			}
		})
	}
}

func TestMissingValueAndMaxGroups(t *testing.T) {
	s := newServer(t, nil)
	f := newFixture(t, amConfig(s, Rule{GroupBy: []string{"user", "ip"}, MaxGroups: 2}))
	f.line(0, "Failed password user=a", nil) // ip missing: ""
	f.line(0, "Failed password user=b ip=10.0.0.1", nil)
	f.line(0, "Failed password user=c ip=10.0.0.2", nil)
	f.line(0, "Failed password user=d ip=10.0.0.3", nil)
	f.e.mu.Lock()
	labels := map[string]map[string]string{}
	for _, g := range f.e.byName["sshfail"].groups {
		labels[g.labels["user"]] = g.labels
	}
	f.e.mu.Unlock()
	if len(labels) != 3 || labels["a"]["ip"] != "" || labels["b"]["ip"] != "10.0.0.1" || labels["other"]["ip"] != "other" {
		t.Fatalf("groups %v: want a, b and other", labels)
	}
	if !strings.Contains(f.log.String(), "too many groups") {
		t.Error("overflow not logged")
	}
}

func TestResolve(t *testing.T) {
	s := newServer(t, nil)
	cfg := amConfig(s, Rule{ResolveAfter: 5 * time.Minute})
	cfg.ResendInterval = time.Hour // no resend in this test
	f := newFixture(t, cfg)
	f.start(t)
	f.line(0, "Failed password user=root", nil)
	if a := s.alerts(); a[0].Labels["alertname"] != "sshfail" {
		t.Fatal(a)
	}
	f.clock.Advance(4 * time.Minute)
	f.line(0, "Failed password user=root", nil) // extends: resolve 5m after this one
	f.clock.Advance(4*time.Minute + 59*time.Second)
	f.e.Tick()
	if f.firing("sshfail") != 1 {
		t.Fatal("resolved before the quiet period")
	}
	f.clock.Advance(time.Second)
	f.e.Tick()
	if f.groups("sshfail") != 0 {
		t.Fatal("not resolved and forgotten")
	}
	a := s.alerts()
	if len(a) != 1 || mustTime(t, a[0].EndsAt) != f.clock.Now() || mustTime(t, a[0].StartsAt) != t0 {
		t.Fatalf("resolve %+v, want endsAt now %v", a, f.clock.Now())
	}
	if a[0].Annotations["count"] != "2" {
		t.Errorf("count %q, want 2", a[0].Annotations["count"])
	}
	if f.alerts("sshfail", resultResolved) != 1 {
		t.Errorf("resolved %v, want 1", f.alerts("sshfail", resultResolved))
	}
	eventually(t, "2 sent", func() bool { return f.alerts("sshfail", resultSent) == 2 })
}

func TestCandidatesForgotten(t *testing.T) {
	s := newServer(t, nil)
	f := newFixture(t, amConfig(s, Rule{Count: 3, Window: time.Minute, GroupBy: []string{"user"}}))
	f.line(0, "user=a", nil)
	f.clock.Advance(time.Minute)
	f.e.Tick()
	if f.groups("sshfail") != 1 {
		t.Fatal("forgotten while in the window")
	}
	f.clock.Advance(time.Nanosecond)
	f.e.Tick()
	if f.groups("sshfail") != 0 {
		t.Fatal("a candidate out of its window is kept")
	}
}

func TestSampleAndAnnotations(t *testing.T) {
	s := newServer(t, nil)
	f := newFixture(t, amConfig(s, Rule{Count: 2, Window: time.Minute}))
	long := "user=x " + strings.Repeat("é", 600) + "\xff"
	f.line(0, "first user=x", nil)
	f.clock.Advance(10 * time.Second)
	f.line(0, long, nil)
	f.start(t)
	a := s.alerts()[0]
	if len(a.Annotations["sample"]) > maxSample || !utf8.ValidString(a.Annotations["sample"]) || !strings.HasPrefix(a.Annotations["sample"], "user=x é") {
		t.Errorf("sample %q: want the firing line, valid UTF-8, at most 1 KiB", a.Annotations["sample"])
	}
	if a.Annotations["summary"] != "2 matches of rule sshfail in 10s" || a.Annotations["file"] != "/var/log/auth.log" {
		t.Errorf("annotations %v", a.Annotations)
	}
}

func TestObserveOtherRules(t *testing.T) {
	s := newServer(t, nil)
	cfg := amConfig(s, Rule{})
	cfg.Rules[0].Index = 1
	f := newFixture(t, cfg)
	f.line(0, "user=a", nil)
	f.line(2, "user=a", nil)
	f.e.Observe(-1, nil, "")
	f.e.Observe(99, nil, "")
	if f.groups("sshfail") != 0 || f.e.Dirty() {
		t.Fatal("a rule without an alert was counted")
	}
	f.e.Observe(1, nil, "x") // a nil Match groups as ""
	if f.groups("sshfail") != 1 {
		t.Fatal("not counted")
	}
}

func TestObserveAllocs(t *testing.T) {
	s := newServer(t, nil)
	f := newFixture(t, amConfig(s, Rule{GroupBy: []string{"user"}}))
	f.line(0, "user=a", nil)
	m := f.x.NewMatch()
	text := []byte("user=a")
	n := testing.AllocsPerRun(100, func() {
		m.Reset(text, nil, 0)
		f.e.Observe(0, m, "f")
	})
	if n > 2 { // the regexp's submatch indexes
		t.Errorf("%v allocations per Observe of a firing group", n)
	}
}
