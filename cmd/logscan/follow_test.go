package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for logscan in subprocess tests:
// with BE_LOGSCAN_MAIN=1 it runs main, so signals and kill -9 hit a real
// process without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("BE_LOGSCAN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// proc is a logscan subprocess whose stdout lines are collected.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []string
	stderr strings.Builder
	ready  chan struct{}
	done   chan struct{}
}

func startLogscan(t *testing.T, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "BE_LOGSCAN_MAIN=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, ready: make(chan struct{}), done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if strings.Contains(sc.Text(), `"message":"following"`) {
				once.Do(func() { close(p.ready) })
			}
		}
	}()
	go func() {
		wg.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	select {
	case <-p.ready:
	case <-p.done:
		t.Fatalf("logscan exited before following: %s", p.errText())
	case <-time.After(10 * time.Second):
		t.Fatalf("logscan not ready: %s", p.errText())
	}
	return p
}

func (p *proc) errText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func (p *proc) output() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

func (p *proc) waitLines(n int) {
	p.t.Helper()
	eventuallyCLI(p.t, fmt.Sprintf("%d output lines", n), func() bool { return len(p.output()) >= n })
}

// stop signals the process and returns its exit code and how long it took.
func (p *proc) stop(sig syscall.Signal) (int, time.Duration) {
	p.t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	<-p.done
	err := p.cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatal(err)
	}
	return code, time.Since(start)
}

func eventuallyCLI(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func writeLines(t *testing.T, path string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := from; i < to; i++ {
		fmt.Fprintf(w, "MATCH seq=%d\n", i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// seqs counts each sequence number seen in output lines.
func seqs(lines []string) map[int]int {
	m := map[int]int{}
	for _, l := range lines {
		var n int
		if i := strings.Index(l, "seq="); i >= 0 {
			fmt.Sscanf(l[i+4:], "%d", &n)
			m[n]++
		}
	}
	return m
}

func TestFollowRestartLosesAndRepeatsNothing(t *testing.T) {
	root := t.TempDir()
	state := filepath.Join(t.TempDir(), "state.json")
	logf := filepath.Join(root, "app.log")
	writeLines(t, logf, 0, 10) // before the first start: followed from the end
	args := []string{"--follow", root, "--match", "MATCH", "--state-file", state, "--save-interval", "50ms", "--log-format", "json"}

	p := startLogscan(t, args...)
	writeLines(t, logf, 10, 1010)
	p.waitLines(1000)
	code, took := p.stop(syscall.SIGTERM)
	if code != 0 || took > 5*time.Second {
		t.Fatalf("SIGTERM: exit %d after %v; stderr %s", code, took, p.errText())
	}
	first := p.output()

	// Written while logscan is down, then a rotation: resumed from the state.
	writeLines(t, logf, 1010, 1500)
	if err := os.Rename(logf, logf+".1"); err != nil {
		t.Fatal(err)
	}
	writeLines(t, logf, 1500, 2000)

	p = startLogscan(t, args...)
	writeLines(t, logf, 2000, 2500)
	p.waitLines(1490)
	if code, _ := p.stop(syscall.SIGINT); code != 0 {
		t.Fatalf("SIGINT: exit %d", code)
	}
	got := seqs(append(first, p.output()...))
	for i := 10; i < 2500; i++ {
		if got[i] != 1 {
			t.Fatalf("seq %d seen %d times (want exactly once); stderr %s", i, got[i], p.errText())
		}
	}
	if got[0] != 0 {
		t.Errorf("a line written before the first start was printed (start_at end)")
	}
}

func TestFollowKill9LosesNothing(t *testing.T) {
	root := t.TempDir()
	state := filepath.Join(t.TempDir(), "state.json")
	logf := filepath.Join(root, "app.log")
	writeLines(t, logf, 0, 1)
	args := []string{"--follow", root, "--match", "MATCH", "--state-file", state, "--save-interval", "50ms", "--log-format", "json"}

	p := startLogscan(t, args...)
	writeLines(t, logf, 1, 1001)
	p.waitLines(1000)
	eventuallyCLI(t, "a state save", func() bool {
		b, err := os.ReadFile(state)
		return err == nil && strings.Contains(string(b), `"offset"`)
	})
	if code, _ := p.stop(syscall.SIGKILL); code != -1 {
		t.Logf("kill -9 exit code %d", code)
	}
	first := p.output()
	writeLines(t, logf, 1001, 2001)

	p = startLogscan(t, args...)
	p.waitLines(1000)
	p.stop(syscall.SIGTERM)
	got := seqs(append(first, p.output()...))
	dups := 0
	for i := 1; i < 2001; i++ {
		switch {
		case got[i] == 0:
			t.Fatalf("seq %d lost after kill -9", i)
		case got[i] > 1:
			dups++
			if i < 900 {
				t.Errorf("seq %d repeated: older than the last state save", i)
			}
		}
	}
	t.Logf("kill -9 then restart: 0 lost, %d repeated", dups)
}

func TestFollowSIGHUP(t *testing.T) {
	root := t.TempDir()
	logf := filepath.Join(root, "app.log")
	writeLines(t, logf, 0, 1)
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	write := func(s string) {
		if err := os.WriteFile(cfg, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("roots: [" + root + "]\nfollow: true\nrules:\n  - name: a\n    match: [ALPHA]\n")
	p := startLogscan(t, "--config", cfg, "--log-format", "json")
	appendText(t, logf, "ALPHA 1\nBETA 1\n")
	p.waitLines(1)

	write("roots: [" + root + "]\nfollow: true\nrules:\n  - name: b\n    match: [BETA]\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	eventuallyCLI(t, "the reload", func() bool { return strings.Contains(p.errText(), "configuration reloaded") })
	appendText(t, logf, "ALPHA 2\nBETA 2\n")
	p.waitLines(2)

	write("roots: [" + root + "]\nfollow: true\nrules:\n  - name: c\n    match: [\"(\"]\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	eventuallyCLI(t, "the refusal", func() bool { return strings.Contains(p.errText(), "reload refused") })
	appendText(t, logf, "ALPHA 3\nBETA 3\n")
	p.waitLines(3)
	if code, _ := p.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d", code)
	}
	out := strings.Join(p.output(), "\n")
	want := logf + ":ALPHA 1\n" + logf + ":BETA 2\n" + logf + ":BETA 3"
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s\nstderr: %s", out, want, p.errText())
	}
	if !strings.Contains(p.errText(), `rules[0].match[0]`) {
		t.Errorf("the refused reload does not name the bad key: %s", p.errText())
	}
}

func appendText(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.WriteString(f, s); err != nil {
		t.Fatal(err)
	}
}
