package testutil

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proc is a running logscan whose stdout lines and stderr are collected.
type Proc struct {
	Cmd    *exec.Cmd
	mu     sync.Mutex
	out    []string
	stderr strings.Builder
	lines  chan struct{}
	done   chan struct{}
}

// StartFollowing starts cmd (a logscan --follow with JSON logs) and waits,
// up to 30 s, until it logs that it is following. The process is killed at
// the end of the test if it is still running.
func StartFollowing(t testing.TB, cmd *exec.Cmd) *Proc {
	t.Helper()
	p := &Proc{Cmd: cmd, lines: make(chan struct{}, 1), done: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.out = append(p.out, sc.Text())
			p.mu.Unlock()
			select {
			case p.lines <- struct{}{}:
			default:
			}
		}
		_, _ = io.Copy(io.Discard, stdout) // after a scan error, keep the pipe flowing
	}()
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		var once sync.Once
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if strings.Contains(sc.Text(), `"message":"following"`) {
				once.Do(func() { close(ready) })
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() {
		wg.Wait()
		_ = cmd.Wait() // the status is read from ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill() // the test failed half-way; leave nothing running
			<-p.done
		}
	})
	select {
	case <-ready:
	case <-p.done:
		t.Fatalf("logscan exited before following: %s", p.Logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("logscan did not start following within 30s: %s", p.Logs())
	}
	return p
}

// Output returns the stdout lines so far.
func (p *Proc) Output() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.out...)
}

// Logs returns stderr so far.
func (p *Proc) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// Lines receives (coalesced) when a new stdout line arrives.
func (p *Proc) Lines() <-chan struct{} { return p.lines }

// Done is closed when the process has exited and its output is read.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Stop sends sig and waits up to limit for the exit; it returns the exit
// status (-1 when a signal ended the process) and how long the exit took.
func (p *Proc) Stop(t testing.TB, sig syscall.Signal, limit time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	if err := p.Cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(limit):
		t.Fatalf("no exit within %s of %v: %s", limit, sig, p.Logs())
	}
	return p.Cmd.ProcessState.ExitCode(), time.Since(start)
}

// AppendFile appends s to path, creating it.
func AppendFile(t testing.TB, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// Eventually waits up to limit for cond. It polls: the events it waits for
// happen in other processes or in the kernel (inotify), not on a clock the
// test could drive.
func Eventually(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// CleanEnv is the environment without LOGSCAN_* variables, for a logscan
// started by a test: logscan reads every LOGSCAN_<KEY> as a config key, and
// the test packages' own knobs (LOGSCAN_ROTATE_*, LOGSCAN_OTLP_OUTAGE...)
// are not its keys.
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LOGSCAN_") {
			env = append(env, kv)
		}
	}
	return env
}

// Logrotate returns the real logrotate, or skips the test naming the
// install command.
func Logrotate(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("logrotate"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/logrotate"); err == nil {
		return "/usr/sbin/logrotate"
	}
	t.Skip("logrotate is not installed: apt-get install -y logrotate")
	return ""
}
