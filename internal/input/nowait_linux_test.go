package input

import (
	"bytes"
	"io"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestReadCachedFallsBack reads a file whose pages were dropped from the
// page cache: the page-cache-only read must decline, and the blocking read
// behind it must still return the whole content.
func TestReadCachedFallsBack(t *testing.T) {
	data := bytes.Repeat([]byte("a line that the disk holds\n"), 40000) // ~1 MiB
	path := write(t, t.TempDir(), "cold.log", data)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil { // clean pages are the ones DONTNEED drops
		t.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	raw := &rawFile{fd: fd, path: path}
	defer raw.Close()
	n, ok := raw.readCached(make([]byte, FirstRead))
	switch {
	case raw.noCache:
		t.Skip("this file system refuses RWF_NOWAIT reads; every read is the blocking one")
	case ok && n == FirstRead:
		t.Skip("the pages stayed in the page cache (FADV_DONTNEED is advice), so no fallback to test")
	case ok && n == 0:
		t.Fatalf("readCached said end of file at offset 0 of a %d-byte file", len(data))
	}
	if _, err := syscall.Seek(fd, 0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, want the %d written", len(got), len(data))
	}
}

// TestReadCachedReadsCachedFile checks the raw read's own result on a file
// that was just written, so is cached: it must answer, at the position,
// and say end of file at the end.
func TestReadCachedReadsCachedFile(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1000)
	path := write(t, t.TempDir(), "warm.log", data)
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	raw := &rawFile{fd: fd, path: path}
	defer raw.Close()
	var got []byte
	buf := make([]byte, 3000) // not a divisor of the size: the last read is short
	for {
		n, ok := raw.readCached(buf)
		if raw.noCache {
			t.Skip("this file system refuses RWF_NOWAIT reads")
		}
		if !ok {
			t.Fatalf("readCached declined a cached file at offset %d", len(got))
		}
		if n == 0 {
			break
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, want the %d written", len(got), len(data))
	}
}
