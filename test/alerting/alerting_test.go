package alerting_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

// TestAlerting runs every scenario, each with its own processes.
func TestAlerting(t *testing.T) {
	t.Parallel()
	am := alertmanagerPath(t)
	needLogscan(t)
	for _, sc := range []struct {
		name string
		run  func(t *testing.T, am string)
	}{
		{"lifecycle", lifecycle},
		{"am-restart", amRestart},
		{"ha-one-down", haOneDown},
		{"restart-undelivered-term", func(t *testing.T, am string) { restart(t, am, false, false) }},
		{"restart-undelivered-kill9", func(t *testing.T, am string) { restart(t, am, false, true) }},
		{"restart-delivered-term", func(t *testing.T, am string) { restart(t, am, true, false) }},
		{"restart-delivered-kill9", func(t *testing.T, am string) { restart(t, am, true, true) }},
		{"restart-unacked-kill9", func(t *testing.T, _ string) { restartUnacked(t) }},
		{"webhook", func(t *testing.T, _ string) { webhook(t) }},
		{"exec", func(t *testing.T, _ string) { execAction(t) }},
	} {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			sc.run(t, am)
		})
	}
}

// lifecycle is scenarios fires-grouped, no-repeat and resolve, in turn, on
// one logscan and one Alertmanager.
func lifecycle(t *testing.T, amBin string) {
	recv := newReceiver(t)
	am := newAlertmanager(t, amBin, recv)
	am.start()
	r := newRig(t, "lifecycle")
	r.writeConfig(cfg{rules: []ruleCfg{http5xxRule("alertmanager")}, ams: []string{am.url()}})
	r.startLogscan()

	var samples map[string]string
	var lastLine time.Time // of the keeper, in no-repeat
	t.Run("fires-grouped", func(t *testing.T) {
		r.t, r.name = t, "fires-grouped"
		var c counts
		// Two matches of route C: below the threshold. 4xx lines of route
		// A: no match.
		r.write(r.accessLine(routeC, 500), r.accessLine(routeC, 500), r.accessLine(routeA, 404), r.accessLine(routeA, 404), r.accessLine(routeA, 404))
		wrote := time.Now()
		samples = r.fire(routeA, routeB)
		testutil.Eventually(t, "a firing notification of each route", 15*time.Second, func() bool {
			return recv.count("route", routeA, "firing") > 0 && recv.count("route", routeB, "firing") > 0
		})
		took := time.Since(wrote)
		r.note("both firing notifications received")
		time.Sleep(1500 * time.Millisecond) // over a group interval: a repeat, or route C, would have come
		for _, route := range []string{routeA, routeB} {
			c.expect(t, "firing "+route, recv.count("route", route, "firing"), 1)
			no, a, _ := recv.first("route", route, "firing")
			if len(no.Alerts) != 1 {
				t.Errorf("route %s: a notification with %d alerts, want 1 (group_by: ['...'])", route, len(no.Alerts))
			}
			r.wantLabels("route "+route, a.Labels, "http5xx", map[string]string{"route": route})
			want := map[string]string{"summary": "3 matches of rule http5xx in 0s", "count": "3", "sample": samples[route], "file": r.log}
			for k, v := range want {
				if a.Annotations[k] != v {
					t.Errorf("route %s: annotation %s=%q, want %q", route, k, a.Annotations[k], v)
				}
			}
			if a.StartsAt.Before(wrote.Add(-time.Second)) || a.StartsAt.After(time.Now()) {
				t.Errorf("route %s: startsAt %s, want about %s (the first match)", route, a.StartsAt, wrote)
			}
		}
		c.expect(t, "route "+routeC+" (2 matches)", recv.count("route", routeC, "firing"), 0)
		c.expect(t, "other notifications", len(recv.notifications())-recv.count("route", routeA, "firing")-recv.count("route", routeB, "firing"), 0)
		r.summary(append(c.fields(), "first_two_within", took.Round(10*time.Millisecond))...)
	})
	if t.Failed() {
		return
	}

	t.Run("no-repeat", func(t *testing.T) {
		r.t, r.name = t, "no-repeat"
		var c counts
		r.keep(500*time.Millisecond, routeA, routeB)
		time.Sleep(3 * resend) // pacing: logscan re-posts every resend interval meanwhile
		lastLine = r.stopKeeper()
		ends := amEndsAt(t, am)
		time.Sleep(1500 * time.Millisecond) // over a group interval: a repeat would have come
		for _, route := range []string{routeA, routeB} {
			c.expect(t, "firing "+route, recv.count("route", route, "firing"), 1)
			c.expect(t, "resolved "+route, recv.count("route", route, "resolved"), 0)
			// The first post's endsAt was 4 resend intervals after the
			// fire, 2s ahead by now: later proves the re-posts.
			if left := time.Until(ends[route]); left < 2*resend {
				t.Errorf("route %s: the Alertmanager's endsAt is %s ahead: logscan did not re-post it every %s (endsAt = now + 4×resend_interval)", route, left, resend)
			}
		}
		page := r.scrape()
		dedup := suppressed(page, "dedup")
		want := r.keptN[routeA] + r.keptN[routeB]
		if dedup != want {
			t.Errorf("logscan_action_suppressed_total{reason=dedup} = %d, want %d (the matches while firing)", dedup, want)
		}
		r.summary(append(c.fields(), "matches_while_firing", want, "suppressed_dedup", dedup, "sent_so_far", alertsTotal(page, "http5xx", "sent"))...)
	})

	t.Run("resolve", func(t *testing.T) {
		r.t, r.name = t, "resolve"
		var c counts
		last := lastLine
		testutil.Eventually(t, "a resolved notification of each route", resolveAfter+15*time.Second, func() bool {
			return recv.count("route", routeA, "resolved") > 0 && recv.count("route", routeB, "resolved") > 0
		})
		time.Sleep(1500 * time.Millisecond) // over a group interval: a repeat would have come
		var worst time.Duration
		for _, route := range []string{routeA, routeB} {
			c.expect(t, "firing "+route, recv.count("route", route, "firing"), 1)
			c.expect(t, "resolved "+route, recv.count("route", route, "resolved"), 1)
			no, a, _ := recv.first("route", route, "resolved")
			worst = max(worst, no.at.Sub(last))
			if no.at.Sub(last) > resolveAfter+4*time.Second {
				t.Errorf("route %s: resolved %s after the last line, want within resolve_after + 4s", route, no.at.Sub(last))
			}
			if a.EndsAt.IsZero() || a.EndsAt.After(no.at) {
				t.Errorf("route %s: resolved with endsAt %s (received %s)", route, a.EndsAt, no.at)
			}
		}
		page := r.scrape()
		for res, want := range map[string]int{"fired": 2, "resolved": 2, "failed": 0, "dropped": 0} {
			if got := alertsTotal(page, "http5xx", res); got != want {
				t.Errorf("logscan_alerts_total{rule=http5xx,result=%s} = %d, want %d", res, got, want)
			}
		}
		sent := alertsTotal(page, "http5xx", "sent")
		if sent < 4 {
			t.Errorf("logscan_alerts_total{rule=http5xx,result=sent} = %d, want 4 or more (2 fired, re-posts, 2 resolved)", sent)
		}
		lint := r.lint(page)
		r.stopLogscan(sigterm)
		r.summary(append(c.fields(), "resolved_after_last_line", worst.Round(10*time.Millisecond), "sent", sent, "promtool", lint)...)
	})
}

// amEndsAt is the endsAt of each active alert of the Alertmanager, by route.
func amEndsAt(t *testing.T, am *alertmanager) map[string]time.Time {
	t.Helper()
	resp, err := http.Get(am.url() + "/api/v2/alerts?active=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var alerts []struct {
		Labels map[string]string `json:"labels"`
		EndsAt time.Time         `json:"endsAt"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
		t.Fatal(err)
	}
	out := map[string]time.Time{}
	for _, a := range alerts {
		out[a.Labels["route"]] = a.EndsAt
	}
	return out
}

// amRestart: the Alertmanager is down when the alert fires.
func amRestart(t *testing.T, amBin string) {
	recv := newReceiver(t)
	am := newAlertmanager(t, amBin, recv)
	am.start()
	r := newRig(t, "am-restart")
	r.writeConfig(cfg{rules: []ruleCfg{http5xxRule("alertmanager")}, ams: []string{am.url()}})
	r.startLogscan()
	var c counts
	am.stop()
	r.note("alertmanager stopped (SIGTERM)")
	r.fire(routeA)
	r.keep(time.Second, routeA)
	testutil.Eventually(t, "logscan's first failed delivery", 10*time.Second, func() bool {
		return countLog(r.logscan().Logs(), "alert: delivery failed") > 0
	})
	time.Sleep(3 * time.Second) // pacing: the outage; logscan retries meanwhile
	up := time.Now()            // from the start: it takes posts before /-/ready says so
	am.start()
	r.note("alertmanager started again (run %d, ready after %s)", am.runs, time.Since(up).Round(time.Millisecond))
	testutil.Eventually(t, "the firing notification after the restart", 40*time.Second, func() bool {
		return recv.count("route", routeA, "firing") > 0
	})
	firingAfter := time.Since(up)
	r.note("firing notification received")
	last := r.stopKeeper()
	testutil.Eventually(t, "the resolved notification", resolveAfter+15*time.Second, func() bool {
		return recv.count("route", routeA, "resolved") > 0
	})
	resolvedAfter := time.Since(last)
	time.Sleep(1500 * time.Millisecond) // over a group interval: a repeat would have come
	c.expect(t, "firing", recv.count("route", routeA, "firing"), 1)
	c.expect(t, "resolved", recv.count("route", routeA, "resolved"), 1)
	if n := countLog(r.logscan().Logs(), "alert: delivered after retrying"); n == 0 {
		t.Errorf("logscan did not log a delivery after retrying")
	}
	page := r.scrape()
	lint := r.lint(page)
	r.stopLogscan(sigterm)
	r.summary(append(c.fields(), "firing_after_am_start", firingAfter.Round(10*time.Millisecond),
		"resolved_after_last_line", resolvedAfter.Round(10*time.Millisecond), "promtool", lint)...)
	if t.Failed() {
		t.Logf("receiver:\n%s", recv)
	}
}

// haOneDown: two Alertmanagers, the second down when the alert fires.
func haOneDown(t *testing.T, amBin string) {
	recv1, recv2 := newReceiver(t), newReceiver(t)
	am1, am2 := newAlertmanager(t, amBin, recv1), newAlertmanager(t, amBin, recv2)
	am1.start()
	r := newRig(t, "ha-one-down")
	r.writeConfig(cfg{rules: []ruleCfg{http5xxRule("alertmanager")}, ams: []string{am1.url(), am2.url()}})
	r.startLogscan()
	var c counts
	wrote := time.Now()
	r.fire(routeA)
	r.keep(time.Second, routeA)
	testutil.Eventually(t, "the first Alertmanager's notification", 5*time.Second, func() bool {
		return recv1.count("route", routeA, "firing") > 0
	})
	first := time.Since(wrote)
	r.note("the first Alertmanager notified")
	time.Sleep(3 * time.Second) // pacing: the second stays down a while; logscan retries it
	up := time.Now()            // from the start: it takes posts before /-/ready says so
	am2.start()
	r.note("the second Alertmanager started (ready after %s)", time.Since(up).Round(time.Millisecond))
	testutil.Eventually(t, "the second Alertmanager's notification", 40*time.Second, func() bool {
		return recv2.count("route", routeA, "firing") > 0
	})
	second := time.Since(up)
	r.note("the second Alertmanager notified")
	r.stopKeeper()
	testutil.Eventually(t, "both resolved notifications", resolveAfter+15*time.Second, func() bool {
		return recv1.count("route", routeA, "resolved") > 0 && recv2.count("route", routeA, "resolved") > 0
	})
	time.Sleep(1500 * time.Millisecond) // over a group interval: a repeat would have come
	for i, recv := range []*receiver{recv1, recv2} {
		c.expect(t, fmt.Sprintf("am%d firing", i+1), recv.count("route", routeA, "firing"), 1)
		c.expect(t, fmt.Sprintf("am%d resolved", i+1), recv.count("route", routeA, "resolved"), 1)
	}
	page := r.scrape()
	lint := r.lint(page)
	r.stopLogscan(sigterm)
	r.summary(append(c.fields(), "am1_within", first.Round(10*time.Millisecond), "am2_after_start", second.Round(10*time.Millisecond), "promtool", lint)...)
	if t.Failed() {
		t.Logf("receiver 1:\n%s\nreceiver 2:\n%s", recv1, recv2)
	}
}
