package multiline

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// t0 is the injected clock's origin; the tests never read the real clock.
var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// feed runs data through j as a one-shot read would (lines at 1 ms apart,
// a final Flush(End)) and returns copies of the events.
func feed(t testing.TB, j *Joiner, data []byte) []Event {
	t.Helper()
	var out []Event
	keep := func(ev *Event, ok bool) {
		if ok {
			e := *ev
			e.Text = bytes.Clone(ev.Text)
			out = append(out, e)
		}
	}
	var off, num int64
	now := t0
	for len(data) > 0 {
		line := data
		next := off + int64(len(data))
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line = data[:i]
			next = off + int64(i) + 1
		}
		data = data[next-off:]
		num++
		keep(j.Add(line, off, next, num, now))
		off = next
		now = now.Add(time.Millisecond)
	}
	keep(j.Flush(End))
	return out
}

func format(evs []Event) []byte {
	var b bytes.Buffer
	for _, e := range evs {
		fmt.Fprintf(&b, "--- event line=%d lines=%d offset=%d end=%d reason=%s", e.Line, e.Lines, e.Offset, e.EndOffset, e.Reason)
		if e.Truncated {
			fmt.Fprintf(&b, " truncated dropped=%d", e.Dropped)
		}
		if e.Cont {
			b.WriteString(" cont")
		}
		b.WriteByte('\n')
		b.Write(e.Text)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	for _, preset := range []string{"java", "python", "go", "ruby"} {
		t.Run(preset, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", preset+".log"))
			if err != nil {
				t.Fatal(err)
			}
			j, err := New(Config{Preset: preset})
			if err != nil {
				t.Fatal(err)
			}
			got := format(feed(t, j, in))
			path := filepath.Join("testdata", preset+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("events differ from %s (rerun with -update and diff):\n%s", path, got)
			}
		})
	}
}
