package alert

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// hookConfig is one rule of matcher rule 0, grouped by user, to the fake
// webhook "hook".
func hookConfig(s *server, r Rule, w Webhook) Config {
	r.Name, r.Key, r.To = "sshfail", "rules[0].alert", []string{"hook"}
	if r.GroupBy == nil {
		r.GroupBy = []string{"user"}
	}
	w.Name, w.URL = "hook", s.srv.URL+"/hook"
	return Config{Rules: []Rule{r}, Webhooks: []Webhook{w}}
}

func decodeHook(t *testing.T, r request) webhookBody {
	t.Helper()
	var b webhookBody
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWebhookSigned(t *testing.T) {
	secret := []byte("s3cret")
	s := newServer(t, nil)
	f := newFixture(t, hookConfig(s, Rule{ResolveAfter: time.Minute}, Webhook{Secret: secret, Headers: map[string]string{"X-Team": "ops"}}))
	f.start(t)
	f.line(0, "Failed password user=root", nil)
	r := s.next()
	// The receiver's check, written out.
	ts := r.header.Get("X-Logscan-Timestamp")
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "." + string(r.body)))
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); r.header.Get("X-Logscan-Signature") != want {
		t.Errorf("signature %q, want %q", r.header.Get("X-Logscan-Signature"), want)
	}
	if ts != strconv.FormatInt(t0.Unix(), 10) {
		t.Errorf("timestamp %q", ts)
	}
	b := decodeHook(t, r)
	if b.Version != "1" || b.Status != statusFiring || b.Rule != "sshfail" || b.Labels["user"] != "root" ||
		b.Count != 1 || b.File != "/var/log/auth.log" || b.Sample != "Failed password user=root" ||
		!b.StartsAt.Equal(t0) || !b.EndsAt.IsZero() || b.Annotations["summary"] != "1 match of rule sshfail" {
		t.Errorf("body %s", r.body)
	}
	if r.header.Get("Idempotency-Key") != b.IdempotencyKey || len(b.IdempotencyKey) != 64 {
		t.Errorf("Idempotency-Key %q, body's %q", r.header.Get("Idempotency-Key"), b.IdempotencyKey)
	}
	if r.header.Get("X-Team") != "ops" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", r.header)
	}
	f.clock.Advance(time.Minute)
	f.e.Tick()
	res := decodeHook(t, s.next())
	if res.Status != statusResolved || !res.EndsAt.Equal(f.clock.Now()) || res.IdempotencyKey == b.IdempotencyKey {
		t.Errorf("resolve %+v", res)
	}
}

func TestWebhookUnsigned(t *testing.T) {
	s := newServer(t, nil)
	f := newFixture(t, hookConfig(s, Rule{}, Webhook{}))
	f.start(t)
	f.line(0, "user=root", nil)
	if r := s.next(); r.header.Get("X-Logscan-Signature") != "" || r.header.Get("X-Logscan-Timestamp") != "" {
		t.Errorf("signed without a secret: %v", r.header)
	}
}

// TestWebhookRateLimit: firings beyond the bucket are dropped and counted;
// the resolve of one that was sent goes out with the bucket empty, the
// resolve of one that was dropped never does.
func TestWebhookRateLimit(t *testing.T) {
	s := newServer(t, nil)
	f := newFixture(t, hookConfig(s, Rule{ResolveAfter: time.Minute}, Webhook{RatePerSecond: 0.001, Burst: 2}))
	for _, u := range []string{"a", "b", "c", "d", "e"} {
		f.line(0, "user="+u, nil)
	}
	if f.suppressed(reasonRateLimit) != 3 || f.e.pending() != 2 {
		t.Fatalf("ratelimit %v, pending %d; want 3 and 2", f.suppressed(reasonRateLimit), f.e.pending())
	}
	f.start(t)
	sent := map[string]bool{}
	for range 2 {
		b := decodeHook(t, s.next())
		sent[b.Labels["user"]] = true
	}
	if !sent["a"] || !sent["b"] {
		t.Fatalf("sent %v, want a and b", sent)
	}
	f.clock.Advance(time.Minute) // 0.06 tokens
	f.e.Tick()
	resolved := map[string]bool{}
	for range 2 {
		b := decodeHook(t, s.next())
		if b.Status != statusResolved {
			t.Fatalf("%+v", b)
		}
		resolved[b.Labels["user"]] = true
	}
	if !resolved["a"] || !resolved["b"] || f.groups("sshfail") != 0 {
		t.Fatalf("resolved %v", resolved)
	}
	eventually(t, "delivered", func() bool { return f.e.pending() == 0 })
	if s.calls() != 4 || f.suppressed(reasonRateLimit) != 3 {
		t.Errorf("%d calls, ratelimit %v", s.calls(), f.suppressed(reasonRateLimit))
	}
}

func TestRepeatInterval(t *testing.T) {
	s := newServer(t, nil)
	f := newFixture(t, hookConfig(s, Rule{RepeatInterval: 10 * time.Minute, ResolveAfter: time.Hour}, Webhook{}))
	f.start(t)
	f.line(0, "user=root", nil)
	first := decodeHook(t, s.next())
	f.clock.Advance(5 * time.Minute)
	f.line(0, "user=root", nil)
	f.e.Tick()
	f.clock.Advance(5*time.Minute - time.Nanosecond)
	f.e.Tick()
	if f.suppressed(reasonCooldown) != 1 || f.suppressed(reasonDedup) != 0 {
		t.Errorf("cooldown %v dedup %v, want 1 and 0", f.suppressed(reasonCooldown), f.suppressed(reasonDedup))
	}
	eventually(t, "delivered", func() bool { return f.e.pending() == 0 })
	if s.calls() != 1 {
		t.Fatalf("repeated within the interval: %d calls", s.calls())
	}
	for i := 1; i <= 2; i++ {
		f.clock.Advance(10 * time.Minute)
		f.e.Tick()
		b := decodeHook(t, s.next())
		if b.Status != statusFiring || b.Count != 2 || !b.StartsAt.Equal(first.StartsAt) {
			t.Errorf("repeat %d: %+v", i, b)
		}
		if b.IdempotencyKey == first.IdempotencyKey || b.IdempotencyKey != idempotencyKey("sshfail", first.Labels, t0, statusFiring, i) {
			t.Errorf("repeat %d: key %s", i, b.IdempotencyKey)
		}
	}
}

func TestWebhookRetryThenRefuse(t *testing.T) {
	s := newServer(t, func(n int) int {
		if n == 0 {
			return http.StatusServiceUnavailable
		}
		return http.StatusForbidden
	})
	f := newFixture(t, hookConfig(s, Rule{}, Webhook{}))
	f.start(t)
	f.line(0, "user=root", nil)
	a, b := s.next(), s.next()
	if a.header.Get("Idempotency-Key") != b.header.Get("Idempotency-Key") {
		t.Error("a retry changed the idempotency key")
	}
	eventually(t, "refused", func() bool { return f.e.pending() == 0 })
	if s.calls() != 2 || f.alerts("sshfail", resultFailed) != 1 {
		t.Errorf("%d calls, failed %v", s.calls(), f.alerts("sshfail", resultFailed))
	}
}
