package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

// traceEvent is event k of the fault test: a log line and a Java trace of
// 2 + k%5 frames, cut in two halves for the writer.
func traceEvent(k int) (first, second string, lines int) {
	var b strings.Builder
	fmt.Fprintf(&b, "2026-12-01 10:00:00.000 ERROR [main] svc - failed seq=%d\njava.lang.IllegalStateException: seq=%d\n", k, k)
	first = b.String()
	b.Reset()
	frames := 2 + k%5
	for i := range frames {
		fmt.Fprintf(&b, "\tat a.B.m%d(B.java:%d)\n", i, k)
	}
	return first, b.String(), 2 + frames
}

// TestFollowEventsUnderFaults writes Java traces into a followed file, each
// in two halves with the follower reading the first before the second is
// written, and in between kills it (-9), stops it (SIGTERM) and restarts
// it, or rotates the file by renaming it or by copytruncate. Every event must come out whole,
// exactly once: none lost, none split, none repeated.
func TestFollowEventsUnderFaults(t *testing.T) {
	root := t.TempDir()
	state := filepath.Join(t.TempDir(), "state.json")
	logf := filepath.Join(root, "app.log")
	testutil.AppendFile(t, logf, "")
	args := []string{"--follow", root, "--multiline", "java", "-e", "seq=", "--json", "--state-file", state, "--save-interval", "50ms", "--log-format", "json"}
	p := startLogscan(t, args...)
	var out []string
	restart := func(sig syscall.Signal) {
		p.Stop(t, sig, 10*time.Second)
		<-p.Done()
		out = append(out, p.Output()...)
		p = startLogscan(t, args...)
	}
	const events = 30
	want := map[int]int{}
	faults := map[string]int{}
	for k := range events {
		first, second, lines := traceEvent(k)
		want[k] = lines
		testutil.AppendFile(t, logf, first)
		time.Sleep(150 * time.Millisecond) // the follower reads the first half
		switch k % 10 {
		case 3:
			restart(syscall.SIGKILL)
			faults["kill -9 mid-event"]++
		case 6:
			restart(syscall.SIGTERM)
			faults["SIGTERM mid-event"]++
		case 8:
			if err := os.Rename(logf, logf+".1"); err != nil {
				t.Fatal(err)
			}
			faults["rename rotation mid-event"]++
		case 1:
			copyTruncate(t, logf)
			faults["copytruncate mid-event"]++
		}
		testutil.AppendFile(t, logf, second)
	}
	testutil.AppendFile(t, logf, "2026-12-01 10:00:01.000 INFO [main] svc - done\n")    // ends the last event
	waitFor := func() bool { return len(seen(append(out, p.Output()...))) == events+1 } // +1: the key of headless events
	testutil.Eventually(t, "every event", 20*time.Second, waitFor)
	p.Stop(t, syscall.SIGTERM, 10*time.Second)
	<-p.Done()
	out = append(out, p.Output()...)

	lost, split, dup := 0, 0, 0
	got := seen(out)
	for k, lines := range want {
		n := got[k]
		switch {
		case len(n) == 0:
			lost++
		case len(n) > 1:
			dup += len(n) - 1
		}
		for _, l := range n {
			if l != lines {
				split++
			}
		}
	}
	split += got[-1][0] // events without their first line
	t.Logf("%d events, faults %v: lost %d, split %d, duplicated %d", events, faults, lost, split, dup)
	if lost+split+dup > 0 {
		t.Errorf("lost %d, split %d, duplicated %d; output:\n%s", lost, split, dup, strings.Join(out, "\n"))
	}
}

// copyTruncate does what logrotate's copytruncate does: copy the file,
// then truncate it in place, so that the writer goes on at offset 0.
func copyTruncate(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".1", b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
}

// seen maps each event's seq to the line counts it was printed with; key
// -1 counts the events that lack their first line.
func seen(out []string) map[int][]int {
	m := map[int][]int{-1: {0}}
	for _, l := range out {
		var ev struct {
			Body  string
			Lines int
		}
		if json.Unmarshal([]byte(l), &ev) != nil {
			continue
		}
		var k int
		if _, err := fmt.Sscanf(ev.Body[strings.Index(ev.Body, "seq=")+4:], "%d", &k); err != nil || !strings.Contains(ev.Body, "ERROR [main]") {
			m[-1][0]++
			continue
		}
		m[k] = append(m[k], ev.Lines)
	}
	if m[-1][0] == 0 {
		m[-1] = []int{0}
	}
	return m
}
