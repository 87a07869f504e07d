package pipeline

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/logscan/logscan/internal/config"
)

var update = flag.Bool("update", false, "rewrite golden files")

// compile builds a pipeline from flags the way the command line does.
func compile(t testing.TB, flags map[string]any) *Pipeline {
	t.Helper()
	cfg, err := config.Load(config.Sources{Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(cfg, Env{Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// scanAll runs s over one file's content split into blocks of whole lines
// of at most blockSize bytes (a line longer than that is its own block).
func scanAll(s *Scanner, name string, content []byte, blockSize int) []byte {
	s.Begin(name, "", 1, false)
	for off := 0; off < len(content); {
		end := min(off+blockSize, len(content))
		if end < len(content) {
			if i := bytes.LastIndexByte(content[off:end], '\n'); i >= 0 {
				end = off + i + 1
			} else if j := bytes.IndexByte(content[end:], '\n'); j >= 0 {
				end += j + 1
			} else {
				end = len(content)
			}
		}
		if !s.Block(content[off:end], int64(off), 0) {
			break
		}
		off = end
	}
	s.End()
	out := bytes.Clone(s.Buf)
	s.Buf = s.Buf[:0]
	return out
}

const sample = "start\nERROR one\ninfo two\nerror three\nERROR two\nwarn five\n\nERROR\r\nlast ERROR"

// TestScannerGolden prints sample through the stages for each output mode
// and compares with testdata/NAME.golden.
func TestScannerGolden(t *testing.T) {
	cases := []struct {
		name  string
		flags map[string]any
	}{
		{"lines", map[string]any{"match": []string{"ERROR"}}},
		{"numbers", map[string]any{"match": []string{"ERROR"}, "output.line_number": true}},
		{"invert", map[string]any{"match": []string{"ERROR"}, "invert": true, "output.line_number": true}},
		{"invert-count", map[string]any{"match": []string{"ERROR"}, "invert": true, "output.count": true}},
		{"count", map[string]any{"match": []string{"(?i)error"}, "output.count": true}},
		{"max-count", map[string]any{"match": []string{"ERROR"}, "output.max_count": 2, "output.line_number": true}},
		{"context", map[string]any{"match": []string{"two"}, "output.context": 1, "output.line_number": true}},
		{"context-zero", map[string]any{"match": []string{"ERROR"}, "output.context": 0, "output.line_number": true}},
		{"files-without", map[string]any{"match": []string{"NOPE"}, "output.files_without_match": true}},
		{"json", map[string]any{"match": []string{"ERROR"}, "output.format": "json"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := compile(t, c.flags)
			got := scanAll(NewScanner(p, 1<<20, nil), "f.log", []byte(sample), 16)
			checkGolden(t, filepath.Join("testdata", c.name+".golden"), got)
		})
	}
}

// checkGolden compares got with the golden file, rewriting it with -update.
func checkGolden(t *testing.T, golden string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// FuzzBlockPathsAgree checks that the block-level fast paths (the
// prefiltered select, -v by spans, -c by newline counts) print exactly what
// the line-at-a-time path prints, for any content and block size.
func FuzzBlockPathsAgree(f *testing.F) {
	f.Add([]byte(sample), uint8(16), uint8(0))
	f.Add([]byte("a\nb\n\nERROR\nERROR\n"), uint8(1), uint8(3))
	f.Add([]byte("no newline ERROR"), uint8(200), uint8(5))
	f.Add([]byte("a\nb\nc\nERROR\nd\ne\nERROR\nERROR\nf\n\ng\nERROR"), uint8(3), uint8(8))
	f.Add([]byte("x\ny\nz\nw\nv\nERROR\nu"), uint8(4), uint8(9))
	modes := []map[string]any{
		{"match": []string{"ERROR"}},
		{"match": []string{"ERROR"}, "invert": true},
		{"match": []string{"ERROR"}, "invert": true, "output.count": true},
		{"match": []string{"ERROR"}, "output.count": true, "output.line_number": true},
		{"match": []string{"(?i)err", "b"}, "output.line_number": true},
		{"match": []string{"ERROR"}, "invert": true, "output.max_count": 2, "output.line_number": true},
		{"match": []string{""}, "invert": true, "output.line_number": true},
		{"match": []string{"^$"}, "invert": true, "output.files_with_matches": true},
		{"match": []string{"ERROR"}, "output.context": 2, "output.line_number": true},
		{"match": []string{"ERROR", "^$"}, "output.before_context": 3, "output.line_number": true},
		{"match": []string{"(?i)err"}, "output.after_context": 1, "output.max_count": 2, "output.line_number": true},
		{"match": []string{"b"}, "output.context": 0, "output.line_number": true},
		{"match": []string{"ERROR"}, "output.before_context": 1, "output.after_context": 4, "output.format": "json"},
	}
	f.Fuzz(pathsAgree(modes))
}

// pathsAgree is the body of the fuzz targets that hold a block-level path
// to the line-at-a-time one: the content, cut into blocks of at most
// block+1 bytes, prints the same through both for the mode'th flags.
func pathsAgree(modes []map[string]any) func(t *testing.T, content []byte, block, mode uint8) {
	return func(t *testing.T, content []byte, block, mode uint8) {
		flags := modes[int(mode)%len(modes)]
		fast := compile(t, flags)
		slow := *fast
		slow.lineByLine = true
		size := int(block) + 1
		a := scanAll(NewScanner(fast, 1<<20, nil), "f", content, size)
		b := scanAll(NewScanner(&slow, 1<<20, nil), "f", content, size)
		if !bytes.Equal(a, b) {
			t.Fatalf("mode %v block %d:\nfast %q\nslow %q", flags, size, a, b)
		}
	}
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(m.Run())
}

func TestLeavesFilesEarly(t *testing.T) {
	tests := []struct {
		name  string
		flags map[string]any
		want  bool
	}{
		{"print", map[string]any{}, false},
		{"count", map[string]any{"output.count": true}, false},
		{"invert", map[string]any{"invert": true}, false},
		{"quiet", map[string]any{"output.quiet": true}, true},
		{"files-with-matches", map[string]any{"output.files_with_matches": true}, true},
		{"files-without-match", map[string]any{"output.files_without_match": true}, true},
		{"max-count 0", map[string]any{"output.max_count": 0}, true},
		{"max-count 2", map[string]any{"output.max_count": 2}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.flags["match"] = []string{"ERROR"}
			if got := compile(t, tt.flags).LeavesFilesEarly(); got != tt.want {
				t.Fatalf("LeavesFilesEarly() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestScannerBufferGrowsOnce: a search that prints little keeps the small
// first buffer, and one that prints a lot gets the full-size buffer in one
// step, so that every flush sees it, not a copy grown by doubling.
func TestScannerBufferGrowsOnce(t *testing.T) {
	const flushAt = 1 << 20
	dense := bytes.Repeat([]byte("2026-12-02 GET /api 200\n"), 200000) // ~4.8 MB, every line selected
	tests := []struct {
		name     string
		flags    map[string]any
		wantCap  int // the buffer's capacity after the file
		wantFull bool
	}{
		{"sparse", map[string]any{"match": []string{"nothing here"}}, initialBuf, false},
		{"count", map[string]any{"match": []string{"GET"}, "output.count": true}, initialBuf, false},
		{"dense", map[string]any{"match": []string{"GET"}}, flushAt + 64<<10, true},
		{"dense with names", map[string]any{"match": []string{"GET"}, "output.with_filename": "always"}, flushAt + 64<<10, true},
		{"invert", map[string]any{"match": []string{"nothing here"}, "invert": true}, flushAt + 64<<10, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flushes := 0
			s := NewScanner(compile(t, tt.flags), flushAt, func(s *Scanner) {
				flushes++
				if c := cap(s.Buf); c != flushAt+64<<10 {
					t.Fatalf("flush %d saw a buffer of capacity %d, want %d", flushes, c, flushAt+64<<10)
				}
				s.Buf = s.Buf[:0]
			})
			scanAll(s, "app.log", dense, 256<<10)
			if c := cap(s.Buf); c != tt.wantCap {
				t.Errorf("capacity %d after the file, want %d", c, tt.wantCap)
			}
			if tt.wantFull != (flushes > 0) {
				t.Errorf("%d flushes, want some: %v", flushes, tt.wantFull)
			}
		})
	}
}
