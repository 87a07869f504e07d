package alerting_test

import (
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

// restart stops logscan (SIGTERM, or SIGKILL when kill) while its alert
// fires and starts it again on the same state file. With delivered, both
// destinations (an Alertmanager and the webhook ops) are up and have the
// firing notification before the stop: the next logscan must not send it
// again. Without, the Alertmanager is down and the webhook answers 503
// until logscan is stopped: the next logscan must deliver what the state
// kept. The alert keeps firing throughout (a line a second) and resolves
// once the lines stop.
func restart(t *testing.T, amBin string, delivered, kill bool) {
	name := "restart-undelivered"
	if delivered {
		name = "restart-delivered"
	}
	sig, sigName := syscall.SIGTERM, "SIGTERM"
	if kill {
		sig, sigName = syscall.SIGKILL, "SIGKILL"
		name += "-kill9"
	} else {
		name += "-term"
	}
	recv := newReceiver(t)
	am := newAlertmanager(t, amBin, recv)
	hook := newHookServer(t, nil)
	r := newRig(t, name)
	r.writeConfig(cfg{rules: []ruleCfg{http5xxRule("alertmanager", "ops")}, ams: []string{am.url()},
		webhooks: []map[string]any{{"name": "ops", "url": hook.url()}}})
	if delivered {
		am.start()
	} else {
		hook.setRespond(func(hookBody, int) int { return http.StatusServiceUnavailable })
	}
	r.startLogscan()
	r.fire(routeA)
	r.keep(time.Second, routeA)

	var key string // the webhook's firing notification's
	hookKey := func() bool {
		if ks := hook.keys(routeA, "firing"); len(ks) > 0 {
			key = ks[0]
		}
		return key != ""
	}
	if delivered {
		testutil.Eventually(t, "both firing notifications", 15*time.Second, func() bool {
			return recv.count("route", routeA, "firing") > 0 && hookKey() && hook.deliveredFor(routeA, "firing") > 0
		})
		r.note("both destinations have the firing notification")
		// The state must say so before the stop: the webhook's entry
		// saved as removed (or gone), its hook state as sent.
		testutil.Eventually(t, "the delivery in the saved state", 10*time.Second, func() bool {
			return !r.pendingIn("webhook ops "+key) && savedHas(r, `"sent":true`)
		})
	} else {
		testutil.Eventually(t, "a first attempt at the webhook", 15*time.Second, hookKey)
		r.note("the webhook answered 503 to the firing notification")
		testutil.Eventually(t, "the pending notifications in the saved state", 10*time.Second, func() bool {
			return r.pendingIn("webhook ops "+key) && r.pendingIn("alertmanager ")
		})
	}
	r.note("the saved state holds what it must (pending: webhook=%v alertmanager=%v)", r.pendingIn("webhook ops "+key), r.pendingIn("alertmanager "))
	stopTook := r.stopLogscan(sig)
	pendingHook, pendingAM := r.pendingIn("webhook ops "+key), r.pendingIn("alertmanager ")
	r.note("after the stop the state holds pending: webhook=%v alertmanager=%v", pendingHook, pendingAM)
	if !delivered {
		if !pendingHook || !pendingAM {
			t.Errorf("after the stop the state file holds no pending notification for the webhook (%v) or the Alertmanager (%v)", pendingHook, pendingAM)
		}
		hook.setRespond(func(hookBody, int) int { return http.StatusOK })
		am.start()
		r.note("alertmanager started; the webhook answers 200")
	} else if pendingHook {
		t.Errorf("after the stop the state file holds the delivered webhook notification as pending")
	}
	before := len(hook.requests())
	r.startLogscan()
	if delivered {
		// A re-notification would come at once (the outbox) or within a
		// resend interval (a firing alert re-posted, a hook repeated).
		time.Sleep(resend + 1500*time.Millisecond)
	} else {
		testutil.Eventually(t, "both firing notifications after the restart", 30*time.Second, func() bool {
			_, d := hook.attempts(key)
			return recv.count("route", routeA, "firing") > 0 && d > 0
		})
		r.note("both destinations have the firing notification")
	}
	afterRestart := len(hook.requests()) - before
	r.stopKeeper()
	testutil.Eventually(t, "both resolved notifications", resolveAfter+15*time.Second, func() bool {
		return recv.count("route", routeA, "resolved") > 0 && hook.deliveredFor(routeA, "resolved") > 0
	})
	time.Sleep(1500 * time.Millisecond) // over a group interval: a repeat would have come
	r.note("both resolved notifications received")

	var c counts
	c.expect(t, "am firing", recv.count("route", routeA, "firing"), 1)
	c.expect(t, "am resolved", recv.count("route", routeA, "resolved"), 1)
	keys := hook.keys(routeA, "firing")
	if len(keys) != 1 {
		t.Errorf("the webhook got %d firing notifications (idempotency keys), want 1: the restart made a new one", len(keys))
	}
	attempts, got := hook.attempts(key)
	dupAllowed := ""
	if delivered && kill {
		// A kill -9 may come after a delivery and before the journal
		// has it: at most once more. Here the kill waited for the
		// journal, so none is expected; the figure says which.
		dupAllowed = "allowed_once_more"
		c.received += got
		c.items = append(c.items, "hook firing:"+strconv.Itoa(got))
		switch {
		case got == 0:
			c.lost++
			t.Errorf("webhook firing: delivered %d times, want 1", got)
		case got > 2:
			c.duplicated += got - 1
			t.Errorf("webhook firing: delivered %d times, want 1 (2 at most after a kill -9)", got)
		case got == 2:
			c.duplicated++
			t.Logf("webhook firing: delivered again after the kill -9 (the journal did not have the delivery)")
		}
	} else {
		c.expect(t, "hook firing", got, 1)
	}
	c.expect(t, "hook resolved", hook.deliveredFor(routeA, "resolved"), 1)
	hook.checkRequests(t)
	page := r.scrape()
	if got := alertsTotal(page, "http5xx", "resolved"); got != 1 {
		t.Errorf("the second logscan's logscan_alerts_total{rule=http5xx,result=resolved} = %d, want 1", got)
	}
	if got := alertsTotal(page, "http5xx", "fired"); got != 0 {
		t.Errorf("the second logscan's logscan_alerts_total{rule=http5xx,result=fired} = %d, want 0: it continues the episode", got)
	}
	lint := r.lint(page)
	r.stopLogscan(sigterm)
	fields := append(c.fields(), "stop", sigName, "stop_took", stopTook.Round(10*time.Millisecond), "hook_attempts", attempts,
		"hook_requests_after_restart", afterRestart, "pending_after_stop", pendingHook && pendingAM, "promtool", lint)
	if dupAllowed != "" {
		fields = append(fields, "dup_policy", dupAllowed)
	}
	r.summary(fields...)
	if t.Failed() {
		t.Logf("receiver:\n%s\nwebhook:\n%s", recv, hook)
	}
}

// savedHas reports whether the state file or its journal holds s.
func savedHas(r *rig, s string) bool {
	for _, f := range []string{r.state, r.state + ".journal"} {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), s) {
			return true
		}
	}
	return false
}

// restartUnacked kills logscan (-9) while the webhook holds its first
// firing request: the webhook has it, logscan never hears so. The next
// logscan must send it again, with the same Idempotency-Key, so that a
// receiver that dedupes by key sees it once.
func restartUnacked(t *testing.T) {
	hook := newHookServer(t, nil)
	r := newRig(t, "restart-unacked-kill9")
	r.writeConfig(cfg{rules: []ruleCfg{http5xxRule("ops")}, webhooks: []map[string]any{{"name": "ops", "url": hook.url()}}})
	p := r.startLogscan()
	killed := make(chan struct{})
	hook.setRespond(func(b hookBody, attempt int) int {
		if b.Status == "firing" && attempt == 1 {
			_ = p.Cmd.Process.Kill()
			<-p.Done()
			close(killed)
		}
		return http.StatusOK
	})
	r.fire(routeA)
	select {
	case <-killed:
	case <-time.After(15 * time.Second):
		t.Fatalf("no firing request within 15s: %s", hook)
	}
	r.note("logscan killed (-9) while the webhook held its firing request")
	hook.setRespond(func(hookBody, int) int { return http.StatusOK })
	r.startLogscan()
	testutil.Eventually(t, "the resolved notification", resolveAfter+15*time.Second, func() bool {
		return hook.deliveredFor(routeA, "resolved") > 0
	})
	time.Sleep(1500 * time.Millisecond) // two backoffs more: a further request would have come
	r.note("resolved notification delivered")
	var c counts
	keys := hook.keys(routeA, "firing")
	requests := 0
	for _, k := range keys {
		n, _ := hook.attempts(k)
		requests += n
	}
	// By key: one notification; by request: the one the kill cut, and
	// its resend.
	c.expect(t, "firing keys", len(keys), 1)
	if requests != 2 {
		t.Errorf("%d firing requests, want 2: the one the kill cut and one resend", requests)
	}
	c.expect(t, "resolved", hook.deliveredFor(routeA, "resolved"), 1)
	hook.checkRequests(t)
	page := r.scrape()
	lint := r.lint(page)
	r.stopLogscan(sigterm)
	r.summary(append(c.fields(), "firing_requests", requests, "firing_keys", len(keys), "promtool", lint)...)
	if t.Failed() {
		t.Logf("webhook:\n%s", hook)
	}
}
