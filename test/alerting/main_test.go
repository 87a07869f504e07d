// Package alerting_test runs the real `logscan --follow` with rules that
// alert (rules[].alert, alerting.*) against the real Prometheus
// Alertmanager, a webhook server of the test's own and commands the test
// writes, and counts what reaches each of them: every notification
// expected, lost, and repeated.
//
// The Alertmanager is Debian's prometheus-alertmanager (0.25), found in
// $PATH or at /usr/bin/prometheus-alertmanager, or named by
// LOGSCAN_ALERTMANAGER; the tests that need it skip without it:
//
//	apt-get install prometheus-alertmanager
//
// Each scenario starts its own Alertmanagers on 127.0.0.1 (free ports, their
// own --storage.path, --cluster.listen-address= so no gossip), whose one
// route sends every alert, each in a group of its own (group_by: ['...']),
// to the test's receiver, with group_wait and group_interval 1s,
// repeat_interval 1h and send_resolved: true. logscan's rule http5xx fires
// at 3 matches of one route within 1m (group_by: [route]), resolves after
// 3s without a match, and re-posts a firing alert every 2s
// (alerting.resend_interval). The receiver counts, per alert (its route
// label) and status, the notifications Alertmanager sends.
//
// The scenarios (subtests of TestAlerting, two at a time as go test's
// -parallel defaults to GOMAXPROCS, each with its own processes, ports and
// files; about 55 s in all on two cores):
//   - fires-grouped: 5xx lines for two routes, 3 each: exactly one firing
//     notification per route, one alert in each, with the labels
//     alertname, rule, host and route and the annotations summary, count,
//     sample and file;
//   - no-repeat: the matches go on for 3 resend intervals (logscan re-posts
//     each): still one firing notification per alert;
//   - resolve: once the lines stop, one resolved notification per alert,
//     within resolve_after + 4s of the last line;
//   - am-restart: the Alertmanager is stopped (SIGTERM) before the alert
//     fires and started again 3s later on its port and storage: the firing
//     notification comes, then the resolved one;
//   - ha-one-down: two Alertmanagers, the second down when the alert fires:
//     the first notifies within 5s; the second, once up, notifies too;
//   - restart-undelivered-term and restart-undelivered-kill9: the
//     Alertmanager is down and the webhook answers 503 when the alert fires;
//     logscan is stopped (SIGTERM), or killed (-9) once its state holds the
//     outbox; both come back and logscan is started again on its state
//     file: each notification arrives, the webhook's firing key delivered
//     exactly once;
//   - restart-delivered-term and restart-delivered-kill9: the same with
//     both destinations up, so the notifications are delivered before the
//     restart: after it, no firing notification again (Alertmanager would
//     dedupe, so the webhook's count is the measure: exactly once after a
//     SIGTERM; after a kill -9 at most once more, and the figure says
//     which);
//   - restart-unacked-kill9: logscan is killed (-9) while the webhook holds
//     its first firing request (the webhook has it, logscan never hears
//     so): the next logscan sends it again with the same Idempotency-Key,
//     so that by key the webhook has it once (2 requests, 1 key);
//   - webhook: every request's X-Logscan-Signature verifies
//     (HMAC-SHA256 of the secret over X-Logscan-Timestamp "." body),
//     Idempotency-Key is the body's idempotency_key and the same on a
//     retry; a 500 then 200 is delivered once after one retry; a 400 is
//     tried exactly once;
//   - exec: a command runs once per notification, its argv literal (an
//     argument with ';', '$(id)' and a space), the notification in its
//     LOGSCAN_* environment; a command that sleeps 100s with timeout 1s is
//     killed, process group and all, while logscan goes on printing lines.
//
// Every scenario logs one line starting "ALERTING scenario=" with its
// counts (notifications received, lost, duplicated) and its timeline, and
// scrapes logscan's /metrics (--listen 127.0.0.1:0) once at its end: the
// logscan_alerts_total and logscan_action_suppressed_total figures are
// checked, and `promtool check metrics` lints the page when promtool is
// installed (apt-get install prometheus).
//
// TestAlertmanagerHarness checks the harness against the Alertmanager
// alone (alerts posted by the test itself), and needs no logscan: posted
// again while firing, an alert is not notified again within
// repeat_interval (the Alertmanager's notification log dedupes it, and
// keeps it in --storage.path across its own restart), so the scenarios'
// "one firing notification" is the Alertmanager's dedup of logscan's
// re-posts, and the webhook's counts are the measure of logscan's own.
//
// Knobs: LOGSCAN_ALERTING_LOGSCAN (a logscan binary to test instead of
// building ./cmd/logscan), LOGSCAN_ALERTMANAGER, LOGSCAN_PROMTOOL.
package alerting_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/logscan/logscan/internal/testutil"
)

var (
	bin      string // the logscan binary
	buildErr error  // why it could not be built: the tests that need it fail with it
)

func TestMain(m *testing.M) {
	os.Exit(testutil.MainWithLogscan(m, "alerting", "LOGSCAN_ALERTING_LOGSCAN", false, func(b *testutil.Binary) {
		bin, buildErr = b.Path, b.Err
	}))
}

// needLogscan fails the test when the logscan binary could not be built.
func needLogscan(t *testing.T) {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// tool returns the program env names, else the first of names found in
// $PATH or as an absolute path, else skips the test with skip.
func tool(t *testing.T, env string, names []string, skip string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", env, p, err)
		}
		return p
	}
	for _, n := range names {
		if filepath.IsAbs(n) {
			if _, err := os.Stat(n); err == nil {
				return n
			}
			continue
		}
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Skip(skip)
	return ""
}

// alertmanagerPath returns the Alertmanager binary, or skips the test.
func alertmanagerPath(t *testing.T) string {
	t.Helper()
	return tool(t, "LOGSCAN_ALERTMANAGER", []string{"prometheus-alertmanager", "alertmanager", "/usr/bin/prometheus-alertmanager"},
		"no Alertmanager: apt-get install prometheus-alertmanager (or LOGSCAN_ALERTMANAGER=/path/to/alertmanager)")
}

// promtoolPath returns promtool, or "" when it is not installed (the lint
// is then skipped with a log line: the scenario still counts).
func promtoolPath() string {
	if p := os.Getenv("LOGSCAN_PROMTOOL"); p != "" {
		return p
	}
	if p, err := exec.LookPath("promtool"); err == nil {
		return p
	}
	return ""
}
