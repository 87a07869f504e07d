//go:build !linux

package input

// readCached is Linux's page-cache-only read; elsewhere every read is the
// blocking one.
func (f *rawFile) readCached(b []byte) (n int, ok bool) { return 0, false }
