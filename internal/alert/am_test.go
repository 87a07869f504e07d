package alert

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/prometheus/alertmanager/api/v2/models"
	"github.com/prometheus/common/model"
)

// TestAlertmanagerPayload decodes what is posted with Alertmanager's own
// API models and validates it as Alertmanager does.
func TestAlertmanagerPayload(t *testing.T) {
	s := newServer(t, nil)
	f := newFixture(t, amConfig(s, Rule{GroupBy: []string{"user", "ip"}, ResolveAfter: time.Minute}))
	f.start(t)
	f.line(0, "Failed password user=root ip=10.1.2.3 \xff"+string(make([]byte, 2000)), nil)
	bodies := [][]byte{s.next().body}
	f.clock.Advance(time.Minute)
	f.e.Tick()
	bodies = append(bodies, s.next().body)
	for i, status := range []string{statusFiring, statusResolved} {
		body := bodies[i]
		var pa models.PostableAlerts
		if err := json.Unmarshal(body, &pa); err != nil {
			t.Fatalf("%s: %v\n%s", status, err, body)
		}
		if err := pa.Validate(strfmt.Default); err != nil {
			t.Fatalf("%s: %v\n%s", status, err, body)
		}
		if len(pa) != 1 {
			t.Fatalf("%s: %d alerts", status, len(pa))
		}
		a := pa[0]
		ls := model.LabelSet{}
		for k, v := range a.Labels {
			ls[model.LabelName(k)] = model.LabelValue(v)
			if !model.LegacyValidation.IsValidLabelName(k) {
				t.Errorf("label name %q", k)
			}
		}
		if err := ls.Validate(); err != nil {
			t.Error(err)
		}
		start, end := time.Time(a.StartsAt), time.Time(a.EndsAt)
		if !start.Equal(t0) || !end.After(start) {
			t.Errorf("%s: startsAt %v endsAt %v", status, start, end)
		}
		if status == statusResolved && !end.Equal(f.clock.Now()) {
			t.Errorf("resolved endsAt %v, want now", end)
		}
	}
}

func TestAlertmanagerResend(t *testing.T) {
	s := newServer(t, nil)
	cfg := amConfig(s, Rule{ResolveAfter: 10 * time.Minute})
	cfg.ResendInterval = time.Minute
	f := newFixture(t, cfg)
	f.start(t)
	f.line(0, "user=root", nil)
	a := s.alerts()
	if got, want := mustTime(t, a[0].EndsAt), t0.Add(4*time.Minute); !got.Equal(want) {
		t.Errorf("endsAt %v, want now+4×resend %v", got, want)
	}
	eventually(t, "delivered", func() bool { return f.e.pending() == 0 })
	f.clock.Advance(59 * time.Second)
	f.e.Tick()
	if f.e.pending() != 0 || s.calls() != 1 {
		t.Fatal("resent before the resend interval")
	}
	for i := 1; i <= 3; i++ {
		f.clock.Advance(time.Second)
		if i > 1 {
			f.clock.Advance(59 * time.Second)
		}
		f.line(0, "user=root", nil)
		f.e.Tick()
		a := s.alerts()
		now := f.clock.Now()
		if !mustTime(t, a[0].StartsAt).Equal(t0) || !mustTime(t, a[0].EndsAt).Equal(now.Add(4*time.Minute)) {
			t.Errorf("resend %d: %+v, want startsAt %v endsAt %v", i, a[0], t0, now.Add(4*time.Minute))
		}
		if a[0].Annotations["count"] != strconv.Itoa(i+1) {
			t.Errorf("resend %d: count %s", i, a[0].Annotations["count"])
		}
	}
}

// TestTwoAlertmanagers: one answers 503 then 200, the other 200 at once;
// the healthy one is not held back by the other's retries.
func TestTwoAlertmanagers(t *testing.T) {
	sick := newServer(t, func(n int) int {
		if n == 0 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	healthy := newServer(t, nil)
	cfg := amConfig(sick, Rule{})
	cfg.Alertmanagers = append(cfg.Alertmanagers, healthy.srv.URL)
	sl := newSleeps(true)
	f := newFixture(t, cfg, func(o *Options) { o.Sleep = sl.Sleep })
	f.start(t)
	f.line(0, "user=root", nil)
	sick.next()
	var d time.Duration
	select {
	case d = <-sl.called:
	case <-time.After(wait):
		t.Fatal("no backoff after a 503")
	}
	if d != backoff.First { // Rand 0.5: no jitter
		t.Errorf("backoff %v, want %v", d, backoff.First)
	}
	if a := healthy.alerts(); len(a) != 1 {
		t.Fatalf("healthy got %v", a)
	}
	eventually(t, "the healthy one done", func() bool { return f.e.pending() == 1 }) // the sick one's waits
	sl.release <- struct{}{}
	if a := sick.alerts(); len(a) != 1 {
		t.Fatalf("sick got %v on retry", a)
	}
	eventually(t, "both delivered", func() bool { return f.e.pending() == 0 })
	if sick.calls() != 2 || healthy.calls() != 1 {
		t.Errorf("calls %d and %d, want 2 and 1", sick.calls(), healthy.calls())
	}
}

func TestRefusedNotRetried(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusFound} {
		s := newServer(t, func(int) int { return status })
		f := newFixture(t, amConfig(s, Rule{}))
		f.start(t)
		f.line(0, "user=root", nil)
		s.next()
		eventually(t, "refusal done", func() bool { return f.e.pending() == 0 })
		if s.calls() != 1 || f.sleeps.count() != 0 {
			t.Errorf("%d: %d calls, %d backoffs: retried", status, s.calls(), f.sleeps.count())
		}
		if f.alerts("sshfail", resultFailed) != 1 || f.alerts("sshfail", resultSent) != 0 {
			t.Errorf("%d: failed %v, want 1", status, f.alerts("sshfail", resultFailed))
		}
		if len(f.log.messages("level", "error")) != 1 {
			t.Errorf("%d: refusal not logged: %s", status, f.log)
		}
	}
}

func TestRetried(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway, http.StatusRequestTimeout} {
		s := newServer(t, func(n int) int {
			if n < 3 {
				return status
			}
			return http.StatusOK
		})
		f := newFixture(t, amConfig(s, Rule{}))
		f.start(t)
		f.line(0, "user=root", nil)
		eventually(t, "delivered", func() bool { return f.e.pending() == 0 })
		if s.calls() != 4 || f.sleeps.count() != 3 {
			t.Errorf("%d: %d calls, %d backoffs; want 4 and 3", status, s.calls(), f.sleeps.count())
		}
		f.sleeps.mu.Lock()
		if got := f.sleeps.d; got[0] != backoff.First || got[1] != 2*backoff.First || got[2] != 4*backoff.First {
			t.Errorf("backoffs %v", got)
		}
		f.sleeps.mu.Unlock()
	}
}

// TestSupersede: while an Alertmanager is down only the alert's latest
// state waits for it.
func TestSupersede(t *testing.T) {
	s := newServer(t, nil)
	f := newFixture(t, amConfig(s, Rule{ResolveAfter: time.Minute}))
	f.line(0, "user=root", nil)
	f.clock.Advance(time.Minute)
	f.e.Tick() // resolved, while not started
	if f.e.pending() != 1 {
		t.Fatalf("%d pending, want the resolve only", f.e.pending())
	}
	f.start(t)
	a := s.alerts()
	if len(a) != 1 || !mustTime(t, a[0].EndsAt).Equal(f.clock.Now()) {
		t.Fatalf("got %+v, want the resolve", a)
	}
}

func TestBackoffBounds(t *testing.T) {
	f := newFixture(t, Config{}, func(o *Options) { o.Rand = func() float64 { return 0.999 } })
	for fails, want := range map[int]time.Duration{0: 750 * time.Millisecond, 6: backoff.Max, 100: backoff.Max} {
		if got := f.e.backoff(fails, 0); got.Round(time.Millisecond) != want {
			t.Errorf("backoff(%d) = %v, want %v", fails, got, want)
		}
	}
	if got := f.e.backoff(0, 2*time.Second); got != 2*time.Second {
		t.Errorf("Retry-After not honoured: %v", got)
	}
}
