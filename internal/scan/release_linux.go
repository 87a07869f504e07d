//go:build linux

package scan

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// releasePages gives the kernel back the pages of b that a long line made
// resident, keeping the buffer: the next touch maps zero pages again. The
// buffer is kept because allocating it again per input would cost more
// (the runtime clears a reused span whole, making all of it resident); its
// pages are released because each worker would otherwise keep as much of
// it resident as the longest line it ever read (a tree with a 4 MiB line
// in several files kept 4 MiB more per worker). Only the whole pages
// inside b are released; a failure only leaves them resident.
func releasePages(b []byte) {
	page := uintptr(unix.Getpagesize())
	if len(b) < int(2*page) {
		return
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	skip := int((page - start%page) % page)
	n := (len(b) - skip) / int(page) * int(page)
	_ = unix.Madvise(b[skip:skip+n], unix.MADV_DONTNEED)
}
