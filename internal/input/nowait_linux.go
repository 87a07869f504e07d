package input

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// readCached reads what of b the page cache holds now, by a raw
// preadv2(RWF_NOWAIT) at the file position: the kernel copies cached pages
// and returns EAGAIN instead of waiting for the disk. ok is false when that
// is not a complete answer (nothing cached, an error, an interrupt), and
// the caller makes the blocking read.
//
// Why raw: a Go system call of more than 20 µs lets the runtime's sysmon
// hand the worker's P to another thread, and the worker's thread parks and
// wakes to get one back. A 256 KiB read from the page cache takes about
// 55 µs, so a search of large files did that on nearly every read: on the
// matrix's tree of 16 files of 64 MiB the two workers used 1.49 CPUs of 2,
// and the search was 1.22x ripgrep's time. A raw call keeps the P; it is
// safe because RWF_NOWAIT never waits for I/O, so it cannot hold the P (and
// the garbage collector's stop-the-world) through a slow disk or a hung
// NFS server. Those reads go the blocking way.
func (f *rawFile) readCached(b []byte) (n int, ok bool) {
	if f.noCache {
		return 0, false
	}
	iov := unix.Iovec{Base: &b[0]}
	iov.SetLen(len(b))
	// offset -1: read at, and advance, the file position, as read(2) does.
	r, _, e := syscall.RawSyscall6(unix.SYS_PREADV2, uintptr(f.fd), uintptr(unsafe.Pointer(&iov)), 1, ^uintptr(0), ^uintptr(0), unix.RWF_NOWAIT)
	switch e {
	case 0:
		return int(r), true // 0 is end of file: nothing is cached past it
	case syscall.EOPNOTSUPP, syscall.ENOSYS, syscall.EINVAL, syscall.EPERM:
		// The file system (FUSE, NFS), the kernel (before 4.14) or a
		// seccomp filter refuses: stop asking for this file.
		f.noCache = true
	}
	return 0, false
}
