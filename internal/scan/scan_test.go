package scan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// refLine is one line as the reference splitting sees it.
type refLine struct {
	Text string
	Off  int64
	Cut  bool
}

// refSplit is the reference: bytes.Split on '\n' with the cut applied. It
// also returns the bytes a Splitter must skip (cutBytesSkipped) and the cut count.
func refSplit(in []byte, maxLine int) (lines []refLine, cutLines, cutBytes int64) {
	parts := bytes.Split(in, []byte("\n"))
	if len(parts[len(parts)-1]) == 0 {
		parts = parts[:len(parts)-1] // input ended in '\n' (or was empty)
	}
	var off int64
	for _, p := range parts {
		l := refLine{Text: string(p), Off: off}
		if len(p) > maxLine {
			l.Text, l.Cut = string(p[:maxLine]), true
			cutLines++
			cutBytes += int64(len(p) - maxLine)
		}
		lines = append(lines, l)
		off += int64(len(p)) + 1
	}
	return lines, cutLines, cutBytes
}

// collect drains s with Next, checks the block invariants and splits the
// blocks into lines.
func collect(t testing.TB, s *Splitter, maxLine int) (lines []refLine, err error) {
	t.Helper()
	final := false
	for {
		block, err := s.Next()
		if err != nil {
			if len(block) != 0 {
				t.Fatalf("Next returned %d bytes with error %v", len(block), err)
			}
			return lines, err
		}
		if len(block) == 0 {
			t.Fatalf("Next returned an empty block without error")
		}
		if final {
			t.Fatalf("block %q after a block without final newline", block)
		}
		off := s.Offset()
		if s.Cut() {
			if len(block) != maxLine || bytes.IndexByte(block, '\n') >= 0 {
				t.Fatalf("cut block %q: want %d bytes without newline", block, maxLine)
			}
			lines = append(lines, refLine{Text: string(block), Off: off, Cut: true})
			continue
		}
		if block[len(block)-1] != '\n' {
			final = true
		}
		for len(block) > 0 {
			i := bytes.IndexByte(block, '\n')
			text, n := block, len(block)
			if i >= 0 {
				text, n = block[:i], i+1
			}
			if len(text) > maxLine {
				t.Fatalf("line of %d bytes escaped the cut at %d", len(text), maxLine)
			}
			lines = append(lines, refLine{Text: string(text), Off: off})
			block = block[n:]
			off += int64(n)
		}
	}
}

// check splits in with the given reader wrapper and compares with refSplit.
func check(t testing.TB, in []byte, bufSize, maxLine int, wrap func(io.Reader) io.Reader) {
	t.Helper()
	s := NewSplitter(wrap(bytes.NewReader(in)), bufSize, maxLine)
	got, err := collect(t, s, maxLine)
	if err != io.EOF {
		t.Fatalf("end error = %v, want io.EOF", err)
	}
	want, wantCL, wantCB := refSplit(in, maxLine)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("bufSize=%d maxLine=%d input %q\n got %+v\nwant %+v", bufSize, maxLine, in, got, want)
	}
	if s.CutLines() != wantCL || s.cutBytesSkipped() != wantCB {
		t.Fatalf("CutLines, cutBytesSkipped = %d, %d; want %d, %d", s.CutLines(), s.cutBytesSkipped(), wantCL, wantCB)
	}

	// Lines over the same input yields the same lines, numbered.
	s.Reset(wrap(bytes.NewReader(in)))
	var fromLines []refLine
	for l := range s.Lines() {
		if l.Num != int64(len(fromLines)+1) {
			t.Fatalf("line %d numbered %d", len(fromLines)+1, l.Num)
		}
		fromLines = append(fromLines, refLine{Text: string(l.Text), Off: l.Offset, Cut: l.Cut})
	}
	if s.Err() != nil || !reflect.DeepEqual(fromLines, want) {
		t.Fatalf("Lines: err %v\n got %+v\nwant %+v", s.Err(), fromLines, want)
	}

	// The same input with its start read by the caller into Head: all of
	// Head's worth, and half of it.
	full := min(len(in), len(s.Head()))
	for _, n := range []int{full, full / 2} {
		copy(s.Head(), in[:n])
		s.ResetHead(wrap(bytes.NewReader(in[n:])), n)
		got, err := collect(t, s, maxLine)
		if err != io.EOF || !reflect.DeepEqual(got, want) {
			t.Fatalf("ResetHead with %d bytes, bufSize=%d maxLine=%d input %q: err %v\n got %+v\nwant %+v", n, bufSize, maxLine, in, err, got, want)
		}
	}
}

var readers = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"plain", func(r io.Reader) io.Reader { return r }},
	{"onebyte", iotest.OneByteReader},
	{"half", iotest.HalfReader},
	{"dataerr", iotest.DataErrReader},
}

func TestSplitterBoundaries(t *testing.T) {
	const bs = 16
	line := func(n int) string { return strings.Repeat("x", n) + "\n" }
	tests := []struct {
		name    string
		in      string
		bufSize int
		maxLine int
	}{
		{"empty", "", bs, 64},
		{"only newlines", "\n\n\n\n", bs, 64},
		{"no final newline", "a\nbb\nccc", bs, 64},
		{"crlf", "a\r\nb\r\n\r\nc\r", bs, 64},
		{"nul and invalid utf8", "\x00\xff\xfe\n\xc3\x28\x00\n", bs, 64},
		{"line exactly bufSize with newline", line(bs - 1), bs, 64},
		{"line exactly bufSize", line(bs), bs, 64},
		{"line bufSize+1", line(bs + 1), bs, 64},
		{"line bufSize-1", line(bs - 2), bs, 64},
		{"straddling", "abcdefghij\nklmnopqrstuvwxyz\n0123\n", bs, 64},
		{"many lines over reads", strings.Repeat("0123456\n", 50), bs, 64},
		{"long line grows", "a\n" + line(100) + "b\n", bs, 128},
		{"line exactly maxLine", line(64) + "z\n", bs, 64},
		{"line exactly maxLine no newline", strings.Repeat("y", 64), bs, 64},
		{"line maxLine+1 cut", line(65) + "z\n", bs, 64},
		{"long line cut", "a\n" + line(1000) + "b\n", bs, 64},
		{"long line cut no newline", "a\n" + strings.Repeat("q", 1000), bs, 64},
		{"cut then crlf", strings.Repeat("w", 70) + "\r\nok\r\n", bs, 64},
		{"consecutive cuts", line(200) + line(300) + line(65), bs, 64},
		{"maxLine below bufSize", "abcdefghijkl\nab\nabcdefghijklmnopqrstuvwxyz\n", 64, 5},
		{"maxLine 1", "ab\n\na\nabc", 1, 1},
		{"bufSize 1", "hello\nworld\n\nend", 1, 64},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				check(t, []byte(tt.in), tt.bufSize, tt.maxLine, rd.wrap)
			})
		}
	}
}

func TestSplitterReturnsWholeBuffer(t *testing.T) {
	// 100 lines of 10 bytes in a 4 KiB buffer must come out as one block.
	in := bytes.Repeat([]byte("012345678\n"), 100)
	s := NewSplitter(bytes.NewReader(in), 4096, 4096)
	block, err := s.Next()
	if err != nil || !bytes.Equal(block, in) {
		t.Fatalf("Next = %d bytes, %v; want the whole %d-byte input in one block", len(block), err, len(in))
	}
}

func TestSplitterShrinks(t *testing.T) {
	in := "a\n" + strings.Repeat("x", 5000) + "\n" + strings.Repeat("b\n", 100)
	s := NewSplitter(strings.NewReader(in), 64, 1<<20)
	grown := false
	for {
		_, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(s.buf) > 64 {
			grown = true
		}
	}
	if !grown {
		t.Fatal("buffer never grew for a 5000-byte line")
	}
	if len(s.buf) != 64 {
		t.Fatalf("buffer is %d bytes after the long line, want 64", len(s.buf))
	}
}

// errAfter returns its data and then err, with the error on the last read.
type errAfter struct {
	data []byte
	err  error
}

func (r *errAfter) Read(p []byte) (int, error) {
	n := copy(p, r.data)
	r.data = r.data[n:]
	if len(r.data) == 0 {
		return n, r.err
	}
	return n, nil
}

func TestSplitterReadError(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name   string
		in     string
		blocks []string
	}{
		{"whole lines then error", "a\nb\n", []string{"a\nb\n"}},
		{"partial line delivered before error", "a\nbc", []string{"a\n", "bc"}},
		{"no data", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSplitter(&errAfter{data: []byte(tt.in), err: boom}, 64, 64)
			var blocks []string
			for {
				b, err := s.Next()
				if err != nil {
					if !errors.Is(err, boom) {
						t.Fatalf("error = %v, want boom", err)
					}
					break
				}
				blocks = append(blocks, string(b))
			}
			if fmt.Sprint(blocks) != fmt.Sprint(tt.blocks) {
				t.Fatalf("blocks = %q, want %q", blocks, tt.blocks)
			}
			if _, err := s.Next(); !errors.Is(err, boom) {
				t.Fatalf("error is not sticky: %v", err)
			}
		})
	}
}

func TestSplitterNoProgress(t *testing.T) {
	s := NewSplitter(iotest.ErrReader(nil), 16, 16)
	if _, err := s.Next(); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("error = %v, want io.ErrNoProgress", err)
	}
}

func TestLines(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		maxLine int
		want    []Line
	}{
		{"empty", "", 8, nil},
		{"basic", "ab\r\n\ncd", 8, []Line{
			{Text: []byte("ab\r"), Num: 1, Offset: 0},
			{Text: []byte(""), Num: 2, Offset: 4},
			{Text: []byte("cd"), Num: 3, Offset: 5},
		}},
		{"cut", "0123456789\nz\n", 4, []Line{
			{Text: []byte("0123"), Num: 1, Offset: 0, Cut: true},
			{Text: []byte("z"), Num: 2, Offset: 11},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSplitter(iotest.HalfReader(strings.NewReader(tt.in)), 4, tt.maxLine)
			var got []Line
			for l := range s.Lines() {
				l.Text = bytes.Clone(l.Text)
				got = append(got, l)
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %s\nwant %s", fmtLines(got), fmtLines(tt.want))
			}
		})
	}
}

func fmtLines(ls []Line) string {
	var b strings.Builder
	for _, l := range ls {
		fmt.Fprintf(&b, "{%q #%d @%d cut=%v} ", l.Text, l.Num, l.Offset, l.Cut)
	}
	return b.String()
}

func TestLinesErrAndBreak(t *testing.T) {
	boom := errors.New("boom")
	s := NewSplitter(&errAfter{data: []byte("a\nb\nc"), err: boom}, 64, 64)
	n := 0
	for range s.Lines() {
		n++
	}
	if n != 3 || !errors.Is(s.Err(), boom) {
		t.Fatalf("lines = %d, Err = %v; want 3, boom", n, s.Err())
	}

	s.Reset(strings.NewReader("a\nb\nc\n"))
	for l := range s.Lines() {
		if l.Num == 2 {
			break
		}
	}
	if s.Err() != nil {
		t.Fatalf("Err after break = %v", s.Err())
	}
	// The iteration resumes where the consumer stopped.
	for l := range s.Lines() {
		if string(l.Text) != "c" || l.Num != 3 {
			t.Fatalf("resumed at %q #%d, want \"c\" #3", l.Text, l.Num)
		}
	}
}

func TestHoldPartialFollowsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	if err := os.WriteFile(path, []byte("one\ntw"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	appendFile := func(s string) {
		t.Helper()
		w, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.WriteString(s); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	s := NewSplitter(f, 4, 64)
	s.SetHoldPartial(true)
	next := func(want string, wantErr error) {
		t.Helper()
		b, err := s.Next()
		if string(b) != want || err != wantErr {
			t.Fatalf("Next = %q, %v; want %q, %v", b, err, want, wantErr)
		}
	}
	next("one\n", nil)
	next("", io.EOF)
	if string(s.Pending()) != "tw" {
		t.Fatalf("Pending = %q, want \"tw\"", s.Pending())
	}
	next("", io.EOF) // still nothing new
	appendFile("o\nthr")
	next("two\n", nil)
	if s.Offset() != 4 {
		t.Fatalf("Offset = %d, want 4", s.Offset())
	}
	next("", io.EOF)
	appendFile("ee")
	next("", io.EOF)
	if got := string(s.Flush()); got != "three" || s.Offset() != 8 {
		t.Fatalf("Flush = %q at %d, want \"three\" at 8", got, s.Offset())
	}
	if s.Flush() != nil || len(s.Pending()) != 0 {
		t.Fatal("Flush did not clear the held line")
	}
	next("", io.EOF)
}

func TestHoldPartialCutLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	if err := os.WriteFile(path, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := NewSplitter(f, 4, 4)
	s.SetHoldPartial(true)
	if b, err := s.Next(); string(b) != "0123" || !s.Cut() || err != nil {
		t.Fatalf("Next = %q, %v, cut %v; want the cut line", b, err, s.Cut())
	}
	if _, err := s.Next(); err != io.EOF {
		t.Fatalf("Next = %v, want io.EOF", err)
	}
	if err := os.WriteFile(path, []byte("0123456789abc\nok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := s.Next(); string(b) != "ok\n" || err != nil {
		t.Fatalf("Next = %q, %v; want the line after the cut one", b, err)
	}
	if s.cutBytesSkipped() != 9 || s.CutLines() != 1 {
		t.Fatalf("cutBytesSkipped, CutLines = %d, %d; want 9, 1", s.cutBytesSkipped(), s.CutLines())
	}
}

func TestIsBinary(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", false},
		{"plain\n", false},
		{"\xff\xfe not utf8", false},
		{"a\x00b", true},
	}
	for _, tt := range tests {
		if got := IsBinary([]byte(tt.in)); got != tt.want {
			t.Errorf("IsBinary(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// logData returns n bytes of log-like lines of varied length.
func logData(n int) []byte {
	var b bytes.Buffer
	b.Grow(n + 256)
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "2024-05-01T12:00:%02d.%06dZ host app[%d]: request id=%x status=%d %s\n",
			i%60, i, i%977, i*7919, 200+i%5, strings.Repeat("k=v ", i%17))
	}
	return b.Bytes()[:n]
}

func TestNextAllocs(t *testing.T) {
	data := logData(1 << 20)
	r := bytes.NewReader(data)
	s := NewSplitter(r, 64<<10, 1<<20)
	allocs := testing.AllocsPerRun(5, func() {
		r.Reset(data)
		s.Reset(r)
		for {
			if _, err := s.Next(); err != nil {
				break
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("splitting 1 MiB allocates %v times, want 0", allocs)
	}
}

func BenchmarkSplitter(b *testing.B) {
	data := logData(64 << 20)
	r := bytes.NewReader(data)
	s := NewSplitter(r, 0, 0)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(data)
		s.Reset(r)
		for {
			if _, err := s.Next(); err != nil {
				break
			}
		}
	}
}

func BenchmarkLines(b *testing.B) {
	data := logData(64 << 20)
	r := bytes.NewReader(data)
	s := NewSplitter(r, 0, 0)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(data)
		s.Reset(r)
		for range s.Lines() {
		}
	}
}

func FuzzSplitter(f *testing.F) {
	f.Add([]byte("a\nbb\nccc"), uint8(4), uint8(2), uint8(0))
	f.Add([]byte("\r\n\x00\xff\n\n"), uint8(1), uint8(1), uint8(1))
	f.Add([]byte(strings.Repeat("long line ", 20)+"\nshort\n"), uint8(7), uint8(30), uint8(2))
	f.Fuzz(func(t *testing.T, in []byte, bufSize, maxLine, mode uint8) {
		bs := int(bufSize)%64 + 1
		ml := int(maxLine)%80 + 1
		check(t, in, bs, ml, readers[int(mode)%len(readers)].wrap)
	})
}
