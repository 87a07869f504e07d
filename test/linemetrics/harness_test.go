package linemetrics_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

const prefix = "logscan_"

// baseFamilies are the exposed names of baseMetrics.
var baseFamilies = []string{prefix + "http_requests_total", prefix + "http_response_bytes_total", prefix + "http_bytes", prefix + "last_status"}

// baseMetrics are the scenarios' four metrics (YAML flow maps), the
// histogram with buckets.
func baseMetrics(buckets []float64) []string {
	b := make([]string, len(buckets))
	for i, f := range buckets {
		b[i] = formatLE(f)
	}
	return []string{
		"{name: http_requests_total, labels: [method, status]}",
		"{name: http_response_bytes_total, type: counter, value: bytes}",
		"{name: http_bytes, type: histogram, value: bytes, buckets: [" + strings.Join(b, ", ") + "]}",
		"{name: last_status, type: gauge, value: status}",
	}
}

// rule is one rules[] entry of the config.
type rule struct {
	name, match string
	metrics     []string
}

// env is one scenario's directory, config and logscans.
type env struct {
	t                        *testing.T
	dir, logs, app, hup      string
	state, conf, lrConf, lrs string
	port                     int
	procs                    []*testutil.Proc
	start                    time.Time
	timeline                 []string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	needLogscan(t)
	dir := t.TempDir()
	e := &env{t: t, dir: dir, logs: filepath.Join(dir, "logs"), state: filepath.Join(dir, "state.json"),
		conf: filepath.Join(dir, "logscan.yaml"), hup: filepath.Join(dir, "hup"),
		lrConf: filepath.Join(dir, "logrotate.conf"), lrs: filepath.Join(dir, "logrotate.status"),
		port: testutil.FreePort(t), start: time.Now()}
	e.app = filepath.Join(e.logs, "app.log")
	if err := os.Mkdir(e.logs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.app, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// writeConfig writes logscan's config: follow the logs directory from the
// beginning, save every 200 ms, serve on the port, and the rules.
func (e *env) writeConfig(rules ...rule) {
	e.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "follow: true\nstart_at: beginning\nroots: [%q]\nstate_file: %q\nsave_interval: 200ms\nhttp: {listen: \"127.0.0.1:%d\"}\nrules:\n",
		e.logs, e.state, e.port)
	for _, r := range rules {
		fmt.Fprintf(&b, "  - name: %s\n    match: ['%s']\n    metrics:\n", r.name, strings.ReplaceAll(r.match, "'", "''"))
		for _, m := range r.metrics {
			fmt.Fprintf(&b, "      - %s\n", m)
		}
	}
	if err := os.WriteFile(e.conf, []byte(b.String()), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func baseRule(buckets []float64, extra ...string) rule {
	return rule{name: "http", match: accessPattern, metrics: append(baseMetrics(buckets), extra...)}
}

func (e *env) note(format string, args ...any) {
	e.timeline = append(e.timeline, fmt.Sprintf("%6.2fs %s", time.Since(e.start).Seconds(), fmt.Sprintf(format, args...)))
}

// startLogscan starts logscan with the config and waits until it follows.
func (e *env) startLogscan() *testutil.Proc {
	e.t.Helper()
	cmd := exec.Command(bin, "--config", e.conf, "--log-format", "json")
	cmd.Env = testutil.CleanEnv()
	p := testutil.StartFollowing(e.t, cmd)
	e.procs = append(e.procs, p)
	e.note("logscan %d following (pid %d)", len(e.procs), p.Cmd.Process.Pid)
	return p
}

func (e *env) logscan() *testutil.Proc { return e.procs[len(e.procs)-1] }

// kill9 kills the running logscan with SIGKILL.
func (e *env) kill9() {
	e.t.Helper()
	if !fileExists(e.state) {
		e.t.Fatalf("logscan has not saved its state before the kill: %s", tail(e.logscan().Logs(), 2000))
	}
	e.logscan().Stop(e.t, syscall.SIGKILL, 10*time.Second)
	e.note("logscan %d killed (-9)", len(e.procs))
}

// stop stops the running logscan with SIGTERM and requires exit status 0.
func (e *env) stop() {
	e.t.Helper()
	p := e.logscan()
	select {
	case <-p.Done():
		return
	default:
	}
	code, took := p.Stop(e.t, syscall.SIGTERM, 20*time.Second)
	e.note("logscan %d stopped (SIGTERM, exit %d, took %s)", len(e.procs), code, took.Round(time.Millisecond))
	if code != 0 {
		e.t.Errorf("logscan exited with status %d after SIGTERM, want 0: %s", code, tail(p.Logs(), 3000))
	}
}

func (e *env) url() string { return fmt.Sprintf("http://127.0.0.1:%d/metrics", e.port) }

func (e *env) scrape() series {
	e.t.Helper()
	s, _, err := scrape(e.url())
	if err != nil {
		e.t.Fatalf("scrape: %v: %s", err, tail(e.logscan().Logs(), 2000))
	}
	return s
}

// waitEqual scrapes until the families of want hold exactly want's values,
// or limit passes; it returns the last scrape and whether they were equal.
func (e *env) waitEqual(want series, limit time.Duration, families ...string) (series, bool) {
	e.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		got := e.scrape()
		if len(diff(pick(got, want, families), want, 1)) == 0 {
			return got, true
		}
		if time.Now().After(deadline) {
			return got, false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pick is what of got is compared with want: the samples of the families
// and those of want's keys.
func pick(got, want series, families []string) series {
	out := got.families(families...)
	for k := range want {
		if v, ok := got[k]; ok {
			out[k] = v
		}
	}
	return out
}

// check compares the last scrape's families with want and reports the
// differences, the timeline and logscan's diagnostics.
func (e *env) check(got, want series, families ...string) {
	e.t.Helper()
	if d := diff(pick(got, want, families), want, 25); len(d) > 0 {
		e.t.Errorf("exposed values differ from the lines':\n  %s\ntimeline:\n  %s\nlogscan's diagnostics (last):\n%s",
			strings.Join(d, "\n  "), strings.Join(e.timeline, "\n  "), tail(e.logscan().Logs(), 3000))
	}
}

// allPrinted is every line the scenario's logscans printed.
func (e *env) allPrinted() []string {
	var out []string
	for _, p := range e.procs {
		out = append(out, printed(e.logs, p.Output())...)
	}
	return out
}

// summary logs the scenario's LINEMETRICS line: the lines written, the
// requests (lines counted) expected and exposed.
func (e *env) summary(name string, lines int, wr, gr float64, extra ...string) {
	e.t.Logf("LINEMETRICS scenario=%s lines=%d expected_requests=%.0f got=%.0f diff=%+.0f %s",
		name, lines, wr, gr, gr-wr, strings.Join(extra, " "))
}

// logrotate runs the real logrotate -f with the env's config.
func (e *env) logrotate(lr string) {
	e.t.Helper()
	out, err := exec.Command(lr, "-f", "-s", e.lrs, e.lrConf).CombinedOutput()
	if err != nil {
		e.t.Fatalf("logrotate: %v: %s", err, out)
	}
	e.note("logrotate -f")
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// pause is the scenarios' pacing while the writer writes: not a wait for
// an event.
func pause(d time.Duration) { time.Sleep(d) }
