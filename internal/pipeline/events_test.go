package pipeline

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/multiline"
)

// TestEventsGolden runs the event stages over real-shaped files and
// compares with testdata/events/NAME.golden; every case must print the
// same whatever the block size, since a follower's blocks end anywhere.
func TestEventsGolden(t *testing.T) {
	cases := []struct {
		name, file string
		flags      map[string]any
	}{
		{"java", "java.log", map[string]any{"multiline.preset": "java", "match": []string{"Exception"}, "output.line_number": true}},
		{"java-json", "java.log", map[string]any{"multiline.preset": "java", "match": []string{"Caused by"}, "output.format": "json"}},
		{"java-invert-count", "java.log", map[string]any{"multiline.preset": "java", "match": []string{"Exception"}, "invert": true, "output.count": true}},
		{"java-max-lines", "java.log", map[string]any{"multiline.preset": "java", "multiline.max_lines": 3, "match": []string{""}, "output.format": "json"}},
		{"python", "python.log", map[string]any{"multiline.preset": "python", "match": []string{"Error"}}},
		{"start", "java.log", map[string]any{"multiline.start": `^\d{4}-`, "match": []string{"WARN"}}},
		{"json-where", "app.json", map[string]any{"format": "json", "where": []string{"level=error", "latency_ms>500"}, "output.format": "json"}},
		{"json-where-rule", "app.json", map[string]any{"format": "json", "where": []string{"user.plan=pro"}, "match": []string{"error"}, "output.line_number": true}},
		{"json-rule-where", "app.json", map[string]any{"format": "json", "rules": []any{
			map[string]any{"name": "slow-pay", "match": []any{"pay"}, "where": []any{"latency_ms>=900"}},
			map[string]any{"name": "client-errors", "where": []any{"status>=400", "status<500"}},
		}, "output.format": "json"}},
		{"json-fields", "app.json", map[string]any{"format": "json", "match": []string{""}, "output.fields": []string{"ts", "level", "msg", "user.id"}}},
		{"json-invert", "app.json", map[string]any{"format": "json", "where": []string{"status<500"}, "invert": true}},
		{"json-invert-fields", "app.json", map[string]any{"format": "json", "where": []string{"level=error"}, "invert": true, "output.format": "json"}},
		{"json-drop", "app.json", map[string]any{"format": "json", "match": []string{""}, "on_parse_error": "drop", "output.count": true}},
		{"logfmt", "app.logfmt", map[string]any{"format": "logfmt", "where": []string{"status>=500"}, "output.format": "json"}},
		{"cri", "cri.log", map[string]any{"format": "cri+auto", "match": []string{""}, "output.format": "json"}},
		{"cri-where", "cri.log", map[string]any{"format": "cri+json", "where": []string{"log.iostream=stderr"}}},
		{"docker", "docker.log", map[string]any{"format": "docker+json", "match": []string{""}, "output.format": "json"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			content, err := os.ReadFile(filepath.Join("testdata/events", c.file))
			if err != nil {
				t.Fatal(err)
			}
			p := compile(t, c.flags)
			got := scanAll(NewScanner(p, 1<<20, nil), c.file, content, 1<<20)
			for _, size := range []int{1, 37, 200} {
				if b := scanAll(NewScanner(p, 1<<20, nil), c.file, content, size); !bytes.Equal(b, got) {
					t.Fatalf("block size %d prints\n%s\nbut a whole block prints\n%s", size, b, got)
				}
			}
			checkGolden(t, filepath.Join("testdata/events", c.name+".golden"), got)
		})
	}
}

// TestEventsHeld checks what a follower commits: the start of the pending
// event, across blocks, and nothing once it is flushed.
func TestEventsHeld(t *testing.T) {
	p := compile(t, map[string]any{"multiline.preset": "java", "match": []string{"Exception"}})
	s := NewScanner(p, 1<<20, nil)
	s.Begin("f", "", 1, false)
	first := "INFO a\nERROR b\n"
	s.Block([]byte(first), 0, 1)
	if off, line, ok := s.Held(); !ok || off != 7 || line != 2 {
		t.Fatalf("Held = %d, %d, %v; want 7, 2, true (the ERROR line's event)", off, line, ok)
	}
	s.Block([]byte("java.lang.IllegalStateException: x\n\tat a.b(C.java:1)\n"), int64(len(first)), 0)
	if off, _, ok := s.Held(); !ok || off != 7 {
		t.Fatalf("Held = %d, %v after continuation lines; want 7", off, ok)
	}
	if len(s.Buf) != 0 {
		t.Fatalf("printed %q before the event ended", s.Buf)
	}
	s.FlushEvents(multiline.Shutdown)
	if _, _, ok := s.Held(); ok {
		t.Fatal("still held after FlushEvents")
	}
	want := "ERROR b\njava.lang.IllegalStateException: x\n\tat a.b(C.java:1)\n"
	if string(s.Buf) != want {
		t.Fatalf("printed %q, want %q", s.Buf, want)
	}
	if s.Flushes[multiline.Shutdown] != 1 {
		t.Fatalf("Flushes = %v, want one shutdown", s.Flushes)
	}
}

// TestEventsIdle checks the idle timer with an injected clock: a slow
// trace whose lines keep coming is not due, a quiet one is.
func TestEventsIdle(t *testing.T) {
	p := compile(t, map[string]any{"multiline.preset": "java", "match": []string{""}})
	s := NewScanner(p, 1<<20, nil)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	s.Begin("f", "", 1, false)
	off := int64(0)
	for _, l := range []string{"ERROR x\n", "java.lang.RuntimeException: y\n", "\tat a.b(C.java:1)\n", "\tat c.d(E.java:2)\n"} {
		s.Block([]byte(l), off, 0)
		off += int64(len(l))
		now = now.Add(1500 * time.Millisecond)
		if s.EventsDue(now) {
			t.Fatalf("due at %v with a line 1.5s ago", now)
		}
	}
	now = now.Add(600 * time.Millisecond)
	if !s.EventsDue(now) {
		t.Fatal("not due 2.1s after the last line")
	}
	s.FlushEvents(multiline.Idle)
	if n := bytes.Count(s.Buf, []byte("\n")); n != 4 || s.Flushes[multiline.Idle] != 1 {
		t.Fatalf("printed %d lines, flushes %v; want the 4-line event, idle", n, s.Flushes)
	}
}

// TestEventsAllocs checks that the event stages allocate nothing per line
// once warm: parse, filter and print. (Begin allocates a little per file:
// the resource attributes.)
func TestEventsAllocs(t *testing.T) {
	content, err := os.ReadFile("testdata/events/app.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, flags := range []map[string]any{
		{"format": "json", "where": []string{"level=error", "latency_ms>500"}},
		{"format": "json", "match": []string{""}, "output.format": "json"},
		{"multiline.preset": "java", "match": []string{"error"}},
	} {
		s := NewScanner(compile(t, flags), 1<<20, nil)
		s.Begin("f", "", 1, false)
		run := func() {
			s.Block(content, 0, 0)
			s.Buf = s.Buf[:0]
		}
		run()
		if n := testing.AllocsPerRun(20, run); n > 0 {
			t.Errorf("%v: %v allocations per file of %d lines", flags, n, bytes.Count(content, nl))
		}
	}
}

// FuzzEventPathsAgree checks that the candidate search (a rule's match or
// the filters' literal found in the whole block, in CRI and Docker files
// too when no line is a split part) selects exactly what the line-at-a-time
// event path selects.
func FuzzEventPathsAgree(f *testing.F) {
	for i, name := range []string{"app.json", "app.logfmt", "cri.log", "docker.log"} {
		b, err := os.ReadFile(filepath.Join("testdata/events", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(40), uint8([]int{0, 2, 5, 6}[i]))
	}
	f.Add([]byte("{\"level\":\"error\"}\n{\"level\":\"error\"\nlevel=error\n"), uint8(3), uint8(2))
	modes := []map[string]any{
		{"format": "json", "where": []string{"level=error"}, "output.line_number": true},
		{"format": "json", "where": []string{"latency_ms>500", "route~pay"}, "output.format": "json"},
		{"format": "logfmt", "where": []string{"level=error"}, "output.line_number": true},
		{"format": "json", "match": []string{"error"}, "where": []string{"status>=400"}, "output.count": true},
		{"format": "logfmt", "match": []string{"(?i)ERROR", "timeout"}, "where": []string{"status!=200"}},
		{"format": "cri+json", "where": []string{"level=error"}, "output.line_number": true},
		{"format": "docker+json", "where": []string{"level=error"}, "output.format": "json"},
		{"format": "cri+auto", "match": []string{"^payment"}, "where": []string{"msg~pay"}},
	}
	f.Fuzz(pathsAgree(modes))
}
