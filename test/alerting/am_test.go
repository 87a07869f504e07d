package alerting_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

// amNotification is one webhook notification of the Alertmanager (the
// payload version 4), as the receiver got it.
type amNotification struct {
	Version     string            `json:"version"`
	Status      string            `json:"status"`
	Receiver    string            `json:"receiver"`
	GroupKey    string            `json:"groupKey"`
	GroupLabels map[string]string `json:"groupLabels"`
	Alerts      []amAlert         `json:"alerts"`
	at          time.Time         // when the receiver got it
}

type amAlert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Fingerprint string            `json:"fingerprint"`
}

// receiver is the Alertmanager's webhook receiver: it records every
// notification.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []amNotification
	bad []string // requests that were no notification
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, err := io.ReadAll(req.Body)
		var n amNotification
		if err == nil {
			err = json.Unmarshal(b, &n)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil || req.Method != http.MethodPost || n.Version != "4" {
			r.bad = append(r.bad, fmt.Sprintf("%s %s: %v: %.300s", req.Method, req.URL, err, b))
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		n.at = time.Now()
		r.got = append(r.got, n)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) notifications() []amNotification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]amNotification(nil), r.got...)
}

// count is the number of notifications that hold the alert whose label
// key is value, with status.
func (r *receiver) count(key, value, status string) int {
	n := 0
	for _, no := range r.notifications() {
		for _, a := range no.Alerts {
			if a.Labels[key] == value && a.Status == status {
				n++
				break
			}
		}
	}
	return n
}

// first returns the first notification holding the alert key=value with
// status, and the alert.
func (r *receiver) first(key, value, status string) (amNotification, amAlert, bool) {
	for _, no := range r.notifications() {
		for _, a := range no.Alerts {
			if a.Labels[key] == value && a.Status == status {
				return no, a, true
			}
		}
	}
	return amNotification{}, amAlert{}, false
}

func (r *receiver) String() string {
	var b strings.Builder
	for _, n := range r.notifications() {
		fmt.Fprintf(&b, "%s %s:", n.at.Format("15:04:05.000"), n.Status)
		for _, a := range n.Alerts {
			fmt.Fprintf(&b, " [%s route=%s startsAt=%s endsAt=%s]", a.Status, a.Labels["route"],
				a.StartsAt.Format("15:04:05.000"), a.EndsAt.Format("15:04:05.000"))
		}
		b.WriteString("\n")
	}
	r.mu.Lock()
	for _, s := range r.bad {
		fmt.Fprintf(&b, "BAD REQUEST %s\n", s)
	}
	r.mu.Unlock()
	return b.String()
}

// alertmanager is one Alertmanager, started and stopped on one port and
// storage directory.
type alertmanager struct {
	t        *testing.T
	bin      string
	dir      string
	port     int
	recv     *receiver
	cmd      *exec.Cmd
	done     chan struct{}
	logs     *testutil.SyncBuffer
	runs     int
	stopTook []time.Duration
}

// amConfig routes every alert to the receiver, each in its own group.
const amConfig = `route:
  receiver: test
  group_by: ['...']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: test
    webhook_configs:
      - url: %s/am
        send_resolved: true
`

// newAlertmanager prepares an Alertmanager on a free port whose
// notifications go to recv; it is not started.
func newAlertmanager(t *testing.T, bin string, recv *receiver) *alertmanager {
	t.Helper()
	am := &alertmanager{t: t, bin: bin, dir: t.TempDir(), port: testutil.FreePort(t), recv: recv, logs: &testutil.SyncBuffer{}}
	if err := os.WriteFile(filepath.Join(am.dir, "alertmanager.yml"), fmt.Appendf(nil, amConfig, recv.srv.URL), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if am.running() {
			_ = am.cmd.Process.Kill()
			<-am.done
		}
		if t.Failed() {
			t.Logf("alertmanager %s diagnostics (last lines):\n%s", am.url(), am.logs.Tail(30))
		}
	})
	return am
}

func (am *alertmanager) url() string { return fmt.Sprintf("http://127.0.0.1:%d", am.port) }

func (am *alertmanager) running() bool {
	if am.cmd == nil {
		return false
	}
	select {
	case <-am.done:
		return false
	default:
		return true
	}
}

// start starts the Alertmanager and waits, up to 20s, until /-/ready
// answers 200.
func (am *alertmanager) start() {
	t := am.t
	t.Helper()
	am.runs++
	fmt.Fprintf(am.logs, "--- run %d\n", am.runs)
	am.cmd = exec.Command(am.bin,
		"--config.file="+filepath.Join(am.dir, "alertmanager.yml"),
		"--storage.path="+filepath.Join(am.dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", am.port),
		"--cluster.listen-address=",
		"--log.level=debug")
	am.cmd.Stdout, am.cmd.Stderr = am.logs, am.logs
	if err := am.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	am.done = done
	cmd := am.cmd
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(am.url() + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-done:
			t.Fatalf("alertmanager exited at its start: %s", am.logs.Tail(20))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager %s not ready within 20s: %v: %s", am.url(), err, am.logs.Tail(20))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop stops the Alertmanager with SIGTERM and waits for its exit.
func (am *alertmanager) stop() {
	t := am.t
	t.Helper()
	start := time.Now()
	if err := am.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-am.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("alertmanager did not exit within 20s of SIGTERM: %s", am.logs.Tail(20))
	}
	am.stopTook = append(am.stopTook, time.Since(start))
}

// post posts alerts to the Alertmanager's API v2 itself (the harness's
// own test).
func (am *alertmanager) post(alerts []map[string]any) error {
	b, err := json.Marshal(alerts)
	if err != nil {
		return err
	}
	resp, err := http.Post(am.url()+"/api/v2/alerts", "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("POST /api/v2/alerts: %s: %s", resp.Status, body)
	}
	return nil
}

// TestAlertmanagerHarness checks the harness and the Alertmanager's part
// of the targets without logscan: an alert posted firing is notified once
// (after group_wait), posted again while firing it is not notified again
// (repeat_interval), posted ended it is notified resolved; and the
// notifications survive a restart of the Alertmanager on its storage (a
// firing alert posted again after the restart, as logscan resends it, is
// not notified again: the notification log is kept in --storage.path).
func TestAlertmanagerHarness(t *testing.T) {
	t.Parallel()
	bin := alertmanagerPath(t)
	recv := newReceiver(t)
	am := newAlertmanager(t, bin, recv)
	am.start()
	starts := time.Now().UTC().Add(-time.Second)
	alert := func(ends time.Time) []map[string]any {
		return []map[string]any{{
			"labels":      map[string]string{"alertname": "harness", "route": "/h"},
			"annotations": map[string]string{"summary": "harness alert"},
			"startsAt":    starts.Format(time.RFC3339Nano),
			"endsAt":      ends.UTC().Format(time.RFC3339Nano),
		}}
	}
	if err := am.post(alert(time.Now().Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the firing notification", 10*time.Second, func() bool { return recv.count("route", "/h", "firing") > 0 })
	for range 3 { // as logscan resends
		time.Sleep(time.Second) // pacing: the resend interval
		if err := am.post(alert(time.Now().Add(time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(2500 * time.Millisecond) // two group intervals more: a repeat would have come
	if n := recv.count("route", "/h", "firing"); n != 1 {
		t.Errorf("%d firing notifications, want 1: %s", n, recv)
	}
	am.stop()
	am.start()
	if err := am.post(alert(time.Now().Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond) // group_wait and a group interval
	afterRestart := recv.count("route", "/h", "firing")
	if err := am.post(alert(time.Now())); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the resolved notification", 10*time.Second, func() bool { return recv.count("route", "/h", "resolved") > 0 })
	time.Sleep(1500 * time.Millisecond) // a group interval more: a repeat would have come
	if n := recv.count("route", "/h", "resolved"); n != 1 {
		t.Errorf("%d resolved notifications, want 1: %s", n, recv)
	}
	t.Logf("ALERTING harness firing=%d firing_after_am_restart=%d resolved=%d notifications=%d\n%s",
		recv.count("route", "/h", "firing"), afterRestart, recv.count("route", "/h", "resolved"), len(recv.notifications()), recv)
	if afterRestart != 1 {
		t.Logf("note: the Alertmanager notified the firing alert again after its restart (%d): its notification log was not kept", afterRestart)
	}
}
