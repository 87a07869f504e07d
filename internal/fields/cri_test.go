package fields

import (
	"bytes"
	"strings"
	"testing"
)

var criLine = []byte(`2026-03-14T09:26:53.589794202Z stdout F level=info msg="GET /api/v1/orders" status=200`)

func TestParseCRI(t *testing.T) {
	tests := []struct {
		in                string
		time, stream, msg string
		partial           bool
		err               string
	}{
		{in: string(criLine), time: "2026-03-14T09:26:53.589794202Z", stream: "stdout", msg: `level=info msg="GET /api/v1/orders" status=200`},
		{in: "2026-03-14T09:26:53+01:00 stderr P part one \n", time: "2026-03-14T09:26:53+01:00", stream: "stderr", msg: "part one ", partial: true},
		{in: "2026-03-14T09:26:53Z stdout F:x:y msg", time: "2026-03-14T09:26:53Z", stream: "stdout", msg: "msg"},
		{in: "2026-03-14T09:26:53Z stdout F ", time: "2026-03-14T09:26:53Z", stream: "stdout", msg: ""},
		{in: "2026-03-14T09:26:53Z stdout F", time: "2026-03-14T09:26:53Z", stream: "stdout", msg: ""},
		{in: "", err: "time"},
		{in: "hello world", err: "time"},
		{in: "2026-03-14 09:26:53 stdout F x", err: "time"},
		{in: "2026-03-14T09:26:53Z stdin F x", err: "stream"},
		{in: "2026-03-14T09:26:53Z stdout X x", err: "tag"},
		{in: "2026-03-14T09:26:53Z stdout", err: "stream"},
		{in: "2026-03-14T09:26:53Z stdout  x", err: "tag"},
	}
	for _, tt := range tests {
		c, err := ParseCRI([]byte(tt.in))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseCRI(%q) error = %v, want one about %s", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || string(c.Time) != tt.time || string(c.Stream) != tt.stream || string(c.Msg) != tt.msg || c.Partial != tt.partial {
			t.Errorf("ParseCRI(%q) = {%q %q %v %q}, %v", tt.in, c.Time, c.Stream, c.Partial, c.Msg, err)
		}
	}
}

func TestParseCRINoAllocs(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ParseCRI(criLine); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocs per line, want 0", allocs)
	}
}

func TestJoinerCRI(t *testing.T) {
	lines := []string{
		"2026-01-01T00:00:01Z stdout P hel",
		"2026-01-01T00:00:02Z stdout P lo ",
		"2026-01-01T00:00:03Z stdout F world",
		"2026-01-01T00:00:04Z stdout F alone",
		"2026-01-01T00:00:05Z stdout P tail",
	}
	var j Joiner
	var got []string
	buf := make([]byte, 0, 64)
	for _, l := range lines {
		buf = append(buf[:0], l...) // the line buffer is reused, as a reader's is
		c, err := ParseCRI(buf)
		if err != nil {
			t.Fatal(err)
		}
		if msg, ok := j.AddCRI(c); ok {
			got = append(got, string(j.Time())+" "+string(msg))
			if string(msg) == "alone" && &msg[0] != &buf[len(buf)-5] {
				t.Error("a lone full part was copied")
			}
		}
	}
	if !j.Pending() || string(j.Flush()) != "tail" || j.Pending() || j.Flush() != nil {
		t.Error("pending tail not flushed")
	}
	want := []string{"2026-01-01T00:00:01Z hello world", "2026-01-01T00:00:04Z alone"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("joined %q, want %q", got, want)
	}
}

func TestJoinerTruncates(t *testing.T) {
	j := Joiner{MaxBytes: 5}
	j.Add([]byte("abc"), true)
	j.Add([]byte("def"), true)
	msg, ok := j.Add([]byte("ghi"), false)
	if !ok || string(msg) != "abcde" || !j.Truncated() {
		t.Errorf("got %q %v truncated=%v", msg, ok, j.Truncated())
	}
	if msg, ok := j.Add([]byte("0123456789"), false); !ok || len(msg) != 10 || j.Truncated() {
		t.Errorf("lone part: %q %v truncated=%v", msg, ok, j.Truncated())
	}
}

func FuzzJoiner(f *testing.F) {
	f.Add([]byte("ab\x00cd\x01ef"), 4)
	f.Fuzz(func(t *testing.T, parts []byte, max int) {
		j := Joiner{MaxBytes: max % 64}
		var want []byte
		limit := j.MaxBytes
		if limit <= 0 {
			limit = DefaultMaxBytes
		}
		for _, p := range bytes.Split(parts, []byte{0}) {
			partial := len(p) > 0 && p[0] == 1
			joined := j.Pending()
			msg, ok := j.Add(p, partial)
			want = append(want, p...)
			if !ok {
				continue
			}
			if joined && len(want) > limit {
				want = want[:limit]
			}
			if !bytes.Equal(msg, want) {
				t.Fatalf("joined %q, want %q", msg, want)
			}
			want = want[:0]
		}
	})
}

func FuzzParseCRI(f *testing.F) {
	f.Add(criLine)
	f.Add([]byte("2026-03-14T09:26:53+01:00 stderr P:x part"))
	f.Fuzz(func(t *testing.T, line []byte) {
		c, err := ParseCRI(line)
		if err != nil {
			return
		}
		if !isRFC3339(c.Time) || (string(c.Stream) != "stdout" && string(c.Stream) != "stderr") {
			t.Fatalf("%q: accepted %+v", line, c)
		}
		if !bytes.HasSuffix(bytes.TrimSuffix(line, []byte("\n")), c.Msg) {
			t.Fatalf("%q: message %q is not the line's tail", line, c.Msg)
		}
	})
}

func BenchmarkParseCRI(b *testing.B) {
	b.SetBytes(int64(len(criLine)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCRI(criLine); err != nil {
			b.Fatal(err)
		}
	}
}
