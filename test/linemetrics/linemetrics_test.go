package linemetrics_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

// rate is the writer's lines per second in the scenarios.
const rate = 2500

// settle bounds the wait, once the writer has stopped, for the exposed
// values to reach the expected ones.
const settle = 15 * time.Second

func TestLineMetrics(t *testing.T) {
	needLogscan(t)
	for _, sc := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"steady", func(t *testing.T) { runStream(t, "steady", "", func(e *env) { pause(4 * time.Second) }) }},
		{"kill-9", func(t *testing.T) {
			runStream(t, "kill-9", "", func(e *env) {
				for range 2 {
					pause(1500 * time.Millisecond)
					e.kill9()
					pause(300 * time.Millisecond)
					e.startLogscan()
				}
				pause(1500 * time.Millisecond)
			})
		}},
		{"sigterm", func(t *testing.T) {
			runStream(t, "sigterm", "", func(e *env) {
				pause(2 * time.Second)
				e.stop()
				pause(300 * time.Millisecond)
				e.startLogscan()
				pause(2 * time.Second)
			})
		}},
		{"logrotate-create", func(t *testing.T) { runRotate(t, "logrotate-create", "create", rotateThrice) }},
		{"logrotate-copytruncate", func(t *testing.T) { runRotate(t, "logrotate-copytruncate", "copytruncate", rotateThrice) }},
		{"kill-9-create-while-down", func(t *testing.T) { runRotate(t, "kill-9-create-while-down", "create", rotateWhileDown) }},
		{"kill-9-copytruncate-while-down", func(t *testing.T) {
			runRotate(t, "kill-9-copytruncate-while-down", "copytruncate", rotateWhileDown)
		}},
		{"sigterm-copytruncate-while-down", func(t *testing.T) {
			runRotate(t, "sigterm-copytruncate-while-down", "copytruncate", func(e *env, rotate func()) {
				pause(1500 * time.Millisecond)
				e.stop()
				rotate()
				pause(300 * time.Millisecond)
				e.startLogscan()
				pause(1500 * time.Millisecond)
			})
		}},
		{"reload", testReload},
		{"reload-mid-stream", testReloadMidStream},
		{"max-series", testMaxSeries},
		{"max-series-memory", testMaxSeriesMemory},
		{"expire-after", testExpireAfter},
		{"promtool", testPromtool},
	} {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			sc.run(t)
		})
	}
}

// runRotate is a stream scenario with the real logrotate (method create
// or copytruncate, configured in the env) run by during.
func runRotate(t *testing.T, name, method string, during func(e *env, rotate func())) {
	lr := tool(t, "logrotate", "apt-get install -y logrotate")
	runStream(t, name, method, func(e *env) {
		body := fmt.Sprintf("%q {\n\trotate 20\n\tmissingok\n\tnocompress\n", e.app)
		if method == "create" {
			body += fmt.Sprintf("\tcreate 0644\n\tpostrotate\n\t\ttouch %q\n\tendscript\n}\n", e.hup)
		} else {
			body += "\tcopytruncate\n}\n"
		}
		if err := os.WriteFile(e.lrConf, []byte(body), 0o644); err != nil {
			e.t.Fatal(err)
		}
		during(e, func() { e.logrotate(lr) })
	})
}

// rotateThrice runs logrotate three times, 1.2 s apart, while logscan
// runs.
func rotateThrice(e *env, rotate func()) {
	for range 3 {
		pause(1200 * time.Millisecond)
		rotate()
	}
	pause(1200 * time.Millisecond)
}

// rotateWhileDown kills logscan (-9), rotates while none runs, and starts
// it again.
func rotateWhileDown(e *env, rotate func()) {
	pause(1500 * time.Millisecond)
	e.kill9()
	rotate()
	pause(300 * time.Millisecond)
	e.startLogscan()
	pause(1500 * time.Millisecond)
}

// runStream is a scenario with the writer at rate while during runs:
// logscan with the base metrics from the start, the values compared once
// the writer has stopped. rotate is the logrotate method ("" for none).
func runStream(t *testing.T, name, rotate string, during func(e *env)) {
	e := newEnv(t)
	e.writeConfig(baseRule(bounds))
	e.startLogscan()
	w := startWriter(t, e.app, e.hup, 0, rate, mixLine)
	e.note("writer started")
	during(e)
	n, last, err := w.Stop()
	if err != nil {
		t.Fatalf("writer: %v", err)
	}
	e.note("writer stopped after %d lines", n)

	disk, torn := onDisk(t, e.logs)
	diskSet := map[string]bool{}
	for _, l := range disk {
		diskSet[l] = true
	}
	// What logscan printed and no file holds counts only if it is a whole
	// writer line: a logscan killed (-9) may have printed part of one.
	var prn []string
	cut := 0
	for _, l := range e.allPrinted() {
		if diskSet[l] || mixLine(seqOf(l)) == l {
			prn = append(prn, l)
		} else {
			cut++
		}
	}
	lines := union(disk, prn)
	want := newExpectation(prefix).base(lines, bounds)
	families := baseFamilies[:3]
	if rotate == "" {
		// The last line written is the last one read: the gauge holds its
		// status. (After a rotation, the rest of app.log.1 may be read
		// after the new app.log's last line.)
		want.lastStatus(last)
		families = baseFamilies
	}
	got, _ := e.waitEqual(want.series, settle, families...)
	e.note("values compared")
	e.check(got, want.series, families...)

	notOnDisk := 0
	for _, l := range union(prn) {
		if !diskSet[l] {
			notOnDisk++
		}
	}
	extra := []string{fmt.Sprintf("logscans=%d on_disk=%d torn=%d cut_prints=%d", len(e.procs), len(union(disk)), torn, cut)}
	if rotate == "copytruncate" {
		// Lines written between a copy and its truncate: on no file; those
		// logscan read before the truncate count, the others cannot.
		extra = append(extra, fmt.Sprintf("lost_by_copytruncate=%d of_them_read_before_truncate=%d", n-len(union(disk)), notOnDisk))
	} else if len(union(disk)) != n || torn != 0 || notOnDisk != 0 {
		t.Errorf("the files hold %d distinct lines (%d torn) and logscan printed %d that none holds; the writer wrote %d", len(union(disk)), torn, notOnDisk, n)
	}
	if rotate != "" {
		extra = append(extra, fmt.Sprintf("rotations_total=%.0f", got[key(prefix+"rotations_total")]))
	}
	e.summary(name, n, requests(want.series, prefix), requests(got, prefix), extra...)
	e.stop()
}

// lastStatus sets the gauge to the status of line.
func (x *expectation) lastStatus(line string) *expectation {
	if h, ok := parseHit(line); ok {
		x.series[key(x.prefix+"last_status")] = mustFloat(h.status)
	}
	return x
}

// testReload: 2 s of lines, a new config (the histogram's buckets change,
// a metric by route is added) and SIGHUP once logscan has counted them
// all, then 2 s more. The requests, the bytes and the gauge count on from
// their values; the histogram and the new metric count the second part.
func testReload(t *testing.T) {
	e := newEnv(t)
	e.writeConfig(baseRule(bounds))
	e.startLogscan()
	w := startWriter(t, e.app, "", 0, rate, mixLine)
	pause(2 * time.Second)
	n1, last, err := w.Stop()
	if err != nil {
		t.Fatal(err)
	}
	e.note("writer stopped after %d lines", n1)
	disk, _ := onDisk(t, e.logs)
	want := newExpectation(prefix).base(disk, bounds).lastStatus(last)
	got, ok := e.waitEqual(want.series, settle, baseFamilies...)
	if !ok {
		e.check(got, want.series, baseFamilies...)
		t.FailNow()
	}

	newBounds := []float64{500, 5000}
	e.writeConfig(baseRule(newBounds, "{name: http_route_requests_total, labels: [route]}"))
	e.reload()
	w = startWriter(t, e.app, "", n1, rate, mixLine)
	pause(2 * time.Second)
	n, last, err := w.Stop()
	if err != nil {
		t.Fatal(err)
	}
	e.note("writer stopped after %d lines", n)

	disk, _ = onDisk(t, e.logs)
	var second []string
	for _, l := range disk {
		if seqOf(l) >= n1 {
			second = append(second, l)
		}
	}
	want = newExpectation(prefix)
	want.counterBy("http_requests_total", disk, func(h hit) []string { return []string{"method", h.method, "status", h.status} })
	want.sum("http_response_bytes_total", disk)
	want.histogram("http_bytes", second, newBounds)
	want.counterBy("http_route_requests_total", second, func(h hit) []string { return []string{"route", h.route} })
	want.lastStatus(last)
	families := append(baseFamilies, prefix+"http_route_requests_total")
	got, _ = e.waitEqual(want.series, settle, families...)
	e.check(got, want.series, families...)
	if len(disk) != n {
		t.Errorf("app.log holds %d lines, the writer wrote %d", len(disk), n)
	}
	// The reloaded metrics are what the state file holds now: a kill -9
	// and a start with the new config keep them all.
	e.kill9()
	e.startLogscan()
	again, _ := e.waitEqual(want.series, settle, families...)
	e.check(again, want.series, families...)
	e.summary("reload", n, requests(want.series, prefix), requests(got, prefix), fmt.Sprintf("before_reload=%d after_reload=%d histogram_count=%.0f (want %d) new_metric=%.0f (want %d) after_kill_9_restart_equal=%t",
		n1, n-n1, got[key(prefix+"http_bytes_count")], len(second), got.total(prefix+"http_route_requests_total"), len(second),
		len(diff(pick(again, want.series, families), want.series, 1)) == 0))
	e.stop()
}

// reload sends logscan SIGHUP and waits until it has reloaded its
// config, as logscan_config_reloads_total{result="success"} says.
func (e *env) reload() {
	e.t.Helper()
	before := e.scrape()[key(prefix+"config_reloads_total", "result", "success")]
	if err := e.logscan().Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		e.t.Fatal(err)
	}
	e.note("config rewritten, SIGHUP")
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := e.scrape()
		if s[key(prefix+"config_reloads_total", "result", "success")] > before {
			break
		}
		if failed := s[key(prefix+"config_reloads_total", "result", "failure")]; failed > 0 || time.Now().After(deadline) {
			e.t.Fatalf("no successful reload (failures %g): %s", failed, tail(e.logscan().Logs(), 3000))
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.note("reloaded")
}

// testReloadMidStream: the same change and SIGHUP while the writer
// writes. The requests, the bytes and the gauge are exact over every line;
// the new metric counts the lines from some seq s on, and the histogram
// must hold exactly those lines, with its new buckets: the reload happens
// between two lines for both.
func testReloadMidStream(t *testing.T) {
	e := newEnv(t)
	e.writeConfig(baseRule(bounds))
	e.startLogscan()
	w := startWriter(t, e.app, "", 0, rate, mixLine)
	pause(1500 * time.Millisecond)
	newBounds := []float64{250, 2500}
	e.writeConfig(baseRule(newBounds, "{name: http_route_requests_total, labels: [route]}"))
	e.reload()
	pause(1500 * time.Millisecond)
	n, last, err := w.Stop()
	if err != nil {
		t.Fatal(err)
	}
	e.note("writer stopped after %d lines", n)
	disk, _ := onDisk(t, e.logs)
	if len(disk) != n {
		t.Errorf("app.log holds %d lines, the writer wrote %d", len(disk), n)
	}
	// Wait until the unchanged metrics hold every line; the new one's
	// total is then the lines read since the reload.
	want := newExpectation(prefix).base(disk, bounds).lastStatus(last)
	for k := range want.series {
		if strings.HasPrefix(k, prefix+"http_bytes") {
			delete(want.series, k)
		}
	}
	got, _ := e.waitEqual(want.series, settle, baseFamilies[0], baseFamilies[1], baseFamilies[3])
	e.check(got, want.series, baseFamilies[0], baseFamilies[1], baseFamilies[3])
	since := n - int(got.total(prefix+"http_route_requests_total"))
	var after []string
	for _, l := range disk {
		if seqOf(l) >= since {
			after = append(after, l)
		}
	}
	want.histogram("http_bytes", after, newBounds)
	want.counterBy("http_route_requests_total", after, func(h hit) []string { return []string{"route", h.route} })
	families := append(baseFamilies, prefix+"http_route_requests_total")
	e.check(got, want.series, families...)
	e.summary("reload-mid-stream", n, requests(want.series, prefix), requests(got, prefix),
		fmt.Sprintf("reload_at_seq=%d histogram_count=%.0f new_metric=%.0f (both want %d)",
			since, got[key(prefix+"http_bytes_count")], got.total(prefix+"http_route_requests_total"), len(after)))
	e.stop()
}

// overflowKey is the overflow self-metric of a metric of the rules.
func overflowKey(metric string) string {
	return key(prefix+"metric_overflow_total", "metric", prefix+metric)
}

// routeLimit adds to x the series a metric by route with max series
// keeps over lines (the first max routes in the lines' order, then
// "other"), value giving each line's amount, and its overflow count.
func (x *expectation) routeLimit(name string, lines []string, max int, value func(hit) float64) {
	kept := map[string]bool{}
	overflow := 0.0
	x.series[overflowKey(name)] = 0
	for _, l := range lines {
		h, ok := parseHit(l)
		if !ok {
			continue
		}
		r := h.route
		if !kept[r] && len(kept) < max {
			kept[r] = true
		}
		if !kept[r] {
			r = "other"
			overflow++
		}
		x.series[key(x.prefix+name, "route", r)] += value(h)
	}
	x.series[overflowKey(name)] = overflow
}

func one(hit) float64 { return 1 }

func testMaxSeries(t *testing.T) {
	e := newEnv(t)
	e.writeConfig(rule{name: "routes", match: accessPattern, metrics: []string{"{name: route_requests_total, labels: [route], max_series: 5}"}})
	e.startLogscan()
	gen := func(seq int) string { return accessLine(seq, fmt.Sprintf("/r/%02d", seq*7%50)) }
	w := startWriter(t, e.app, "", 0, rate, gen)
	pause(2 * time.Second)
	n, _, err := w.Stop()
	if err != nil {
		t.Fatal(err)
	}
	disk, _ := onDisk(t, e.logs)
	want := newExpectation(prefix)
	want.routeLimit("route_requests_total", disk, 5, one)
	got, _ := e.waitEqual(want.series, settle, prefix+"route_requests_total")
	e.check(got, want.series, prefix+"route_requests_total")
	if c := got.count(prefix + "route_requests_total"); c != 6 {
		t.Errorf("%d series of logscan_route_requests_total, want 6 (5 and other)", c)
	}
	// The 5 series kept are in the state: after a kill -9 and a start,
	// the other routes still go to "other".
	e.kill9()
	e.startLogscan()
	appendLines(t, e.app, n, n+500, gen)
	n += 500
	disk, _ = onDisk(t, e.logs)
	want = newExpectation(prefix)
	want.routeLimit("route_requests_total", disk, 5, one)
	got, _ = e.waitEqual(want.series, settle, prefix+"route_requests_total")
	e.check(got, want.series, prefix+"route_requests_total")
	e.summary("max-series", n, want.series.total(prefix+"route_requests_total"), got.total(prefix+"route_requests_total"), fmt.Sprintf("routes=50 series=%d overflow=%.0f (want %.0f) metric_series=%.0f (after a kill -9 and 500 more lines)",
		got.count(prefix+"route_requests_total"), got[overflowKey("route_requests_total")], want.series[overflowKey("route_requests_total")],
		got[key(prefix+"metric_series", "metric", prefix+"route_requests_total")]))
	e.stop()
}

// testMaxSeriesMemory: 100,000 lines, each with a route of its own, at
// 20,000 lines/s, into a metric with max_series 5 and one with the
// default (1000); logscan's VmRSS, read every 100 ms, stays under 64 MiB.
func testMaxSeriesMemory(t *testing.T) {
	const lines, fast, limit = 100_000, 20_000, 64 << 20
	e := newEnv(t)
	e.writeConfig(rule{name: "routes", match: accessPattern, metrics: []string{
		"{name: route_requests_total, labels: [route], max_series: 5}",
		"{name: route_bytes_total, labels: [route], value: bytes}",
	}})
	p := e.startLogscan()
	gen := func(seq int) string { return accessLine(seq, fmt.Sprintf("/u/%06d", seq)) }
	w := startWriter(t, e.app, "", 0, fast, gen)
	var maxRSS int64
	sample := func() {
		if cur, _, err := testutil.ProcMemory(p.Cmd.Process.Pid); err == nil {
			maxRSS = max(maxRSS, cur)
		}
	}
	for w.written() < lines {
		sample()
		time.Sleep(100 * time.Millisecond)
	}
	n, _, err := w.Stop()
	if err != nil {
		t.Fatal(err)
	}
	e.note("writer stopped after %d lines", n)
	disk, _ := onDisk(t, e.logs)
	want := newExpectation(prefix)
	want.routeLimit("route_requests_total", disk, 5, one)
	want.routeLimit("route_bytes_total", disk, 1000, func(h hit) float64 { return h.bytes })
	families := []string{prefix + "route_requests_total", prefix + "route_bytes_total"}
	deadline := time.Now().Add(settle)
	var got series
	for {
		sample()
		got = e.scrape()
		if got.total(prefix+"route_requests_total") >= float64(n) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	sample()
	got = e.scrape()
	e.check(got, want.series, families...)
	_, hwm, _ := testutil.ProcMemory(p.Cmd.Process.Pid)
	if maxRSS > limit {
		t.Errorf("logscan's VmRSS reached %.1f MiB, want under %d MiB", float64(maxRSS)/(1<<20), limit>>20)
	}
	e.summary("max-series-memory", n, want.series.total(prefix+"route_requests_total"), got.total(prefix+"route_requests_total"),
		fmt.Sprintf("distinct_routes=%d series=%d+%d overflow=%.0f+%.0f max_vmrss_mib=%.1f vmhwm_mib=%.1f (requests: route_requests_total)",
			len(disk), got.count(prefix+"route_requests_total"), got.count(prefix+"route_bytes_total"),
			got[overflowKey("route_requests_total")], got[overflowKey("route_bytes_total")], float64(maxRSS)/(1<<20), float64(hwm)/(1<<20)))
	e.stop()
}

// testExpireAfter: lines for /a and /b, then only /b (one every 100 ms):
// /a's series goes from /metrics 2 s (expire_after) after its last line,
// /b's stays; a restart (SIGTERM) does not bring /a back; a new /a line
// brings it back at 1.
func testExpireAfter(t *testing.T) {
	const after = 2 * time.Second
	e := newEnv(t)
	e.writeConfig(rule{name: "routes", match: accessPattern, metrics: []string{"{name: route_seen_total, labels: [route], expire_after: 2s}"}})
	e.startLogscan()
	a := func(seq int) string { return accessLine(seq, "/a") }
	b := func(seq int) string { return accessLine(seq, "/b") }
	ka, kb := key(prefix+"route_seen_total", "route", "/a"), key(prefix+"route_seen_total", "route", "/b")
	appendLines(t, e.app, 0, 10, a)
	lastA := time.Now()
	appendLines(t, e.app, 10, 20, b)
	seq := 20
	if _, ok := e.waitEqual(series{ka: 10, kb: 10}, 5*time.Second, prefix+"route_seen_total"); !ok {
		t.Fatalf("the first lines are not counted: %v", e.scrape().family(prefix+"route_seen_total"))
	}
	var gone time.Duration
	for gone == 0 && time.Since(lastA) < after+4*time.Second {
		time.Sleep(100 * time.Millisecond)
		appendLines(t, e.app, seq, seq+1, b)
		seq++
		s := e.scrape()
		if _, ok := s[ka]; !ok {
			gone = time.Since(lastA)
		}
		if _, ok := s[kb]; !ok {
			t.Fatalf("/b's series, updated every 100 ms, disappeared %s after /a's last line", time.Since(lastA))
		}
	}
	switch {
	case gone == 0:
		t.Errorf("/a's series is still exposed %s after its last line; expire_after is %s", time.Since(lastA).Round(time.Millisecond), after)
	case gone < after-100*time.Millisecond:
		t.Errorf("/a's series disappeared %s after its last line, before expire_after (%s)", gone, after)
	}
	expired := e.scrape()[key(prefix+"metric_expired_total", "metric", prefix+"route_seen_total")]
	if expired != 1 {
		t.Errorf("logscan_metric_expired_total = %g, want 1", expired)
	}
	// Expired is expired in the state too: a restart does not bring /a
	// back.
	e.stop()
	e.startLogscan()
	appendLines(t, e.app, seq, seq+1, b)
	seq++
	if _, ok := e.waitEqual(series{kb: float64(seq - 10)}, 5*time.Second, prefix+"route_seen_total"); !ok {
		t.Errorf("after a restart, /a's expired series is back or /b's is not %g: %v", float64(seq-10), e.scrape().family(prefix+"route_seen_total"))
	}
	appendLines(t, e.app, seq, seq+1, a)
	seq++
	want := series{ka: 1, kb: float64(seq - 11)}
	got, _ := e.waitEqual(want, 5*time.Second, prefix+"route_seen_total")
	e.check(got, want, prefix+"route_seen_total")
	e.summary("expire-after", seq, want[ka]+want[kb], got[ka]+got[kb],
		fmt.Sprintf("gone_after=%s expire_after=%s expired_total=%.0f back_at=%.0f (requests: route_seen_total after the expiry)", gone.Round(10*time.Millisecond), after, expired, got[ka]))
	e.stop()
}

// dashLine is a line whose bytes are "-" (nginx's for no body): the
// base rule does not select it, the "dash" rule does, and its number is
// not one.
func dashLine(seq int) string {
	return fmt.Sprintf(`10.0.0.1 - - [02/Dec/2026:10:00:00 +0000] "GET /health HTTP/1.1" 304 - "-" "lmtest/1.0" seq=%d`, seq)
}

// testPromtool: `promtool check metrics` on an exposition with every kind
// of metric of the rules (labelled counters, a sum, a histogram, a gauge,
// an overflow series, expiring series, value errors) says nothing.
func testPromtool(t *testing.T) {
	promtool := tool(t, "promtool", "apt-get install prometheus")
	e := newEnv(t)
	e.writeConfig(
		baseRule(bounds, "{name: route_requests_total, labels: [route], max_series: 3}",
			"{name: route_seen_total, labels: [method, route], expire_after: 1s}"),
		rule{name: "dash", match: `HTTP/1\.1" (?P<status>\d{3}) (?P<bytes>\S+) "`, metrics: []string{"{name: dash_bytes_total, value: bytes}"}},
	)
	e.startLogscan()
	gen := func(seq int) string {
		if seq%25 == 0 {
			return dashLine(seq)
		}
		return mixLine(seq)
	}
	w := startWriter(t, e.app, "", 0, rate, gen)
	pause(1500 * time.Millisecond)
	n, _, err := w.Stop()
	if err != nil {
		t.Fatal(err)
	}
	disk, _ := onDisk(t, e.logs)
	want := newExpectation(prefix).base(disk, bounds)
	errKey := key(prefix+"metric_errors_total", "metric", prefix+"dash_bytes_total", "reason", "not_a_number")
	want.series[errKey] = float64((n + 24) / 25)
	got, _ := e.waitEqual(want.series, settle, baseFamilies[:3]...)
	e.check(got, want.series, baseFamilies[:3]...)

	_, text, err := scrape(e.url())
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if err != nil || strings.TrimSpace(out.String()) != "" {
		t.Errorf("promtool check metrics: %v: %s", err, out.String())
	}
	e.summary("promtool", n, requests(want.series, prefix), requests(got, prefix), fmt.Sprintf("exposition_lines=%d promtool_exit=%d promtool_output=%q value_errors=%.0f",
		strings.Count(text, "\n"), cmd.ProcessState.ExitCode(), strings.TrimSpace(out.String()), got[errKey]))
	e.stop()
}
