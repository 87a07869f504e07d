// Package gentree writes the deterministic log trees of the one-shot speed
// matrix (bench/oneshot.sh) in the shapes that gencorpus does not make: a
// few large files, tens of thousands of small files, a deep tree, and
// rotations compressed with gzip or zstd.
//
// Every shape holds the same mix of text and JSON log lines, in which the
// share of lines carrying each literal of this package's constants (Rare,
// Error, Get, Year, ...) is fixed by construction, so that a cell of the
// matrix searches for a known match density. The same Options always give
// the same bytes: every file has its own random stream, seeded from the
// seed and the file's index, so files can be written in parallel.
package gentree

import (
	"bufio"
	"cmp"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Version changes whenever the same Options would write different bytes,
// so that a tree left over from an older generator is not reused.
const Version = "gentree/2"

// Shape is the layout of a tree.
type Shape string

// The shapes. Size is always the uncompressed total.
const (
	// Large is a few large files (16 by default) in four directories.
	Large Shape = "large"
	// Small is many files of about 2.5 KiB, 150 to a directory, two
	// levels deep (ns-NN/pod-NNN/, like /var/log/pods); by default
	// Size/2.5 KiB files and at least 40,000.
	Small Shape = "small"
	// Deep is eight chains of 30 nested directories with two files in each.
	Deep Shape = "deep"
	// Gzip is logrotate's layout with compress and delaycompress: per log
	// app.log, app.log.1 and app.log.2.gz to app.log.7.gz. By default 16
	// logs, fewer (at least 4) where a file would hold under 1 MiB: each
	// compressed file costs rg -z a gzip process.
	Gzip Shape = "gz"
	// Zstd is the Gzip layout compressed with zstd (app.log.2.zst, ...).
	Zstd Shape = "zst"
)

// Shapes lists every shape.
var Shapes = []Shape{Large, Small, Deep, Gzip, Zstd}

// Options says what to write.
type Options struct {
	Dir   string // created; must not exist yet or be empty
	Shape Shape
	Size  int64 // total bytes of log lines, before compression
	Files int   // number of files (for Gzip and Zstd: of logs); 0 is the shape's default
	Seed  uint64
}

// SmallFileSize is the size the Small shape aims at for each file.
const SmallFileSize = 2560

// MinSmallFiles is the least number of files of the Small shape by default.
const MinSmallFiles = 40000

// file is one file to write: its path below Dir, its uncompressed size,
// and how it is compressed ("", "gz" or "zst").
type file struct {
	path     string
	size     int64
	compress string
}

// Generate writes the tree that o describes.
func Generate(o Options) error {
	if o.Size <= 0 {
		return fmt.Errorf("gentree: size %d", o.Size)
	}
	files, err := layout(o)
	if err != nil {
		return err
	}
	dirs := map[string]bool{}
	for _, f := range files {
		dirs[filepath.Dir(f.path)] = true
	}
	for d := range dirs {
		if err := os.MkdirAll(filepath.Join(o.Dir, d), 0o755); err != nil {
			return err
		}
	}
	// Files are independent, so write them with one worker per CPU; the
	// bytes do not depend on the order.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan int)
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				if err := writeFile(o, i, files[i]); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// layout lists the files of o's shape.
func layout(o Options) ([]file, error) {
	var fs []file
	switch o.Shape {
	case Large:
		n := cmp.Or(o.Files, 16)
		dirs := []string{".", "app", "app/worker", "nginx"}
		for i := range n {
			fs = append(fs, file{path: filepath.Join(dirs[i%len(dirs)], fmt.Sprintf("app-%02d.log", i)), size: o.Size / int64(n)})
		}
	case Small:
		n := cmp.Or(o.Files, max(MinSmallFiles, int(o.Size/SmallFileSize)))
		for i := range n {
			leaf := i / 150
			p := fmt.Sprintf("ns-%02d/pod-%03d/container-%03d.log", leaf%10, leaf/10, i%150)
			fs = append(fs, file{path: p, size: o.Size / int64(n)})
		}
	case Deep:
		const chains, levels, perDir = 8, 30, 2
		for c := range chains {
			dir := fmt.Sprintf("chain-%d", c)
			for l := range levels {
				dir = filepath.Join(dir, fmt.Sprintf("level-%02d", l+1))
				for k := range perDir {
					fs = append(fs, file{path: filepath.Join(dir, fmt.Sprintf("app-%d.log", k)), size: o.Size / (chains * levels * perDir)})
				}
			}
		}
	case Gzip, Zstd:
		const generations = 8
		n := cmp.Or(o.Files, min(16, max(4, int(o.Size/(generations<<20)))))
		for i := range n {
			for g := range generations {
				name := "app.log"
				if g > 0 {
					name += "." + strconv.Itoa(g)
				}
				f := file{size: o.Size / int64(n*generations)}
				if g >= 2 { // logrotate's delaycompress: .1 stays plain
					f.compress = string(o.Shape)
					name += "." + string(o.Shape)
				}
				f.path = filepath.Join(fmt.Sprintf("svc-%02d", i), name)
				fs = append(fs, f)
			}
		}
	default:
		return nil, fmt.Errorf("gentree: unknown shape %q (want one of %v)", o.Shape, Shapes)
	}
	return fs, nil
}

// writeFile writes file i: one file in three is JSON lines, the others text.
func writeFile(o Options, i int, f file) (err error) {
	out, err := os.Create(filepath.Join(o.Dir, f.path))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, out.Close()) }()
	var w io.Writer = out
	var closer io.Closer
	switch f.compress {
	case "gz":
		zw := gzip.NewWriter(out)
		w, closer = zw, zw
	case "zst":
		zw, err := zstd.NewWriter(out, zstd.WithEncoderConcurrency(1))
		if err != nil {
			return err
		}
		w, closer = zw, zw
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	g := newLineGen(o.Seed, uint64(i), i%3 == 2)
	var buf []byte
	for written := int64(0); written < f.size; {
		buf = g.lines(buf[:0])
		n, err := bw.Write(buf)
		if err != nil {
			return err
		}
		written += int64(n)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if closer != nil {
		return closer.Close()
	}
	return nil
}

// ParseSize reads a size such as 20MiB, 1GiB or 4096.
func ParseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = rest, u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q (want e.g. 20MiB, 1GiB)", s)
	}
	return n * mult, nil
}
