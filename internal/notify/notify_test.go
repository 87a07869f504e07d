package notify

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeSystemd is a unixgram listener standing in for systemd's notify socket.
type fakeSystemd struct {
	t    *testing.T
	conn *net.UnixConn
	path string
}

func newFakeSystemd(t *testing.T, abstract bool) *fakeSystemd {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	if abstract {
		path = fmt.Sprintf("@logscan-notify-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen %s: %v", path, err)
	}
	t.Cleanup(func() {
		if err := conn.Close(); err != nil {
			t.Errorf("close fake socket: %v", err)
		}
	})
	return &fakeSystemd{t: t, conn: conn, path: path}
}

// next returns the next datagram, failing the test if none arrives before the
// deadline (a safety net: every send under test is synchronous, so the
// datagram is already queued when next is called).
func (f *fakeSystemd) next() string {
	f.t.Helper()
	if err := f.conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		f.t.Fatalf("set deadline: %v", err)
	}
	buf := make([]byte, 4096)
	n, err := f.conn.Read(buf)
	if err != nil {
		f.t.Fatalf("read notify socket: %v", err)
	}
	return string(buf[:n])
}

// until returns every datagram before the sentinel STATUS=<marker>, which the
// test sends itself after the sends under test have completed; this proves
// the absence of messages without waiting for a timeout.
func (f *fakeSystemd) until(n *Notifier, marker string) []string {
	f.t.Helper()
	if err := n.Status(marker); err != nil {
		f.t.Fatalf("send marker: %v", err)
	}
	var got []string
	for {
		m := f.next()
		if m == "STATUS="+marker {
			return got
		}
		got = append(got, m)
	}
}

func TestMessages(t *testing.T) {
	for _, abstract := range []bool{false, true} {
		t.Run(fmt.Sprintf("abstract=%v", abstract), func(t *testing.T) {
			sd := newFakeSystemd(t, abstract)
			n := NewWithSocket(sd.path, 0)
			tests := []struct {
				name string
				send func() error
				want string
			}{
				{"ready", n.Ready, "READY=1"},
				{"stopping", n.Stopping, "STOPPING=1"},
				{"status", func() error { return n.Status("watching 3 files, 7 matches") }, "STATUS=watching 3 files, 7 matches"},
				{"status newline", func() error { return n.Status("a\nb") }, "STATUS=a b"},
			}
			for _, tt := range tests {
				if err := tt.send(); err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				if got := sd.next(); got != tt.want {
					t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
				}
			}
		})
	}
}

// TestReloadSequence is what SIGHUP produces: RELOADING=1 stamped with
// CLOCK_MONOTONIC, then READY=1 once the new config is in place.
func TestReloadSequence(t *testing.T) {
	sd := newFakeSystemd(t, false)
	n := NewWithSocket(sd.path, 0)
	before, err := monotonicUsec()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Reloading(); err != nil {
		t.Fatalf("Reloading: %v", err)
	}
	after, err := monotonicUsec()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Ready(); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	lines := strings.Split(sd.next(), "\n")
	if len(lines) != 2 || lines[0] != "RELOADING=1" || !strings.HasPrefix(lines[1], "MONOTONIC_USEC=") {
		t.Fatalf("reloading message = %q", lines)
	}
	usec, err := strconv.ParseInt(strings.TrimPrefix(lines[1], "MONOTONIC_USEC="), 10, 64)
	if err != nil {
		t.Fatalf("MONOTONIC_USEC: %v", err)
	}
	if usec < before || usec > after {
		t.Errorf("MONOTONIC_USEC=%d outside [%d, %d]", usec, before, after)
	}
	if got := sd.next(); got != "READY=1" {
		t.Errorf("after reload got %q, want READY=1", got)
	}
}

func TestWatchdogPingsOnlyOnProgress(t *testing.T) {
	tests := []struct {
		name  string
		steps string // 't' = tick, 'p' = Progress
		pings int
	}{
		{"stalled from the start", "ttttt", 0},
		{"one progress many ticks", "ptttt", 1},
		{"progress coalesces", "pppptt", 1},
		{"every interval", "ptptpt", 3},
		{"stalls after a while", "ptpttttt", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sd := newFakeSystemd(t, false)
			n := NewWithSocket(sd.path, 20*time.Second)
			var handled []error
			n.SetErrorHandler(func(err error) { handled = append(handled, err) })
			tick := make(chan time.Time)
			handledTick := make(chan struct{})
			n.tickDone = func() { handledTick <- struct{}{} }
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); n.RunWatchdog(ctx, tick) }()
			for _, s := range tt.steps {
				switch s {
				case 't':
					tick <- time.Time{}
					<-handledTick // the next Progress must not race this tick
				case 'p':
					n.Progress()
				}
			}
			cancel()
			<-done // every ping has been written synchronously by now
			got := sd.until(n, "end")
			if len(got) != tt.pings {
				t.Fatalf("got %d messages %q, want %d WATCHDOG=1", len(got), got, tt.pings)
			}
			for _, m := range got {
				if m != "WATCHDOG=1" {
					t.Errorf("unexpected message %q", m)
				}
			}
			if len(handled) != 0 {
				t.Errorf("errors: %v", handled)
			}
		})
	}
}

func TestWatchdogReportsSendErrors(t *testing.T) {
	n := NewWithSocket(filepath.Join(t.TempDir(), "missing.sock"), time.Second)
	errs := make(chan error, 1)
	n.SetErrorHandler(func(err error) { errs <- err })
	tick := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); n.RunWatchdog(ctx, tick) }()
	n.Progress()
	tick <- time.Time{}
	select {
	case err := <-errs:
		if !strings.Contains(err.Error(), "missing.sock") {
			t.Errorf("error does not name the socket: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no error reported for a missing socket")
	}
	cancel()
	<-done
}

func TestDisabledIsNoop(t *testing.T) {
	n := NewWithSocket("", time.Minute)
	for name, f := range map[string]func() error{
		"ready": n.Ready, "reloading": n.Reloading, "stopping": n.Stopping,
		"status": func() error { return n.Status("x") },
	} {
		if err := f(); err != nil {
			t.Errorf("%s on a disabled notifier: %v", name, err)
		}
	}
	if n.enabled() || n.WatchdogInterval() != 0 {
		t.Errorf("disabled notifier: enabled=%v WatchdogInterval=%v", n.enabled(), n.WatchdogInterval())
	}
}

func TestSendErrorNamesSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gone.sock")
	err := NewWithSocket(path, 0).Ready()
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Ready to a missing socket: %v", err)
	}
}

func TestNewFromEnv(t *testing.T) {
	pid := strconv.Itoa(os.Getpid())
	tests := []struct {
		name                string
		socket, usec, wdPID string
		wantEnabled         bool
		wantInterval        time.Duration
	}{
		{"unset", "", "", "", false, 0},
		{"socket only", "/run/x.sock", "", "", true, 0},
		{"watchdog", "/run/x.sock", "30000000", "", true, 15 * time.Second},
		{"watchdog for us", "@x", "2000000", pid, true, time.Second},
		{"watchdog for another pid", "/run/x.sock", "30000000", "1", true, 0},
		{"garbage usec", "/run/x.sock", "soon", "", true, 0},
		{"watchdog without socket", "", "30000000", "", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NOTIFY_SOCKET", tt.socket)
			t.Setenv("WATCHDOG_USEC", tt.usec)
			t.Setenv("WATCHDOG_PID", tt.wdPID)
			n := New()
			if n.enabled() != tt.wantEnabled || n.WatchdogInterval() != tt.wantInterval {
				t.Errorf("enabled=%v WatchdogInterval=%v, want %v %v",
					n.enabled(), n.WatchdogInterval(), tt.wantEnabled, tt.wantInterval)
			}
		})
	}
}
