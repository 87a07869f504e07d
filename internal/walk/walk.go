// Package walk is a lazy, error-reporting iterator over the regular files
// below a root that never follows symlinks below it.
//
// # Policy
//
// A root that is a symlink is resolved (like grep -r and find -H); a symlink
// below the root, to a file or a directory, is never followed and is skipped,
// so loops cannot occur and a tree cannot pull in files from outside itself.
// A root that is a regular file, a FIFO or a character device is yielded
// itself (a FIFO named on the command line is read like stdin). Below the
// root only regular files are yielded; FIFOs, sockets and devices are
// skipped without being opened, because opening a FIFO blocks and reading a
// device may never end.
//
// Directories are read one at a time as the walk reaches them, never the
// whole tree at once, and closed before anything is yielded, so the walk
// holds no file descriptor while the consumer works and an early break leaves
// nothing open. Entries of a directory are visited sorted by name, depth
// first, for deterministic output; pending directories live on an explicit
// stack, so depth costs neither goroutine stack nor file descriptors.
//
// # Errors
//
// Errors go to the sink given with OnError, once per path that cannot be
// read, and the walk goes on, the contract of fs.WalkDirFunc. A sink rather
// than a sticky Err method because a walk has many independent errors, not
// one fatal one: the caller counts and logs each as it happens, in order
// with the paths yielded. Without OnError the errors are written to
// os.Stderr, the way grep -r reports them, so that none is lost; callers that
// log or count should always pass a sink.
//
// # Limits
//
// Paths are strings handed to os.Open, and Linux refuses paths of PATH_MAX
// (4096) bytes or more. A directory nested so deep that its path reaches that
// length is reported to the error sink (ENAMETOOLONG) and its subtree is not
// walked, since the files in it could not be opened by name anyway.
package walk

import (
	"fmt"
	"io/fs"
	"iter"
	"os"
	"strings"
)

// Option configures Files.
type Option func(*options)

type options struct {
	onError func(path string, err error)
	onSkip  func(path, reason string)
	exclude func(path string, d fs.DirEntry) bool
}

// OnError sets the error sink, called for every path that cannot be read
// (including a missing root); the walk goes on after it returns.
func OnError(fn func(path string, err error)) Option {
	return func(o *options) { o.onError = fn }
}

// OnSkip sets a callback for entries skipped because of their type (symlink,
// fifo, socket, device, other), for debug logs and counters.
func OnSkip(fn func(path string, reason string)) Option {
	return func(o *options) { o.onSkip = fn }
}

// Exclude sets a filter called for every entry below the root before it is
// visited; returning true skips a file or prunes a directory, silently.
func Exclude(fn func(path string, d fs.DirEntry) bool) Option {
	return func(o *options) { o.exclude = fn }
}

// Reasons passed to the OnSkip callback.
const (
	reasonSymlink = "symlink"
	reasonFIFO    = "fifo"
	reasonSocket  = "socket"
	reasonDevice  = "device"
	reasonOther   = "irregular"
)

// frame is a directory being visited: its sorted entries and the next one.
type frame struct {
	dir     string
	entries []fs.DirEntry
	next    int
}

// Files returns a lazy, single-use iterator over the regular files below
// root, in the order described in the package doc. Each yielded path is root
// joined with the names below it. Breaking out of the loop stops the walk.
func Files(root string, opts ...Option) iter.Seq[string] {
	o := options{onError: stderrSink}
	for _, opt := range opts {
		opt(&o)
	}
	return func(yield func(string) bool) {
		info, err := os.Stat(root) // resolves a symlinked root
		if err != nil {
			o.onError(root, err)
			return
		}
		mode := info.Mode()
		switch {
		case mode.IsRegular(), mode&fs.ModeNamedPipe != 0, mode&fs.ModeCharDevice != 0:
			yield(root)
			return
		case !mode.IsDir():
			o.skip(root, reason(mode.Type()))
			return
		}
		stack := []frame{o.read(root)}
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next == len(top.entries) {
				stack[len(stack)-1] = frame{} // drop the entries for the GC
				stack = stack[:len(stack)-1]
				continue
			}
			d := top.entries[top.next]
			top.entries[top.next] = nil
			top.next++
			path := join(top.dir, d.Name())
			if o.exclude != nil && o.exclude(path, d) {
				continue
			}
			switch t := d.Type(); {
			case t.IsRegular():
				if !yield(path) {
					return
				}
			case t.IsDir():
				// top is invalid after the append.
				stack = append(stack, o.read(path))
			default:
				o.skip(path, reason(t))
			}
		}
	}
}

// read lists dir sorted by name. Entries read before an error are still
// visited, so a directory that fails half way loses only what is unreadable.
func (o *options) read(dir string) frame {
	entries, err := os.ReadDir(dir)
	if err != nil {
		o.onError(dir, err)
	}
	return frame{dir: dir, entries: entries}
}

func (o *options) skip(path, reason string) {
	if o.onSkip != nil {
		o.onSkip(path, reason)
	}
}

// reason names a skipped file type for OnSkip.
func reason(t fs.FileMode) string {
	switch {
	case t&fs.ModeSymlink != 0:
		return reasonSymlink
	case t&fs.ModeNamedPipe != 0:
		return reasonFIFO
	case t&fs.ModeSocket != 0:
		return reasonSocket
	case t&fs.ModeDevice != 0:
		return reasonDevice
	default:
		return reasonOther
	}
}

// join appends name to dir without cleaning, so that paths keep the form the
// user gave for the root, as grep -r prints them ("./logs/a").
func join(dir, name string) string {
	if strings.HasSuffix(dir, string(os.PathSeparator)) {
		return dir + name
	}
	return dir + string(os.PathSeparator) + name
}

// stderrSink is the default error sink, so that errors are never dropped.
func stderrSink(path string, err error) {
	// A failed write to stderr has nowhere left to be reported.
	_, _ = fmt.Fprintf(os.Stderr, "logscan: %s: %v\n", path, err)
}
