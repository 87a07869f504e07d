package alerting_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/logscan/logscan/internal/testutil"
)

// The rule of most scenarios: an access log's 5xx lines, by route.
const (
	http5xx      = `"(?P<method>[A-Z]+) (?P<route>/\S*) HTTP/[0-9.]+" (?P<status>5\d\d)`
	resolveAfter = 3 * time.Second
	resend       = 2 * time.Second
	saveInterval = 200 * time.Millisecond
	routeA       = "/api/a"
	routeB       = "/api/b"
	routeC       = "/api/c" // two matches only: below the threshold
)

const sigterm = syscall.SIGTERM

// rig is one scenario's logscan, its files and timeline.
type rig struct {
	t        *testing.T
	name     string
	dir      string // scratch
	root     string // the tree logscan follows
	log      string // root/access.log
	state    string
	config   string
	host     string
	procs    []*testutil.Proc
	metrics  string // the last logscan's /metrics address
	start    time.Time
	mu       sync.Mutex
	timeline []string
	seq      int
	keeper   chan struct{} // closed to stop the keeper
	kept     sync.WaitGroup
	keptN    map[string]int // lines the keeper wrote, by route
}

func newRig(t *testing.T, name string) *rig {
	t.Helper()
	needLogscan(t)
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, name: name, dir: t.TempDir(), host: host, start: time.Now(), keptN: map[string]int{}}
	r.root = filepath.Join(r.dir, "logs")
	r.log = filepath.Join(r.root, "access.log")
	r.state = filepath.Join(r.dir, "state.json")
	r.config = filepath.Join(r.dir, "logscan.yaml")
	if err := os.Mkdir(r.root, 0o755); err != nil {
		t.Fatal(err)
	}
	testutil.AppendFile(t, r.log, "")
	t.Cleanup(func() {
		r.stopKeeper()
		if t.Failed() {
			for i, p := range r.procs {
				t.Logf("logscan %d diagnostics (tail): %s", i+1, tail(p.Logs(), 6000))
			}
		}
	})
	return r
}

// note adds to the timeline.
func (r *rig) note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timeline = append(r.timeline, fmt.Sprintf("%6.2fs %s", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...)))
}

// ruleCfg is one rule with an alert.
type ruleCfg struct {
	name, match     string
	count           int
	window          string
	groupBy, to     []string
	resolve, repeat string
	noAlert         bool // a rule that only selects lines
}

// cfg is what the scenario's logscan.yaml holds besides the constants.
type cfg struct {
	rules    []ruleCfg
	ams      []string
	webhooks []map[string]any
	exec     []map[string]any
}

// writeConfig writes logscan.yaml.
func (r *rig) writeConfig(c cfg) {
	t := r.t
	t.Helper()
	var rules []map[string]any
	for _, ru := range c.rules {
		m := map[string]any{"name": ru.name, "match": []string{ru.match}}
		if !ru.noAlert {
			a := map[string]any{"to": ru.to}
			if ru.count > 0 {
				a["threshold"] = map[string]any{"count": ru.count, "window": ru.window}
			}
			if len(ru.groupBy) > 0 {
				a["group_by"] = ru.groupBy
			}
			if ru.resolve != "" {
				a["resolve_after"] = ru.resolve
			}
			if ru.repeat != "" {
				a["repeat_interval"] = ru.repeat
			}
			m["alert"] = a
		}
		rules = append(rules, m)
	}
	alerting := map[string]any{"resend_interval": resend.String()}
	if len(c.ams) > 0 {
		alerting["alertmanagers"] = c.ams
	}
	if len(c.webhooks) > 0 {
		alerting["webhooks"] = c.webhooks
	}
	if len(c.exec) > 0 {
		alerting["exec"] = c.exec
	}
	doc := map[string]any{
		"follow":        true,
		"start_at":      "beginning",
		"state_file":    r.state,
		"save_interval": saveInterval.String(),
		"rules":         rules,
		"alerting":      alerting,
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.config, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// http5xxRule is the scenarios' rule: 3 matches of a route within 1m.
func http5xxRule(to ...string) ruleCfg {
	return ruleCfg{name: "http5xx", match: http5xx, count: 3, window: "1m", groupBy: []string{"route"},
		resolve: resolveAfter.String(), repeat: "1h", to: to}
}

// startLogscan starts logscan on the config and waits until it follows
// and serves /metrics.
func (r *rig) startLogscan(extraEnv ...string) *testutil.Proc {
	t := r.t
	t.Helper()
	cmd := exec.Command(bin, "--config", r.config, "--follow", "--log-format", "json", "--listen", "127.0.0.1:0", r.root)
	cmd.Env = append(testutil.CleanEnv(), extraEnv...)
	p := testutil.StartFollowing(t, cmd)
	r.procs = append(r.procs, p)
	testutil.Eventually(t, "logscan's /metrics address in its log", 10*time.Second, func() bool {
		r.metrics = logField(p.Logs(), "serving /metrics", "addr")
		return r.metrics != ""
	})
	r.note("logscan %d following (pid %d), /metrics on %s", len(r.procs), p.Cmd.Process.Pid, r.metrics)
	return p
}

func (r *rig) logscan() *testutil.Proc { return r.procs[len(r.procs)-1] }

// stopLogscan stops logscan with sig: SIGTERM must exit 0 within 20s.
func (r *rig) stopLogscan(sig syscall.Signal) time.Duration {
	t := r.t
	t.Helper()
	p := r.logscan()
	code, took := p.Stop(t, sig, 20*time.Second)
	r.note("logscan %d stopped (%v, exit %d, took %s)", len(r.procs), sig, code, took.Round(time.Millisecond))
	if sig == syscall.SIGTERM && code != 0 {
		t.Errorf("logscan exited with status %d after SIGTERM (took %s), want 0: %s", code, took, tail(p.Logs(), 3000))
	}
	return took
}

// logField is the string field of the last JSON log line whose message
// starts with msg.
func logField(logs, msg, field string) string {
	v := ""
	for line := range strings.Lines(logs) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		if s, _ := m["message"].(string); strings.HasPrefix(s, msg) {
			v, _ = m[field].(string)
		}
	}
	return v
}

// countLog is the number of JSON log lines whose message starts with msg.
func countLog(logs, msg string) int {
	n := 0
	for line := range strings.Lines(logs) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			if s, _ := m["message"].(string); strings.HasPrefix(s, msg) {
				n++
			}
		}
	}
	return n
}

// accessLine is an access log line for route with status.
func (r *rig) accessLine(route string, status int) string {
	r.mu.Lock()
	r.seq++
	seq := r.seq
	r.mu.Unlock()
	return fmt.Sprintf(`10.0.0.%d - - [%s] "GET %s HTTP/1.1" %d 17 "-" "curl/8" seq=%d`+"\n",
		seq%250+1, time.Now().UTC().Format("02/Jan/2006:15:04:05 -0700"), route, status, seq)
}

// write appends lines to the access log in one write.
func (r *rig) write(lines ...string) {
	testutil.AppendFile(r.t, r.log, strings.Join(lines, ""))
}

// fire writes 3 5xx lines for each route, interleaved, in one write, and
// returns the last line of each route (the sample of its alert).
func (r *rig) fire(routes ...string) map[string]string {
	last := map[string]string{}
	var lines []string
	for range 3 {
		for _, route := range routes {
			l := r.accessLine(route, 503)
			lines = append(lines, l)
			last[route] = strings.TrimSuffix(l, "\n")
		}
	}
	r.write(lines...)
	r.note("wrote 3 matching lines for each of %v", routes)
	return last
}

// keep writes a 5xx line for each route at once and then every interval
// until stopKeeper, so that the alerts keep firing. At once, because
// no-repeat starts about 2.5 s after the matches that fired and
// resolve_after is 3 s: a first line one interval later landed 3.01 s
// after them in a CI dry run, and the alerts resolved.
func (r *rig) keep(interval time.Duration, routes ...string) {
	r.keeper = make(chan struct{})
	stop := r.keeper
	r.kept.Add(1)
	go func() {
		defer r.kept.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			var lines []string
			for _, route := range routes {
				lines = append(lines, r.accessLine(route, 502))
			}
			f, err := os.OpenFile(r.log, os.O_WRONLY|os.O_APPEND, 0)
			if err == nil {
				_, err = f.WriteString(strings.Join(lines, ""))
				f.Close()
			}
			if err != nil {
				r.note("keeper: %v", err)
				return
			}
			r.mu.Lock()
			for _, route := range routes {
				r.keptN[route]++
			}
			r.mu.Unlock()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	r.note("keeper started: a line for each of %v every %s", routes, interval)
}

// stopKeeper stops the keeper and returns when its last line was written.
func (r *rig) stopKeeper() time.Time {
	if r.keeper != nil {
		close(r.keeper)
		r.kept.Wait()
		r.keeper = nil
		r.note("keeper stopped")
	}
	return time.Now()
}

// scrape returns logscan's /metrics page.
func (r *rig) scrape() string {
	t := r.t
	t.Helper()
	resp, err := http.Get("http://" + r.metrics + "/metrics")
	if err != nil {
		t.Fatalf("scraping logscan's /metrics: %v", err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	return b.String()
}

// lint runs promtool check metrics on page, when promtool is installed.
func (r *rig) lint(page string) string {
	t := r.t
	t.Helper()
	p := promtoolPath()
	if p == "" {
		t.Log("promtool is not installed, /metrics not linted: apt-get install prometheus")
		return "skipped"
	}
	cmd := exec.Command(p, "check", "metrics")
	cmd.Stdin = strings.NewReader(page)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("promtool check metrics: %v: %s", err, out)
		return "fail"
	}
	return "ok"
}

var sampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)`)
var labelRE = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// metric is the value of the sample of page named name whose labels
// include want ("k=v" pairs), and whether there is one. Several: the sum.
func metric(page, name string, want ...string) (float64, bool) {
	sum, found := 0.0, false
	sc := bufio.NewScanner(strings.NewReader(page))
	for sc.Scan() {
		m := sampleRE.FindStringSubmatch(sc.Text())
		if m == nil || m[1] != name {
			continue
		}
		labels := map[string]string{}
		for _, l := range labelRE.FindAllStringSubmatch(m[3], -1) {
			labels[l[1]] = l[2]
		}
		ok := true
		for _, w := range want {
			k, v, _ := strings.Cut(w, "=")
			if labels[k] != v {
				ok = false
			}
		}
		if ok {
			v, err := strconv.ParseFloat(m[4], 64)
			if err == nil {
				sum, found = sum+v, true
			}
		}
	}
	return sum, found
}

// alertsTotal is logscan_alerts_total{rule,result}, -1 when missing.
func alertsTotal(page, rule, result string) int {
	v, ok := metric(page, "logscan_alerts_total", "rule="+rule, "result="+result)
	if !ok {
		return -1
	}
	return int(v)
}

// suppressed is logscan_action_suppressed_total{reason}, -1 when missing.
func suppressed(page, reason string) int {
	v, ok := metric(page, "logscan_action_suppressed_total", "reason="+reason)
	if !ok {
		return -1
	}
	return int(v)
}

// outboxEntries reads the state file and its journal as logscan's next
// start would and returns the alert outbox entries they hold, "dest id"
// mapped to true while it is pending, false once the journal removed it.
// (The alerts' checkpoints are JSON inside both: a full save lists the
// outbox, the journal's deltas add entries, with their notification "n",
// and remove them, without.)
func (r *rig) outboxEntries() map[string]bool {
	out := map[string]bool{}
	for _, f := range []string{r.state, r.state + ".journal"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, m := range outboxRE.FindAllSubmatch(b, -1) {
			out[string(m[1])+" "+string(m[2])] = len(m[3]) > 0
		}
	}
	return out
}

var outboxRE = regexp.MustCompile(`\{"dest":"([^"]+)","id":"([0-9a-f]+)"(,"n":)?`)

// pendingIn reports whether the saved state holds a pending outbox entry
// whose "dest id" starts with prefix.
func (r *rig) pendingIn(prefix string) bool {
	for k, live := range r.outboxEntries() {
		if live && strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// summary logs the scenario's one line and its timeline.
func (r *rig) summary(fields ...any) {
	t := r.t
	var b strings.Builder
	fmt.Fprintf(&b, "ALERTING scenario=%s", r.name)
	for i := 0; i+1 < len(fields); i += 2 {
		fmt.Fprintf(&b, " %v=%v", fields[i], fields[i+1])
	}
	verdict := "PASS"
	if t.Failed() {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, " verdict=%s", verdict)
	t.Log(b.String())
	r.mu.Lock()
	t.Logf("timeline:\n%s", strings.Join(r.timeline, "\n"))
	r.mu.Unlock()
	if t.Failed() || testing.Verbose() {
		for i, p := range r.procs {
			t.Logf("logscan %d warnings and errors:\n%s", i+1, notable(p.Logs(), 30))
		}
	}
}

// counts is the tally of a scenario: notifications received against
// those expected.
type counts struct {
	received, lost, duplicated int
	items                      []string
}

// expect compares got notifications of what with want: fewer are lost,
// more are duplicated.
func (c *counts) expect(t *testing.T, what string, got, want int) {
	t.Helper()
	c.received += got
	c.items = append(c.items, fmt.Sprintf("%s:%d", what, got))
	switch {
	case got < want:
		c.lost += want - got
		t.Errorf("%s: %d notifications, want %d", what, got, want)
	case got > want:
		c.duplicated += got - want
		t.Errorf("%s: %d notifications, want %d", what, got, want)
	}
}

func (c *counts) fields() []any {
	return []any{"notifications", c.received, "lost", c.lost, "duplicated", c.duplicated, "by", strings.Join(c.items, ",")}
}

// notable is up to n of logscan's warn and error lines.
func notable(logs string, n int) string {
	var out []string
	for line := range strings.Lines(logs) {
		if strings.Contains(line, `"level":"warn"`) || strings.Contains(line, `"level":"error"`) || strings.Contains(line, `"level":"fatal"`) {
			out = append(out, strings.TrimSuffix(line, "\n"))
		}
	}
	if len(out) > n {
		out = append(out[:n], fmt.Sprintf("... and %d more", len(out)-n))
	}
	if len(out) == 0 {
		return "(none)"
	}
	return strings.Join(out, "\n")
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// wantLabels checks that labels are exactly alertname, rule, host and the
// group_by labels.
func (r *rig) wantLabels(what string, labels map[string]string, rule string, group map[string]string) {
	t := r.t
	t.Helper()
	want := map[string]string{"alertname": rule, "rule": rule, "host": r.host}
	for k, v := range group {
		want[k] = v
	}
	if len(labels) != len(want) {
		t.Errorf("%s: labels %v, want %v", what, labels, want)
		return
	}
	for k, v := range want {
		if labels[k] != v {
			t.Errorf("%s: label %s=%q, want %q (labels %v)", what, k, labels[k], v, labels)
		}
	}
}
