// Package search runs the one-shot pipeline: walk the roots, open each file
// (decompressing on the fly), split it into blocks of whole lines, select
// lines with the matcher and print them, over a bounded pool of workers.
//
// Memory is bounded per worker (one read buffer, one output buffer), whatever
// the size of the tree or of a file. Output from different files never
// interleaves: a worker buffers a file's output and writes it under a lock; a
// file whose output outgrows the buffer keeps the lock until it is done, so
// other workers wait rather than buffer without bound.
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
	"github.com/logscan/logscan/internal/match"
	"github.com/logscan/logscan/internal/output"
	"github.com/logscan/logscan/internal/scan"
	"github.com/logscan/logscan/internal/walk"
)

// Mode is what to print for each file.
type Mode int

const (
	// Lines prints selected lines (and context).
	Lines Mode = iota
	// Count prints the number of selected lines per file (-c).
	Count
	// FilesWithMatches prints the path of each file with a selected line (-l).
	FilesWithMatches
	// Quiet prints nothing and stops at the first selected line (-q).
	Quiet
)

// StdinPath is the root that means standard input.
const StdinPath = "-"

// stdinName is how standard input is named in output, as grep names it.
const stdinName = "(standard input)"

// Options configures a search.
type Options struct {
	Roots      []string
	Matcher    *match.Matcher
	Filter     *filter.Filter
	Jobs       int // 0: one per CPU
	BufSize    int // 0: scan.DefaultBufSize
	MaxLine    int // 0: scan.DefaultMaxLine
	Decompress bool
	Printer    *output.Printer
	Mode       Mode
	MaxCount   int64 // -m: stop after this many selected lines per file; 0: no limit
	Before     int   // -B
	After      int   // -A
	Invert     bool  // -v: select the lines the matcher does not
	NoMessages bool  // -s: count unreadable paths but do not log them
	CountLines bool  // count every line for Result.Lines (--stats); costs a pass over the data
	// OutputBuffer is how much output a worker buffers before it takes the
	// output lock mid-file and keeps it to the end of the file; 0 means
	// DefaultOutputBuffer.
	OutputBuffer int
	Stdout       io.Writer
	Stdin        io.Reader
	Log          zerolog.Logger
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
	Elapsed    time.Duration
}

type counters struct {
	files, bytes, lines, matches, errors, binary, compressed, cut atomic.Int64
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

	s := &searcher{opts: opts, out: &sharedWriter{w: opts.Stdout}, cancel: cancel}
	paths := make(chan string, opts.Jobs*4)
	var wg sync.WaitGroup
	for range opts.Jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := s.newWorker()
			defer w.close()
			for p := range paths {
				if ctx.Err() != nil {
					continue // drain so the producer never blocks
				}
				w.file(ctx, p)
			}
		}()
	}
	s.produce(ctx, paths)
	close(paths)
	wg.Wait()

	res := Result{
		Files: s.c.files.Load(), Bytes: s.c.bytes.Load(), Lines: s.c.lines.Load(),
		Matches: s.c.matches.Load(), Errors: s.c.errors.Load(), Binary: s.c.binary.Load(),
		Compressed: s.c.compressed.Load(), CutLines: s.c.cut.Load(), Elapsed: time.Since(start),
	}
	return res, s.out.werr // the workers are done: no lock needed
}

type searcher struct {
	opts   Options
	out    *sharedWriter
	c      counters
	cancel context.CancelFunc
}

func (s *searcher) report(path string, err error) {
	s.c.errors.Add(1)
	if s.opts.NoMessages {
		return
	}
	s.opts.Log.Error().Str("path", path).Err(err).Msg("cannot read")
}

// produce walks the roots in order and sends the files to the workers.
func (s *searcher) produce(ctx context.Context, paths chan<- string) {
	send := func(p string) bool {
		select {
		case paths <- p:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for _, root := range s.opts.Roots {
		if root == StdinPath {
			if !send(root) {
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
		for p := range walk.Files(root, opts...) {
			if !send(p) {
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
}

// write writes b; the caller holds mu. After the first error nothing more
// is written.
func (o *sharedWriter) write(b []byte) {
	if len(b) == 0 || o.werr != nil {
		return
	}
	if _, err := o.w.Write(b); err != nil {
		o.werr = fmt.Errorf("writing output: %w", err)
	}
	o.wrote = true
}

// DefaultOutputBuffer is large enough that a file with many matches (1% of
// the lines of a 64 MiB log is ~1 MiB of output) is written at its end in
// one go: a worker that must flush mid-file keeps the output lock to the end
// of that file, and the other workers then wait for it.
const DefaultOutputBuffer = 4 << 20

type worker struct {
	s       *searcher
	opener  *input.Opener
	sp      *scan.Splitter
	buf     []byte
	holding bool // holds s.out.mu until the end of the current file
	flushAt int
	rec     output.Record
	spans   []int

	numbers bool // count lines: -n, or JSON output, which always has them

	// per file
	path     string
	lines    int64 // lines before the current position (for -n)
	selected int64

	// context (-A/-B)
	ring       []ctxLine
	ringN      int
	afterLeft  int
	lastOut    int64 // line number of the last line output in this file
	groupFirst bool  // the buffer opens with this file's first context group
}

type ctxLine struct {
	text []byte
	num  int64
	off  int64
}

func (s *searcher) newWorker() *worker {
	w := &worker{
		s:      s,
		opener: input.NewOpener(s.opts.Decompress),
		sp:     scan.NewSplitter(nil, s.opts.BufSize, s.opts.MaxLine),
	}
	w.flushAt = s.opts.OutputBuffer
	if w.flushAt <= 0 {
		w.flushAt = DefaultOutputBuffer
	}
	// Allocated at full size once: growing it by append would leave the
	// outgrown copies to the GC and raise the peak RSS; untouched pages of a
	// fresh allocation are not resident, so a file with little output costs
	// little.
	w.buf = make([]byte, 0, w.flushAt+64<<10)
	if s.opts.Before > 0 {
		w.ring = make([]ctxLine, s.opts.Before)
	}
	po := s.opts.Printer.Options()
	w.numbers = po.LineNumbers || po.Format == output.JSON
	return w
}

func (w *worker) close() {
	if err := w.opener.Close(); err != nil {
		w.s.opts.Log.Debug().Err(err).Msg("closing decoders")
	}
}

// maybeFlush hands buffered output to the shared writer when it is full; the
// lock is then kept until the file ends so its lines stay together.
func (w *worker) maybeFlush() {
	if len(w.buf) < w.flushAt {
		return
	}
	if !w.holding {
		w.s.out.mu.Lock()
		w.holding = true
	}
	w.writeOut()
}

// writeOut writes the buffer; the caller holds the output lock. A file
// whose output opens with a context group needs grep's "--" only if another
// file's output came first, which is known only here, under the lock.
func (w *worker) writeOut() {
	if w.groupFirst && w.s.out.wrote {
		w.s.out.write(w.s.opts.Printer.AppendSeparator(nil))
	}
	w.groupFirst = false
	w.s.out.write(w.buf)
	w.buf = w.buf[:0]
}

func (w *worker) endFile() {
	if len(w.buf) > 0 && !w.holding {
		w.s.out.mu.Lock()
		w.holding = true
	}
	if w.holding {
		w.writeOut()
		w.s.out.mu.Unlock()
		w.holding = false
	}
	w.buf = w.buf[:0]
	w.groupFirst = false
}

func (w *worker) file(ctx context.Context, path string) {
	defer w.endFile()
	var r io.Reader
	name := path
	if path == StdinPath {
		r, name = w.s.opts.Stdin, stdinName
	} else {
		rc, _, closeFn, err := w.opener.Open(path)
		if errors.Is(err, input.ErrSkipCompressed) {
			w.s.c.compressed.Add(1)
			w.s.opts.Log.Debug().Str("path", path).Msg("compressed file skipped (--no-decompress)")
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
	w.path, w.lines, w.selected = name, 0, 0
	w.ringN, w.afterLeft, w.lastOut = 0, 0, 0
	w.sp.Reset(r)
	w.s.c.files.Add(1)
	first := true
	for ctx.Err() == nil {
		block, err := w.sp.Next()
		if len(block) > 0 {
			if first {
				first = false
				if scan.IsBinary(block) {
					w.s.c.binary.Add(1)
					w.s.opts.Log.Debug().Str("path", name).Msg("binary file skipped")
					return
				}
			}
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
			if !w.block(block, w.sp.Offset()) {
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
	switch w.s.opts.Mode {
	case Count:
		w.buf = w.s.opts.Printer.AppendCount(w.buf, name, w.selected)
	case FilesWithMatches:
		if w.selected > 0 {
			w.buf = w.s.opts.Printer.AppendPath(w.buf, name)
		}
	}
}

var nl = []byte{'\n'}

// block handles one block of whole lines starting at byte offset base. It
// returns false when the file needs no more reading.
func (w *worker) block(block []byte, base int64) bool {
	if w.ring != nil || w.s.opts.After > 0 || w.s.opts.Invert {
		return w.blockContext(block, base)
	}
	o := &w.s.opts
	m := o.Matcher
	numbers := w.numbers
	counted := 0
	for pos := 0; pos < len(block); {
		start, end, rule, ok := m.Next(block, pos)
		if !ok {
			break
		}
		if numbers {
			w.lines += int64(bytes.Count(block[counted:start], nl))
			counted = start
		}
		if !w.count() {
			return false
		}
		if o.Mode == Lines {
			w.print(block[start:end], w.lines+1, base+int64(start), rule, false)
		}
		if o.MaxCount > 0 && w.selected >= o.MaxCount {
			return false
		}
		pos = end + 1
	}
	if numbers {
		w.lines += int64(bytes.Count(block[counted:], nl))
		if block[len(block)-1] != '\n' {
			w.lines++
		}
	}
	return true
}

// count records a selected line and reports whether the file needs more
// reading: -q stops the whole search and -l this file at the first one.
func (w *worker) count() bool {
	w.selected++
	w.s.c.matches.Add(1)
	switch w.s.opts.Mode {
	case Quiet:
		w.s.cancel()
		return false
	case FilesWithMatches:
		return false
	}
	return true
}

func (w *worker) print(text []byte, num, off int64, rule int, context bool) {
	o := &w.s.opts
	r := &w.rec
	r.Path, r.Line, r.Offset, r.Text, r.Context = w.path, num, off, text, context
	r.Rule, r.Pattern, r.Spans = "", "", nil
	if !context && rule >= 0 {
		r.Rule = o.Matcher.RuleName(rule)
	}
	po := o.Printer.Options()
	if !context && po.Format == output.JSON {
		r.Pattern = o.Matcher.Pattern(text, rule)
	}
	if !context && po.Color {
		w.spans = w.spans[:0]
		o.Matcher.Highlight(text, rule, func(s, e int) { w.spans = append(w.spans, s, e) })
		r.Spans = w.spans
	}
	if w.ring != nil || o.After > 0 {
		switch {
		case w.lastOut == 0:
			w.groupFirst = true // the file's first line; decided when written: see writeOut
		case num > w.lastOut+1:
			w.buf = o.Printer.AppendSeparator(w.buf)
		}
		w.lastOut = num
	}
	w.buf = o.Printer.Append(w.buf, r)
	w.maybeFlush()
}

// blockContext is the line-at-a-time path used for -A/-B/-C, which needs the
// lines around a match, and for -v, which must look at every line. It keeps copies of the last B lines, so a match at
// the start of a block still gets its context from the previous block.
func (w *worker) blockContext(block []byte, base int64) bool {
	o := &w.s.opts
	for pos := 0; pos < len(block); {
		end := bytes.IndexByte(block[pos:], '\n')
		next := 0
		if end < 0 {
			end, next = len(block), len(block)
		} else {
			end += pos
			next = end + 1
		}
		line := block[pos:end]
		w.lines++
		num, off := w.lines, base+int64(pos)
		rule, sel := -1, false
		if o.MaxCount == 0 || w.selected < o.MaxCount {
			rule, sel = o.Matcher.Select(line)
			if o.Invert {
				rule, sel = -1, !sel
			}
		} else if w.afterLeft == 0 {
			return false // after -m, grep prints the trailing context and stops
		}
		switch {
		case sel:
			if !w.count() {
				return false
			}
			if o.Mode == Count {
				pos = next
				continue
			}
			for i := range w.ringN {
				c := &w.ring[(int(num-1)-w.ringN+i)%len(w.ring)]
				w.print(c.text, c.num, c.off, -1, true)
			}
			w.ringN = 0
			w.print(line, num, off, rule, false)
			w.afterLeft = o.After
		case w.afterLeft > 0:
			w.afterLeft--
			w.print(line, num, off, -1, true)
		case w.ring != nil:
			c := &w.ring[int(num-1)%len(w.ring)]
			c.text = append(c.text[:0], line...)
			c.num, c.off = num, off
			if w.ringN < len(w.ring) {
				w.ringN++
			}
		}
		pos = next
	}
	return true
}
