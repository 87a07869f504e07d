package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/logscan/logscan/internal/config"
	"github.com/logscan/logscan/internal/notify"
	"github.com/logscan/logscan/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeSystemd records sd_notify datagrams.
type fakeSystemd struct {
	conn *net.UnixConn
	path string
	msgs chan string
	done chan struct{}
}

func newFakeSystemd(t *testing.T) *fakeSystemd {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSystemd{conn: conn, path: path, msgs: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			f.msgs <- string(buf[:n])
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		<-f.done
	})
	return f
}

// expect waits for a datagram starting with prefix, returning it and the
// ones skipped before it.
func (f *fakeSystemd) expect(t *testing.T, prefix string) (string, []string) {
	t.Helper()
	var skipped []string
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-f.msgs:
			if strings.HasPrefix(m, prefix) {
				return m, skipped
			}
			skipped = append(skipped, m)
		case <-timeout:
			t.Fatalf("no %s from the daemon (got %q)", prefix, skipped)
		}
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func metricValue(body, series string) string {
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			return v
		}
	}
	return ""
}

// TestServiceLifecycle runs the daemon as systemd would: it checks the
// notify sequence, readiness, metrics counting each written match once, the
// live /matches stream, a good and a bad SIGHUP reload, and shutdown.
func TestServiceLifecycle(t *testing.T) {
	root := t.TempDir()
	logf := filepath.Join(root, "app.log")
	testutil.AppendFile(t, logf, "old ERROR before start\n")
	cfgFile := filepath.Join(t.TempDir(), "config.yaml")
	writeCfg := func(body string) {
		if err := os.WriteFile(cfgFile, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeCfg("rules:\n  - name: errors\n    match: [ERROR]\n")
	load := func() (*config.Config, error) {
		return config.Load(config.Sources{File: cfgFile, Flags: map[string]any{
			"roots": []string{root}, "follow": true, "http.listen": "127.0.0.1:0", "save_interval": "20ms", "state_file": filepath.Join(root, "..", "state.json"),
		}})
	}
	cfg, err := load()
	if err != nil {
		t.Fatal(err)
	}
	sd := newFakeSystemd(t)
	var out testutil.SyncBuffer
	hup := make(chan os.Signal, 1)
	addr := make(chan string, 1)
	tick := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Options{
			Config: cfg, Reload: load, Stdout: &out, Log: zerolog.Nop(), Hup: hup,
			Notifier: notify.NewWithSocket(sd.path, time.Minute), WatchdogTick: tick,
			Started: func(a string) { addr <- a },
		})
		done <- err
	}()
	base := "http://" + <-addr
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	if _, skipped := sd.expect(t, "READY=1"); len(skipped) > 0 && strings.HasPrefix(skipped[0], "STOPPING") {
		t.Fatalf("stopped before ready: %q", skipped)
	}
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz after READY = %d", code)
	}

	// The watchdog pings only after progress; the ready transition counts.
	tick <- time.Now()
	sd.expect(t, "WATCHDOG=1")
	// Idle, with no line written, the loop's heartbeat (every save_interval)
	// still feeds it: some later tick must ping again.
	testutil.Eventually(t, "a watchdog ping while idle", 10*time.Second, func() bool {
		tick <- time.Now()
		select {
		case m := <-sd.msgs:
			return m == "WATCHDOG=1"
		case <-time.After(50 * time.Millisecond):
			return false
		}
	})

	// A live /matches client.
	resp, err := http.Get(base + "/matches?rule=errors")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	stream := bufio.NewReader(resp.Body)
	testutil.Eventually(t, "the stream client to register", 10*time.Second, func() bool {
		_, m := get(t, base+"/metrics")
		return metricValue(m, "logscan_stream_clients") == "1"
	})

	testutil.AppendFile(t, logf, "new ERROR one\ninfo line\n")
	testutil.Eventually(t, "the first match", 10*time.Second, func() bool { return strings.Contains(out.String(), "new ERROR one") })
	if strings.Contains(out.String(), "old ERROR") {
		t.Errorf("start_at end: the line before start was printed: %q", out.String())
	}
	line, err := stream.ReadString('\n')
	if err != nil || !strings.Contains(line, `"rule":"errors"`) || !strings.Contains(line, "new ERROR one") || !strings.Contains(line, `"file_id"`) {
		t.Errorf("/matches sent %q, %v", line, err)
	}
	_, m := get(t, base+"/metrics")
	if v := metricValue(m, `logscan_matches_total{rule="errors"}`); v != "1" {
		t.Errorf("matches_total = %q, want 1", v)
	}
	for _, name := range []string{"logscan_lines_read_total", "logscan_bytes_read_total", "logscan_files_watched", "logscan_build_info", "go_goroutines", "logscan_lag_bytes"} {
		if !strings.Contains(m, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}

	// A good reload: the new rule applies to new lines, nothing is re-read.
	writeCfg("rules:\n  - name: warnings\n    match: [WARN]\n")
	hup <- nil
	msg, _ := sd.expect(t, "RELOADING=1")
	if !strings.Contains(msg, "MONOTONIC_USEC=") {
		t.Errorf("RELOADING without MONOTONIC_USEC: %q", msg)
	}
	sd.expect(t, "READY=1")
	testutil.AppendFile(t, logf, "WARN two\nERROR three\n")
	testutil.Eventually(t, "the reloaded rule", 10*time.Second, func() bool { return strings.Contains(out.String(), "WARN two") })
	if strings.Contains(out.String(), "ERROR three") || strings.Count(out.String(), "new ERROR one") != 1 {
		t.Errorf("after reload: %q", out.String())
	}

	// A bad reload is refused; the running config stays.
	writeCfg("rules:\n  - name: broken\n    match: [\"a(b\"]\n")
	hup <- nil
	sd.expect(t, "RELOADING=1")
	sd.expect(t, "READY=1")
	testutil.AppendFile(t, logf, "WARN four\n")
	testutil.Eventually(t, "the old rule after a refused reload", 10*time.Second, func() bool { return strings.Contains(out.String(), "WARN four") })
	_, m = get(t, base+"/metrics")
	if metricValue(m, `logscan_config_reloads_total{result="failure"}`) != "1" || metricValue(m, `logscan_config_reloads_total{result="success"}`) != "1" {
		t.Errorf("reload counters wrong:\n%s", grepLines(m, "reloads"))
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	sd.expect(t, "STOPPING=1")
	if _, err := os.Stat(filepath.Join(root, "..", "state.json")); err != nil {
		t.Errorf("no state saved at shutdown: %v", err)
	}
}

func grepLines(s, sub string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			fmt.Fprintln(&b, l)
		}
	}
	return b.String()
}

// TestIncremental is the logtail pattern: one-shot runs with a state file
// print only what is new since the previous run.
func TestIncremental(t *testing.T) {
	root := t.TempDir()
	state := filepath.Join(t.TempDir(), "state.json")
	logf := filepath.Join(root, "app.log")
	testutil.AppendFile(t, logf, "ERROR first\n")
	run := func() (string, Result) {
		cfg, err := config.Load(config.Sources{Flags: map[string]any{"roots": []string{root}, "state_file": state, "match": []string{"ERROR"}}})
		if err != nil {
			t.Fatal(err)
		}
		var out testutil.SyncBuffer
		res, err := Run(context.Background(), Options{Config: cfg, Stdout: &out, Log: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		return out.String(), res
	}
	out, res := run()
	if !strings.Contains(out, "ERROR first") || res.Matches != 1 {
		t.Fatalf("first run: %q %+v", out, res)
	}
	if out, res = run(); out != "" || res.Matches != 0 {
		t.Fatalf("second run re-read: %q", out)
	}
	testutil.AppendFile(t, logf, "ERROR second\nfine\n")
	if out, _ = run(); out != root+"/app.log:ERROR second\n" {
		t.Fatalf("third run: %q", out)
	}
}

func TestNoRoots(t *testing.T) {
	cfg, err := config.Load(config.Sources{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), Options{Config: cfg, Stdout: io.Discard, Log: zerolog.Nop()})
	var ce *config.Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "roots") {
		t.Fatalf("err = %v", err)
	}
}
