//go:build !linux

package scan

// releasePages is a no-op where madvise is not used.
func releasePages([]byte) {}
