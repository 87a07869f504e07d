package input

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"go.uber.org/goleak"
)

// The zstd decoder starts goroutines; every test must leave none behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func gzipped(t testing.TB, parts ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, p := range parts { // one gzip member per part
		w := gzip.NewWriter(&b)
		if _, err := io.WriteString(w, p); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func zstded(t testing.TB, parts ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, p := range parts { // one zstd frame per part
		w, err := zstd.NewWriter(&b, zstd.WithEncoderConcurrency(1))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, p); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func write(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readAll opens path and reads it to the end, returning what was read
// before any error.
func readAll(t testing.TB, o *Opener, path string) (string, bool, error) {
	t.Helper()
	r, compressed, closeFn, err := o.Open(path)
	if err != nil {
		return "", compressed, err
	}
	data, err := io.ReadAll(r)
	if cerr := closeFn(); cerr != nil {
		t.Fatalf("closing %s: %v", path, cerr)
	}
	return string(data), compressed, err
}

// readAllInto is readAll through OpenInto. It overwrites head after the
// open, as a splitter does with decoded lines, so that a compressed file
// whose decoder still read the head would decode garbage.
func readAllInto(t testing.TB, o *Opener, path string) (string, bool, error) {
	t.Helper()
	head := make([]byte, FirstRead)
	r, n, compressed, closeFn, err := o.OpenInto(path, head)
	if err != nil {
		return "", compressed, err
	}
	got := append([]byte(nil), head[:n]...)
	for i := range head {
		head[i] = 0xff
	}
	data, err := io.ReadAll(r)
	if cerr := closeFn(); cerr != nil {
		t.Fatalf("closing %s: %v", path, cerr)
	}
	return string(append(got, data...)), compressed, err
}

func TestOpen(t *testing.T) {
	const text = "first line\nsecond line\r\nno newline"
	tests := []struct {
		name           string
		file           string
		data           func(t testing.TB) []byte
		decompress     bool
		want           string
		wantCompressed bool
		wantErr        error // matched with errors.Is
		wantErrText    string
	}{
		{"plain", "app.log", func(t testing.TB) []byte { return []byte(text) }, true, text, false, nil, ""},
		{"empty plain", "app.log", func(t testing.TB) []byte { return nil }, true, "", false, nil, ""},
		{"gz", "app.log.gz", func(t testing.TB) []byte { return gzipped(t, text) }, true, text, true, nil, ""},
		{"multi-member gz", "app.log.gz", func(t testing.TB) []byte { return gzipped(t, "a\n", "b\n", "c") }, true, "a\nb\nc", true, nil, ""},
		{"zst", "app.log.zst", func(t testing.TB) []byte { return zstded(t, text) }, true, text, true, nil, ""},
		{"multi-frame zst", "app.log.ZST", func(t testing.TB) []byte { return zstded(t, "a\n", "b\n") }, true, "a\nb\n", true, nil, ""},
		{"gz by magic", "app.log.1", func(t testing.TB) []byte { return gzipped(t, text) }, true, text, true, nil, ""},
		{"zst by magic", "app.log.1", func(t testing.TB) []byte { return zstded(t, text) }, true, text, true, nil, ""},
		{"magic beats extension", "app.log.gz", func(t testing.TB) []byte { return zstded(t, text) }, true, text, true, nil, ""},
		{"empty gz", "app.log.gz", func(t testing.TB) []byte { return nil }, true, "", true, nil, ""},
		{"empty zst", "app.log.zst", func(t testing.TB) []byte { return nil }, true, "", true, nil, ""},
		{"plain text named gz", "app.log.gz", func(t testing.TB) []byte { return []byte(text) }, true, "", true, gzip.ErrHeader, "app.log.gz"},
		{"off: gz skipped", "app.log.gz", func(t testing.TB) []byte { return gzipped(t, text) }, false, "", true, ErrSkipCompressed, "app.log.gz"},
		{"off: zst by magic skipped", "app.log", func(t testing.TB) []byte { return zstded(t, text) }, false, "", true, ErrSkipCompressed, "app.log"},
		{"off: plain read", "app.log", func(t testing.TB) []byte { return []byte(text) }, false, text, false, nil, ""},
		{"missing", "", nil, true, "", false, os.ErrNotExist, "absent"},
		// Around the first read: the whole file in it, one byte more than
		// it, and a compressed stream longer than it.
		{"first read minus one", "app.log", sized(FirstRead - 1), true, string(sized(FirstRead - 1)(nil)), false, nil, ""},
		{"first read exactly", "app.log", sized(FirstRead), true, string(sized(FirstRead)(nil)), false, nil, ""},
		{"first read plus one", "app.log", sized(FirstRead + 1), true, string(sized(FirstRead + 1)(nil)), false, nil, ""},
		{"gz longer than first read", "app.log.gz", func(t testing.TB) []byte { return gzipped(t, string(sized(3*FirstRead)(nil))) }, true, string(sized(3 * FirstRead)(nil)), true, nil, ""},
		{"short first read minus one", "app.log", sized(ShortFirstRead - 1), true, string(sized(ShortFirstRead - 1)(nil)), false, nil, ""},
		{"short first read exactly", "app.log", sized(ShortFirstRead), true, string(sized(ShortFirstRead)(nil)), false, nil, ""},
		{"short first read plus one", "app.log", sized(ShortFirstRead + 1), true, string(sized(ShortFirstRead + 1)(nil)), false, nil, ""},
	}
	// Every case under both first-read sizes (0 is the default): the
	// boundaries of each are in the table, and a file may end in either;
	// and through both Open and OpenInto.
	for _, first := range []int{0, ShortFirstRead} {
		for _, tt := range tests {
			for _, into := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/first=%d/into=%v", tt.name, first, into), func(t *testing.T) {
					dir := t.TempDir()
					path := filepath.Join(dir, "absent")
					if tt.data != nil {
						path = write(t, dir, tt.file, tt.data(t))
					}
					o := NewOpener(tt.decompress)
					o.FirstReadSize = first
					defer o.Close()
					read := readAll
					if into {
						read = readAllInto
					}
					got, compressed, err := read(t, o, path)
					if tt.wantErr != nil {
						if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), filepath.Join(dir, tt.wantErrText)) {
							t.Fatalf("error %v, want %v naming %s", err, tt.wantErr, tt.wantErrText)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if got != tt.want || compressed != tt.wantCompressed {
						t.Fatalf("read %q compressed=%v, want %q compressed=%v", got, compressed, tt.want, tt.wantCompressed)
					}
				})
			}
		}
	}
}

func TestOpenCorrupt(t *testing.T) {
	text := strings.Repeat("a log line that compresses\n", 20000)
	tests := []struct {
		name    string
		file    string
		data    func(t testing.TB) []byte
		wantErr error
		full    bool // all the content is decoded before the error
	}{
		{"gz bad checksum", "x.gz", func(t testing.TB) []byte {
			b := gzipped(t, text)
			b[len(b)-8] ^= 0xff // CRC-32 in the trailer
			return b
		}, gzip.ErrChecksum, true},
		{"gz truncated", "x.gz", func(t testing.TB) []byte {
			b := gzipped(t, text)
			return b[:len(b)/2]
		}, io.ErrUnexpectedEOF, false},
		{"gz garbage member after a good one", "x.gz", func(t testing.TB) []byte {
			return append(gzipped(t, text), 0x1f, 0x8b, 0, 0, 0)
		}, nil, true},
		{"zst truncated", "x.zst", func(t testing.TB) []byte {
			b := zstded(t, text)
			return b[:len(b)/2]
		}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := write(t, dir, tt.file, tt.data(t))
			o := NewOpener(true)
			defer o.Close()
			got, _, err := readAll(t, o, path)
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v, want one naming %s", err, path)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if !strings.HasPrefix(text, got) || tt.full && got != text || !tt.full && len(got) == 0 {
				t.Fatalf("decoded %d bytes before the error (full=%v), want a prefix of the %d-byte content", len(got), tt.full, len(text))
			}
			// The pooled decoders still work for the next file.
			good := write(t, dir, "good.log.gz", gzipped(t, "ok\n"))
			if s, _, err := readAll(t, o, good); s != "ok\n" || err != nil {
				t.Fatalf("after a corrupt file: read %q, %v", s, err)
			}
		})
	}
}

func TestOpenerReusesDecoders(t *testing.T) {
	dir := t.TempDir()
	o := NewOpener(true)
	defer o.Close()
	var gzr *gzip.Reader
	var zd *zstd.Decoder
	for i := range 6 {
		want := fmt.Sprintf("file %d\n", i)
		path := write(t, dir, fmt.Sprintf("f%d.gz", i), gzipped(t, want))
		if i%2 == 1 {
			path = write(t, dir, fmt.Sprintf("f%d.zst", i), zstded(t, want))
		}
		got, _, err := readAll(t, o, path)
		if err != nil || got != want {
			t.Fatalf("%s: read %q, %v; want %q", path, got, err, want)
		}
		if i == 1 {
			gzr, zd = o.gz, o.zd
		}
	}
	if o.gz != gzr || o.zd != zd || gzr == nil || zd == nil {
		t.Fatal("decoders were replaced instead of reset")
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestOpenFIFO(t *testing.T) {
	tests := []struct {
		name string
		data func(t testing.TB) []byte
		want string
	}{
		{"plain", func(t testing.TB) []byte { return []byte("a\nb\n") }, "a\nb\n"},
		{"gzip by magic", func(t testing.TB) []byte { return gzipped(t, "a\nb\n") }, "a\nb\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pipe")
			if err := syscall.Mkfifo(path, 0o644); err != nil {
				t.Fatal(err)
			}
			data := tt.data(t)
			// The writer ends on its own once the data is written;
			// open blocks until this reader appears.
			werr := make(chan error, 1)
			go func() {
				f, err := os.OpenFile(path, os.O_WRONLY, 0)
				if err != nil {
					werr <- err
					return
				}
				_, err = f.Write(data)
				werr <- errors.Join(err, f.Close())
			}()
			o := NewOpener(true)
			defer o.Close()
			got, _, err := readAll(t, o, path)
			if err := <-werr; err != nil {
				t.Fatal(err)
			}
			if err != nil || got != tt.want {
				t.Fatalf("read %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestIsCompressedName(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"a.gz", true}, {"a.log.GZ", true}, {"a.zst", true}, {"a.Zst", true},
		{"a.log", false}, {"a.tgz", false}, {"gz", false}, {"a.gz.1", false}, {"", false},
	}
	for _, tt := range tests {
		if got := IsCompressedName(tt.path); got != tt.want {
			t.Errorf("IsCompressedName(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

// sized returns n bytes of numbered lines, the last one cut.
func sized(n int) func(testing.TB) []byte {
	return func(testing.TB) []byte {
		var b []byte
		for i := 0; len(b) < n; i++ {
			b = fmt.Appendf(b, "line %d\n", i)
		}
		return b[:n]
	}
}

// TestOpenDirectory checks that a directory opened as a file fails on read
// with an error naming it, as with os.Open.
func TestOpenDirectory(t *testing.T) {
	dir := t.TempDir()
	o := NewOpener(true)
	defer o.Close()
	_, _, err := readAll(t, o, dir)
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("error %v, want one naming %s", err, dir)
	}
}

func TestOpenAllocs(t *testing.T) {
	dir := t.TempDir()
	gzPath := write(t, dir, "a.gz", gzipped(t, strings.Repeat("line\n", 1000)))
	zstPath := write(t, dir, "a.zst", zstded(t, strings.Repeat("line\n", 1000)))
	o := NewOpener(true)
	defer o.Close()
	buf := make([]byte, 32<<10)
	for _, path := range []string{gzPath, zstPath} {
		run := func() {
			r, _, closeFn, err := o.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			for {
				if _, err := r.Read(buf); err != nil {
					break
				}
			}
			if err := closeFn(); err != nil {
				t.Fatal(err)
			}
		}
		run() // create the decoder
		// os.Open, Stat and the closure cost a few allocations per
		// file; the decoders must not add their state on top.
		if n := testing.AllocsPerRun(20, run); n > 8 {
			t.Errorf("%s: %v allocations per file, want at most 8", path, n)
		}
	}
}

func benchDecompress(b *testing.B, name string, data []byte, size int) {
	path := write(b, b.TempDir(), name, data)
	o := NewOpener(true)
	defer o.Close()
	buf := make([]byte, 256<<10)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		r, _, closeFn, err := o.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf); err != nil {
			b.Fatal(err)
		}
		if err := closeFn(); err != nil {
			b.Fatal(err)
		}
	}
}

func logText(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "2024-05-01T12:00:%02d.%06dZ host app[%d]: request id=%x status=%d\n", i%60, i, i%977, i*7919, 200+i%5)
	}
	return b.String()
}

func BenchmarkOpenGzip(b *testing.B) {
	text := logText(16 << 20)
	benchDecompress(b, "bench.gz", gzipped(b, text), len(text))
}

func BenchmarkOpenZstd(b *testing.B) {
	text := logText(16 << 20)
	benchDecompress(b, "bench.zst", zstded(b, text), len(text))
}
