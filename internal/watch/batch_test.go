package watch

import (
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// TestHotFile checks batch's burst detector: a file is hot, and the loop
// waits for more of its writes, only when it is written again right after
// the drain that read it.
func TestHotFile(t *testing.T) {
	tests := []struct {
		name      string
		readInIt  bool          // read by the last drain
		after     time.Duration // the write's time after that drain ended
		wasDirty  bool
		wantHot   bool
		wantQueue bool // queued without the fstat (statless)
	}{
		{"written at once after its read", true, 200 * time.Microsecond, false, true, true},
		{"written just inside the window", true, hotWithin - time.Microsecond, false, true, true},
		{"written after the window", true, hotWithin, false, false, true},
		{"steady files: written 5 ms later", true, 5 * time.Millisecond, false, false, true},
		{"not read by the last drain", false, 0, false, false, true},
		{"queued already for another reason", true, 0, true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := New(Config{Roots: []string{t.TempDir()}}, newRecorder())
			if err != nil {
				t.Fatal(err)
			}
			end := time.Unix(1000, 0)
			now := end.Add(tt.after)
			f.hooks.now = func() time.Time { return now }
			l := newLoop(f, true)
			l.readSeq, l.drainFrom, l.drainEnd = 10, 9, end
			tr := &tracked{path: "app.log", readSeq: 9}
			if tt.readInIt {
				tr.readSeq = 10
			}
			if tt.wasDirty {
				l.markDirty(tr)
			}
			l.markWritten(tr)
			if l.hot != tt.wantHot {
				t.Errorf("hot = %v, want %v", l.hot, tt.wantHot)
			}
			if !tr.dirty || len(l.dirty) != 1 {
				t.Errorf("dirty %v, queue %d: want it queued once", tr.dirty, len(l.dirty))
			}
			if tr.onlyWrites != tt.wantQueue {
				t.Errorf("onlyWrites = %v, want %v", tr.onlyWrites, tt.wantQueue)
			}
		})
	}
}

// TestBatch checks what batch waits for: not hot, it handles what is
// queued and returns at once, even with nothing more coming (a wait there
// would block the loop); once a handled write makes a file hot, it waits
// coalesceFor for more.
func TestBatch(t *testing.T) {
	for _, hot := range []bool{false, true} {
		f, err := New(Config{Roots: []string{t.TempDir()}}, newRecorder())
		if err != nil {
			t.Fatal(err)
		}
		now := time.Unix(1000, 0)
		f.hooks.now = func() time.Time { return now }
		l := newLoop(f, true)
		a, b := &tracked{path: "/a"}, &tracked{path: "/b"}
		l.byPath["/a"], l.byPath["/b"] = a, b
		l.readSeq, l.drainFrom, l.drainEnd = 10, 9, now
		if hot {
			b.readSeq = 10 // read by the drain that just ended
		}
		events := make(chan fsnotify.Event, 4)
		events <- fsnotify.Event{Name: "/a", Op: fsnotify.Write}
		events <- fsnotify.Event{Name: "/b", Op: fsnotify.Write}
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		done := make(chan time.Duration)
		go func() {
			start := time.Now()
			l.batch(events, timer)
			done <- time.Since(start)
		}()
		select {
		case took := <-done:
			if hot && took < coalesceFor {
				t.Errorf("hot: batch returned after %v, before its %v wait", took, coalesceFor)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("hot %v: batch still waiting after 10s with nothing more coming", hot)
		}
		if !a.dirty || !b.dirty || len(events) != 0 {
			t.Errorf("hot %v: a %v b %v, %d left: want both queued events handled", hot, a.dirty, b.dirty, len(events))
		}
		if l.hot != hot {
			t.Errorf("l.hot = %v, want %v", l.hot, hot)
		}
	}
}
