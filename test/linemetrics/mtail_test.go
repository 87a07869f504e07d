package linemetrics_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

// mtailProc is a running mtail with its stderr kept.
type mtailProc struct {
	cmd    *exec.Cmd
	port   int
	mu     sync.Mutex
	stderr strings.Builder
	done   chan struct{}
}

func (m *mtailProc) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stderr.Write(p)
}

func (m *mtailProc) logs() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return tail(m.stderr.String(), 3000)
}

func (m *mtailProc) url() string { return fmt.Sprintf("http://127.0.0.1:%d/metrics", m.port) }

// startMtail runs mtail with testdata/access.mtail on file and waits until
// its /metrics answers. mtail starts a file that exists at its start from
// the end: the file must be empty then.
func startMtail(t *testing.T, mtail, file string) *mtailProc {
	t.Helper()
	progs := filepath.Join(t.TempDir(), "progs")
	if err := os.Mkdir(progs, 0o755); err != nil {
		t.Fatal(err)
	}
	prog, err := os.ReadFile(filepath.Join("testdata", "access.mtail"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(progs, "access.mtail"), prog, 0o644); err != nil {
		t.Fatal(err)
	}
	m := &mtailProc{port: testutil.FreePort(t), done: make(chan struct{})}
	m.cmd = exec.Command(mtail, "--progs", progs, "--logs", file, "--address", "127.0.0.1", "--port", strconv.Itoa(m.port),
		"--emit_prog_label=false", "--logtostderr")
	m.cmd.Stdout, m.cmd.Stderr = m, m
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = m.cmd.Wait(); close(m.done) }()
	t.Cleanup(func() {
		_ = m.cmd.Process.Kill()
		<-m.done
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, _, err := scrape(m.url())
		if err == nil && s[key("mtail_prog_loads_total", "prog", "access.mtail")] >= 1 {
			return m
		}
		select {
		case <-m.done:
			t.Fatalf("mtail exited: %s", m.logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mtail's /metrics did not show access.mtail loaded within 20s (%v): %s", err, m.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMtail runs mtail and logscan on the same file, both started while it
// is empty, and requires the same values from both, equal to the lines'.
func TestMtail(t *testing.T) {
	t.Parallel()
	mtail := tool(t, "mtail", "apt-get install mtail")
	e := newEnv(t)
	e.writeConfig(baseRule(bounds))
	e.startLogscan()
	m := startMtail(t, mtail, e.app)
	w := startWriter(t, e.app, "", 0, rate, mixLine)
	pause(3 * time.Second)
	n, last, err := w.Stop()
	if err != nil {
		t.Fatal(err)
	}
	disk, _ := onDisk(t, e.logs)
	want := newExpectation(prefix).base(disk, bounds).lastStatus(last)
	gotL, _ := e.waitEqual(want.series, settle, baseFamilies...)
	e.check(gotL, want.series, baseFamilies...)
	gotM := waitMtail(t, m, float64(n))
	mt := gotM.renamed(prefix)
	if d := diff(pick(mt, want.series, baseFamilies), want.series, 25); len(d) > 0 {
		t.Errorf("mtail's values (logscan_ prefixed) differ from the lines':\n  %s\nmtail's diagnostics: %s", strings.Join(d, "\n  "), m.logs())
	}
	if d := diff(pick(mt, want.series, baseFamilies), pick(gotL, want.series, baseFamilies), 25); len(d) > 0 {
		t.Errorf("mtail's values differ from logscan's:\n  %s", strings.Join(d, "\n  "))
	}
	e.summary("mtail", n, requests(want.series, prefix), requests(gotL, prefix), fmt.Sprintf("mtail_requests=%.0f series_compared=%d equal=%t",
		requests(mt, prefix), len(want.series), len(diff(pick(mt, want.series, baseFamilies), pick(gotL, want.series, baseFamilies), 1)) == 0))

	// Lines with 0 bytes (a 304's): Prometheus's le buckets are upper
	// bounds, so every one holds them; mtail's (0, 100] does not, nor its
	// +Inf bucket. That difference is mtail's; logscan must be right.
	zero := func(seq int) string {
		return fmt.Sprintf(`10.0.0.1 - - [02/Dec/2026:10:00:00 +0000] "GET /static/app.js HTTP/1.1" 304 0 "-" "lmtest/1.0" seq=%d`, seq)
	}
	appendLines(t, e.app, n, n+3, zero)
	disk, _ = onDisk(t, e.logs)
	want = newExpectation(prefix).base(disk, bounds).lastStatus(zero(n + 2))
	gotL, _ = e.waitEqual(want.series, settle, baseFamilies...)
	e.check(gotL, want.series, baseFamilies...)
	mt = waitMtail(t, m, float64(n+3)).renamed(prefix)
	d := diff(pick(mt, want.series, baseFamilies), want.series, 10)
	t.Logf("MTAIL_DIVERGENCE after 3 lines with 0 bytes: mtail's exposition differs from the lines' in %d samples:\n  %s",
		len(d), strings.Join(d, "\n  "))
	e.stop()
}

// waitMtail scrapes mtail until its requests total reaches n, then once
// more after its next poll (a line's metrics are updated one by one).
func waitMtail(t *testing.T, m *mtailProc, n float64) series {
	t.Helper()
	deadline := time.Now().Add(settle)
	for {
		s, _, err := scrape(m.url())
		if err == nil && requests(s, "") >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mtail's requests total is %g, not %g, %s after the writer stopped (%v): %s", requests(s, ""), n, settle, err, m.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	s, _, err := scrape(m.url())
	if err != nil {
		t.Fatal(err)
	}
	return s
}
