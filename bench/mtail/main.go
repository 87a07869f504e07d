// Command mtail compares logscan's metrics of rules with mtail's on the
// same access log: the CPU each spends to count N lines into the same four
// metrics (requests by method and status, response bytes, a histogram of
// them with buckets 100, 1000, 10000, and the last status), its wall time
// and its peak RSS, and it requires the same exposed values from both.
//
//	go run ./bench/mtail -lines 1000000            (from the repository's root)
//	go run ./bench/mtail -log access.log -rounds 5
//
// It prints a Markdown table with the machine (nproc, CPU model, load
// average) and the versions.
//
// # What is measured
//
// The log is generated (-lines nginx-like lines, the mix of
// test/linemetrics, with byte counts on each bucket bound and never 0) or
// taken from -log. For each round, logscan and mtail in turn (the first of
// the two alternates), the tool is started on an empty app.log in a fresh
// directory (logscan: follow, start_at beginning, a state file saved every
// second as in production; mtail: --logs on that file, which it would
// otherwise start at its end), then the whole log is appended to app.log
// in -chunk writes at full speed. The tool's /metrics is scraped every
// 100 ms until its requests total reaches the number of lines the pattern
// selects; then its CPU seconds (user+system from /proc/PID/stat, from its
// start, so its start-up is included) and its VmHWM are read, before it is
// stopped. Wall time runs from the first write to that scrape.
//
// The pattern and the metrics are test/linemetrics': its accessPattern and
// base metrics for logscan, its testdata/access.mtail (-prog) for mtail. The
// values of each run are compared with the ones computed from the log and
// with the other tool's; any difference prints MISMATCH and exits 1 (after
// the table). A log with 0-byte responses differs by mtail's own doing: its
// histogram counts a 0 in no bucket, not even +Inf.
//
// logscan runs with output.stdout: false, as a metrics-only follower
// does: it prints nothing, as mtail does not.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

// accessPattern is test/linemetrics' (lines_test.go).
const accessPattern = `"(?P<method>[A-Z]+) (?P<route>/\S*) HTTP/[0-9.]+" (?P<status>\d{3}) (?P<bytes>\d+)`

var bounds = []float64{100, 1000, 10000}

func main() {
	lines := flag.Int("lines", 1000000, "lines to generate (unless -log)")
	logFile := flag.String("log", "", "an access log to use instead of generating one")
	rounds := flag.Int("rounds", 3, "runs of each tool, interleaved")
	logscan := flag.String("logscan", "", "the logscan binary (default: built from ./cmd/logscan into a temporary directory)")
	mtail := flag.String("mtail", "", "the mtail binary (default: mtail on PATH, /usr/bin/mtail)")
	prog := flag.String("prog", "test/linemetrics/testdata/access.mtail", "the mtail program")
	chunk := flag.Int("chunk", 1<<20, "bytes per write when appending the log")
	timeout := flag.Duration("timeout", 10*time.Minute, "the longest a tool may take to count the log")
	flag.Parse()

	tmp, err := os.MkdirTemp("", "logscan-bench-mtail-")
	if err != nil {
		fail(err)
	}
	cleanup = func() { _ = os.RemoveAll(tmp) }
	defer cleanup()
	if *logscan == "" {
		*logscan = filepath.Join(tmp, "logscan")
		build := exec.Command("go", "build", "-trimpath", "-o", *logscan, "github.com/logscan/logscan/cmd/logscan")
		build.Env = append(os.Environ(), "CGO_ENABLED=0") // static, as installed
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fail(fmt.Errorf("go build ./cmd/logscan: %w", err))
		}
	}
	if *mtail == "" {
		if p, err := exec.LookPath("mtail"); err == nil {
			*mtail = p
		} else {
			*mtail = "/usr/bin/mtail"
		}
	}
	if _, err := os.Stat(*mtail); err != nil {
		fail(fmt.Errorf("mtail: %w (apt-get install mtail)", err))
	}
	progSrc, err := os.ReadFile(*prog)
	if err != nil {
		fail(fmt.Errorf("%w (run from the repository's root, or give -prog)", err))
	}
	src := *logFile
	if src == "" {
		src = filepath.Join(tmp, "access.log")
		if err := generate(src, *lines); err != nil {
			fail(err)
		}
	}
	want, n, size, err := expected(src)
	if err != nil {
		fail(err)
	}
	if n == 0 {
		fail(fmt.Errorf("%s: no line matches the pattern", src))
	}
	load0 := loadavg()
	fmt.Fprintf(os.Stderr, "log %s: %d lines selected, %.1f MiB\n", src, n, float64(size)/(1<<20))

	tools := []*tool{
		{name: "logscan", version: firstLine(*logscan, "--version"), start: startLogscan(*logscan)},
		{name: "mtail", version: firstLine(*mtail, "--version"), start: startMtail(*mtail, progSrc)},
	}
	mismatch := false
	for round := 1; round <= *rounds; round++ {
		order := []*tool{tools[0], tools[1]}
		if round%2 == 0 {
			order[0], order[1] = order[1], order[0]
		}
		var vals [2]series
		for _, tl := range order {
			r, err := runOnce(tl, src, n, *chunk, *timeout)
			if err != nil {
				fail(fmt.Errorf("%s round %d: %w", tl.name, round, err))
			}
			d := diff(r.values, want, "exposed", "log")
			r.equal = len(d) == 0
			if !r.equal {
				mismatch = true
				fmt.Printf("MISMATCH %s round %d, exposed vs. the log's:\n  %s\n", tl.name, round, strings.Join(d, "\n  "))
			}
			tl.runs = append(tl.runs, r)
			vals[slices.Index(tools, tl)] = r.values
			fmt.Fprintf(os.Stderr, "round %d %-7s cpu=%.2fs (start-up %.2fs) wall=%.2fs vmhwm=%.1fMiB equal=%t\n",
				round, tl.name, r.cpu, r.startCPU, r.wall.Seconds(), float64(r.hwm)/(1<<20), r.equal)
		}
		if d := diff(vals[0], vals[1], "logscan", "mtail"); len(d) > 0 {
			mismatch = true
			fmt.Printf("MISMATCH round %d, logscan vs. mtail:\n  %s\n", round, strings.Join(d, "\n  "))
		}
	}

	fmt.Printf("\nmachine: nproc %d, %s, load average %s at the start, %s at the end; kernel %s\n",
		runtime.NumCPU(), cpuModel(), load0, loadavg(), readTrim("/proc/sys/kernel/osrelease"))
	fmt.Printf("versions: %s; %s; bench built with %s\n", tools[0].version, tools[1].version, runtime.Version())
	fmt.Printf("log: %d lines selected (%.1f MiB), appended in %d KiB writes; %d rounds, median (peak RSS: max)\n\n",
		n, float64(size)/(1<<20), *chunk>>10, *rounds)
	fmt.Println("| tool | CPU s per 1M lines | wall s | peak RSS MiB | values equal |")
	fmt.Println("|---|---|---|---|---|")
	var cpu, wall, rss [2]float64
	for i, tl := range tools {
		eq := "yes"
		var cs, ws []float64
		for _, r := range tl.runs {
			cs = append(cs, r.cpu/float64(n)*1e6)
			ws = append(ws, r.wall.Seconds())
			rss[i] = max(rss[i], float64(r.hwm)/(1<<20))
			if !r.equal {
				eq = "no"
			}
		}
		cpu[i], wall[i] = median(cs), median(ws)
		fmt.Printf("| %s | %.2f | %.2f | %.1f | %s |\n", tl.name, cpu[i], wall[i], rss[i], eq)
	}
	fmt.Printf("| logscan/mtail | %.2f | %.2f | %.2f | |\n", cpu[0]/cpu[1], wall[0]/wall[1], rss[0]/rss[1])
	if mismatch {
		fmt.Println("\nMISMATCH: the tools' values differ (above)")
		cleanup()
		os.Exit(1)
	}
}

type tool struct {
	name, version string
	start         func(dir, file string, port int) (*exec.Cmd, error)
	runs          []result
}

type result struct {
	cpu, startCPU float64
	wall          time.Duration
	hwm           int64
	values        series
	equal         bool
}

// startLogscan returns the start of logscan following dir/logs/app.log.
func startLogscan(bin string) func(dir, file string, port int) (*exec.Cmd, error) {
	return func(dir, file string, port int) (*exec.Cmd, error) {
		conf := filepath.Join(dir, "logscan.yaml")
		body := fmt.Sprintf(`follow: true
start_at: beginning
roots: [%q]
state_file: %q
http: {listen: "127.0.0.1:%d"}
output: {stdout: false}
log: {level: warn}
rules:
  - name: http
    match: ['%s']
    metrics:
      - {name: http_requests_total, labels: [method, status]}
      - {name: http_response_bytes_total, type: counter, value: bytes}
      - {name: http_bytes, type: histogram, value: bytes, buckets: [100, 1000, 10000]}
      - {name: last_status, type: gauge, value: status}
`, filepath.Dir(file), filepath.Join(dir, "state.json"), port, accessPattern)
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			return nil, err
		}
		cmd := exec.Command(bin, "--config", conf, "--log-format", "json")
		var env []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "LOGSCAN_") { // they would be config keys
				env = append(env, kv)
			}
		}
		cmd.Env = env
		return cmd, nil
	}
}

// startMtail returns the start of mtail with the program on file.
func startMtail(bin string, prog []byte) func(dir, file string, port int) (*exec.Cmd, error) {
	return func(dir, file string, port int) (*exec.Cmd, error) {
		progs := filepath.Join(dir, "progs")
		if err := os.Mkdir(progs, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(progs, "access.mtail"), prog, 0o644); err != nil {
			return nil, err
		}
		return exec.Command(bin, "--progs", progs, "--logs", file, "--address", "127.0.0.1", "--port", strconv.Itoa(port),
			"--emit_prog_label=false", "--logtostderr"), nil
	}
}

// runOnce starts tl on an empty file, appends src to it and waits until
// the tool has counted n lines.
func runOnce(tl *tool, src string, n int, chunk int, timeout time.Duration) (result, error) {
	var r result
	dir, err := os.MkdirTemp("", "logscan-bench-mtail-run-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "logs", "app.log")
	if err := os.Mkdir(filepath.Dir(file), 0o755); err != nil {
		return r, err
	}
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		return r, err
	}
	port, err := freePort()
	if err != nil {
		return r, err
	}
	cmd, err := tl.start(dir, file, port)
	if err != nil {
		return r, err
	}
	errf, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		return r, err
	}
	defer errf.Close()
	cmd.Stderr = errf // stdout: /dev/null
	if err := cmd.Start(); err != nil {
		return r, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	ready := url + "/metrics"
	if tl.name == "logscan" {
		ready = url + "/readyz" // 200 once its files are watched
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(ready)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			return r, fmt.Errorf("exited at its start: %s", tailFile(errf.Name()))
		default:
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("%s not ready within 30s: %s", ready, tailFile(errf.Name()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	pid := cmd.Process.Pid
	if r.startCPU, err = testutil.ProcCPU(pid); err != nil {
		return r, err
	}
	start := time.Now()
	wrote := make(chan error, 1)
	go func() { wrote <- appendFile(file, src, chunk) }()
	deadline = start.Add(timeout)
	for {
		time.Sleep(100 * time.Millisecond)
		s, err := scrape(url + "/metrics")
		if err == nil && s.total("http_requests_total", "logscan_") >= float64(n) {
			break
		}
		select {
		case <-exited:
			return r, fmt.Errorf("exited: %s", tailFile(errf.Name()))
		default:
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("requests total %g, not %d, after %s (%v): %s", s.total("http_requests_total", "logscan_"), n, timeout, err, tailFile(errf.Name()))
		}
	}
	r.wall = time.Since(start)
	if r.cpu, err = testutil.ProcCPU(pid); err != nil {
		return r, err
	}
	if err := <-wrote; err != nil {
		return r, err
	}
	// The requests counter comes first in a line's updates: the others
	// are there by the next scrape.
	time.Sleep(300 * time.Millisecond)
	s, err := scrape(url + "/metrics")
	if err != nil {
		return r, err
	}
	r.values = s.pick()
	_, r.hwm, _ = testutil.ProcMemory(pid)
	return r, nil
}

// appendFile appends src to dst in chunk-sized writes.
func appendFile(dst, src string, chunk int) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := io.CopyBuffer(struct{ io.Writer }{out}, struct{ io.Reader }{in}, make([]byte, chunk)); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// The mix of test/linemetrics' lines (lines_test.go).
var (
	methods  = []string{"GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE"}
	routes   = []string{"/", "/api/users", "/api/orders", "/static/app.js", "/login", "/health"}
	statuses = []string{"200", "200", "200", "200", "200", "201", "204", "301", "304", "404", "500", "502", "503"}
	sizes    = []string{"1", "99", "100", "101", "512", "999", "1000", "1001", "4096", "9999", "10000", "10001", "65536"}
)

func mix(seq, n, salt int) int {
	return int((uint64(seq)*2654435761 + uint64(salt)*40503) % 1000003 % uint64(n))
}

func generate(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for seq := range n {
		fmt.Fprintf(w, `10.0.%d.%d - - [02/Dec/2026:10:%02d:%02d +0000] "%s %s HTTP/1.1" %s %s "-" "lmtest/1.0" seq=%d`+"\n",
			seq%7, seq%250, seq/60%60, seq%60, methods[mix(seq, len(methods), 2)], routes[mix(seq, len(routes), 1)],
			statuses[mix(seq, len(statuses), 3)], sizes[mix(seq, len(sizes), 4)], seq)
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// expected computes the four metrics from the log, in the keys of
// parseExposition without a prefix; n is the lines selected.
func expected(path string) (series, int, int64, error) {
	re := regexp.MustCompile(accessPattern)
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	s := series{"http_response_bytes_total": 0, "http_bytes_sum": 0, "http_bytes_count": 0}
	les := append(slices.Clone(bounds), inf())
	for _, le := range les {
		s[`http_bytes_bucket{le="`+formatLE(le)+`"}`] = 0
	}
	n := 0
	var size int64
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		size += int64(len(sc.Bytes())) + 1
		m := re.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		b, err := strconv.ParseFloat(m[4], 64)
		if err != nil {
			continue
		}
		n++
		s[fmt.Sprintf(`http_requests_total{method=%q,status=%q}`, m[1], m[3])]++
		s["http_response_bytes_total"] += b
		for _, le := range les {
			if b <= le {
				s[`http_bytes_bucket{le="`+formatLE(le)+`"}`]++
			}
		}
		s["http_bytes_sum"] += b
		s["http_bytes_count"]++
		s["last_status"], _ = strconv.ParseFloat(m[3], 64)
	}
	return s, n, size, sc.Err()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func loadavg() string {
	return strings.Join(strings.Fields(readTrim("/proc/loadavg"))[:3], " ")
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "? ? ?"
	}
	return strings.TrimSpace(string(b))
}

func firstLine(bin string, args ...string) string {
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return filepath.Base(bin) + " (version unknown)"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func tailFile(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// cleanup removes the temporary directory (os.Exit skips the defers).
var cleanup = func() {}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/mtail:", err)
	cleanup()
	os.Exit(2)
}
