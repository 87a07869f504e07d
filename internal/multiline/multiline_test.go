package multiline

import (
	"bytes"
	"errors"
	"fmt"
	"regexp/syntax"
	"strings"
	"testing"
	"time"
)

func mustNew(t testing.TB, c Config) *Joiner {
	t.Helper()
	j, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// texts runs the lines through a fresh joiner and returns the events' texts.
func texts(t *testing.T, c Config, lines ...string) []string {
	t.Helper()
	var out []string
	for _, e := range feed(t, mustNew(t, c), []byte(strings.Join(lines, "\n"))) {
		out = append(out, string(e.Text))
	}
	return out
}

func TestCustom(t *testing.T) {
	for _, tc := range []struct {
		name  string
		c     Config
		lines []string
		want  []string
	}{
		{"start", Config{Start: `^\d{4}-`},
			[]string{"x", "2026-1 a", "b", "c", "2026-2 d", "e"},
			[]string{"x", "2026-1 a\nb\nc", "2026-2 d\ne"}},
		{"continue", Config{Continue: `^\s`},
			[]string{" lead", "a", " b", "\tc", "d", "e"},
			[]string{" lead", "a\n b\n\tc", "d", "e"}},
		{"both: neither starts", Config{Start: `^S`, Continue: `^c`},
			[]string{"S1", "c", "x", "c", "S2", "c"},
			[]string{"S1\nc", "x\nc", "S2\nc"}},
		{"start sees no CR", Config{Continue: `^x$`},
			[]string{"a\r", "x\r", "b"},
			[]string{"a\r\nx\r", "b"}},
		{"neither set: lines alone", Config{},
			[]string{"a", " b"},
			[]string{"a", " b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := texts(t, tc.c, tc.lines...)
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestPresetEdges(t *testing.T) {
	for _, tc := range []struct {
		preset string
		lines  []string
		want   []string
	}{
		{"java", []string{"\tat a.B.c(B.java:1)", "x"}, []string{"\tat a.B.c(B.java:1)", "x"}},
		{"java", []string{"log", "java.lang.Error: x\r", "\tat a"}, []string{"log\njava.lang.Error: x\r\n\tat a"}},
		{"java", []string{"log", "com.acme.Failure: x", "com.acme.failure: x", "Error: x"},
			[]string{"log\ncom.acme.Failure: x", "com.acme.failure: x", "Error: x"}},
		{"java", []string{"log", "Bar", "FooException"}, []string{"log", "Bar\nFooException"}},
		{"python", []string{"a", "", "b"}, []string{"a", "", "b"}},
		{"python", []string{"Traceback (most recent call last):", "  File x", "E: m", "next"},
			[]string{"Traceback (most recent call last):\n  File x\nE: m", "next"}},
		{"go", []string{"a", "", "b"}, []string{"a", "", "b"}},
		{"go", []string{"panic: x", "main.main()", "log (x)"}, []string{"panic: x\nmain.main()", "log (x)"}},
		{"go", []string{"panic: x", "panic: y", "", "goroutine 1 [running]:", "panic: z"},
			[]string{"panic: x\npanic: y\n\ngoroutine 1 [running]:", "panic: z"}},
		{"ruby", []string{"a", "x.rb:1:in 'f': m (E)", "x.rb:2:in 'g': m (E)"},
			[]string{"a", "x.rb:1:in 'f': m (E)", "x.rb:2:in 'g': m (E)"}},
		{"ruby", []string{"x.rb:1:in 'f': m (E)", "\tfrom x.rb:2:in 'g'", "y.rb:1:in 'h': c (F)", "\tfrom y"},
			[]string{"x.rb:1:in 'f': m (E)\n\tfrom x.rb:2:in 'g'\ny.rb:1:in 'h': c (F)\n\tfrom y"}},
	} {
		got := texts(t, Config{Preset: tc.preset}, tc.lines...)
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
			t.Errorf("%s %q:\ngot  %q\nwant %q", tc.preset, tc.lines, got, tc.want)
		}
	}
}

func TestLimits(t *testing.T) {
	type ev struct {
		text     string
		r        Reason
		trunc    bool
		cont     bool
		dropped  int
		lines    int
		off, end int64
	}
	for _, tc := range []struct {
		name  string
		c     Config
		lines []string
		want  []ev
	}{
		{"max lines", Config{Preset: "java", MaxLines: 2},
			[]string{"a", " 1", " 2", " 3", "b"},
			[]ev{{"a\n 1", MaxLines, true, false, 0, 2, 0, 5}, {" 2\n 3", NextStart, false, true, 0, 2, 5, 11}, {"b", End, false, false, 0, 1, 11, 12}}},
		{"exactly max lines is not cut", Config{Preset: "java", MaxLines: 2},
			[]string{"a", " 1", "b"},
			[]ev{{"a\n 1", NextStart, false, false, 0, 2, 0, 5}, {"b", End, false, false, 0, 1, 5, 6}}},
		{"max bytes", Config{Preset: "java", MaxBytes: 6},
			[]string{"ab", " cd", " e", "f"},
			[]ev{{"ab\n cd", MaxBytes, true, false, 0, 2, 0, 7}, {" e", NextStart, false, true, 0, 1, 7, 10}, {"f", End, false, false, 0, 1, 10, 11}}},
		{"huge line", Config{Preset: "java", MaxBytes: 4},
			[]string{"abcdefgh", " x", "y"},
			[]ev{{"abcd", MaxBytes, true, false, 4, 1, 0, 9}, {" x", NextStart, false, true, 0, 1, 9, 12}, {"y", End, false, false, 0, 1, 12, 13}}},
		{"huge continuation", Config{Preset: "java", MaxBytes: 4},
			[]string{"a", " bcdefg"},
			[]ev{{"a", MaxBytes, true, false, 0, 1, 0, 2}, {" bcd", End, true, true, 3, 1, 2, 9}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs := feed(t, mustNew(t, tc.c), []byte(strings.Join(tc.lines, "\n")))
			var got []ev
			for _, e := range evs {
				got = append(got, ev{string(e.Text), e.Reason, e.Truncated, e.Cont, e.Dropped, e.Lines, e.Offset, e.EndOffset})
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestPending(t *testing.T) {
	j := mustNew(t, Config{Preset: "java"})
	if _, _, ok := j.Pending(); ok {
		t.Fatal("pending before any line")
	}
	j.Add([]byte("first"), 0, 6, 1, t0)
	j.Add([]byte("\tat x"), 6, 12, 2, t0)
	j.Add([]byte("\tat y"), 12, 18, 3, t0)
	if off, line, ok := j.Pending(); off != 0 || line != 1 || !ok {
		t.Errorf("Pending = %d %d %v, want the oldest line 0 1 true", off, line, ok)
	}
	if ev, ok := j.Add([]byte("second"), 18, 25, 4, t0); !ok || ev.Lines != 3 {
		t.Fatalf("Add(second) = %+v %v", ev, ok)
	}
	if off, line, ok := j.Pending(); off != 18 || line != 4 || !ok {
		t.Errorf("Pending = %d %d %v, want 18 4 true", off, line, ok)
	}
	j.Reset()
	if _, _, ok := j.Pending(); ok {
		t.Error("pending after Reset")
	}
	if _, ok := j.Flush(End); ok {
		t.Error("Flush after Reset emitted")
	}
}

func TestIdle(t *testing.T) {
	j := mustNew(t, Config{Preset: "java", IdleFlush: 2 * time.Second})
	now := t0
	j.Add([]byte("boom"), 0, 5, 1, now)
	var off int64 = 5
	for i := range 5 { // a slow trace, one line a second: never split
		now = now.Add(time.Second)
		if j.Due(now) {
			t.Fatalf("due after frame %d", i)
		}
		if ev, ok := j.Add([]byte("\tat x"), off, off+6, 0, now); ok {
			t.Fatalf("frame %d flushed %+v", i, ev)
		}
		off += 6
	}
	if d, ok := j.Deadline(); !ok || !d.Equal(now.Add(2*time.Second)) {
		t.Errorf("Deadline = %v %v, want %v", d, ok, now.Add(2*time.Second))
	}
	if j.Due(now.Add(2*time.Second - 1)) {
		t.Error("due before the deadline")
	}
	if !j.Due(now.Add(2 * time.Second)) {
		t.Error("not due at the deadline")
	}
	// A 3 s gap: the next Add flushes for idle, even for a continuation.
	ev, ok := j.Add([]byte("\tat late"), off, off+9, 0, now.Add(3*time.Second))
	if !ok || ev.Reason != Idle || ev.Lines != 6 {
		t.Fatalf("Add after gap = %+v %v, want the 6-line event, reason idle", ev, ok)
	}
	ev, ok = j.Flush(Idle)
	if !ok || string(ev.Text) != "\tat late" || ev.Cont {
		t.Errorf("Flush = %+v %v", ev, ok)
	}
	if _, ok := j.Deadline(); ok {
		t.Error("deadline with nothing pending")
	}

	never := mustNew(t, Config{IdleFlush: -1, Start: "^S"})
	never.Add([]byte("S"), 0, 2, 1, t0)
	if never.Due(t0.Add(time.Hour)) {
		t.Error("negative IdleFlush is due")
	}
	if _, ok := never.Add([]byte("c"), 2, 4, 2, t0.Add(time.Hour)); ok {
		t.Error("negative IdleFlush flushed")
	}
}

func TestFlushReasons(t *testing.T) {
	for r := NextStart; r <= End; r++ {
		j := mustNew(t, Config{Preset: "go"})
		j.Add([]byte("x"), 0, 2, 1, t0)
		ev, ok := j.Flush(r)
		if !ok || ev.Reason != r || string(ev.Text) != "x" {
			t.Errorf("Flush(%v) = %+v %v", r, ev, ok)
		}
		if _, ok := j.Flush(r); ok {
			t.Errorf("second Flush(%v) emitted", r)
		}
	}
	names := []string{"next_start", "idle", "max_lines", "max_bytes", "rotate", "shutdown", "end"}
	for i, n := range names {
		if got := Reason(i).String(); got != n {
			t.Errorf("Reason(%d) = %q, want %q", i, got, n)
		}
	}
	if got := Reason(99).String(); got != "reason(99)" {
		t.Errorf("Reason(99) = %q", got)
	}
}

// A Rotate flush forgets the preset's state: a new file's first lines are
// not the end of the old file's traceback.
func TestFlushResetsState(t *testing.T) {
	j := mustNew(t, Config{Preset: "python"})
	j.Add([]byte("Traceback (most recent call last):"), 0, 35, 1, t0)
	j.Flush(Rotate)
	j.Add([]byte("a"), 0, 2, 1, t0)
	if ev, ok := j.Add([]byte("b"), 2, 4, 2, t0); !ok || string(ev.Text) != "a" {
		t.Errorf("after rotate, a and b were joined: %+v %v", ev, ok)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		c        Config
		key, val string
	}{
		{Config{Start: "("}, "multiline.start", "("},
		{Config{Continue: "[a"}, "multiline.continue", "[a"},
		{Config{Preset: "cobol"}, "multiline.preset", "cobol"},
		{Config{Preset: "java", Start: "x"}, "multiline.preset", "java"},
		{Config{Preset: "go", MaxLines: -1}, "multiline.max_lines", "-1"},
		{Config{Preset: "go", MaxBytes: -5}, "multiline.max_bytes", "-5"},
	} {
		_, err := New(tc.c)
		var e *Error
		if !errors.As(err, &e) || e.Key != tc.key || e.Value != tc.val {
			t.Errorf("New(%+v) = %v, want an *Error for %s %q", tc.c, err, tc.key, tc.val)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.key+": ") || !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.val)) {
			t.Errorf("message %q does not name %s and %q", err, tc.key, tc.val)
		}
	}
	_, err := New(Config{Start: "("})
	var re *syntax.Error
	if !errors.As(err, &re) {
		t.Errorf("%v does not wrap the *regexp.Error", err)
	}
}

func TestEnabledAndClone(t *testing.T) {
	if (Config{MaxLines: 3}).Enabled() || !(Config{Preset: "go"}).Enabled() || !(Config{Continue: "x"}).Enabled() {
		t.Error("Enabled is wrong")
	}
	j := mustNew(t, Config{Preset: "python", MaxLines: 7})
	j.Add([]byte("Traceback (most recent call last):"), 0, 35, 1, t0)
	c := j.Clone()
	if _, _, ok := c.Pending(); ok || c.maxLines != 7 || c.buf != nil {
		t.Error("Clone is not a fresh joiner with the same limits")
	}
	c.Add([]byte("a"), 0, 2, 1, t0)
	if _, ok := c.Add([]byte("b"), 2, 4, 2, t0); !ok {
		t.Error("Clone shares the preset state")
	}
}

var ordinary = [][]byte{
	[]byte("2026-12-01 10:00:00.001 INFO  [main] com.acme.App - request served in 3 ms status=200 path=/orders/42"),
	[]byte("2026-12-01 10:00:00.002 WARN  [pool-1] com.acme.db.Pool - connection 7 idle for 30s, closing"),
	[]byte("I, [2026-12-01T10:00:00.210 #311]  INFO -- : Completed 200 OK in 12ms (Views: 3.1ms)"),
}

var frame = []byte("\tat com.acme.App.main(App.java:9)")

func TestAddAllocs(t *testing.T) {
	for _, c := range []Config{{Preset: "java"}, {Preset: "python"}, {Preset: "go"}, {Preset: "ruby"}, {Start: `^\d{4}-`}} {
		if c.Start != "" && raceEnabled {
			continue // the regexp's machines come from a sync.Pool, which -race empties at random
		}
		j := mustNew(t, c)
		var off int64
		now := t0
		add := func() {
			for _, l := range ordinary {
				next := off + int64(len(l)) + 1
				j.Add(l, off, next, 0, now)
				off = next
			}
			j.Add(frame, off, off+int64(len(frame))+1, 0, now)
			off += int64(len(frame)) + 1
		}
		add()
		if n := testing.AllocsPerRun(100, add); n != 0 {
			t.Errorf("%+v: %v allocs per run, want 0", c, n)
		}
	}
}

func BenchmarkAdd(b *testing.B) {
	for _, preset := range []string{"java", "python", "go", "ruby"} {
		b.Run(preset, func(b *testing.B) {
			j := mustNew(b, Config{Preset: preset})
			size := 0
			for _, l := range ordinary {
				size += len(l) + 1
			}
			b.SetBytes(int64(size))
			var off int64
			for b.Loop() {
				for _, l := range ordinary {
					next := off + int64(len(l)) + 1
					j.Add(l, off, next, 0, t0)
					off = next
				}
			}
		})
	}
}

// Text of an emitted event survives the Add that emitted it, even though the
// new line is stored in the other buffer.
func TestTextSurvivesAdd(t *testing.T) {
	j := mustNew(t, Config{Preset: "java"})
	j.Add([]byte("one"), 0, 4, 1, t0)
	ev, _ := j.Add([]byte("two"), 4, 8, 2, t0)
	if !bytes.Equal(ev.Text, []byte("one")) {
		t.Errorf("Text = %q, want one", ev.Text)
	}
}
