package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/testutil"
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

// startLogscan runs the test binary as logscan and waits until it follows.
func startLogscan(t *testing.T, args ...string) *testutil.Proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "BE_LOGSCAN_MAIN=1")
	return testutil.StartFollowing(t, cmd)
}

func waitLines(t *testing.T, p *testutil.Proc, n int) {
	t.Helper()
	testutil.Eventually(t, fmt.Sprintf("%d output lines", n), 15*time.Second, func() bool { return len(p.Output()) >= n })
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
	waitLines(t, p, 1000)
	code, took := p.Stop(t, syscall.SIGTERM, 10*time.Second)
	if code != 0 || took > 5*time.Second {
		t.Fatalf("SIGTERM: exit %d after %v; stderr %s", code, took, p.Logs())
	}
	first := p.Output()

	// Written while logscan is down, then a rotation: resumed from the state.
	writeLines(t, logf, 1010, 1500)
	if err := os.Rename(logf, logf+".1"); err != nil {
		t.Fatal(err)
	}
	writeLines(t, logf, 1500, 2000)

	p = startLogscan(t, args...)
	writeLines(t, logf, 2000, 2500)
	waitLines(t, p, 1490)
	if code, _ := p.Stop(t, syscall.SIGINT, 10*time.Second); code != 0 {
		t.Fatalf("SIGINT: exit %d", code)
	}
	got := seqs(append(first, p.Output()...))
	for i := 10; i < 2500; i++ {
		if got[i] != 1 {
			t.Fatalf("seq %d seen %d times (want exactly once); stderr %s", i, got[i], p.Logs())
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
	waitLines(t, p, 1000)
	// Wait for a save that holds the lines: the save at the start already
	// has an offset, and a kill between the output's write and its
	// journal record repeats that whole flush, by design.
	st, err := os.Stat(logf)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "a state save of the lines", 15*time.Second, func() bool {
		return savedOffset(state) >= st.Size()*9/10
	})
	if code, _ := p.Stop(t, syscall.SIGKILL, 10*time.Second); code != -1 {
		t.Logf("kill -9 exit code %d", code)
	}
	first := p.Output()
	writeLines(t, logf, 1001, 2001)

	p = startLogscan(t, args...)
	waitLines(t, p, 1000)
	p.Stop(t, syscall.SIGTERM, 10*time.Second)
	got := seqs(append(first, p.Output()...))
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

// savedOffset is the largest offset in the state file at path, or -1.
func savedOffset(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	var st struct {
		Files []struct {
			Offset int64 `json:"offset"`
		} `json:"files"`
	}
	if json.Unmarshal(b, &st) != nil {
		return -1
	}
	best := int64(-1)
	for _, f := range st.Files {
		best = max(best, f.Offset)
	}
	return best
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
	testutil.AppendFile(t, logf, "ALPHA 1\nBETA 1\n")
	waitLines(t, p, 1)

	write("roots: [" + root + "]\nfollow: true\nrules:\n  - name: b\n    match: [BETA]\n")
	p.Cmd.Process.Signal(syscall.SIGHUP)
	testutil.Eventually(t, "the reload", 15*time.Second, func() bool { return strings.Contains(p.Logs(), "configuration reloaded") })
	testutil.AppendFile(t, logf, "ALPHA 2\nBETA 2\n")
	waitLines(t, p, 2)

	write("roots: [" + root + "]\nfollow: true\nrules:\n  - name: c\n    match: [\"(\"]\n")
	p.Cmd.Process.Signal(syscall.SIGHUP)
	testutil.Eventually(t, "the refusal", 15*time.Second, func() bool { return strings.Contains(p.Logs(), "reload refused") })
	testutil.AppendFile(t, logf, "ALPHA 3\nBETA 3\n")
	waitLines(t, p, 3)
	if code, _ := p.Stop(t, syscall.SIGTERM, 10*time.Second); code != 0 {
		t.Errorf("exit %d", code)
	}
	out := strings.Join(p.Output(), "\n")
	want := logf + ":ALPHA 1\n" + logf + ":BETA 2\n" + logf + ":BETA 3"
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s\nstderr: %s", out, want, p.Logs())
	}
	if !strings.Contains(p.Logs(), `rules[0].match[0]`) {
		t.Errorf("the refused reload does not name the bad key: %s", p.Logs())
	}
}
