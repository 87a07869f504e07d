package otlp_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

// knobs are the run's rate and durations, from the environment.
type knobs struct {
	rate           int
	outage, settle time.Duration
}

func readKnobs(t *testing.T) knobs {
	t.Helper()
	k := knobs{rate: 2000, outage: 20 * time.Second, settle: 60 * time.Second}
	for _, e := range []struct {
		name string
		dst  *time.Duration
	}{{"LOGSCAN_OTLP_OUTAGE", &k.outage}, {"LOGSCAN_OTLP_SETTLE", &k.settle}} {
		if v := os.Getenv(e.name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				t.Fatalf("%s=%q: want a positive duration", e.name, v)
			}
			*e.dst = d
		}
	}
	if v := os.Getenv("LOGSCAN_OTLP_RATE"); v != "" {
		var n int
		if _, err := fmt.Sscan(v, &n); err != nil || n <= 0 {
			t.Fatalf("LOGSCAN_OTLP_RATE=%q: want a positive number", v)
		}
		k.rate = n
	}
	return k
}

// scenario is what happens to logscan and the collector while the writer
// writes; during returns when the writing is to stop.
type scenario struct {
	name     string
	flaky    bool // a proxy answering 503 for the first 3 s sits between them
	proxy    bool // a proxy that only forwards, until told to hold an answer
	kill     bool // logscan is killed (-9): repeats are allowed, bounded
	wantDups bool // the kill comes while a request is unacknowledged: repeats must come
	// logrotate: the real logrotate (copytruncate) runs; a line it loses
	// itself (written between its copy and its truncate) is on no file
	// and is not logscan's to lose.
	logrotate    bool
	logrotateBin string // found at the run
	during       func(r *run)
}

const rotateOutage = 5 * time.Second // how long the collector is down around the rotation

var scenarios = []scenario{
	{name: "steady", during: func(r *run) { r.sleep(7 * time.Second) }},
	{name: "collector-outage", during: func(r *run) {
		r.sleep(3 * time.Second)
		r.stopCollector()
		r.sleep(r.k.outage)
		r.startCollector()
		r.sleep(3 * time.Second)
	}},
	{name: "503-then-200", flaky: true, during: func(r *run) { r.sleep(7 * time.Second) }},
	{name: "kill-9-restart", kill: true, during: func(r *run) {
		r.sleep(3 * time.Second)
		r.killLogscan()
		r.sleep(300 * time.Millisecond)
		r.startLogscan()
		r.sleep(4 * time.Second)
	}},
	// The kill comes while the collector has written a request but its
	// answer is held back: the next logscan must send those records again
	// (at least once), with the same uids.
	{name: "kill-9-unacked", proxy: true, kill: true, wantDups: true, during: func(r *run) {
		r.sleep(3 * time.Second)
		r.flaky.holdNext(2 * time.Second)
		select {
		case <-r.flaky.held:
		case <-time.After(10 * time.Second):
			r.t.Fatal("no request reached the collector within 10s")
		}
		r.note("the collector answered a request; the proxy holds the answer back")
		r.killLogscan()
		r.sleep(300 * time.Millisecond)
		r.startLogscan()
		r.sleep(4 * time.Second)
	}},
	{name: "rename-during-outage", during: func(r *run) {
		r.sleep(2 * time.Second)
		r.stopCollector()
		r.sleep(rotateOutage / 3)
		if err := r.w.rotateNow(); err != nil {
			r.t.Fatalf("rotation: %v", err)
		}
		r.note("renamed app.log to app.log.1, writing a new app.log")
		r.sleep(rotateOutage - rotateOutage/3)
		r.startCollector()
		r.sleep(2 * time.Second)
	}},
	// logscan is stopped while the collector is down (its drain gives up
	// after otlp.shutdown_timeout, 5 s here), the log is renamed while no
	// logscan runs, and the next one must find the unacknowledged lines in
	// app.log.1 by what its state holds.
	{name: "term-rename-during-outage", during: func(r *run) {
		r.sleep(2 * time.Second)
		r.stopCollector()
		r.sleep(time.Second)
		r.stopLogscan()
		if err := r.w.rotateNow(); err != nil {
			r.t.Fatalf("rotation: %v", err)
		}
		r.note("renamed app.log to app.log.1, writing a new app.log")
		r.sleep(time.Second)
		r.startLogscan()
		r.sleep(2 * time.Second)
		r.startCollector()
		r.sleep(2 * time.Second)
	}},
	// The real logrotate's copytruncate while the collector is down: the
	// lines not yet acknowledged live on only in the copy, app.log.1. A
	// SIGTERM (the drain gives up), a second copytruncate while no logscan
	// runs (app.log.1 becomes app.log.2), a restart, and the collector's
	// return: the copy must be read again from where the acknowledged
	// lines end, not taken as read.
	{name: "copytruncate-during-outage-restart", logrotate: true, during: func(r *run) {
		r.sleep(2 * time.Second)
		r.stopCollector()
		r.sleep(time.Second)
		r.logrotate()
		r.sleep(time.Second)
		r.stopLogscan()
		r.logrotate()
		r.startLogscan()
		r.sleep(time.Second)
		r.startCollector()
		r.sleep(2 * time.Second)
	}},
}

// logrotate runs the real logrotate, copytruncate, on the tree's app.log.
func (r *run) logrotate() {
	t := r.t
	t.Helper()
	conf := filepath.Join(r.scratch, "logrotate.conf")
	body := fmt.Sprintf("%q {\n\trotate 20\n\tmissingok\n\tcopytruncate\n}\n", filepath.Join(r.tree, "app.log"))
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(r.logrotateBin, "-f", "-s", filepath.Join(r.scratch, "logrotate.status"), conf).CombinedOutput()
	if err != nil {
		t.Fatalf("logrotate: %v: %s", err, out)
	}
	r.note("logrotate copytruncate")
}

// onDisk returns the seqs that some file of the tree holds.
func onDisk(t *testing.T, tree string) map[int]bool {
	t.Helper()
	seen := map[int]bool{}
	files, err := filepath.Glob(filepath.Join(tree, "app.log*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(b)) {
			if seq, _, ok := parseLine(strings.TrimSuffix(line, "\n")); ok {
				seen[seq] = true
			}
		}
	}
	return seen
}

// TestOTLP runs every scenario against its own collector. The runs go on
// two at a time (go test's -parallel defaults to GOMAXPROCS).
func TestOTLP(t *testing.T) {
	otelcol := otelcolPath(t)
	needLogscan(t)
	k := readKnobs(t)
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			if sc.logrotate {
				sc.logrotateBin = testutil.Logrotate(t)
			}
			runScenario(t, otelcol, host, sc, k)
		})
	}
}

// run is one scenario's processes and timeline.
type run struct {
	t                    *testing.T
	k                    knobs
	scratch, tree, state string
	logrotateBin         string // the real logrotate, for the scenarios that run it
	col                  *collector
	flaky                *flaky
	endpoint             string
	out                  *output
	w                    *writer
	logscans             []*testutil.Proc
	killed               []bool
	start                time.Time
	timeline             []string
	writtenAtKill        int // the last line written when logscan was killed
	receivedAtKill       int // lines in the collector's output then
	writtenAtStateAtKill int // lines below the state file's offset then (-1: unknown)
	settleTook           time.Duration
	awaitRecovery        bool // the collector came back; no new line yet
}

func (r *run) note(format string, args ...any) {
	written := 0
	if r.w != nil {
		written = r.w.written()
	}
	r.timeline = append(r.timeline, fmt.Sprintf("%6.2fs written=%d: %s", time.Since(r.start).Seconds(), written, fmt.Sprintf(format, args...)))
}

// sleep is the scenario's pacing: the writer writes meanwhile, and the
// collector's output is read as it grows.
func (r *run) sleep(d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		time.Sleep(min(200*time.Millisecond, time.Until(end))) // pacing, not a wait for an event
		r.poll()
	}
}

func (r *run) poll() {
	before := r.out.distinct()
	if err := r.out.poll(); err != nil {
		r.t.Fatalf("reading the collector's output: %v", err)
	}
	if r.awaitRecovery && r.out.distinct() > before {
		r.awaitRecovery = false
		r.note("first new lines in the collector's output since its restart: %d in all", r.out.distinct())
	}
}

func (r *run) startCollector() {
	r.col.start()
	r.note("collector started (run %d)", r.col.runs)
	r.awaitRecovery = r.col.runs > 1
}

func (r *run) stopCollector() {
	r.col.stop()
	r.poll()
	r.note("collector stopped (SIGTERM, took %s); %d lines in its output", r.col.stops[len(r.col.stops)-1].Round(time.Millisecond), r.out.distinct())
}

// startLogscan starts `logscan --follow` shipping to the endpoint, with
// stdout off and JSON diagnostics on stderr, and waits until it follows.
func (r *run) startLogscan() {
	r.t.Helper()
	cmd := exec.Command(bin, "--follow", "--log-format", "json",
		"--state-file", r.state, "--save-interval", "200ms", "--start-at", "beginning",
		"--otlp-endpoint", r.endpoint, "-e", "seq=", r.tree)
	cmd.Env = append(testutil.CleanEnv(),
		"LOGSCAN_OUTPUT_STDOUT=false",
		"LOGSCAN_OTLP_BATCH_MAX_WAIT=100ms",
		"LOGSCAN_OTLP_SHUTDOWN_TIMEOUT=5s")
	p := testutil.StartFollowing(r.t, cmd)
	r.logscans = append(r.logscans, p)
	r.killed = append(r.killed, false)
	r.note("logscan %d following (pid %d)", len(r.logscans), p.Cmd.Process.Pid)
}

func (r *run) logscan() *testutil.Proc { return r.logscans[len(r.logscans)-1] }

// killLogscan kills the running logscan with SIGKILL, once it has saved
// its state at least once.
func (r *run) killLogscan() {
	t := r.t
	t.Helper()
	p := r.logscan()
	if fi, err := os.Stat(r.state); err != nil {
		t.Fatalf("logscan has not saved its state before the kill: %v: %s", err, tail(p.Logs(), 2000))
	} else if time.Since(fi.ModTime()) > 2*time.Second {
		t.Logf("the state file was last saved %s before the kill", time.Since(fi.ModTime()).Round(time.Millisecond))
	}
	p.Stop(t, syscall.SIGKILL, 10*time.Second)
	r.writtenAtKill = r.w.written()
	r.writtenAtStateAtKill = stateLines(r.state, r.tree) // what the next logscan resumes from
	r.killed[len(r.killed)-1] = true
	r.note("logscan %d killed (-9); %d lines below the state file's offset", len(r.logscans), r.writtenAtStateAtKill)
	time.Sleep(250 * time.Millisecond) // the collector flushes its output every 100 ms
	r.poll()
	r.receivedAtKill = r.out.distinct()
	r.note("%d lines in the collector's output", r.receivedAtKill)
}

// stopLogscan stops the running logscan with SIGTERM and requires exit
// status 0.
func (r *run) stopLogscan() {
	t := r.t
	t.Helper()
	p := r.logscan()
	code, took := p.Stop(t, syscall.SIGTERM, 20*time.Second)
	r.note("logscan %d stopped (SIGTERM, exit %d, took %s)", len(r.logscans), code, took.Round(time.Millisecond))
	if code != 0 {
		t.Errorf("logscan exited with status %d after SIGTERM (took %s), want 0: %s", code, took, tail(p.Logs(), 3000))
	}
}

func runScenario(t *testing.T, otelcol, host string, sc scenario, k knobs) {
	r := &run{t: t, k: k, writtenAtStateAtKill: -1, logrotateBin: sc.logrotateBin}
	r.scratch = t.TempDir()
	r.tree = filepath.Join(r.scratch, "tree")
	r.state = filepath.Join(r.scratch, "state.json")
	if err := os.Mkdir(r.tree, 0o755); err != nil {
		t.Fatal(err)
	}
	r.col = newCollector(t, otelcol)
	r.out = newOutput(r.col.out)
	r.endpoint = r.col.endpoint()
	switch {
	case sc.flaky:
		r.flaky = newFlaky(t, r.col.endpoint(), 3*time.Second, 4)
		r.endpoint = r.flaky.endpoint()
	case sc.proxy:
		r.flaky = newFlaky(t, r.col.endpoint(), 0, 0)
		r.endpoint = r.flaky.endpoint()
	}
	w, err := newWriter(r.tree, k.rate)
	if err != nil {
		t.Fatal(err)
	}
	r.start = time.Now()
	r.startCollector()
	r.startLogscan()

	r.w = w
	stop := make(chan struct{})
	var once sync.Once
	stopWriter := func() {
		once.Do(func() { close(stop) })
		<-w.done
	}
	go w.run(stop)
	defer stopWriter() // a Fatal half-way still ends the writer
	r.note("writer started at %d lines/s", k.rate)

	sc.during(r)
	stopWriter()
	if w.err != nil {
		t.Errorf("writer: %v", w.err)
	}
	written := w.written()
	r.note("writer stopped")
	var present map[int]bool // nil: every line written is on disk
	if sc.logrotate {
		present = onDisk(t, r.tree)
		r.note("%d of %d lines on disk (logrotate's copytruncate loses what is written between its copy and its truncate)", len(present), written)
	}

	// Wait for every line, then stop logscan cleanly (it drains what is in
	// flight) and the collector (it flushes), and count.
	settleStart := time.Now()
	for !r.out.hasAll(written, present) && time.Since(settleStart) < k.settle {
		r.sleep(200 * time.Millisecond)
		select {
		case <-r.logscan().Done():
			t.Fatalf("logscan exited before the count: %s", tail(r.logscan().Logs(), 3000))
		default:
		}
	}
	r.settleTook = time.Since(settleStart)
	complete := r.out.hasAll(written, present)
	r.note("settled: %d of %d lines in the collector's output after %s", r.out.distinct(), written, r.settleTook.Round(time.Millisecond))
	r.stopLogscan()
	r.col.stop()
	r.poll()
	r.note("collector stopped; output complete")

	tl := r.out.count(written, r.tree, host, present)
	r.check(sc, tl, complete)
}

// check asserts the targets and logs the scenario's figures.
func (r *run) check(sc scenario, tl tally, complete bool) {
	t := r.t
	k := r.k
	if len(r.out.bad) > 0 {
		t.Errorf("%d output lines are no OTLP JSON, e.g. %v", len(r.out.bad), r.out.bad[:min(3, len(r.out.bad))])
	}
	if len(r.out.partial) > 0 {
		t.Errorf("the collector's output ends in a cut line after its shutdown: %.200q", r.out.partial)
	}
	if tl.written < k.rate*3 {
		t.Errorf("the writer wrote %d lines, less than 3 s at %d/s", tl.written, k.rate)
	}
	if tl.lost > 0 {
		t.Errorf("%d of %d lines lost (not in the collector's output): seqs %v", tl.lost, tl.written, tl.lostEx)
	}
	if tl.torn.n > 0 {
		t.Errorf("records whose body is no writer line: %s", tl.torn)
	}
	dupBound := 0
	if sc.kill {
		// The restarted logscan resends what the killed one sent without
		// the acknowledgement reaching the state file: at most a save
		// interval and a batch or two, bounded here at 2 s of lines, and
		// only lines written before the kill.
		dupBound = 2 * k.rate
		late := 0
		for _, seq := range tl.dupSeqs {
			if seq > r.writtenAtKill {
				late++
			}
		}
		if late > 0 {
			t.Errorf("%d lines written after the kill (seq > %d) arrived twice: %v", late, r.writtenAtKill, seqRuns(tl.dupSeqs, 8))
		}
	}
	if sc.wantDups && tl.dupSeq == 0 {
		t.Errorf("no record arrived twice, but logscan was killed while the collector's answer to a request was held back: at-least-once would send it again")
	}
	if tl.dupSeq > dupBound {
		t.Errorf("%d repeated records (allowed %d): %v, seqs %v", tl.dupSeq, dupBound, tl.dupEx, seqRuns(tl.dupSeqs, 8))
	}
	if tl.uidConflicts.n > 0 {
		t.Errorf("log.record.uid does not name one line: %s", tl.uidConflicts)
	}
	if tl.dupUID != tl.dupSeq && tl.uidConflicts.n == 0 && tl.noUID.n == 0 {
		t.Errorf("dup_uid=%d, dup_seq=%d: want equal", tl.dupUID, tl.dupSeq)
	}
	if tl.noUID.n > 0 {
		t.Errorf("records without log.record.uid: %s", tl.noUID)
	}
	if tl.attrErrs.n > 0 {
		t.Errorf("records with wrong file attributes: %s", tl.attrErrs)
	}
	if tl.resErrs.n > 0 {
		t.Errorf("records with a wrong resource: %s", tl.resErrs)
	}
	if !complete && tl.lost == 0 {
		t.Errorf("the last lines arrived only at logscan's shutdown, %s after the writer stopped", k.settle)
	}
	flakyFig := ""
	if r.flaky != nil {
		r.flaky.mu.Lock()
		rejected, withRetry, forwarded := r.flaky.rejected, r.flaky.withRetry, r.flaky.forwarded
		r.flaky.mu.Unlock()
		if sc.flaky && (withRetry == 0 || rejected-withRetry == 0 || forwarded == 0) {
			t.Errorf("the proxy did not test both 503s and a recovery: %s", r.flaky)
		}
		flakyFig = fmt.Sprintf(" rejected=%d rejected_retry_after=%d forwarded=%d", rejected, withRetry, forwarded)
	}
	warn, errs := 0, 0
	for _, p := range r.logscans {
		w, e := levels(p.Logs())
		warn += w
		errs += e
	}
	killFig := ""
	if sc.kill {
		killFig = fmt.Sprintf(" dup_bound=%d written_at_kill=%d received_at_kill=%d state_at_kill=%d", dupBound, r.writtenAtKill, r.receivedAtKill, r.writtenAtStateAtKill)
	}
	verdict := "PASS"
	if t.Failed() {
		verdict = "FAIL"
	}
	var names []string
	for name, n := range tl.names {
		names = append(names, fmt.Sprintf("%s:%d", name, n))
	}
	slices.Sort(names)
	t.Logf("OTLP scenario=%s written=%d received=%d lost=%d dup_seq=%d dup_uid=%d records=%d requests=%d torn=%d%s%s collector_runs=%d logscan_runs=%d logscan_warn=%d logscan_error=%d settle=%s by_name=%s verdict=%s",
		sc.name, tl.written, tl.received, tl.lost, tl.dupSeq, tl.dupUID, tl.records, r.out.requests, tl.torn.n, killFig, flakyFig,
		r.col.runs, len(r.logscans), warn, errs, r.settleTook.Round(time.Millisecond), strings.Join(names, ","), verdict)
	t.Logf("timeline:\n%s", strings.Join(r.timeline, "\n"))
	if r.flaky != nil {
		t.Logf("proxy: %s", r.flaky)
	}
	if t.Failed() || testing.Verbose() {
		for i, p := range r.logscans {
			t.Logf("logscan %d warnings and errors:\n%s", i+1, notable(p.Logs(), 40))
		}
	}
	if t.Failed() {
		for i, p := range r.logscans {
			t.Logf("logscan %d diagnostics: %s", i+1, tail(p.Logs(), 4000))
		}
		t.Logf("collector diagnostics: %s", r.col.logs.Tail(40))
		r.keep()
	}
}

// levels counts the warn and error lines of logscan's JSON diagnostics.
func levels(logs string) (warn, errs int) {
	for _, l := range strings.Split(logs, "\n") {
		switch {
		case strings.Contains(l, `"level":"warn"`):
			warn++
		case strings.Contains(l, `"level":"error"`), strings.Contains(l, `"level":"fatal"`):
			errs++
		}
	}
	return warn, errs
}

// notable is up to n of logscan's warn and error lines.
func notable(logs string, n int) string {
	var out []string
	skipped := 0
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"level":"warn"`) || strings.Contains(l, `"level":"error"`) || strings.Contains(l, `"level":"fatal"`) {
			if len(out) < n {
				out = append(out, l)
			} else {
				skipped++
			}
		}
	}
	if skipped > 0 {
		out = append(out, fmt.Sprintf("... and %d more", skipped))
	}
	if len(out) == 0 {
		return "(none)"
	}
	return strings.Join(out, "\n")
}

// stateLines is how many lines of tree/app.log lie below the offset the
// state file holds for it (the acknowledged ones), -1 when it holds none.
func stateLines(state, tree string) int {
	b, err := os.ReadFile(state)
	if err != nil {
		return -1
	}
	var st struct {
		Files []struct {
			Path   string `json:"path"`
			Offset int64  `json:"offset"`
		} `json:"files"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return -1
	}
	log := filepath.Join(tree, "app.log")
	off := int64(-1)
	for _, f := range st.Files {
		if f.Path == log {
			off = f.Offset
		}
	}
	if off < 0 {
		return -1
	}
	data, err := os.ReadFile(log)
	if err != nil {
		return -1
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	return strings.Count(string(data[:off]), "\n")
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// keep saves, when LOGSCAN_OTLP_KEEP names a directory, the scratch
// directory (tree and state), the collector's output and config, and both
// processes' diagnostics there, for a failed run.
func (r *run) keep() {
	t := r.t
	dir := os.Getenv("LOGSCAN_OTLP_KEEP")
	if dir == "" {
		return
	}
	dst := filepath.Join(dir, strings.NewReplacer("/", "_", "=", "").Replace(t.Name()))
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Error(err)
		return
	}
	files := map[string]string{"collector.log": r.col.logs.String(), "timeline.txt": strings.Join(r.timeline, "\n") + "\n"}
	for i, p := range r.logscans {
		files[fmt.Sprintf("logscan%d.stderr", i+1)] = p.Logs()
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dst, name), []byte(data), 0o644); err != nil {
			t.Error(err)
		}
	}
	for _, src := range []string{r.scratch, r.col.out, r.col.conf} {
		if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
			t.Errorf("keeping %s: %v: %s", src, err, out)
		}
	}
	t.Logf("kept the outputs in %s", dst)
}
