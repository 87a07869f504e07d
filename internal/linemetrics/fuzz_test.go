package linemetrics

import (
	"bytes"
	"testing"
	"time"
)

// FuzzObserve feeds arbitrary lines through the capture of a regexp into
// one metric of each type: nothing may panic, the pedantic registry must
// accept the exposition, and a checkpoint must restore it exactly.
func FuzzObserve(f *testing.F) {
	for _, l := range append(append([]string{}, webLines...), apiLines...) {
		f.Add([]byte(l), uint8(0))
	}
	f.Add([]byte("GET /\xff\xfe 200 1e308\nGET / 200 1e308"), uint8(1))
	f.Add([]byte("other other other 0x1p-2 -0"), uint8(2))
	f.Add([]byte("GET / 200 1 1e308\nGET / 200 1 1e308"), uint8(0)) // a sum of +Inf
	f.Add([]byte("\x00 \x00 \x00 \x00 \x00"), uint8(3))
	f.Fuzz(func(t *testing.T, text []byte, seed uint8) {
		c := newClock()
		s := newSet(t, c, allDefs()...)
		m := extractor().NewMatch()
		// Each line of text, and text itself as one event, by both rules;
		// seed moves the clock so that some series expire.
		for i, l := range append(bytes.Split(text, []byte{'\n'}), text) {
			for rule := range 2 {
				m.Reset(l, nil, rule)
				s.Observe(rule, m)
			}
			c.t = c.t.Add(time.Duration(seed) * time.Second * time.Duration(i))
			s.Expire()
		}
		want := exposition(t, s)
		full, err := s.Checkpoint(true)
		if err != nil {
			t.Fatal(err)
		}
		r := newSet(t, c, allDefs()...)
		if w, err := r.Restore([][]byte{full}); err != nil || len(w) > 0 {
			t.Fatalf("Restore: %v %q", err, w)
		}
		if got := exposition(t, r); got != want {
			t.Fatalf("restored:\n%s\nwant:\n%s", got, want)
		}
	})
}
