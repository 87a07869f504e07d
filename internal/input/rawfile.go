package input

import (
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/logscan/logscan/internal/scan"
)

// FirstRead is how much Open reads of a regular file, by default, before
// deciding what it holds. Most rotated logs in a /var/log tree are smaller,
// so one read brings the whole file and its size says that nothing follows.
// It is the size of the scanner's block: with 64 KiB,
// files of 280 KB and 1.1 MB (the matrix's deep trees) took 13-24% longer
// to search in paired runs, for one read more per file; trees of small or
// of 64 MiB files were unchanged.
const FirstRead = scan.DefaultBufSize

// ShortFirstRead is the first read for a search that usually leaves a file
// at its first match (-l, -q, -m): reading 256 KiB first made -l on the
// deep tree 1.37x slower than 64 KiB, as the match was within the first
// 64 KiB of each file.
const ShortFirstRead = 64 << 10

// rawFile reads a regular file by plain system calls. An *os.File asks the
// runtime poller to take every descriptor (an epoll_ctl that fails for a
// regular file) and sets a finalizer; on a tree of 40,000 small files those
// were a third of the system calls of the search.
type rawFile struct {
	fd      int
	path    string
	noCache bool // readCached is refused for this file
}

func (f *rawFile) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if n, ok := f.readCached(b); ok {
		if n == 0 {
			return 0, io.EOF
		}
		return n, nil
	}
	for {
		n, err := syscall.Read(f.fd, b)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, &fs.PathError{Op: "read", Path: f.path, Err: err}
		}
		if n == 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *rawFile) Close() error {
	if err := syscall.Close(f.fd); err != nil {
		return &fs.PathError{Op: "close", Path: f.path, Err: err}
	}
	return nil
}

// openRaw opens path read-only. For a regular file it returns the
// descriptor and its status; for anything else (a FIFO, a device) it
// returns an *os.File, whose blocking reads the runtime handles.
func openRaw(path string) (fd int, st syscall.Stat_t, other *os.File, err error) {
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOCTTY, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return -1, st, nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	if err = syscall.Fstat(fd, &st); err != nil {
		_ = syscall.Close(fd) // the fstat error is the one to report
		return -1, st, nil, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return -1, st, os.NewFile(uintptr(fd), path), nil
	}
	return fd, st, nil, nil
}

// sameFile reports whether st is the file of info, by device and inode.
func sameFile(st *syscall.Stat_t, info os.FileInfo) bool {
	o, ok := info.Sys().(*syscall.Stat_t)
	return ok && o.Dev == st.Dev && o.Ino == st.Ino
}
