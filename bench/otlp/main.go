// Command otlp measures logscan's OTLP/HTTP exporter end to end: lines
// appended to a file, `logscan --follow --otlp-endpoint`, a real
// OpenTelemetry Collector (the otlp receiver and the file exporter, no batch
// processor: test/otelcol/build.sh's), and the collector's output file. It
// prints the lines per second and the CPU seconds per million lines of
// logscan and of the collector.
//
//	go build -o bin/logscan ./cmd/logscan
//	go run ./bench/otlp -otelcol "$(test/otelcol/build.sh)" -lines 1000000
//
// # What is measured
//
// The writing, the loss and repeat count and the latencies are
// ../shared/bench's tailbench (run with `go run ./tailbench` there), which
// reads the lines that arrive on its command's stdout. Its command is not
// logscan itself but this program in relay mode: it starts logscan with
// output.stdout off (LOGSCAN_OUTPUT_STDOUT=false) and prints, for each record
// that appears in the collector's output file, the "seq=N ns=T" of its body.
// So a line counts when the collector has written it, not when logscan has
// printed it: keeping logscan's stdout on would measure its printing too (a
// second sink) and prove nothing about the export. The latencies therefore
// include logscan's batch wait (otlp.batch.max_wait, 200 ms by default), the
// collector's flush_interval (-flush, 100 ms) and the relay's poll (10 ms).
//
// By default every line matches (-every 1), so every line written is a
// record shipped; with -every N, 1 in N is.
//
// CPU: logscan's user+system seconds are read from /proc/PID/stat by the
// relay when tailbench stops it, before logscan is stopped (startup and the
// warm-up included); the collector's are the difference of two reads around
// the tailbench run. The relay's own CPU (parsing the collector's output) is
// printed too: it runs on the same cores.
//
// logscan runs with a state file in a scratch directory (acknowledgements
// commit offsets there, as in production). Extra logscan flags go in -args; LOGSCAN_* variables in the environment
// reach logscan (LOGSCAN_OTLP_COMPRESSION=none, LOGSCAN_OTLP_ENCODING=json,
// LOGSCAN_OTLP_BATCH_MAX_RECORDS=...).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-relay" {
		os.Exit(relay(os.Args[2:]))
	}
	otelcol := flag.String("otelcol", "", "the collector binary (test/otelcol/build.sh prints it); required")
	logscan := flag.String("logscan", "bin/logscan", "the logscan binary")
	tailbench := flag.String("tailbench", "../shared/bench", "the directory of the Go module with ./tailbench")
	lines := flag.Int("lines", 300000, "lines to write")
	every := flag.Int("every", 1, "one line in this many matches (is shipped)")
	rate := flag.Int("rate", 0, "lines per second (0: as fast as possible)")
	files := flag.Int("files", 1, "files to write round-robin")
	rotate := flag.Int("rotate", 0, "rotate every this many lines (0: never)")
	mode := flag.String("mode", "rename", "tailbench's rotation mode")
	rounds := flag.Int("rounds", 1, "runs, each with a fresh collector")
	flush := flag.Duration("flush", 100*time.Millisecond, "the file exporter's flush_interval")
	args := flag.String("args", "", "extra logscan arguments, split on spaces")
	agent := flag.String("agent", "", "instead of logscan, ship with this collector (the filelog receiver and the otlphttp exporter: the anchor; see the doc comment)")
	flag.Parse()
	if *otelcol == "" {
		fail(errors.New("-otelcol is required: -otelcol \"$(test/otelcol/build.sh)\""))
	}
	for _, p := range []*string{otelcol, logscan, tailbench, agent} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			fail(err)
		}
		*p = abs
	}
	self, err := os.Executable()
	if err != nil {
		fail(err)
	}
	for round := 1; round <= *rounds; round++ {
		r, err := runOnce(round, *otelcol, *logscan, *agent, *tailbench, self, *flush, *args, []string{
			"-lines", strconv.Itoa(*lines), "-every", strconv.Itoa(*every), "-rate", strconv.Itoa(*rate),
			"-files", strconv.Itoa(*files), "-rotate", strconv.Itoa(*rotate), "-mode", *mode,
		})
		if err != nil {
			fail(err)
		}
		shipped := float64(r.tb.Expected)
		per := func(cpu, n float64) string {
			if n == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", cpu/n*1e6)
		}
		fmt.Printf("round=%d written=%d shipped=%d received=%d lost=%d dup=%d lines/s=%.0f records/s=%.0f p50=%.0fms p99=%.0fms max=%.0fms "+
			"logscan_cpu_s=%.2f logscan_cpu_s_per_1M_lines=%s logscan_cpu_s_per_1M_records=%s "+
			"collector_cpu_s=%.2f collector_cpu_s_per_1M_records=%s relay_cpu_s=%.2f%s\n",
			round, r.tb.LinesWritten, r.tb.Expected, r.tb.Received, r.tb.Lost, r.tb.Duplicates, r.tb.LinesPerSec,
			r.tb.LinesPerSec*shipped/max(1, float64(r.tb.LinesWritten)), r.tb.P50ms, r.tb.P99ms, r.tb.MaxMs,
			r.logscanCPU, per(r.logscanCPU, float64(r.tb.LinesWritten)), per(r.logscanCPU, shipped),
			r.collectorCPU, per(r.collectorCPU, shipped), r.relayCPU,
			map[bool]string{true: " command_failed=" + strconv.Quote(r.tb.CommandFailed), false: ""}[r.tb.CommandFailed != ""])
	}
}

// tbResult is the part of tailbench's -json summary printed here.
type tbResult struct {
	LinesWritten  int     `json:"lines_written"`
	Expected      int     `json:"matches_expected"`
	Received      int     `json:"matches_received"`
	Lost          int     `json:"lost"`
	Duplicates    int     `json:"duplicates"`
	LinesPerSec   float64 `json:"lines_per_second"`
	P50ms         float64 `json:"latency_p50_ms"`
	P99ms         float64 `json:"latency_p99_ms"`
	MaxMs         float64 `json:"latency_max_ms"`
	CommandFailed string  `json:"command_failed"`
}

type result struct {
	tb                                 tbResult
	logscanCPU, collectorCPU, relayCPU float64
}

func runOnce(round int, otelcol, logscan, agent, tailbench, self string, flush time.Duration, extra string, tbArgs []string) (result, error) {
	var res result
	dir, err := os.MkdirTemp("", "logscan-bench-otlp-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	port, err := freePort()
	if err != nil {
		return res, err
	}
	out := filepath.Join(dir, "out.json")
	conf := filepath.Join(dir, "otelcol.yaml")
	// No batch processor; the exporter has no queue: the receiver answers
	// once the exporter has the records. Internal metrics off (no :8888).
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d
exporters:
  file:
    path: %s
    format: json
    flush_interval: %s
service:
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [file]
`, port, out, flush)), 0o644); err != nil {
		return res, err
	}
	col := exec.Command(otelcol, "--config", conf)
	col.Stderr = os.Stderr
	if err := col.Start(); err != nil {
		return res, err
	}
	exited := make(chan error, 1)
	go func() { exited <- col.Wait() }()
	defer func() {
		_ = col.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = col.Process.Kill()
			<-exited
		}
	}()
	if err := waitPort(port, exited); err != nil {
		return res, fmt.Errorf("collector: %w", err)
	}

	cpuFile := filepath.Join(dir, "logscan.cpu")
	relayFile := filepath.Join(dir, "relay.cpu")
	cmd := []string{self, "-relay", "-out", out, "-cpu", cpuFile, "-relay-cpu", relayFile, "--"}
	if agent != "" {
		aconf, err := agentConfig(dir, port)
		if err != nil {
			return res, err
		}
		// env execs the collector in its own process, so the relay reads
		// the collector's CPU; the last word stays {dir} for tailbench.
		cmd = append(cmd, "env", "TB_DIR={dir}", agent, "--config", aconf)
	} else {
		cmd = append(cmd, logscan, "--follow", "--log-format", "json", "--log-level", "warn", "--state-file", filepath.Join(dir, "state.json"),
			"--otlp-endpoint", fmt.Sprintf("http://127.0.0.1:%d", port), "-e", "MATCHME")
		cmd = append(cmd, strings.Fields(extra)...)
		cmd = append(cmd, "{dir}")
	}
	quoted := make([]string, len(cmd))
	for i, a := range cmd {
		quoted[i] = shellQuote(a)
	}
	// {dir} must stay unquoted for tailbench to replace it; the paths it
	// stands for hold no spaces (os.MkdirTemp under $TMPDIR).
	if cmd[len(cmd)-1] == "{dir}" {
		quoted[len(quoted)-1] = "{dir}"
	}

	before, err := testutil.ProcCPU(col.Process.Pid)
	if err != nil {
		return res, err
	}
	tb := exec.Command("go", append([]string{"run", "./tailbench", "-json", "-cmd", strings.Join(quoted, " ")}, tbArgs...)...)
	tb.Dir = tailbench
	tb.Stderr = os.Stderr
	fmt.Fprintf(os.Stderr, "round %d: tailbench %s\n", round, strings.Join(tbArgs, " "))
	stdout, err := tb.Output()
	// tailbench exits 3 on loss or repeats; its summary is still there.
	if err != nil && len(stdout) == 0 {
		return res, fmt.Errorf("tailbench: %w", err)
	}
	after, err := testutil.ProcCPU(col.Process.Pid)
	if err != nil {
		return res, err
	}
	res.collectorCPU = after - before
	if err := json.Unmarshal(lastLine(stdout), &res.tb); err != nil {
		return res, fmt.Errorf("tailbench's summary %q: %w", stdout, err)
	}
	res.logscanCPU = readFloat(cpuFile)
	res.relayCPU = readFloat(relayFile)
	return res, nil
}

// relay is tailbench's command: it starts logscan (args after --) with
// stdout off in a process group of its own, and prints "seq=N ns=T" for each
// one in the bodies the collector writes to -out. At SIGTERM (tailbench
// stops the relay's group) it writes logscan's CPU seconds to -cpu, then
// stops logscan and waits for it.
func relay(args []string) int {
	fs := flag.NewFlagSet("relay", flag.ExitOnError)
	out := fs.String("out", "", "the collector's output file")
	cpuFile := fs.String("cpu", "", "where logscan's CPU seconds go")
	relayFile := fs.String("relay-cpu", "", "where the relay's own CPU seconds go")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "relay: -out FILE -cpu FILE -- logscan ARGS...")
		return 2
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	signal.Ignore(syscall.SIGPIPE) // tailbench may stop reading first: a write fails, the CPU is still written
	var off int64
	if fi, err := os.Stat(*out); err == nil {
		off = fi.Size()
	}
	ls := exec.Command(fs.Arg(0), fs.Args()[1:]...)
	ls.Env = append(os.Environ(), "LOGSCAN_OUTPUT_STDOUT=false")
	ls.Stderr = os.Stderr
	// Its own group: tailbench's SIGTERM to ours must not stop it before
	// its CPU is read; Pdeathsig: tailbench's SIGKILL to ours still ends it.
	ls.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := ls.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		return 1
	}
	exited := make(chan error, 1)
	go func() { exited <- ls.Wait() }()
	w := bufio.NewWriterSize(os.Stdout, 1<<16)
	var partial []byte
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-sigs:
			if cpu, err := testutil.ProcCPU(ls.Process.Pid); err == nil {
				_ = os.WriteFile(*cpuFile, []byte(fmt.Sprintf("%.3f\n", cpu)), 0o644)
			}
			_ = ls.Process.Signal(syscall.SIGTERM)
			<-exited
			var ru syscall.Rusage
			if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil && *relayFile != "" {
				cpu := float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
				_ = os.WriteFile(*relayFile, []byte(fmt.Sprintf("%.3f\n", cpu)), 0o644)
			}
			return 0
		case err := <-exited:
			fmt.Fprintln(os.Stderr, "relay: logscan exited:", err)
			return 1
		case <-tick.C:
		}
		var err error
		if partial, err = readNew(*out, &off, partial, w); err != nil {
			fmt.Fprintln(os.Stderr, "relay:", err)
			return 1
		}
		if err := w.Flush(); err != nil {
			return 1 // tailbench stopped reading
		}
	}
}

// readNew reads what was appended to path since *off and prints the
// "seq=N ns=T" of every complete line's bodies. A last line without its
// newline is returned to be completed by the next read.
func readNew(path string, off *int64, partial []byte, w io.Writer) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return partial, nil
	}
	if err != nil {
		return partial, err
	}
	defer f.Close()
	if _, err := f.Seek(*off, io.SeekStart); err != nil {
		return partial, err
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return partial, err
	}
	*off += int64(len(b))
	b = append(partial, b...)
	end := bytes.LastIndexByte(b, '\n')
	if end < 0 {
		return b, nil
	}
	printSeqs(b[:end], w)
	return append([]byte(nil), b[end+1:]...), nil
}

// printSeqs prints each "seq=N ns=T" in b on a line of its own: a scan, not
// a JSON parse, so that the relay costs little next to what it measures.
func printSeqs(b []byte, w io.Writer) {
	for {
		i := bytes.Index(b, []byte("seq="))
		if i < 0 {
			return
		}
		b = b[i:]
		n := len("seq=")
		if n < len(b) && b[n] == '-' {
			n++
		}
		d := digits(b[n:])
		if d == 0 || !bytes.HasPrefix(b[n+d:], []byte(" ns=")) {
			b = b[n:]
			continue
		}
		m := n + d + len(" ns=")
		e := digits(b[m:])
		if e == 0 {
			b = b[m:]
			continue
		}
		_, _ = w.Write(b[:m+e])
		_, _ = w.Write([]byte{'\n'})
		b = b[m+e:]
	}
}

func digits(b []byte) int {
	n := 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	return n
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitPort(port int, exited <-chan error) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			return c.Close()
		}
		select {
		case err := <-exited:
			return fmt.Errorf("exited before its port accepted: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("port %d did not accept within 20s", port)
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func lastLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

func readFloat(path string) float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	return f
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/otlp:", err)
	os.Exit(2)
}

// agentConfig writes the anchor's config: the collector as a node agent,
// its filelog receiver following {dir}/app.log from the end at the default
// 200 ms poll, keeping the MATCHME lines as logscan's -e does, and its
// otlphttp exporter (gzip, its default queue and retries) shipping to the
// receiving collector. It keeps no checkpoint (no storage extension), so
// it does less than logscan does per record.
func agentConfig(dir string, port int) (string, error) {
	conf := filepath.Join(dir, "agent.yaml")
	return conf, os.WriteFile(conf, []byte(fmt.Sprintf(`receivers:
  filelog:
    include: ["${env:TB_DIR}/app.log", "${env:TB_DIR}/d*/app.log"]
    start_at: end
    operators:
      - type: filter
        expr: 'not (body matches "MATCHME")'
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:%d
service:
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
  pipelines:
    logs:
      receivers: [filelog]
      exporters: [otlphttp]
`, port)), 0o644)
}
