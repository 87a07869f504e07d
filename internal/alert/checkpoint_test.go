package alert

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func mustCheckpoint(t *testing.T, e *Engine, full bool) []byte {
	t.Helper()
	b, err := e.Checkpoint(full)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRestartDeliversPending: an alert delivered before the outage is not
// sent again; one made while Alertmanager was down arrives after the
// restart, from the checkpoint.
func TestRestartDeliversPending(t *testing.T) {
	up := newServer(t, nil)
	addr := up.srv.Listener.Addr().String()
	cfg := amConfig(up, Rule{GroupBy: []string{"user"}})
	sl := newSleeps(true)
	f := newFixture(t, cfg, func(o *Options) { o.Sleep = sl.Sleep })
	parts := [][]byte{mustCheckpoint(t, f.e, true)}
	f.start(t)
	f.line(0, "user=delivered", nil)
	up.alerts()
	eventually(t, "delivered", func() bool { return f.e.pending() == 0 })
	parts = append(parts, mustCheckpoint(t, f.e, false))
	up.srv.Close() // Alertmanager goes down
	f.clock.Advance(time.Second)
	f.line(0, "user=pending", nil)
	select {
	case <-sl.called: // the attempt failed
	case <-time.After(wait):
		t.Fatal("no attempt")
	}
	parts = append(parts, mustCheckpoint(t, f.e, false))
	if err := f.e.Close(10 * time.Millisecond); err == nil {
		t.Error("Close reported nothing pending")
	}
	if b := mustCheckpoint(t, f.e, false); b != nil {
		parts = append(parts, b)
	}

	again := newServerAt(t, addr, nil)
	g := newFixture(t, cfg)
	g.clock.Advance(2 * time.Second)
	warnings, err := g.e.Restore(parts)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Restore: %v %v", warnings, err)
	}
	if g.firing("sshfail") != 2 || g.e.pending() != 1 {
		t.Fatalf("restored %d firing, %d pending; want 2 and 1", g.firing("sshfail"), g.e.pending())
	}
	g.start(t)
	a := again.alerts()
	if len(a) != 1 || a[0].Labels["user"] != "pending" || !mustTime(t, a[0].StartsAt).Equal(t0.Add(time.Second)) {
		t.Fatalf("after the restart: %+v", a)
	}
	if err := g.e.Close(wait); err != nil {
		t.Fatal(err)
	}
	if again.calls() != 1 {
		t.Errorf("%d posts after the restart, want 1", again.calls())
	}
}

// TestIdempotencyKeyAcrossRestart: a webhook notification made before a
// restart is delivered after it with the same key.
func TestIdempotencyKeyAcrossRestart(t *testing.T) {
	down := newServer(t, func(int) int { return http.StatusServiceUnavailable })
	sl := newSleeps(true)
	cfg := hookConfig(down, Rule{}, Webhook{})
	f := newFixture(t, cfg, func(o *Options) { o.Sleep = sl.Sleep })
	f.start(t)
	f.line(0, "user=root", nil)
	before := down.next().header.Get("Idempotency-Key")
	full := mustCheckpoint(t, f.e, true)
	_ = f.e.Close(10 * time.Millisecond)

	up := newServer(t, nil)
	g := newFixture(t, hookConfig(up, Rule{}, Webhook{})) // another URL: the same webhook by name
	if _, err := g.e.Restore([][]byte{full}); err != nil {
		t.Fatal(err)
	}
	g.start(t)
	r := up.next()
	if after := r.header.Get("Idempotency-Key"); after != before || decodeHook(t, r).IdempotencyKey != before {
		t.Errorf("key %q after the restart, %q before", after, before)
	}
}

func TestDelta(t *testing.T) {
	s := newServer(t, nil)
	f := newFixture(t, amConfig(s, Rule{Count: 2, Window: time.Minute, GroupBy: []string{"user"}, ResolveAfter: time.Minute}))
	full := mustCheckpoint(t, f.e, true)
	if b := mustCheckpoint(t, f.e, false); b != nil || f.e.Dirty() {
		t.Fatalf("a delta of nothing: %s", b)
	}
	f.line(0, "user=a", nil) // a candidate
	if !f.e.Dirty() {
		t.Fatal("not dirty after a match")
	}
	d1 := mustCheckpoint(t, f.e, false)
	f.line(0, "user=a", nil) // fires
	f.line(0, "user=b", nil)
	d2 := mustCheckpoint(t, f.e, false)
	f.clock.Advance(time.Minute + time.Second)
	f.e.Tick() // a resolves, b is forgotten
	d3 := mustCheckpoint(t, f.e, false)
	var cp checkpoint
	if err := json.Unmarshal(d3, &cp); err != nil {
		t.Fatal(err)
	}
	if cp.Full || len(cp.GroupsRemoved) != 2 || len(cp.Outbox) != 1 || cp.Outbox[0].N.Status != statusResolved {
		t.Errorf("delta after the resolve: %s", d3)
	}
	want := mustCheckpoint(t, f.e, true)
	for _, parts := range [][][]byte{
		{full, d1, d2, d3},
		{full, d1, d1, d2, d2, d3, d3}, // each applied twice
		{full, d1, nil, d2, []byte("null"), d3},
	} {
		g := newFixture(t, f.e.cfg)
		if _, err := g.e.Restore(parts); err != nil {
			t.Fatal(err)
		}
		if got := mustCheckpoint(t, g.e, true); !bytes.Equal(got, want) {
			t.Errorf("restored\n%s\nwant\n%s", got, want)
		}
		if g.e.Dirty() {
			t.Error("dirty after a clean restore")
		}
	}
}

func TestRestoreDropsWhatIsGone(t *testing.T) {
	s := newServer(t, nil)
	cfg := amConfig(s, Rule{GroupBy: []string{"user"}})
	cfg.Rules = append(cfg.Rules, Rule{Index: 1, Name: "sudo", Key: "rules[1].alert", To: []string{"hook"}})
	cfg.Webhooks = []Webhook{{Name: "hook", URL: s.srv.URL}}
	f := newFixture(t, cfg)
	f.line(0, "user=a", nil)
	f.line(1, "user=a", nil)
	full := mustCheckpoint(t, f.e, true)

	for _, tc := range []struct {
		name    string
		change  func(*Config)
		warning string
		firing  int // of sshfail
	}{
		{"rule gone", func(c *Config) { c.Rules = c.Rules[:1] }, `rule "sudo" no longer alerts`, 1},
		{"group_by changed", func(c *Config) { c.Rules[0].GroupBy = []string{"ip"} }, `rule "sshfail": group_by changed`, 0},
		{"destination gone", func(c *Config) { c.Webhooks[0].Name = "other"; c.Rules[1].To = []string{"other"} }, `destination "webhook hook" is gone`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			c.Rules = append([]Rule(nil), cfg.Rules...)
			c.Rules[0].GroupBy = append([]string(nil), cfg.Rules[0].GroupBy...)
			c.Webhooks = append([]Webhook(nil), cfg.Webhooks...)
			tc.change(&c)
			g := newFixture(t, c)
			warnings, err := g.e.Restore([][]byte{full})
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0], tc.warning) {
				t.Errorf("warnings %q, want %q", warnings, tc.warning)
			}
			if g.firing("sshfail") != tc.firing {
				t.Errorf("%d firing", g.firing("sshfail"))
			}
			if !g.e.Dirty() {
				t.Error("what was dropped is not journaled as gone")
			}
		})
	}
}

func TestRestoreErrors(t *testing.T) {
	f := newFixture(t, Config{})
	for _, p := range []string{`{`, `{"version":2,"full":true}`, `[]`} {
		if _, err := f.e.Restore([][]byte{[]byte(p)}); err == nil {
			t.Errorf("%s: no error", p)
		}
	}
}

func FuzzRestore(f *testing.F) {
	cfg := Config{
		Rules: []Rule{
			{Name: "sshfail", To: []string{Alertmanager, "hook", "cmd"}, GroupBy: []string{"user"}, Count: 2, Window: time.Minute, ResolveAfter: time.Minute},
			{Index: 1, Name: "sudo", To: []string{"hook"}},
		},
		Alertmanagers: []string{"http://127.0.0.1:1"},
		Webhooks:      []Webhook{{Name: "hook", URL: "http://127.0.0.1:1/hook"}},
		Exec:          []Exec{{Name: "cmd", Argv: []string{"/bin/true"}}},
	}
	x := testExtractor()
	clk := newClock()
	seed, err := New(cfg, Options{Now: clk.Now, Host: "h", Extractor: x})
	if err != nil {
		f.Fatal(err)
	}
	m := x.NewMatch()
	for _, line := range []string{"user=a", "user=a", "user=b", "user=\xff"} {
		for rule := range 2 {
			m.Reset([]byte(line), nil, rule)
			seed.Observe(rule, m, "f")
		}
	}
	full, _ := seed.Checkpoint(true)
	clk.Advance(time.Minute)
	seed.Tick()
	delta, _ := seed.Checkpoint(false)
	_ = seed.Close(0)
	f.Add(full, delta)
	f.Add([]byte(`{"version":1,"full":true,"groups":[{"rule":"sshfail","key":"x","labels":{},"ring":[-1,9223372036854775807]}]}`), []byte(`{"version":1,"outbox":[{"dest":"exec cmd","id":"k","n":{"status":"firing"}}]}`))
	f.Add([]byte(`{"version":1,"full":true,"groups":[{"rule":"sshfail","key":"1:a","labels":{"user":"a","alertname":"x","rule":"y","host":"z"},"firing":true,"count":-5,"hooks":{"hook":null}}]}`), []byte(`null`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		e, err := New(cfg, Options{Now: newClock().Now, Host: "h", Extractor: x, Sleep: newSleeps(false).Sleep})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Restore([][]byte{a, b}); err != nil {
			return
		}
		m := x.NewMatch()
		for i, line := range []string{"user=a", "user=b", "user=a"} {
			m.Reset([]byte(line), nil, i%2)
			e.Observe(i%2, m, "f")
		}
		e.Tick()
		once, err := e.Checkpoint(true)
		if err != nil {
			t.Fatal(err)
		}
		e2, _ := New(cfg, Options{Now: newClock().Now, Host: "h", Extractor: x})
		if _, err := e2.Restore([][]byte{once}); err != nil {
			t.Fatalf("a checkpoint does not restore: %v\n%s", err, once)
		}
		if twice, _ := e2.Checkpoint(true); !bytes.Equal(once, twice) {
			t.Fatalf("round trip:\n%s\n%s", once, twice)
		}
		_ = e.Close(0)
		_ = e2.Close(0)
	})
}
