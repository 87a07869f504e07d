package multiline

import (
	"bytes"
	"testing"
	"time"
)

// fragments are trace-shaped lines of every preset, so that random picks
// drive the state machines through their states rather than only "start".
var fragments = []string{
	"2026-12-01 10:00:00 ERROR [main] Foo - boom",
	"java.lang.IllegalStateException: boom",
	"\tat com.acme.A.b(A.java:1)",
	"\t... 12 more",
	"Caused by: java.io.IOException: x",
	"\tSuppressed: a.B: c",
	"Traceback (most recent call last):",
	"  File \"/a.py\", line 3, in f",
	"KeyError: 'x'",
	"",
	"During handling of the above exception, another exception occurred:",
	"The above exception was the direct cause of the following exception:",
	"panic: boom [recovered]",
	"fatal error: deadlock",
	"goroutine 1 [running]:",
	"main.main()",
	"created by main.f in goroutine 1",
	"exit status 2",
	"x.rb:1:in 'f': m (E)",
	"\tfrom x.rb:2:in 'g'",
	"x.rb:3:in `h'",
	"line\r",
}

// fuzzLines turns data into lines: a byte below len(fragments) picks one,
// any other takes that many following bytes (minus '\n') as a random line.
// A byte's top bit also asks for a 3 s gap before the line.
func fuzzLines(data []byte) (lines [][]byte, gaps []bool) {
	for i := 0; i < len(data); i++ {
		b := data[i]
		gaps = append(gaps, b&0x80 != 0)
		b &= 0x7f
		if int(b) < len(fragments) {
			lines = append(lines, []byte(fragments[b]))
			continue
		}
		n := min(int(b)-len(fragments), len(data)-i-1)
		lines = append(lines, bytes.ReplaceAll(data[i+1:i+1+n], []byte("\n"), []byte("n")))
		i += n
	}
	return lines, gaps
}

func FuzzJoiner(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 2, 5, 0, 6, 7, 8, 9, 10, 9, 6, 7, 8, 0}, uint8(3), uint8(40))
	f.Add([]byte{12, 9, 14, 15, 2, 16, 9, 14, 15, 17, 0, 14, 15}, uint8(0), uint8(0))
	f.Add([]byte{18, 19, 19, 20, 18, 19, 0, 21, 21, 0x80 | 2, 60, 'a', 'b'}, uint8(2), uint8(8))
	f.Fuzz(func(t *testing.T, data []byte, maxLines, maxBytes uint8) {
		lines, gaps := fuzzLines(data)
		for _, preset := range []string{"java", "python", "go", "ruby"} {
			c := Config{Preset: preset, MaxLines: int(maxLines % 8), MaxBytes: int(maxBytes)}
			checkJoin(t, mustNew(t, c), lines, gaps)
		}
	})
}

// checkJoin feeds lines (each ending in '\n') and checks that the events
// give them back in order, whole except for bytes counted as Dropped, with
// contiguous offsets and within the limits.
func checkJoin(t *testing.T, j *Joiner, lines [][]byte, gaps []bool) {
	var evs []Event
	keep := func(ev *Event, ok bool) {
		if ok {
			e := *ev
			e.Text = bytes.Clone(ev.Text)
			evs = append(evs, e)
		}
	}
	var off int64
	now := t0
	for i, l := range lines {
		if gaps[i] {
			now = now.Add(3 * time.Second)
		}
		next := off + int64(len(l)) + 1
		keep(j.Add(l, off, next, int64(i+1), now))
		off = next
	}
	keep(j.Flush(End))

	var pos, i int64
	lost, dropped := 0, 0
	prevCut := false
	for _, e := range evs {
		if e.Offset != pos || e.Line != i+1 || e.Lines < 1 || e.Lines > j.maxLines || len(e.Text) > j.maxBytes {
			t.Fatalf("event %+v at offset %d, line %d, limits %d/%d", e, pos, i+1, j.maxLines, j.maxBytes)
		}
		if e.Cont != prevCut {
			t.Fatalf("event %+v: Cont=%v after a cut=%v", e, e.Cont, prevCut)
		}
		parts := bytes.Split(e.Text, []byte("\n"))
		if len(parts) != e.Lines {
			t.Fatalf("event %q has %d parts, Lines=%d", e.Text, len(parts), e.Lines)
		}
		for _, p := range parts {
			in := lines[i]
			if !bytes.HasPrefix(in, p) {
				t.Fatalf("line %d: got %q, want %q", i+1, p, in)
			}
			lost += len(in) - len(p)
			pos += int64(len(in)) + 1
			i++
		}
		if e.EndOffset != pos {
			t.Fatalf("event %+v ends at %d, want %d", e, e.EndOffset, pos)
		}
		dropped += e.Dropped
		prevCut = e.Reason == MaxLines || e.Reason == MaxBytes
		if e.Truncated != (prevCut || e.Dropped > 0) {
			t.Fatalf("event %+v: Truncated does not match its reason", e)
		}
	}
	if i != int64(len(lines)) || pos != off || lost != dropped {
		t.Fatalf("events cover %d of %d lines, %d of %d bytes; %d bytes cut, %d counted",
			i, len(lines), pos, off, lost, dropped)
	}
}
