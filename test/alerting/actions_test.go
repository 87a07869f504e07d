package alerting_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

// webhook: the signature, the idempotency key, a retry after a 500 and
// none after a 400.
func webhook(t *testing.T) {
	r := newRig(t, "webhook")
	secret := fmt.Sprintf("s3cret-%d", time.Now().UnixNano())
	secretFile := filepath.Join(r.dir, "hook.secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hook := newHookServer(t, []byte(secret))
	hook.setRespond(func(b hookBody, attempt int) int {
		switch {
		case b.Status != "firing":
			return http.StatusOK
		case b.Labels["route"] == routeA && attempt == 1:
			return http.StatusInternalServerError
		case b.Labels["route"] == routeB:
			return http.StatusBadRequest
		}
		return http.StatusOK
	})
	rule := http5xxRule("ops")
	rule.name = "hook"
	r.writeConfig(cfg{rules: []ruleCfg{rule}, webhooks: []map[string]any{{
		"name": "ops", "url": hook.url(), "secret_file": secretFile,
		"rate_limit": map[string]any{"per_second": 10, "burst": 10},
	}}})
	r.startLogscan()
	samples := r.fire(routeA, routeB)
	testutil.Eventually(t, "route A delivered, route B refused", 15*time.Second, func() bool {
		ka, kb := hook.keys(routeA, "firing"), hook.keys(routeB, "firing")
		if len(ka) == 0 || len(kb) == 0 {
			return false
		}
		_, d := hook.attempts(ka[0])
		return d > 0
	})
	r.note("route A delivered after a 500, route B refused with a 400")
	testutil.Eventually(t, "both resolved notifications", resolveAfter+15*time.Second, func() bool {
		return hook.deliveredFor(routeA, "resolved") > 0 && hook.deliveredFor(routeB, "resolved") > 0
	})
	r.note("both resolved notifications delivered")
	time.Sleep(1500 * time.Millisecond) // two backoffs more: a retry of the 400 would have come

	var c counts
	ka, kb := hook.keys(routeA, "firing"), hook.keys(routeB, "firing")
	aAttempts, aDelivered := hook.attempts(ka[0])
	bAttempts, bDelivered := hook.attempts(kb[0])
	if len(ka) != 1 || len(kb) != 1 {
		t.Errorf("firing idempotency keys: route A %d, route B %d, want 1 each (a retry keeps its key)", len(ka), len(kb))
	}
	if aAttempts != 2 {
		t.Errorf("route A (500, then 200): %d attempts, want 2", aAttempts)
	}
	c.expect(t, "firing "+routeA+" (500 then 200)", aDelivered, 1)
	if bAttempts != 1 {
		t.Errorf("route B (400): %d attempts, want 1: a 400 is not retried", bAttempts)
	}
	c.expect(t, "firing "+routeB+" (400) delivered", bDelivered, 0)
	for _, route := range []string{routeA, routeB} {
		c.expect(t, "resolved "+route, hook.deliveredFor(route, "resolved"), 1)
		for _, k := range hook.keys(route, "resolved") {
			if k == ka[0] || k == kb[0] {
				t.Errorf("route %s: the resolved notification has the firing one's idempotency key", route)
			}
		}
	}
	hook.checkRequests(t)
	firingFields := []string{"annotations", "count", "file", "idempotency_key", "labels", "rule", "sample", "startsAt", "status", "version"}
	var fieldSets []string
	for _, rq := range hook.requests() {
		b := rq.body
		want := firingFields
		if b.Status == "resolved" {
			want = append(slices.Clone(firingFields), "endsAt")
			slices.Sort(want)
			if b.EndsAt == nil || b.EndsAt.Before(b.StartsAt) {
				t.Errorf("resolved notification of %s: endsAt %v", b.Labels["route"], b.EndsAt)
			}
		}
		got := slices.Sorted(slices.Values(rq.fields))
		if !slices.Equal(got, want) {
			t.Errorf("%s notification's fields %v, want %v", b.Status, got, want)
		}
		if s := strings.Join(got, ","); !slices.Contains(fieldSets, b.Status+":"+s) {
			fieldSets = append(fieldSets, b.Status+":"+s)
		}
		route := b.Labels["route"]
		r.wantLabels("webhook "+b.Status+" "+route, b.Labels, "hook", map[string]string{"route": route})
		if b.Version != "1" || b.Rule != "hook" || b.File != r.log || b.Sample != samples[route] || b.Count != 3 {
			t.Errorf("%s notification of %s: version %q rule %q file %q sample %q count %d", b.Status, route, b.Version, b.Rule, b.File, b.Sample, b.Count)
		}
		for k, v := range map[string]string{"summary": "3 matches of rule hook in 0s", "count": "3", "sample": samples[route], "file": r.log} {
			if b.Annotations[k] != v {
				t.Errorf("%s notification of %s: annotation %s=%q, want %q", b.Status, route, k, b.Annotations[k], v)
			}
		}
	}
	page := r.scrape()
	for res, want := range map[string]int{"fired": 2, "resolved": 2, "sent": 3, "failed": 1, "dropped": 0} {
		if got := alertsTotal(page, "hook", res); got != want {
			t.Errorf("logscan_alerts_total{rule=hook,result=%s} = %d, want %d", res, got, want)
		}
	}
	if got := suppressed(page, "ratelimit"); got != 0 {
		t.Errorf("logscan_action_suppressed_total{reason=ratelimit} = %d, want 0", got)
	}
	lint := r.lint(page)
	r.stopLogscan(sigterm)
	r.summary(append(c.fields(), "attempts_a", aAttempts, "attempts_b", bAttempts, "requests", len(hook.requests()),
		"signature", "hmac(ts.body)", "fields", strings.Join(fieldSets, ";"), "promtool", lint)...)
	if t.Failed() {
		t.Logf("webhook:\n%s", hook)
	}
}

// The exec scenario's commands: page records its argv and LOGSCAN_*
// environment in a file per run (renamed into place whole); slow sleeps
// 100s in a child.
const (
	pageScript = `#!/bin/sh
f=%q/run.$$
{
	for a in "$@"; do printf 'ARG=%%s\n' "$a"; done
	env | grep '^LOGSCAN_'
	printf 'CANARY=%%s\n' "${ALERTING_CANARY-unset}"
} >"$f.tmp" && mv "$f.tmp" "$f"
`
	slowScript = `#!/bin/sh
sleep 100 &
echo "$$ $!" >%[1]q/slow.pids.tmp && mv %[1]q/slow.pids.tmp %[1]q/slow.pids
wait
`
)

// execRun is one run of the page command.
type execRun struct {
	args []string
	env  map[string]string
}

func readRuns(t *testing.T, dir string) []execRun {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "run.*[0-9]"))
	if err != nil {
		t.Fatal(err)
	}
	var runs []execRun
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		run := execRun{env: map[string]string{}}
		for line := range strings.Lines(string(b)) {
			line = strings.TrimSuffix(line, "\n")
			if a, ok := strings.CutPrefix(line, "ARG="); ok {
				run.args = append(run.args, a)
			} else if k, v, ok := strings.Cut(line, "="); ok {
				run.env[k] = v
			}
		}
		runs = append(runs, run)
	}
	return runs
}

func countRuns(runs []execRun, status string) int {
	n := 0
	for _, r := range runs {
		if r.env["LOGSCAN_STATUS"] == status {
			n++
		}
	}
	return n
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}

// execAction: a command per notification, its argv literal, and a slow
// one killed at its timeout while the lines go on.
func execAction(t *testing.T) {
	r := newRig(t, "exec")
	out := t.TempDir()
	page, slow := filepath.Join(r.dir, "page.sh"), filepath.Join(r.dir, "slow.sh")
	for f, body := range map[string]string{page: fmt.Sprintf(pageScript, out), slow: fmt.Sprintf(slowScript, out)} {
		if err := os.WriteFile(f, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"a;b", "$(id)", "two words", "", "`id`"}
	r.writeConfig(cfg{
		rules: []ruleCfg{
			{name: "page", match: `PAGE (?P<who>[a-z]+)`, groupBy: []string{"who"}, resolve: resolveAfter.String(), to: []string{"page"}},
			{name: "slow", match: `SLOWCMD`, resolve: "1h", to: []string{"slow"}},
			{name: "marker", match: `MARKER`, noAlert: true},
		},
		exec: []map[string]any{
			{"name": "page", "argv": append([]string{page}, args...), "timeout": "5s", "max_running": 2},
			{"name": "slow", "argv": []string{slow}, "timeout": "1s"},
		},
	})
	r.startLogscan("ALERTING_CANARY=leaked")
	r.write("PAGE alice\n", "PAGE bob\n")
	r.note("wrote PAGE alice, PAGE bob")
	testutil.Eventually(t, "two firing runs of the page command", 15*time.Second, func() bool {
		return countRuns(readRuns(t, out), "firing") >= 2
	})
	r.note("two firing runs")

	// The slow command, and a line while it runs.
	r.write("SLOWCMD 1\n")
	pidFile := filepath.Join(out, "slow.pids")
	testutil.Eventually(t, "the slow command's start", 10*time.Second, func() bool { _, err := os.Stat(pidFile); return err == nil })
	started := time.Now()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	var shPid, sleepPid int
	if _, err := fmt.Sscan(string(b), &shPid, &sleepPid); err != nil {
		t.Fatalf("slow.pids %q: %v", b, err)
	}
	r.note("the slow command runs (sh %d, sleep %d)", shPid, sleepPid)
	r.write("MARKER 1\n")
	marked := time.Now()
	testutil.Eventually(t, "the marker line on stdout", 10*time.Second, func() bool {
		return slices.ContainsFunc(r.logscan().Output(), func(l string) bool { return strings.Contains(l, "MARKER 1") })
	})
	markerTook := time.Since(marked)
	slowRunning := alive(shPid) && alive(sleepPid)
	r.note("the marker line reached stdout after %s; the slow command running: %v", markerTook.Round(time.Millisecond), slowRunning)
	if !slowRunning {
		t.Errorf("the slow command (timeout 1s) was gone when the marker line reached stdout (%s after its start)", time.Since(started))
	}
	if markerTook > time.Second {
		t.Errorf("the marker line took %s to reach stdout while a command ran", markerTook)
	}
	testutil.Eventually(t, "the slow command and its child killed", 10*time.Second, func() bool { return !alive(shPid) && !alive(sleepPid) })
	killedAfter := time.Since(started)
	r.note("the slow command and its sleep are gone")
	if killedAfter > 4*time.Second {
		t.Errorf("the slow command was killed %s after its start, timeout 1s", killedAfter)
	}
	testutil.Eventually(t, "logscan's log of the timeout", 5*time.Second, func() bool {
		return countLog(r.logscan().Logs(), "alert: command timed out") > 0
	})

	testutil.Eventually(t, "two resolved runs", resolveAfter+15*time.Second, func() bool {
		return countRuns(readRuns(t, out), "resolved") >= 2
	})
	time.Sleep(time.Second) // pacing: a further run would have come
	var c counts
	runs := readRuns(t, out)
	c.expect(t, "firing runs", countRuns(runs, "firing"), 2)
	c.expect(t, "resolved runs", countRuns(runs, "resolved"), 2)
	keys := map[string]bool{}
	for _, run := range runs {
		status, who := run.env["LOGSCAN_STATUS"], run.env["LOGSCAN_LABEL_WHO"]
		what := fmt.Sprintf("%s run for %s", status, who)
		keys[run.env["LOGSCAN_IDEMPOTENCY_KEY"]] = true
		if !slices.Equal(run.args, args) {
			t.Errorf("%s: argv %q, want %q literally", what, run.args, args)
		}
		want := map[string]string{
			"LOGSCAN_RULE": "page", "LOGSCAN_COUNT": "1", "LOGSCAN_FILE": r.log, "LOGSCAN_SAMPLE": "PAGE " + who,
			"LOGSCAN_SUMMARY": "1 match of rule page", "LOGSCAN_LABEL_ALERTNAME": "page", "LOGSCAN_LABEL_RULE": "page",
			"LOGSCAN_LABEL_HOST": r.host, "CANARY": "unset",
		}
		for k, v := range want {
			if run.env[k] != v {
				t.Errorf("%s: %s=%q, want %q", what, k, run.env[k], v)
			}
		}
		if who != "alice" && who != "bob" {
			t.Errorf("%s: LOGSCAN_LABEL_WHO=%q", what, who)
		}
		for _, k := range []string{"LOGSCAN_STARTS_AT", "LOGSCAN_IDEMPOTENCY_KEY"} {
			if run.env[k] == "" {
				t.Errorf("%s: no %s", what, k)
			}
		}
		if _, err := time.Parse(time.RFC3339Nano, run.env["LOGSCAN_STARTS_AT"]); err != nil {
			t.Errorf("%s: LOGSCAN_STARTS_AT: %v", what, err)
		}
		if _, ok := run.env["LOGSCAN_ENDS_AT"]; ok != (status == "resolved") {
			t.Errorf("%s: LOGSCAN_ENDS_AT=%q", what, run.env["LOGSCAN_ENDS_AT"])
		}
	}
	if len(keys) != len(runs) {
		t.Errorf("%d runs with %d distinct LOGSCAN_IDEMPOTENCY_KEY", len(runs), len(keys))
	}
	page2 := r.scrape()
	for _, w := range []struct {
		rule, result string
		want         int
	}{{"page", "fired", 2}, {"page", "resolved", 2}, {"page", "sent", 4}, {"page", "failed", 0}, {"slow", "fired", 1}, {"slow", "failed", 1}, {"slow", "sent", 0}} {
		if got := alertsTotal(page2, w.rule, w.result); got != w.want {
			t.Errorf("logscan_alerts_total{rule=%s,result=%s} = %d, want %d", w.rule, w.result, got, w.want)
		}
	}
	lint := r.lint(page2)
	r.stopLogscan(syscall.SIGTERM)
	envNames := []string{}
	if len(runs) > 0 {
		for k := range runs[0].env {
			envNames = append(envNames, k)
		}
		slices.Sort(envNames)
	}
	r.summary(append(c.fields(), "marker_latency", markerTook.Round(time.Millisecond), "slow_killed_after", killedAfter.Round(10*time.Millisecond),
		"env", strings.Join(envNames, ","), "argv_literal", strconv.Quote(strings.Join(args, "|")), "promtool", lint)...)
}
