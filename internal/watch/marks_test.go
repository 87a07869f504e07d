package watch

import "testing"

// TestMarks: marks stay sorted and bounded, the newest is always kept, and
// as reads accumulate they thin out with age instead of forgetting all but
// the last few, so that an older copy still meets one.
func TestMarks(t *testing.T) {
	tests := []struct {
		name    string
		reads   int   // reads of 100 bytes each
		cut     int64 // then moved back to here (0: not)
		oldest  int64 // the oldest mark is at or before this
		newest  int64
		atLeast int // marks kept
	}{
		{"few reads: all kept", 5, 0, 100, 500, 5},
		{"many reads: reach back", 10000, 0, 800000, 1000000, maxMarks},
		{"ignores offsets not past the last", 3, 0, 100, 300, 3},
		{"cut back", 10, 550, 200, 500, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ms marks
			for i := 1; i <= tt.reads; i++ {
				ms.add(int64(i)*100, uint32(i))
				if tt.name[:7] == "ignores" {
					ms.add(int64(i)*100, 0) // the same offset again: no new boundary
					ms.add(0, 0)
				}
			}
			if tt.cut > 0 {
				ms.cut(tt.cut)
			}
			if ms.n < tt.atLeast || ms.n > maxMarks {
				t.Fatalf("%d marks, want %d to %d", ms.n, tt.atLeast, maxMarks)
			}
			for i := 1; i < ms.n; i++ {
				if ms.m[i].off <= ms.m[i-1].off {
					t.Fatalf("marks out of order: %v", ms.m[:ms.n])
				}
			}
			if got := ms.m[ms.n-1]; got.off != tt.newest || got.crc != uint32(tt.newest/100) {
				t.Errorf("newest mark %+v, want offset %d", got, tt.newest)
			}
			if ms.m[0].off > tt.oldest {
				t.Errorf("oldest mark at %d, want at or before %d: %v", ms.m[0].off, tt.oldest, ms.m[:ms.n])
			}
			if list := ms.appendTo(nil, tt.newest-1); len(list) != ms.n-1 {
				t.Errorf("list below the newest has %d marks, want %d", len(list), ms.n-1)
			}
		})
	}
}
