package daemon

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/logscan/logscan/internal/config"
	"github.com/logscan/logscan/internal/httpapi"
	"github.com/logscan/logscan/internal/metrics"
	"github.com/logscan/logscan/internal/multiline"
	"github.com/logscan/logscan/internal/pipeline"
	"github.com/logscan/logscan/internal/testutil"
	"github.com/logscan/logscan/internal/watch"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestFollowIdleFlush follows a Java trace written slowly: while its lines
// keep coming, however long the trace takes, it is not emitted; once no
// line came for multiline.idle_flush (2 s by the injected clock) it is
// emitted whole, counted as an idle flush.
func TestFollowIdleFlush(t *testing.T) {
	root := t.TempDir()
	logf := filepath.Join(root, "app.log")
	testutil.AppendFile(t, logf, "")
	cfg, err := config.Load(config.Sources{Flags: map[string]any{
		"roots": []string{root}, "follow": true, "http.listen": "127.0.0.1:0", "save_interval": "10ms",
		"multiline.preset": "java", "match": []string{"Exception"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	clk := testutil.NewClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	var out testutil.SyncBuffer
	addr := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Options{Config: cfg, Stdout: &out, Log: zerolog.Nop(), Now: clk.Now, Started: func(a string) { addr <- a }})
		done <- err
	}()
	base := "http://" + <-addr
	testutil.Eventually(t, "readiness (the initial read done)", 10*time.Second, func() bool {
		code, _ := get(t, base+"/readyz")
		return code == 200
	})
	read := func(n string) {
		testutil.Eventually(t, n+" lines read", 10*time.Second, func() bool {
			_, m := get(t, base+"/metrics")
			return metricValue(m, "logscan_lines_read_total") == n
		})
	}
	// quiet waits for a few heartbeats (every 10 ms), after which a due
	// event would have been written.
	quiet := func(what string) {
		time.Sleep(100 * time.Millisecond)
		if out.String() != "" {
			t.Fatalf("%s: emitted %q", what, out.String())
		}
	}
	testutil.AppendFile(t, logf, "ERROR x\njava.lang.IllegalStateException: y\n\tat a.b(C.java:1)\n")
	read("3")
	clk.Advance(1500 * time.Millisecond)
	quiet("1.5 s after the last line")
	testutil.AppendFile(t, logf, "\tat c.d(E.java:2)\n")
	read("4")
	clk.Advance(1500 * time.Millisecond)
	quiet("3 s after the first line, 1.5 s after the last")
	clk.Advance(600 * time.Millisecond)
	testutil.Eventually(t, "the idle event", 10*time.Second, func() bool { return strings.Count(out.String(), "\n") == 4 })
	want := strings.ReplaceAll("P:ERROR x\nP:java.lang.IllegalStateException: y\nP:\tat a.b(C.java:1)\nP:\tat c.d(E.java:2)\n", "P", logf)
	if out.String() != want {
		t.Errorf("event = %q, want %q", out.String(), want)
	}
	_, m := get(t, base+"/metrics")
	if v := metricValue(m, `logscan_multiline_flush_total{reason="idle"}`); v != "1" {
		t.Errorf(`flush_total{reason="idle"} = %q, want 1`, v)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestReloadAndPendingEvents reloads the pipeline while a Java trace is
// pending: a reload that keeps the event stages keeps the trace, which the
// next lines complete; one that changes them emits it first, under the
// stages that joined it. Nothing is lost either way.
func TestReloadAndPendingEvents(t *testing.T) {
	compile := func(flags map[string]any) *pipeline.Pipeline {
		cfg, err := config.Load(config.Sources{Flags: flags})
		if err != nil {
			t.Fatal(err)
		}
		p, err := pipeline.Compile(cfg, pipeline.Env{Getenv: func(string) string { return "" }})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	java := map[string]any{"multiline.preset": "java", "match": []string{"Exception"}}
	tests := []struct {
		name  string
		next  map[string]any
		want  string
		flush int // shutdown flushes counted
	}{
		{"same stages, other rules", map[string]any{"multiline.preset": "java", "match": []string{"Exception", "WARN"}},
			"ERROR a\njava.lang.IllegalStateException: x\n\tat b.c(D.java:1)\n", 0},
		{"multiline off", map[string]any{"match": []string{"Exception"}},
			"ERROR a\njava.lang.IllegalStateException: x\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out testutil.SyncBuffer
			m := metrics.New("test")
			s := newSink(&out, 0, compile(java), m, httpapi.NewHub(16, m.StreamDropped))
			f := watch.File{Path: "a.log", Dev: 1, Ino: 2}
			first := "ERROR a\njava.lang.IllegalStateException: x\n"
			if err := s.Lines(f, []byte(first), 0, 1); err != nil {
				t.Fatal(err)
			}
			if err := s.Flush(); err != nil || out.String() != "" {
				t.Fatalf("emitted %q (%v) before the trace ended", out.String(), err)
			}
			s.setPipeline(compile(tt.next), nil)
			if err := s.Lines(f, []byte("\tat b.c(D.java:1)\n"), int64(len(first)), 3); err != nil {
				t.Fatal(err)
			}
			s.Release(f, watch.Forgotten)
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("output %q, want %q", out.String(), tt.want)
			}
			if n := s.sc.Flushes[multiline.Shutdown]; int(n) != tt.flush {
				t.Errorf("%d shutdown flushes, want %d", n, tt.flush)
			}
		})
	}
}

// TestRotationMidEventGolden passes a file that ends mid-trace, renamed
// away, and then its successor under the same name, which starts with the
// trace's continuation lines (testdata/rotated): the trace is one event,
// printed once under the file it began in (testdata/rotated/want.golden).
// The old file's checkpoint stays at the trace's start, the new one's at
// its own start, until the trace is out.
func TestRotationMidEventGolden(t *testing.T) {
	before, err := os.ReadFile("testdata/rotated/before.log")
	if err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile("testdata/rotated/after.log")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.Sources{Flags: map[string]any{"multiline.preset": "java", "match": []string{""}, "output.format": "json"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.Compile(cfg, pipeline.Env{Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	var out testutil.SyncBuffer
	m := metrics.New("test")
	s := newSink(&out, 0, p, m, httpapi.NewHub(16, m.StreamDropped))
	old := watch.File{Path: "logs/app.log", Dev: 1, Ino: 10}
	next := watch.File{Path: "logs/app.log", Dev: 1, Ino: 11}
	if err := s.Lines(old, before, 0, 1); err != nil {
		t.Fatal(err)
	}
	start := int64(bytes.Index(before, []byte("2026-12-01 10:00:01")))
	if off, ok := s.Held(old); !ok || off != start {
		t.Fatalf("old file held at %d, %v; want the trace's start %d", off, ok, start)
	}
	old.Path = "logs/app.log.1" // renamed: the follower now names it so
	last := bytes.LastIndex(after, []byte("2026-12-01"))
	if err := s.Lines(next, after[:last], 0, 1); err != nil {
		t.Fatal(err)
	}
	if off, ok := s.Held(old); !ok || off != start {
		t.Errorf("old file held at %d, %v after its successor took the trace; want %d", off, ok, start)
	}
	if off, ok := s.Held(next); !ok || off != 0 {
		t.Errorf("new file held at %d, %v while the trace is pending; want 0", off, ok)
	}
	if err := s.Lines(next, after[last:], int64(last), 0); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Held(old); ok {
		t.Error("old file still held after the trace was emitted")
	}
	if off, ok := s.Held(next); !ok || off != int64(last) {
		t.Errorf("new file held at %d, %v; want %d, its last line (the next event)", off, ok, last)
	}
	s.Release(old, watch.Forgotten)
	s.Release(next, watch.Forgotten)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	got := normaliseTimes(out.String())
	golden := "testdata/rotated/want.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

var observed = regexp.MustCompile(`"observed_time":"[^"]*",`)

// normaliseTimes drops the read time, which the golden cannot know.
func normaliseTimes(s string) string { return observed.ReplaceAllString(s, "") }
