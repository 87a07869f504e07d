package alert

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/fields"
)

// execConfig is one rule of matcher rule 0, grouped by user, to the
// command "cmd".
func execConfig(x Exec) Config {
	x.Name = "cmd"
	return Config{
		Rules: []Rule{{Name: "sshfail", Key: "rules[0].alert", To: []string{"cmd"}, GroupBy: []string{"user"}, ResolveAfter: time.Hour}},
		Exec:  []Exec{x},
	}
}

// execFixture is newFixture with a channel receiving each finished command.
func execFixture(t *testing.T, x Exec) (*fixture, chan string) {
	done := make(chan string, 100)
	f := newFixture(t, execConfig(x))
	f.e.testExecDone = func(d string) { done <- d }
	return f, done
}

func waitDone(t *testing.T, done chan string, n int) {
	t.Helper()
	for range n {
		select {
		case <-done:
		case <-time.After(wait):
			t.Fatal("command not finished")
		}
	}
}

func TestExecEnv(t *testing.T) {
	t.Setenv("LOGSCAN_TEST_SECRET", "must not pass")
	f, done := execFixture(t, Exec{Argv: []string{"env"}}) // looked up in $PATH
	var rec fields.Record
	rec.Add([]byte("user"), []byte("root"), fields.String, 0)
	rec.Add([]byte("src.ip"), []byte("10.0.0.1"), fields.String, 0)
	f.start(t)
	f.line(0, "Failed password user=root", &rec)
	waitDone(t, done, 1)
	env := f.log.messages("stream", "stdout")
	key := idempotencyKey("sshfail", map[string]string{"alertname": "sshfail", "rule": "sshfail", "host": "h1", "user": "root"}, t0, statusFiring, 0)
	for _, want := range []string{
		"LOGSCAN_STATUS=firing", "LOGSCAN_RULE=sshfail", "LOGSCAN_COUNT=1", "LOGSCAN_FILE=/var/log/auth.log",
		"LOGSCAN_SAMPLE=Failed password user=root", "LOGSCAN_STARTS_AT=2026-11-02T10:00:00Z",
		"LOGSCAN_IDEMPOTENCY_KEY=" + key, "LOGSCAN_LABEL_USER=root", "LOGSCAN_LABEL_HOST=h1",
		"LOGSCAN_LABEL_ALERTNAME=sshfail", "LOGSCAN_FIELD_USER=root", "LOGSCAN_FIELD_SRC_IP=10.0.0.1",
		"PATH=" + os.Getenv("PATH"),
	} {
		if !slices.Contains(env, want) {
			t.Errorf("%s missing from %q", want, env)
		}
	}
	for _, v := range env {
		if strings.HasPrefix(v, "LOGSCAN_TEST_SECRET") {
			t.Error("the process environment leaked:", v)
		}
	}
	if f.alerts("sshfail", resultSent) != 1 || f.e.pending() != 0 {
		t.Errorf("sent %v, pending %d", f.alerts("sshfail", resultSent), f.e.pending())
	}
}

func TestExecArgvNoShell(t *testing.T) {
	args := []string{"a;b", "$(id)", "`id`", "x && y", "'q'", "*"}
	f, done := execFixture(t, Exec{Argv: append([]string{"/usr/bin/printf", `%s\n`}, args...)})
	f.start(t)
	f.line(0, "user=root", nil)
	waitDone(t, done, 1)
	if got := f.log.messages("stream", "stdout"); !slices.Equal(got, args) {
		t.Errorf("printf printed %q, want %q", got, args)
	}
}

func TestExecFailedNotRetried(t *testing.T) {
	f, done := execFixture(t, Exec{Argv: []string{"/bin/sh", "-c", "echo oops >&2; exit 3"}})
	f.start(t)
	f.line(0, "user=root", nil)
	waitDone(t, done, 1)
	if f.e.pending() != 0 || f.alerts("sshfail", resultFailed) != 1 {
		t.Errorf("pending %d, failed %v", f.e.pending(), f.alerts("sshfail", resultFailed))
	}
	if got := f.log.messages("stream", "stderr"); !slices.Equal(got, []string{"oops"}) {
		t.Errorf("stderr %q", got)
	}
	select {
	case <-done:
		t.Error("run again")
	default:
	}
}

// TestExecTimeoutKillsGroup: the shell and its background child both die.
func TestExecTimeoutKillsGroup(t *testing.T) {
	pids := filepath.Join(t.TempDir(), "pids")
	f, done := execFixture(t, Exec{
		Argv:    []string{"/bin/sh", "-c", `sleep 100 & echo $! > "$1"; echo $$ >> "$1"; wait`, "sh", pids},
		Timeout: 300 * time.Millisecond,
	})
	f.start(t)
	f.line(0, "user=root", nil)
	waitDone(t, done, 1)
	b, err := os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	fs := strings.Fields(string(b))
	if len(fs) != 2 {
		t.Fatalf("pids %q", b)
	}
	for _, s := range fs {
		pid, _ := strconv.Atoi(s)
		eventually(t, "process "+s+" gone", func() bool { return gone(pid) })
	}
	if f.alerts("sshfail", resultFailed) != 1 || f.e.pending() != 0 {
		t.Errorf("failed %v, pending %d", f.alerts("sshfail", resultFailed), f.e.pending())
	}
	if !strings.Contains(f.log.String(), "timed out") {
		t.Error("timeout not logged")
	}
}

// gone: no such process, or a zombie nobody reaped yet.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 {
		return s[i+2] == 'Z'
	}
	return false
}

func TestExecMaxRunning(t *testing.T) {
	release := filepath.Join(t.TempDir(), "release")
	f, done := execFixture(t, Exec{
		Argv:       []string{"/bin/sh", "-c", `while [ ! -e "$1" ]; do sleep 0.01; done`, "sh", release},
		MaxRunning: 2,
	})
	f.start(t)
	for _, u := range []string{"a", "b", "c", "d", "e"} {
		f.line(0, "user="+u, nil)
	}
	d := f.e.dests[0]
	busy := func() (running, busy, pending int) {
		f.e.mu.Lock()
		defer f.e.mu.Unlock()
		for _, ent := range d.queue {
			if ent.busy {
				busy++
			}
		}
		return d.running, busy, len(d.queue)
	}
	eventually(t, "2 running", func() bool { r, _, _ := busy(); return r == 2 })
	// None can finish before the release: the state is stable.
	if r, b, p := busy(); r != 2 || b != 2 || p != 5 {
		t.Fatalf("running %d, busy %d, pending %d; want 2, 2, 5", r, b, p)
	}
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitDone(t, done, 5)
	if f.e.pending() != 0 || f.alerts("sshfail", resultSent) != 5 {
		t.Errorf("pending %d, sent %v", f.e.pending(), f.alerts("sshfail", resultSent))
	}
}

// TestObserveWhileCommandHangs: a command that never ends holds up neither
// Observe nor Tick, nor Close beyond its timeout; what it was running
// stays pending, to run again after a restart.
func TestObserveWhileCommandHangs(t *testing.T) {
	f, _ := execFixture(t, Exec{Argv: []string{"/bin/sleep", "100"}, MaxRunning: 1, Timeout: time.Hour})
	f.start(t)
	f.line(0, "user=first", nil)
	d := f.e.dests[0]
	eventually(t, "running", func() bool {
		f.e.mu.Lock()
		defer f.e.mu.Unlock()
		return d.running == 1
	})
	ok := make(chan struct{})
	go func() {
		for i := range 2000 {
			f.line(0, "user=u"+strconv.Itoa(i%500), nil)
			if i%100 == 0 {
				f.clock.Advance(time.Second)
				f.e.Tick()
			}
		}
		close(ok)
	}()
	select {
	case <-ok:
	case <-time.After(wait):
		t.Fatal("Observe blocked")
	}
	start := time.Now()
	err := f.e.Close(100 * time.Millisecond)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("Close: %v after %v", err, time.Since(start))
	}
	if f.e.pending() != 501 {
		t.Errorf("%d pending, want 501", f.e.pending())
	}
	if !strings.Contains(f.log.String(), "killed at shutdown") {
		t.Error("kill not logged")
	}
}
