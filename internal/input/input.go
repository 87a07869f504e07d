// Package input opens a path for reading, decompressing .gz and .zst on the
// fly with pooled decoders.
//
// An Opener belongs to one worker and serves one open file at a time: the
// reader returned by Open is backed by the Opener's pooled gzip or zstd
// decoder, so it is valid until closeFn is called and the next Open. Reusing
// the decoders (Reset) keeps the per-file cost to a file descriptor instead
// of fresh decoder state, which for zstd is hundreds of kilobytes.
//
// Compression is recognised by magic bytes (1f 8b for gzip, 28 b5 2f fd for
// zstd) and, when the content does not say, by the extension (.gz, .zst).
// Concatenated gzip members and zstd frames are read as one stream, as gzip
// -dc and zstd -dc do.
package input

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// ErrSkipCompressed is returned, wrapped with the path, by Open for a
// compressed file when decompression is off; callers count and skip it.
var ErrSkipCompressed = errors.New("compressed file skipped")

// ErrIsOutput is returned, wrapped with the path, by Open for the file the
// output goes to (see [Opener.Avoid]): reading it would feed the output back
// into the input.
var ErrIsOutput = errors.New("input file is also the output; not read")

type kind int

const (
	plain kind = iota
	gz
	zst
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Opener opens files for one worker, pooling one gzip and one zstd decoder
// and reusing them across files. It is not safe for concurrent use.
type Opener struct {
	// Avoid, when set, is the output file, a regular file: Open refuses it with
	// ErrIsOutput, compared by device and inode as grep does.
	Avoid      os.FileInfo
	decompress bool
	gz         *gzip.Reader
	zd         *zstd.Decoder
	hdr        [4]byte
	pre        Replay
	dec        decodeReader
	raw        rawFile
	first      []byte // FirstReadSize bytes, allocated on first use
	// FirstReadSize is how much of a regular file the first read takes at
	// most; 0 means FirstRead.
	FirstReadSize int
}

// NewOpener returns an Opener that decompresses .gz and .zst files when
// decompress is true and refuses them with ErrSkipCompressed otherwise.
func NewOpener(decompress bool) *Opener {
	return &Opener{decompress: decompress}
}

// Open opens path; for a gzip or zstd file (by magic bytes, else by
// extension) with decompression on, r yields the decompressed content and
// compressed is true. closeFn closes the file, not the pooled decoder, and
// must be called once before the next Open. A read error of the decompressor
// (corrupt or truncated data) comes after the bytes decoded before it and
// names the path, as do errors from Open itself. A FIFO is opened like any
// file: it blocks until a writer appears, then reads like stdin.
func (o *Opener) Open(path string) (r io.Reader, compressed bool, closeFn func() error, err error) {
	r, n, compressed, closeFn, err := o.OpenInto(path, o.firstBuf())
	if err != nil || n == 0 {
		return r, compressed, closeFn, err
	}
	o.pre = Replay{Prefix: o.first[:n], R: r}
	return &o.pre, compressed, closeFn, nil
}

// OpenInto is Open for a caller with a buffer of its own for the content,
// such as a line splitter: the first read of a plain regular file goes
// straight into head, which saves copying it from the Opener's buffer. The
// content is head[:n] followed by what r yields; n is 0 for anything else
// (a compressed file, a FIFO), whose whole content r yields. head is read
// into up to FirstReadSize bytes; once OpenInto returns, the Opener holds
// no reference to it, so the caller may overwrite it while reading r.
func (o *Opener) OpenInto(path string, head []byte) (r io.Reader, n int, compressed bool, closeFn func() error, err error) {
	fd, st, f, err := openRaw(path)
	if err != nil {
		return nil, 0, false, nil, err // *fs.PathError names the path
	}
	var src io.Reader
	var k kind
	if f != nil {
		closeFn = f.Close
		src, k, err = o.sniff(f, path)
	} else {
		o.raw = rawFile{fd: fd, path: path}
		closeFn = o.raw.Close
		src, n, k, err = o.sniffRegular(&st, path, head[:min(len(head), o.firstSize())])
	}
	if err != nil {
		return nil, 0, false, nil, closeAfter(closeFn, err)
	}
	if k == plain {
		return src, n, false, closeFn, nil
	}
	if !o.decompress {
		return nil, 0, true, nil, closeAfter(closeFn, fmt.Errorf("%s: %w", path, ErrSkipCompressed))
	}
	if n > 0 {
		// The decoder reads the compressed head while the caller writes
		// decoded bytes into head: it needs a copy of its own.
		first := o.firstBuf()
		if &first[0] != &head[0] {
			copy(first, head[:n])
		}
		o.pre = Replay{Prefix: first[:n], R: src}
		src = &o.pre
	}
	dec, err := o.decoder(k, src)
	if errors.Is(err, io.EOF) {
		// An empty file named .gz holds no lines; no reason to fail it.
		return eofReader{}, 0, true, closeFn, nil
	}
	if err != nil {
		return nil, 0, true, nil, closeAfter(closeFn, fmt.Errorf("decompress %s: %w", path, err))
	}
	o.dec = decodeReader{r: dec, path: path}
	return &o.dec, 0, true, closeFn, nil
}

// firstSize is how much the first read of a regular file takes.
func (o *Opener) firstSize() int {
	if o.FirstReadSize > 0 {
		return o.FirstReadSize
	}
	return FirstRead
}

// firstBuf returns the Opener's own first-read buffer, allocated on first
// use.
func (o *Opener) firstBuf() []byte {
	if len(o.first) != o.firstSize() {
		o.first = make([]byte, o.firstSize())
	}
	return o.first
}

// sniffRegular reads the start of the regular file open in o.raw into head,
// in one read, and recognises its compression from it. It returns the
// reader of the rest and how much head holds; when that is the whole file
// by its size, the rest is not asked for, which saves the read that would
// return end of file.
func (o *Opener) sniffRegular(st *syscall.Stat_t, path string, head []byte) (io.Reader, int, kind, error) {
	if o.Avoid != nil && sameFile(st, o.Avoid) {
		return nil, 0, plain, fmt.Errorf("%s: %w", path, ErrIsOutput)
	}
	n, err := o.raw.Read(head)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, plain, err
	}
	var rest io.Reader = &o.raw
	if n < len(head) && int64(n) == st.Size {
		rest = eofReader{}
	}
	return rest, n, kindOf(head[:n], path), nil
}

// sniff reads the first bytes of f, a FIFO or device (openRaw keeps regular
// files for sniffRegular), to recognise its compression. Such a stream
// cannot be reread: one read, whatever it returns, is replayed in front of
// the rest, and a first read shorter than the magic leaves the stream
// treated by name. It is never the output file, which Avoid holds only when
// that is a regular file.
func (o *Opener) sniff(f *os.File, path string) (io.Reader, kind, error) {
	n, err := f.Read(o.hdr[:])
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, plain, err // *fs.PathError names the path
	}
	o.pre = Replay{Prefix: o.hdr[:n], R: f}
	return &o.pre, kindOf(o.hdr[:n], path), nil
}

// kindOf tells the compression from the first bytes h, else from the name.
func kindOf(h []byte, path string) kind {
	switch {
	case bytes.HasPrefix(h, gzipMagic):
		return gz
	case bytes.HasPrefix(h, zstdMagic):
		return zst
	case hasSuffixFold(path, ".gz"):
		return gz
	case hasSuffixFold(path, ".zst"):
		return zst
	}
	return plain
}

// decoder resets the pooled decoder of kind k to read src, creating it on
// first use.
func (o *Opener) decoder(k kind, src io.Reader) (io.Reader, error) {
	if k == gz {
		if o.gz == nil {
			o.gz = new(gzip.Reader)
		}
		// Reset reads the header and turns multistream back on.
		if err := o.gz.Reset(src); err != nil {
			return nil, err
		}
		return o.gz, nil
	}
	if o.zd == nil {
		zd, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, err
		}
		o.zd = zd
	}
	if err := o.zd.Reset(src); err != nil {
		return nil, err
	}
	return o.zd, nil
}

// Close releases the pooled decoders; the zstd decoder must be closed to
// stop its goroutines. Close may be called more than once, and a later Open
// makes new decoders.
func (o *Opener) Close() error {
	if o.zd != nil {
		o.zd.Close()
		o.zd = nil
	}
	o.gz = nil
	return nil
}

// IsCompressedName reports whether path ends in .gz or .zst, in any case.
func IsCompressedName(path string) bool {
	return hasSuffixFold(path, ".gz") || hasSuffixFold(path, ".zst")
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// closeAfter closes f after a failed Open, keeping err first.
func closeAfter(closeFn func() error, err error) error {
	if cerr := closeFn(); cerr != nil {
		return errors.Join(err, cerr)
	}
	return err
}

// Replay reads Prefix, bytes already read from a stream that cannot seek,
// then R: what was read is put back in front. A value, not a constructor,
// so that an owner can keep one and reuse it without allocating.
type Replay struct {
	Prefix []byte
	R      io.Reader
}

func (p *Replay) Read(b []byte) (int, error) {
	if len(p.Prefix) > 0 {
		n := copy(b, p.Prefix)
		p.Prefix = p.Prefix[n:]
		return n, nil
	}
	return p.R.Read(b)
}

// decodeReader names the path in the decompressor's errors, which otherwise
// say only "gzip: invalid checksum".
type decodeReader struct {
	r    io.Reader
	path string
}

func (d *decodeReader) Read(b []byte) (int, error) {
	n, err := d.r.Read(b)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("decompress %s: %w", d.path, err)
	}
	return n, err
}

// eofReader is an empty input, without state to share between workers.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
