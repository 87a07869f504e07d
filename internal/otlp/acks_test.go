package otlp

import "testing"

// TestAcks drives the per-file FIFOs through batches done in and out of
// order. Each step adds a record or completes a batch, then checks Held of
// every file named in want.
func TestAcks(t *testing.T) {
	type step struct {
		add  string // file id; with seq and off
		seq  uint64
		off  int64
		done uint64           // a batch to complete, when add is ""
		want map[string]int64 // Held after the step; -1: none
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"in order", []step{
			{add: "A", seq: 1, off: 0, want: map[string]int64{"A": 0}},
			{add: "A", seq: 1, off: 10, want: map[string]int64{"A": 0}},
			{add: "A", seq: 2, off: 20, want: map[string]int64{"A": 0}},
			{done: 1, want: map[string]int64{"A": 20}},
			{done: 2, want: map[string]int64{"A": -1}},
		}},
		{"out of order", []step{
			{add: "A", seq: 1, off: 0},
			{add: "A", seq: 2, off: 20},
			{add: "A", seq: 3, off: 30},
			{done: 2, want: map[string]int64{"A": 0}},
			{done: 3, want: map[string]int64{"A": 0}},
			{done: 1, want: map[string]int64{"A": -1}},
		}},
		{"middle first", []step{
			{add: "A", seq: 1, off: 0},
			{add: "A", seq: 2, off: 20},
			{add: "A", seq: 3, off: 30},
			{done: 2, want: map[string]int64{"A": 0}},
			{done: 1, want: map[string]int64{"A": 30}},
			{done: 3, want: map[string]int64{"A": -1}},
		}},
		{"two files", []step{
			{add: "A", seq: 1, off: 0},
			{add: "B", seq: 1, off: 5},
			{add: "B", seq: 2, off: 15},
			{add: "A", seq: 3, off: 40},
			{done: 1, want: map[string]int64{"A": 40, "B": 15}},
			{done: 3, want: map[string]int64{"A": -1, "B": 15}},
			{done: 2, want: map[string]int64{"A": -1, "B": -1}},
		}},
		{"lowest offset in a batch", []step{
			// Offsets within a batch are in order in practice; the
			// lowest is kept whatever the order.
			{add: "A", seq: 1, off: 50},
			{add: "A", seq: 1, off: 30, want: map[string]int64{"A": 30}},
		}},
		{"reused after empty", []step{
			{add: "A", seq: 1, off: 0},
			{done: 1, want: map[string]int64{"A": -1}},
			{add: "B", seq: 2, off: 7, want: map[string]int64{"A": -1, "B": 7}},
			{add: "A", seq: 2, off: 9, want: map[string]int64{"A": 9, "B": 7}},
			{done: 2, want: map[string]int64{"A": -1, "B": -1}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := acks{files: make(map[string]*fileQ)}
			byBatch := map[uint64][]*fileQ{}
			for i, s := range tc.steps {
				if s.add != "" {
					if q := a.add(s.add, s.seq, s.off); q != nil {
						byBatch[s.seq] = append(byBatch[s.seq], q)
					}
				} else {
					for _, q := range byBatch[s.done] {
						a.done(q, s.done)
					}
					delete(byBatch, s.done)
				}
				for id, want := range s.want {
					off, ok := a.held(id)
					if want < 0 && ok || want >= 0 && (!ok || off != want) {
						t.Errorf("step %d: held(%s) = %d, %v; want %d", i, id, off, ok, want)
					}
				}
			}
			if len(byBatch) == 0 && len(a.files) != 0 {
				t.Errorf("%d FIFOs left with every batch done", len(a.files))
			}
		})
	}
}

// TestAcksCompact checks that a file that is never idle does not grow its
// FIFO without bound.
func TestAcksCompact(t *testing.T) {
	a := acks{files: make(map[string]*fileQ)}
	var qs []*fileQ
	for seq := uint64(1); seq <= 10000; seq++ {
		qs = append(qs, a.add("A", seq, int64(seq)))
		if seq > 2 {
			a.done(qs[seq-3], seq-2)
		}
	}
	q := a.files["A"]
	if cap(q.ents) > 16 {
		t.Errorf("FIFO capacity %d with 2 entries live", cap(q.ents))
	}
	if off, _ := a.held("A"); off != 9999 {
		t.Errorf("held %d, want 9999", off)
	}
}
