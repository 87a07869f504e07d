// Package search runs the one-shot pipeline: walk the roots, open each file
// (decompressing on the fly), split it into blocks of whole lines, select
// lines with the matcher and print them, over a bounded pool of workers.
//
// Memory is bounded per worker (one read buffer, one output buffer), whatever
// the size of the tree or of a file. Output from different files never
// interleaves: a worker buffers a file's output and writes it under a lock; a
// file whose output outgrows the buffer keeps the lock until it is done.
// A worker that meanwhile outgrows its own buffer sets it aside in a few
// shared spare buffers, then in an unlinked spill file in the temporary
// directory (the only thing the package writes besides the output), and
// waits for the lock only past maxSpill.
package search

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/logscan/logscan/internal/filter"
	"github.com/logscan/logscan/internal/input"
	"github.com/logscan/logscan/internal/pipeline"
	"github.com/logscan/logscan/internal/scan"
	"github.com/logscan/logscan/internal/summary"
	"github.com/logscan/logscan/internal/walk"
)

// StdinPath is the root that means standard input.
const StdinPath = pipeline.StdinPath

// job is one file for a worker; named is set for a root named on the
// command line, which is searched even when binary.
type job struct {
	path  string
	named bool
}

// Options configures a search.
type Options struct {
	Roots      []string
	Pipeline   *pipeline.Pipeline
	Filter     *filter.Filter
	Jobs       int // 0: one per CPU
	BufSize    int // 0: scan.DefaultBufSize
	MaxLine    int // 0: scan.DefaultMaxLine
	Decompress bool
	NoMessages bool // -s: count unreadable paths but do not log them
	// Label names standard input in the output; "" means grep's
	// "(standard input)".
	Label string
	// TrimDot prints paths below the default root "." without the "./",
	// as grep and ripgrep do when no path is given.
	TrimDot bool
	// Avoid is the output file when stdout is a regular file: it is not
	// read, as grep refuses "input file is also the output".
	Avoid      os.FileInfo
	CountLines bool // count every line for Result.Lines (--stats); costs a pass over the data
	// OutputBuffer is how much output a worker buffers before it takes the
	// output lock mid-file and keeps it to the end of the file; 0 means
	// DefaultOutputBuffer.
	OutputBuffer int
	// Coalesce, when > 0, gathers the output of files smaller than it into
	// writes of up to that many bytes (stdout not a terminal, and not
	// --line-buffered); 0 writes each file's output when it ends.
	Coalesce int
	// SpillDir is where a worker that waits for the output lock keeps its
	// output; "" means os.TempDir().
	SpillDir string
	Stdout   io.Writer
	Stdin    io.Reader
	Log      zerolog.Logger
}

// Result holds the counters of a search.
type Result struct {
	Files      int64 // files scanned
	Bytes      int64 // bytes scanned (decompressed)
	Lines      int64 // lines scanned (only with CountLines)
	Matches    int64 // lines selected
	Errors     int64 // paths that could not be read
	Binary     int64 // files skipped as binary
	Compressed int64 // compressed files skipped (--no-decompress)
	CutLines   int64 // lines cut at MaxLine
	// ParseErrors counts the lines that did not parse in their format
	// (the event stages); they were kept as text, or dropped.
	ParseErrors int64
	Elapsed     time.Duration
}

type counters struct {
	files, bytes, lines, matches, errors, binary, compressed, cut, parseErrors atomic.Int64
}

// Run searches opts.Roots. The error is non-nil only for a failure of the
// search itself (writing the output); unreadable paths are logged and
// counted in Result.Errors, and the search goes on.
func Run(ctx context.Context, opts Options) (Result, error) {
	start := time.Now()
	if opts.Jobs <= 0 {
		opts.Jobs = runtime.NumCPU()
	}
	if opts.Stdin == nil {
		opts.Stdin = os.Stdin
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	s := &searcher{opts: opts, out: &sharedWriter{w: opts.Stdout, coalesce: opts.Coalesce}, cancel: cancel}
	paths := make(chan []job, opts.Jobs*4)
	var wg sync.WaitGroup
	// With --summary each worker accumulates its own groups; they are
	// merged once the workers are done.
	accs := make([]*summary.Acc, opts.Jobs)
	for i := range opts.Jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := s.newWorker()
			defer w.close()
			if x := opts.Pipeline.Summary; x != nil {
				accs[i] = x.NewAcc()
				w.sc.Observe = accs[i].Observe
			}
			for batch := range paths {
				for _, p := range batch {
					if ctx.Err() != nil {
						break // drain so the producer never blocks
					}
					w.file(ctx, p)
				}
			}
			s.c.matches.Add(w.sc.Matches)
			s.c.binary.Add(w.sc.Binary)
			s.c.parseErrors.Add(w.sc.ParseErrors)
		}()
	}
	s.produce(ctx, paths)
	close(paths)
	wg.Wait()
	if opts.Pipeline.Summary != nil {
		s.summary(accs)
	}

	s.out.flush()
	res := Result{
		Files: s.c.files.Load(), Bytes: s.c.bytes.Load(), Lines: s.c.lines.Load(),
		Matches: s.c.matches.Load(), Errors: s.c.errors.Load(), Binary: s.c.binary.Load(),
		Compressed: s.c.compressed.Load(), CutLines: s.c.cut.Load(), ParseErrors: s.c.parseErrors.Load(), Elapsed: time.Since(start),
	}
	return res, s.out.werr // the workers are done: no lock needed
}

type searcher struct {
	spare   chunks
	avoided sync.Once
	opts    Options
	out     *sharedWriter
	c       counters
	cancel  context.CancelFunc
}

// summary merges the workers' summaries and prints the result once, what
// was read of an interrupted search too; the workers are done, so the
// output needs no lock. A rule whose groups overflowed is logged.
func (s *searcher) summary(accs []*summary.Acc) {
	total := accs[0]
	for _, a := range accs[1:] {
		total.Merge(a)
	}
	s.out.write(total.Append(nil))
	for _, w := range total.Warnings() {
		s.opts.Log.Warn().Msg(w)
	}
}

func (s *searcher) report(path string, err error) {
	s.c.errors.Add(1)
	if s.opts.NoMessages {
		return
	}
	s.opts.Log.Error().Str("path", path).Err(err).Msg("cannot read")
}

// produce walks the roots in order and sends the files to the workers.
//
// Files go in batches once the tree has shown it holds many: a hand-off per
// file cost more in waking goroutines (futex, the scheduler's spinning)
// than in searching a rotated log of a few KiB, and left the two cores half
// idle on 50,000 small files. The first files go one by one, so that a
// root of a few large files is still spread over the workers.
func (s *searcher) produce(ctx context.Context, paths chan<- []job) {
	var batch []job
	sent := 0
	flush := func() bool {
		if len(batch) == 0 {
			return true
		}
		select {
		case paths <- batch:
			sent += len(batch)
			batch = nil
			return true
		case <-ctx.Done():
			return false
		}
	}
	defer flush()
	send := func(p string, named bool) bool {
		batch = append(batch, job{p, named})
		if sent < singleFiles || len(batch) >= batchFiles {
			return flush()
		}
		return true
	}
	for _, root := range s.opts.Roots {
		if root == StdinPath {
			if !send(root, false) {
				return
			}
			continue
		}
		prefix := strings.TrimSuffix(root, string(filepath.Separator)) + string(filepath.Separator)
		rel := func(p string) string { return filepath.ToSlash(strings.TrimPrefix(p, prefix)) }
		opts := []walk.Option{walk.OnError(s.report), walk.OnSkip(func(p, why string) {
			s.opts.Log.Debug().Str("path", p).Str("reason", why).Msg("skipped")
		})}
		if !s.opts.Filter.Empty() {
			f := s.opts.Filter
			opts = append(opts, walk.Exclude(func(p string, d fs.DirEntry) bool {
				if p == root || !strings.HasPrefix(p, prefix) {
					return false // a root named on the command line is always searched
				}
				if d.IsDir() {
					return !f.Dir(rel(p))
				}
				return !f.File(rel(p))
			}))
		}
		// A regular file named as a root is searched even when binary; a
		// device or FIFO named so is binary-skipped as before (/dev/zero
		// would never end).
		named := false
		if fi, err := os.Stat(root); err == nil && fi.Mode().IsRegular() {
			named = true
		}
		for p := range walk.Files(root, opts...) {
			if !send(p, named && p == root) {
				return
			}
		}
	}
}

// sharedWriter serialises whole-file output from the workers. Every field is
// guarded by mu; Run reads werr only after the workers are done.
type sharedWriter struct {
	mu    sync.Mutex
	w     io.Writer
	wrote bool // something was written: context groups of later files need a separator
	werr  error
	// coalesce gathers small outputs (a -c or -l line per file, a few
	// matches) into buf, written when it would grow past coalesce: 52,428
	// small files made 52,428 writes under -c, each with the lock held
	// while the other worker waited for it.
	coalesce int
	buf      []byte
}

// DefaultCoalesce is Options.Coalesce for output to a pipe or a file.
const DefaultCoalesce = 64 << 10

// write writes b, or gathers it; the caller holds mu (or the workers are
// done). After the first error nothing more is written.
func (o *sharedWriter) write(b []byte) {
	if len(b) == 0 || o.werr != nil {
		return
	}
	o.wrote = true
	if len(o.buf)+len(b) <= o.coalesce {
		o.buf = append(o.buf, b...)
		return
	}
	o.flush()
	if len(b) < o.coalesce {
		o.buf = append(o.buf, b...)
		return
	}
	o.put(b)
}

// flush writes what was gathered.
func (o *sharedWriter) flush() {
	if len(o.buf) > 0 {
		o.put(o.buf)
		o.buf = o.buf[:0]
	}
}

func (o *sharedWriter) put(b []byte) {
	if o.werr != nil {
		return
	}
	if _, err := o.w.Write(b); err != nil {
		o.werr = fmt.Errorf("writing output: %w", err)
	}
}

// singleFiles files are sent one by one before batches of batchFiles.
const (
	singleFiles = 64
	batchFiles  = 8
)

// DefaultOutputBuffer is large enough that a file with many matches (1% of
// the lines of a 64 MiB log is ~1 MiB of output) is written at its end in
// one go: a worker that must flush mid-file keeps the output lock to the end
// of that file, and the other workers then wait for it.
const DefaultOutputBuffer = 4 << 20

type worker struct {
	s       *searcher
	opener  *input.Opener
	sp      *scan.Splitter
	sc      *pipeline.Scanner
	holding bool // holds s.out.mu until the end of the current file
	// pending holds full buffers of the current file's output, in order,
	// kept while another worker held the output lock (see chunks); spill
	// holds what came before them once the chunks ran out (see spillFile).
	pending     [][]byte
	spill       spillFile
	spillLogged bool
}

func (s *searcher) newWorker() *worker {
	w := &worker{
		s:      s,
		opener: input.NewOpener(s.opts.Decompress),
		sp:     scan.NewSplitter(nil, s.opts.BufSize, s.opts.MaxLine),
	}
	flushAt := s.opts.OutputBuffer
	if flushAt <= 0 {
		flushAt = DefaultOutputBuffer
	}
	w.opener.Avoid = s.opts.Avoid
	if s.opts.Pipeline.LeavesFilesEarly() {
		w.opener.FirstReadSize = input.ShortFirstRead
	}
	w.spill.dir = s.opts.SpillDir
	w.sc = pipeline.NewScanner(s.opts.Pipeline, flushAt, w.flushFull)
	return w
}

// open opens path for search. The first read goes straight into the
// splitter's buffer, saving a copy of up to 256 KiB per file (6% of the CPU
// on a tree of 280 KB files), unless a --max-line below 64 KiB made that
// buffer too small for sniffing, when the Opener's own buffer serves.
func (w *worker) open(path string) (io.Reader, int, func() error, error) {
	if head := w.sp.Head(); len(head) >= input.ShortFirstRead {
		r, n, _, closeFn, err := w.opener.OpenInto(path, head)
		return r, n, closeFn, err
	}
	r, _, closeFn, err := w.opener.Open(path)
	return r, 0, closeFn, err
}

func (w *worker) close() {
	if err := w.opener.Close(); err != nil {
		w.s.opts.Log.Debug().Err(err).Msg("closing decoders")
	}
	if err := w.spill.close(); err != nil {
		w.s.opts.Log.Debug().Err(err).Msg("closing the spill file")
	}
}

// flushFull hands buffered output to the shared writer when it is full; the
// lock is then kept until the file ends so its lines stay together. While
// another worker holds it, the full buffer is set aside for a spare one, as
// long as there are spares, and then goes to the spill file.
func (w *worker) flushFull(sc *pipeline.Scanner) {
	if !w.holding {
		if !w.s.out.mu.TryLock() {
			if b := w.s.spare.get(cap(sc.Buf)); b != nil {
				w.pending = append(w.pending, sc.Buf)
				sc.Buf = b
				return
			}
			if w.spillOut() {
				return
			}
			w.s.out.mu.Lock()
		}
		w.holding = true
	}
	w.writeOut()
}

// spillOut moves the pending buffers, then the full one, to the spill file,
// and reports whether all of them went; what did not stays in order behind
// what did.
func (w *worker) spillOut() bool {
	for len(w.pending) > 0 {
		b := w.pending[0]
		if !w.spill.write(b) {
			w.logSpill()
			return false
		}
		w.s.spare.put(b)
		w.pending = append(w.pending[:0], w.pending[1:]...)
	}
	if !w.spill.write(w.sc.Buf) {
		w.logSpill()
		return false
	}
	w.sc.Buf = w.sc.Buf[:0]
	return true
}

// logSpill says once why a worker stopped spilling: it then waits for the
// lock, slower but correct.
func (w *worker) logSpill() {
	if err := w.spill.failed; err != nil && !w.spillLogged {
		w.spillLogged = true
		w.s.opts.Log.Debug().Err(err).Msg("cannot spill output; waiting for the output lock instead")
	}
}

// writeOut writes the buffer; the caller holds the output lock. A file
// whose output opens with a context group needs grep's "--" only if another
// file's output came first, which is known only here, under the lock.
func (w *worker) writeOut() {
	sc := w.sc
	if sc.GroupFirst && w.s.out.wrote {
		w.s.out.write(sc.Pipeline().Printer.AppendSeparator(nil))
	}
	sc.GroupFirst = false
	if err := w.spill.writeTo(w.s.out.write); err != nil && w.s.out.werr == nil {
		w.s.out.werr = err
	}
	for i, b := range w.pending {
		w.s.out.write(b)
		w.s.spare.put(b)
		w.pending[i] = nil
	}
	w.pending = w.pending[:0]
	w.s.out.write(sc.Buf)
	sc.Buf = sc.Buf[:0]
}

func (w *worker) endFile() {
	sc := w.sc
	if (len(sc.Buf) > 0 || len(w.pending) > 0 || w.spill.n > 0) && !w.holding {
		w.s.out.mu.Lock()
		w.holding = true
	}
	if w.holding {
		w.writeOut()
		w.s.out.mu.Unlock()
		w.holding = false
	}
	sc.Buf = sc.Buf[:0]
	sc.GroupFirst = false
}

// file searches one file and writes its output.
func (w *worker) file(ctx context.Context, j job) {
	w.search(ctx, j)
	w.endFile()
}

// search reads j and selects its lines into the worker's buffers; what is
// left of the output is written by endFile.
func (w *worker) search(ctx context.Context, j job) {
	var r io.Reader
	head := 0 // bytes of the input already in w.sp.Head()
	path, name := j.path, j.path
	if w.s.opts.TrimDot {
		name = strings.TrimPrefix(name, "./")
	}
	if path == StdinPath {
		r, name = w.s.opts.Stdin, w.s.opts.Label
		if name == "" {
			name = "(standard input)"
		}
	} else {
		rc, n, closeFn, err := w.open(path)
		head = n
		if errors.Is(err, input.ErrSkipCompressed) {
			w.s.c.compressed.Add(1)
			w.s.opts.Log.Debug().Str("path", path).Msg("compressed file skipped (--no-decompress)")
			return
		}
		if errors.Is(err, input.ErrIsOutput) {
			// Not an error: every other file was searched, and the user
			// chose that output file (ripgrep skips it too; grep exits 2).
			w.s.avoided.Do(func() { w.s.opts.Log.Warn().Str("path", path).Msg("input file is also the output; not read") })
			return
		}
		if err != nil {
			w.s.report(path, err)
			return
		}
		defer func() {
			if err := closeFn(); err != nil {
				w.s.report(path, err)
			}
		}()
		r = rc
	}
	sc := w.sc
	sc.Begin(name, "", 1, j.named)
	w.sp.ResetHead(r, head)
	w.s.c.files.Add(1)
	for ctx.Err() == nil {
		block, err := w.sp.Next()
		if len(block) > 0 {
			w.s.c.bytes.Add(int64(len(block)))
			if w.sp.Cut() {
				w.s.c.cut.Add(1)
				w.s.opts.Log.Warn().Str("path", name).Int64("offset", w.sp.Offset()).Int("max_line", w.s.opts.MaxLine).Msg("line longer than max_line cut")
			}
			if w.s.opts.CountLines {
				n := int64(bytes.Count(block, nl))
				if block[len(block)-1] != '\n' {
					n++
				}
				w.s.c.lines.Add(n)
			}
			if !sc.Block(block, w.sp.Offset(), 0) {
				break
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			w.s.report(path, err)
			break
		}
	}
	if sc.IsBinary() {
		w.s.opts.Log.Debug().Str("path", name).Msg("binary file skipped")
	}
	if sc.Pipeline().Mode == pipeline.Quiet && sc.Selected() > 0 {
		w.s.cancel() // grep -q: the first selected line ends the search
	}
	sc.End()
}

var nl = []byte{'\n'}
