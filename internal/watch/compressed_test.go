package watch

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/logscan/logscan/internal/state"
	"github.com/logscan/logscan/internal/testutil"
)

type codec struct {
	ext string
	enc func(t testing.TB, s string) []byte
}

var codecs = []codec{{".gz", gzipBytes}, {".zst", zstdBytes}}

func gzipBytes(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func zstdBytes(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := zstd.NewWriter(&b, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// compressFile does what logrotate's compress does to a rotated file: it
// writes from+ext and removes from.
func compressFile(t *testing.T, cd codec, from string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, from+cd.ext, string(cd.enc(t, string(data))))
	if err := os.Remove(from); err != nil {
		t.Fatal(err)
	}
}

// logrotate rotates log as logrotate does with compress, and with
// delaycompress when delay is set: the numbered old logs move up one, the
// one due is compressed, log becomes log.1 and a new empty log is created.
func logrotate(t *testing.T, cd codec, log string, delay bool) {
	t.Helper()
	for i := 8; i >= 1; i-- {
		if from := fmt.Sprintf("%s.%d%s", log, i, cd.ext); exists(from) {
			mustRename(t, from, fmt.Sprintf("%s.%d%s", log, i+1, cd.ext))
		}
	}
	if delay && exists(log+".1") {
		mustRename(t, log+".1", log+".2")
		compressFile(t, cd, log+".2")
	}
	mustRename(t, log, log+".1")
	if !delay {
		compressFile(t, cd, log+".1")
	}
	writeFile(t, log, "")
}

func union(ms ...map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}

// TestCompressedRotationRunOnce is the requirement: the first
// incremental run reports what a one-shot run reports, compressed files
// included; later runs report only what is new; and a compressed rotation of
// a file already read is not reported again, with compress alone or with
// delaycompress, for .gz and .zst, for files under and over the 1 KiB head.
func TestCompressedRotationRunOnce(t *testing.T) {
	for _, cd := range codecs {
		for _, delay := range []bool{false, true} {
			for _, n := range []int{3, 100} {
				name := fmt.Sprintf("%s delaycompress=%v lines=%d", cd.ext, delay, n)
				t.Run(name, func(t *testing.T) {
					dir := t.TempDir()
					stateFile := filepath.Join(t.TempDir(), "state.json")
					log := filepath.Join(dir, "a.log")
					gen0 := numbered("gen0-line-with-some-padding-", 1, n)
					gen1 := numbered("gen1-line-with-some-padding-", 1, n)
					writeFile(t, log, gen1)
					writeFile(t, log+".1"+cd.ext, string(cd.enc(t, gen0)))
					cfg := Config{Roots: []string{dir}, StateFile: stateFile, StartAt: "beginning", Decompress: true}
					run := func(what string, want map[string]int64) {
						t.Helper()
						rec := newRecorder()
						f, logs := runOnce(t, cfg, rec)
						if e := f.Stats().ReadErrors.Load(); e != 0 {
							t.Errorf("%s: ReadErrors = %d\n%s", what, e, logs)
						}
						wantNums(t, nums(t, rec), want)
					}
					run("first run", union(oneShotNums(gen1, 0), oneShotNums(gen0, 0)))

					testutil.AppendFile(t, log, "gen1-late\n") // after the run, before the rotation
					logrotate(t, cd, log, delay)
					testutil.AppendFile(t, log, "gen2-1\n")
					run("after the first rotation", map[string]int64{"gen1-late": int64(n + 1), "gen2-1": 1})

					testutil.AppendFile(t, log, "gen2-2\n")
					logrotate(t, cd, log, delay)
					testutil.AppendFile(t, log, "gen3-1\n")
					run("after the second rotation", map[string]int64{"gen2-2": 2, "gen3-1": 1})
					run("nothing new", map[string]int64{})
				})
			}
		}
	}
}

// TestCompressedStart: the rules for compressed files that are not known to
// be a rotation: at a first start per StartAt, after a run that did not
// track compressed files per StartAt too (they may have been there all
// along), and after one that did, read whole (they are new). Decompress and
// Filter decide whether they are looked at; cut lines are numbered as in
// one-shot.
func TestCompressedStart(t *testing.T) {
	long := strings.Repeat("L", 40)
	plain := "p1\n"
	packed := "c1\n" + long + "\nc3\n"
	all := union(map[string]int64{"p1": 1}, oneShotNums(packed, 0))
	tests := []struct {
		name    string
		startAt string
		prior   *Config // a run before, with the same roots and state file
		cfg     Config
		want    map[string]int64 // the run after the prior one
	}{
		{"first start, beginning", "beginning", nil, Config{Decompress: true}, all},
		{"first start, end", "end", nil, Config{Decompress: true}, map[string]int64{}},
		{"after a run without Decompress, end", "end", &Config{}, Config{Decompress: true}, map[string]int64{}},
		{"after a run without Decompress, beginning", "beginning", &Config{}, Config{Decompress: true},
			oneShotNums(packed, 0)},
		{"new since a run with Decompress", "end", &Config{Decompress: true}, Config{Decompress: true},
			oneShotNums(packed, 0)},
		{"Decompress off", "beginning", nil, Config{}, map[string]int64{"p1": 1}},
		{"filtered out", "beginning", nil, Config{Decompress: true, Filter: func(p string) bool {
			return !strings.HasSuffix(p, ".zst") && !strings.HasSuffix(p, ".gz")
		}}, map[string]int64{"p1": 1}},
		{"cut lines", "beginning", nil, Config{Decompress: true, MaxLine: 16},
			union(map[string]int64{"p1": 1}, oneShotNums(packed, 16))},
	}
	for _, cd := range codecs {
		for _, tt := range tests {
			t.Run(cd.ext+" "+tt.name, func(t *testing.T) {
				dir := t.TempDir()
				stateFile := filepath.Join(t.TempDir(), "state.json")
				writeFile(t, filepath.Join(dir, "p.log"), plain)
				packedPath := filepath.Join(dir, "c.log.1"+cd.ext)
				if tt.prior != nil {
					prior := *tt.prior
					prior.Roots, prior.StateFile, prior.StartAt = []string{dir}, stateFile, "beginning"
					runOnce(t, prior, newRecorder())
					writeFile(t, packedPath, string(cd.enc(t, packed))) // found by the next run
				} else {
					writeFile(t, packedPath, string(cd.enc(t, packed)))
				}
				var asked []string
				cfg := tt.cfg
				cfg.Roots, cfg.StateFile, cfg.StartAt = []string{dir}, stateFile, tt.startAt
				if filter := cfg.Filter; filter != nil {
					cfg.Filter = func(p string) bool { asked = append(asked, filepath.Base(p)); return filter(p) }
				}
				rec := newRecorder()
				f, _ := runOnce(t, cfg, rec)
				got := nums(t, rec)
				if tt.prior != nil {
					delete(got, "p1") // read by the prior run, or not, per its StartAt
				}
				wantNums(t, got, tt.want)
				if cfg.Filter != nil && !slices.Contains(asked, filepath.Base(packedPath)) {
					t.Errorf("Filter was not asked about the compressed file: %q", asked)
				}
				if cfg.MaxLine > 0 {
					if n := f.Stats().LongLines.Load(); n != 1 {
						t.Errorf("LongLines = %d, want 1", n)
					}
				}
				rec = newRecorder()
				runOnce(t, cfg, rec)
				wantNums(t, nums(t, rec), map[string]int64{})
			})
		}
	}
}

// TestCompressedReadErrors: a decompression error is a read error, logged
// once and counted, not an error of the run; the whole lines decoded before
// it are passed, and each later run tries again from after them, so that
// once the file is whole (logrotate was still writing it) only the rest is
// passed.
func TestCompressedReadErrors(t *testing.T) {
	content := numbered("a-line-of-the-compressed-file-", 1, 40000)
	tests := []struct {
		name    string
		corrupt func(b []byte) []byte
		some    bool // some lines decode before the error
	}{
		{"truncated", func(b []byte) []byte { return b[:len(b)*2/3] }, true},
		// Both formats end in a checksum, found bad only after (most of) the
		// content was decoded and passed.
		{"bad checksum", func(b []byte) []byte {
			b = bytes.Clone(b)
			b[len(b)-1] ^= 0x5a // the gzip trailer's size, the zstd frame's checksum
			return b
		}, true},
		{"no header", func([]byte) []byte { return []byte("plain text, named as compressed\n") }, false},
	}
	for _, cd := range codecs {
		for _, tt := range tests {
			t.Run(cd.ext+" "+tt.name, func(t *testing.T) {
				dir := t.TempDir()
				stateFile := filepath.Join(t.TempDir(), "state.json")
				path := filepath.Join(dir, "x.log.1"+cd.ext)
				good := cd.enc(t, content)
				writeFile(t, path, string(tt.corrupt(good)))
				cfg := Config{Roots: []string{dir}, StateFile: stateFile, StartAt: "beginning", Decompress: true}
				var got []string
				for run := range 2 {
					rec := newRecorder()
					f, logs := runOnce(t, cfg, rec)
					if e := f.Stats().ReadErrors.Load(); e != 1 {
						t.Errorf("run %d: ReadErrors = %d, want 1", run, e)
					}
					if n := strings.Count(logs, "cannot read compressed file"); n != 1 {
						t.Errorf("run %d: the error was logged %d times, want once:\n%s", run, n, logs)
					}
					if strings.Contains(logs, "/proc/") {
						t.Errorf("the log names /proc, not the file: %s", logs)
					}
					got = append(got, rec.lines()...)
				}
				all := linesOf(content)
				if len(got) > len(all) || !slices.Equal(got, all[:len(got)]) {
					t.Fatalf("lines passed before the error are not a prefix of whole lines: %d lines, last %q", len(got), got[len(got)-1])
				}
				if tt.some && len(got) == 0 {
					t.Errorf("no line was passed from before the error")
				}
				// The file is whole now: the rest is passed, and then nothing.
				writeFile(t, path, string(good))
				rec := newRecorder()
				f, logs := runOnce(t, cfg, rec)
				if e := f.Stats().ReadErrors.Load(); e != 0 {
					t.Errorf("after the repair: ReadErrors = %d\n%s", e, logs)
				}
				got = append(got, rec.lines()...)
				if !slices.Equal(got, all) {
					t.Errorf("after the repair: %d lines in all, want each of the %d once", len(got), len(all))
				}
				rec = newRecorder()
				runOnce(t, cfg, rec)
				wantLines(t, rec.lines(), nil)
			})
		}
	}
}

// TestCompressedFileEnd: compressed files get their FileEnd too, in the
// order they were read, also when they are done and nothing is read.
func TestCompressedFileEnd(t *testing.T) {
	dir := t.TempDir()
	stateFile := filepath.Join(t.TempDir(), "state.json")
	writeFile(t, filepath.Join(dir, "a.log"), "a1\n")
	writeFile(t, filepath.Join(dir, "a.log.1.gz"), string(gzipBytes(t, "old1\n")))
	writeFile(t, filepath.Join(dir, "a.log.2.zst"), string(zstdBytes(t, "\x00binary\n")))
	cfg := Config{Roots: []string{dir}, StateFile: stateFile, StartAt: "beginning", Decompress: true}
	ends := []string{"end a.log", "end a.log.1.gz", "end a.log.2.zst", "flush"}
	for i, want := range [][]string{
		append([]string{"lines a.log", "lines a.log.1.gz", "lines a.log.2.zst"}, ends...),
		ends,
	} {
		c := &callLog{root: dir}
		runOnce(t, cfg, c)
		if got := c.take(); !slices.Equal(got, want) {
			t.Fatalf("run %d: calls\n%q\nwant\n%q", i, got, want)
		}
	}
}

// TestCompressedFollow: in follow mode, compressed files found at the start
// are read at once; one that appears while running is read only once it has
// been quiet for a tick (gzip may still be writing it), and not at all when
// it is the compressed rotation of a file followed; a restart reads none of
// them again.
func TestCompressedFollow(t *testing.T) {
	for _, cd := range codecs {
		t.Run(cd.ext, func(t *testing.T) {
			dir := t.TempDir()
			stateFile := filepath.Join(t.TempDir(), "state.json")
			log := filepath.Join(dir, "a.log")
			gen0 := numbered("gen0-", 1, 5)
			gen1 := numbered("gen1-line-with-some-padding-", 1, 100)
			writeFile(t, log, gen1)
			writeFile(t, log+".1"+cd.ext, string(cd.enc(t, gen0)))
			cfg := Config{Roots: []string{dir}, StateFile: stateFile, StartAt: "beginning", Decompress: true}
			h := start(t, cfg, nil)
			h.sync()
			testutil.AppendFile(t, log, "gen1-late\n")
			h.sync()
			logrotate(t, cd, log, false)
			testutil.AppendFile(t, log, "gen2-1\n")
			h.syncNew()
			for range 3 { // the rotated file drains, then the compressed one is quiet
				h.tickSync()
			}
			h.syncNew()
			wantNums(t, nums(t, h.rec), union(oneShotNums(gen1, 0), oneShotNums(gen0, 0),
				map[string]int64{"gen1-late": 101, "gen2-1": 1}))

			// A new compressed file, written in two halves.
			other := numbered("other-", 1, 2000)
			packed := cd.enc(t, other)
			opath := filepath.Join(dir, "b.log.1"+cd.ext)
			writeFile(t, opath, string(packed[:len(packed)/2]))
			h.syncNew()
			h.tickSync()
			testutil.AppendFile(t, opath, string(packed[len(packed)/2:]))
			h.syncNew()
			h.tickSync()
			for _, r := range h.rec.records() {
				if r.path == opath {
					t.Fatalf("%s was read before it was quiet for a tick", opath)
				}
			}
			h.tickSync()
			h.syncNew()
			var got []string
			for _, r := range h.rec.records() {
				if r.path == opath {
					got = append(got, r.line)
				}
			}
			if !slices.Equal(got, linesOf(other)) {
				t.Errorf("%s: %d lines passed, want all %d in order", opath, len(got), len(linesOf(other)))
			}
			if e := h.f.Stats().ReadErrors.Load(); e != 0 {
				t.Errorf("ReadErrors = %d\n%s", e, h.logs)
			}
			h.stop()

			h2 := start(t, cfg, nil)
			h2.syncNew()
			wantLines(t, h2.rec.lines(), nil)
		})
	}
}

// TestCompressedInodeReuse: a done record is trusted only while the head of
// the file under its inode still matches; a different compressed file that
// got the inode is read whole.
func TestCompressedInodeReuse(t *testing.T) {
	for _, cd := range codecs {
		t.Run(cd.ext, func(t *testing.T) {
			dir := t.TempDir()
			stateFile := filepath.Join(t.TempDir(), "state.json")
			path := filepath.Join(dir, "a.log.3"+cd.ext)
			writeFile(t, path, string(cd.enc(t, "new1\nnew2\n")))
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			k := keyOf(fi)
			old := []byte("what the inode held before\n")
			if err := state.Save(stateFile, &state.State{Decompress: true, Files: []state.File{{
				Path: path, Dev: k.dev, Ino: k.ino, Offset: int64(len(old)), Line: 2,
				HeadLen: len(old), HeadCRC: state.Checksum(old), TailLen: len(old), TailCRC: state.Checksum(old),
				Compressed: true, Done: true,
			}}}); err != nil {
				t.Fatal(err)
			}
			cfg := Config{Roots: []string{dir}, StateFile: stateFile, Decompress: true}
			rec := newRecorder()
			runOnce(t, cfg, rec)
			wantNums(t, nums(t, rec), map[string]int64{"new1": 1, "new2": 2})
			rec = newRecorder()
			runOnce(t, cfg, rec)
			wantNums(t, nums(t, rec), map[string]int64{})
		})
	}
}

// TestCompressedSmallContent: a whole file under 1 KiB could be the start of
// an unrelated compressed file by chance, so it is taken for a rotation only
// when the names agree; content over 1 KiB needs no such agreement.
func TestCompressedSmallContent(t *testing.T) {
	small := "s1\ns2\n"
	big := numbered("big-line-with-some-padding-", 1, 100)
	tests := []struct {
		name, known, newName string
		reuse                bool // the compressed file gets x.log's inode
		want                 map[string]int64
	}{
		{"small, rotation", small, "x.log.1.gz", false, map[string]int64{"later": 3}},
		{"small, dated rotation", small, "x-20250101.log.gz", false, map[string]int64{"later": 3}},
		{"small, unrelated", small, "other.log.gz", false, map[string]int64{"s1": 1, "s2": 2, "later": 3}},
		{"small, unrelated, same inode", small, "other.log.gz", true, map[string]int64{"s1": 1, "s2": 2, "later": 3}},
		{"big, unrelated", big, "other.log.gz", false, map[string]int64{"later": 101}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			stateFile := filepath.Join(t.TempDir(), "state.json")
			log := filepath.Join(dir, "x.log")
			writeFile(t, log, tt.known)
			cfg := Config{Roots: []string{dir}, StateFile: stateFile, StartAt: "beginning", Decompress: true}
			runOnce(t, cfg, newRecorder())
			// x.log goes away; its content, and a line more, come back compressed.
			packed := string(gzipBytes(t, tt.known+"later\n"))
			if tt.reuse {
				sameInode(t, log, filepath.Join(dir, tt.newName), packed)
			} else {
				if err := os.Remove(log); err != nil {
					t.Fatal(err)
				}
				// Not at x.log's inode: that is the case above.
				writeFile(t, filepath.Join(dir, "keep-inode-busy"), "")
				writeFile(t, filepath.Join(dir, tt.newName), packed)
			}
			rec := newRecorder()
			runOnce(t, cfg, rec)
			wantNums(t, nums(t, rec), tt.want)
		})
	}
}

// sameInode creates path so that it gets the inode of gone, which is removed
// first, as a filesystem that reuses freed inodes at once would do; it skips
// the test if the filesystem will not.
func sameInode(t *testing.T, gone, path, content string) {
	t.Helper()
	fi, err := os.Stat(gone)
	if err != nil {
		t.Fatal(err)
	}
	want := keyOf(fi)
	for range 20 {
		if err := os.Remove(gone); err != nil {
			t.Fatal(err)
		}
		writeFile(t, path, content)
		if fi, err := os.Stat(path); err == nil && keyOf(fi) == want {
			return
		}
		// Try again: gone back at another inode, path away.
		if err := os.Rename(path, gone); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(gone); err == nil {
			want = keyOf(fi)
		}
	}
	t.Skip("the filesystem does not reuse inodes at once")
}

// TestCompressedPolled: with polling, every rescan finds a waiting
// compressed file again, which must not keep it from ever being quiet.
func TestCompressedPolled(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "app.log"), "")
	h := start(t, Config{Roots: []string{dir}, PollInterval: 1, SaveInterval: 1, Decompress: true}, nil)
	writeFile(t, filepath.Join(dir, "b.log.1.gz"), string(gzipBytes(t, "b1\nb2\n")))
	for range 4 { // found, quiet for a whole tick, read
		h.tickSync()
	}
	wantNums(t, nums(t, h.rec), map[string]int64{"b1": 1, "b2": 2})
}

// TestCompressedFollowRetry: in follow mode a compressed file that failed
// (cut short) is tried again once it changed and is quiet again, from after
// what it passed; unchanged, it is not tried again.
func TestCompressedFollowRetry(t *testing.T) {
	for _, cd := range codecs {
		t.Run(cd.ext, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "app.log"), "")
			h := start(t, Config{Roots: []string{dir}, Decompress: true}, nil)
			content := numbered("a-line-of-the-compressed-file-", 1, 40000)
			good := cd.enc(t, content)
			path := filepath.Join(dir, "x.log.1"+cd.ext)
			writeFile(t, path, string(good[:len(good)*2/3]))
			h.syncNew()
			for range 4 {
				h.tickSync()
			}
			h.syncNew()
			if e := h.f.Stats().ReadErrors.Load(); e != 1 {
				t.Fatalf("ReadErrors = %d after a cut-short file, want 1", e)
			}
			writeFile(t, path, string(good))
			h.syncNew()
			for range 3 {
				h.tickSync()
			}
			h.syncNew()
			if e := h.f.Stats().ReadErrors.Load(); e != 1 {
				t.Errorf("ReadErrors = %d after the repair, want still 1", e)
			}
			var got []string
			for _, r := range h.rec.records() {
				if r.path == path {
					got = append(got, r.line)
				}
			}
			if !slices.Equal(got, linesOf(content)) {
				t.Errorf("%d lines passed, want each of the %d once, in order", len(got), len(linesOf(content)))
			}
		})
	}
}
