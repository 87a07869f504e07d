package otlp_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

// collector is one OpenTelemetry Collector config that a test starts and
// stops, on the same port and into the same output file each time.
type collector struct {
	t     *testing.T
	bin   string
	port  int
	conf  string
	out   string // the file exporter's output: one OTLP JSON request a line
	logs  *testutil.SyncBuffer
	cmd   *exec.Cmd
	done  chan struct{}
	runs  int // how many times it was started
	stops []time.Duration
}

// newCollector writes the collector's config in a new directory of its own.
func newCollector(t *testing.T, bin string) *collector {
	t.Helper()
	dir := t.TempDir()
	c := &collector{t: t, bin: bin, port: testutil.FreePort(t), conf: filepath.Join(dir, "otelcol.yaml"), out: filepath.Join(dir, "out.json"), logs: &testutil.SyncBuffer{}}
	// No batch processor: the receiver answers once the exporter has the
	// records. append: the default truncates the output at each start.
	// Internal metrics off: their default reader listens on :8888, which
	// the scenarios' collectors would fight over.
	conf := fmt.Sprintf(`receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d
exporters:
  file:
    path: %s
    format: json
    append: true
    flush_interval: 100ms
service:
  telemetry:
    metrics:
      level: none
    logs:
      level: info
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [file]
`, c.port, c.out)
	if err := os.WriteFile(c.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c.running() {
			_ = c.cmd.Process.Kill() // the test failed half-way; leave nothing running
			<-c.done
		}
	})
	return c
}

// endpoint is the collector's OTLP/HTTP base URL (logscan adds /v1/logs).
func (c *collector) endpoint() string { return fmt.Sprintf("http://127.0.0.1:%d", c.port) }

func (c *collector) running() bool {
	if c.done == nil {
		return false
	}
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// start starts the collector and waits, up to 20 s, until its port accepts.
func (c *collector) start() {
	t := c.t
	t.Helper()
	if c.running() {
		t.Fatal("collector started twice")
	}
	c.runs++
	fmt.Fprintf(c.logs, "---- start %d at %s\n", c.runs, time.Now().Format(time.TimeOnly+".000"))
	c.cmd = exec.Command(c.bin, "--config", c.conf)
	c.cmd.Env = testutil.CleanEnv()
	c.cmd.Stdout, c.cmd.Stderr = c.logs, c.logs
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait() // the status is read from ProcessState
		close(done)
	}(c.cmd, c.done)
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", c.port), time.Second)
		if err == nil {
			_ = conn.Close()
			// The port accepts before the collector catches SIGTERM: its
			// Run installs the handler after the service reports ready
			// (otelcol v0.161.0 collector.go), and a stop in between
			// killed it (status -1) in a CI dry run. Waiting for this
			// run's ready line leaves only the few statements between.
			if strings.Count(c.logs.String(), "Everything is ready") >= c.runs {
				return
			}
		}
		select {
		case <-c.done:
			t.Fatalf("the collector exited before its port accepted: %s", c.logs.Tail(30))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector's port %d did not accept within 20s: %v: %s", c.port, err, c.logs.Tail(30))
		}
	}
}

// stop sends SIGTERM, which drains the receiver and flushes the exporter,
// and requires exit status 0 within 20 s.
func (c *collector) stop() {
	t := c.t
	t.Helper()
	if !c.running() {
		t.Fatal("collector stopped while not running")
	}
	start := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("the collector did not exit within 20s of SIGTERM: %s", c.logs.Tail(30))
	}
	c.stops = append(c.stops, time.Since(start))
	fmt.Fprintf(c.logs, "---- stopped at %s (took %s)\n", time.Now().Format(time.TimeOnly+".000"), time.Since(start).Round(time.Millisecond))
	if code := c.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("the collector exited with status %d after SIGTERM: %s", code, c.logs.Tail(30))
	}
}
