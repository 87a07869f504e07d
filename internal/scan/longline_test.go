package scan

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"
)

// filler is the content of the long line: no '\n', and a period that does
// not divide the buffer sizes, so a misplaced copy shows in the text.
var filler = []byte("abcdefghijklmnopqrstuvw")

// fillerBlock repeats filler, so that longInput copies it in runs of about
// 64 KiB rather than byte by byte.
var fillerBlock = bytes.Repeat(filler, 64<<10/len(filler)+2)

// longInput generates head, then one line of long filler bytes, then tail
// (which starts with the '\n' ending the long line), without holding the
// input in memory and without allocating. It records the largest read asked
// for.
type longInput struct {
	head, tail []byte
	long       int64

	pos     int64
	maxRead int
}

func (r *longInput) reset() { r.pos = 0 }

func (r *longInput) Read(p []byte) (int, error) {
	r.maxRead = max(r.maxRead, len(p))
	hl, ll, tl := int64(len(r.head)), r.long, int64(len(r.tail))
	n := 0
	for n < len(p) && r.pos < hl+ll+tl {
		var m int
		switch {
		case r.pos < hl:
			m = copy(p[n:], r.head[r.pos:])
		case r.pos < hl+ll:
			off := r.pos - hl
			m = int(min(int64(len(p)-n), ll-off))
			m = copy(p[n:n+m], fillerBlock[off%int64(len(filler)):])
		default:
			m = copy(p[n:], r.tail[r.pos-hl-ll:])
		}
		n += m
		r.pos += int64(m)
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// numbered returns n lines "<prefix> i\n".
func numbered(prefix string, n int) []byte {
	var b []byte
	for i := range n {
		b = fmt.Appendf(b, "%s %d\n", prefix, i)
	}
	return b
}

// checkLongLine reads in through s with Lines and checks every line: the
// head lines, the long one (cut to maxLine and counted once if longer) and
// the tail lines after it.
func checkLongLine(t *testing.T, s *Splitter, in *longInput, maxLine int) {
	t.Helper()
	const nLines = 10
	want := 0
	for l := range s.Lines() {
		var wantText string
		switch {
		case want < nLines:
			wantText = fmt.Sprintf("head %d", want)
		case want == nLines:
			wantLen, wantCut := in.long, false
			if in.long > int64(maxLine) {
				wantLen, wantCut = int64(maxLine), true
			}
			if int64(len(l.Text)) != wantLen || l.Cut != wantCut || l.Offset != int64(len(in.head)) {
				t.Fatalf("long line: %d bytes at %d, cut %v; want %d at %d, cut %v",
					len(l.Text), l.Offset, l.Cut, wantLen, len(in.head), wantCut)
			}
			for i, c := range l.Text {
				if c != filler[i%len(filler)] {
					t.Fatalf("long line: byte %d is %q, want %q", i, c, filler[i%len(filler)])
				}
			}
			want++
			continue
		default:
			wantText = fmt.Sprintf("tail %d", want-nLines-1)
		}
		if string(l.Text) != wantText || l.Cut {
			t.Fatalf("line %d: %q (cut %v), want %q", l.Num, l.Text, l.Cut, wantText)
		}
		want++
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if want != 2*nLines+1 {
		t.Fatalf("got %d lines, want %d", want, 2*nLines+1)
	}
	wantCutLines, wantCutBytes := int64(0), int64(0)
	if in.long > int64(maxLine) {
		wantCutLines, wantCutBytes = 1, in.long-int64(maxLine)
	}
	if s.CutLines() != wantCutLines || s.cutBytesSkipped() != wantCutBytes {
		t.Fatalf("CutLines, cutBytesSkipped = %d, %d; want %d, %d", s.CutLines(), s.cutBytesSkipped(), wantCutLines, wantCutBytes)
	}
}

// TestSplitterLongLineMemory checks that a long line costs one buffer of
// MaxLine+1 bytes, allocated once for the Splitter's life, whatever the
// line's length: growing by doubling would allocate about twice the cap per
// long line and leave the outgrown copies to the GC. Reads stay at most
// BufSize, so the pages of that buffer a shorter line never reaches are
// never touched. The lines after the long one must come out intact.
func TestSplitterLongLineMemory(t *testing.T) {
	const bufSize, maxLine = 64 << 10, 1 << 20
	// The Splitter's own allocations (its two buffers) plus what Lines and
	// the testing package may allocate meanwhile.
	const bound = bufSize + maxLine + 1 + 128<<10
	tests := []struct {
		name string
		long int64
	}{
		{"just over bufSize", bufSize + 1},
		{"half the cap", maxLine / 2},
		{"exactly the cap", maxLine},
		{"cap plus one", maxLine + 1},
		{"cap plus bufSize", maxLine + bufSize},
		{"64 times the cap", 64 * maxLine},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &longInput{head: numbered("head", 10), tail: append([]byte("\n"), numbered("tail", 10)...), long: tt.long}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			s := NewSplitter(in, bufSize, maxLine)
			checkLongLine(t, s, in, maxLine)
			runtime.ReadMemStats(&after)
			if got := after.TotalAlloc - before.TotalAlloc; got > bound {
				t.Errorf("one long line allocated %d bytes, want at most %d (BufSize + MaxLine + 1 + slack)", got, bound)
			}
			if in.maxRead > bufSize {
				t.Errorf("largest read %d bytes, want at most BufSize %d", in.maxRead, bufSize)
			}

			// Once the big buffer exists, more long lines, in this input or
			// after Reset, allocate nothing.
			allocs := testing.AllocsPerRun(3, func() {
				in.reset()
				s.Reset(in)
				for {
					if _, err := s.Next(); err != nil {
						break
					}
				}
			})
			if allocs != 0 {
				t.Errorf("a long line after the first allocated %v times, want 0", allocs)
			}
			in.reset()
			s.Reset(in)
			checkLongLine(t, s, in, maxLine)
		})
	}
}
