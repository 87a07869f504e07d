package watch

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

// TestTornWindows forces a truncate and refill into the two windows where
// one would pair bytes of the old content with bytes of the new: between
// the pread that places a start at the end and the one that fingerprints
// the bytes before that place (the two reads are one now), and inside the
// pread that checks the tail and reads the data (the data is followed by a
// second check of the tail). The injected pread does it at the exact
// moment. Either way the new content must be read from its start, whole,
// and no fragment of a line passed.
func TestTornWindows(t *testing.T) {
	old := numbered("old line, long enough to pass the 1 KiB head-", 1, 40)
	refill := numbered("new-", 1, 400) // longer than old: no shrink to see
	tests := []struct {
		name    string
		startAt string
		trigger string // appended to make the follower read, "" for none
		// tear reports whether the armed pread at off, of n bytes, is the
		// one to tear, and how many bytes to read before the refill.
		tear func(off int64, n int) (bool, int)
		want []string
	}{
		{"start at the end: refilled right after the pread that places it", "end", "",
			func(off int64, n int) (bool, int) { return true, n },
			linesOf(refill)},
		{"data read: refilled between the tail and the data of one pread", "beginning", "old-more\n",
			func(off int64, n int) (bool, int) {
				return off == int64(len(old))-tailMax && n > tailMax, tailMax
			},
			linesOf(old, refill)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "app.log")
			writeFile(t, log, old)
			fi, err := os.Stat(log)
			if err != nil {
				t.Fatal(err)
			}
			key := keyOf(fi)
			var armed atomic.Bool
			armed.Store(tt.trigger == "")
			var clock atomic.Int64
			h := start(t, Config{Roots: []string{dir}, StartAt: tt.startAt}, nil, func(f *Follower) {
				f.hooks.now = func() time.Time { return time.Unix(0, clock.Load()) }
				f.hooks.pread = func(fd int, b []byte, off int64) (int, error) {
					var st syscall.Stat_t
					if !armed.Load() || syscall.Fstat(fd, &st) != nil || (fileKey{uint64(st.Dev), st.Ino}) != key {
						return pread(fd, b, off)
					}
					do, first := tt.tear(off, len(b))
					if !do {
						return pread(fd, b, off)
					}
					armed.Store(false)
					n, err := pread(fd, b[:first], off)
					if err != nil || n < first {
						return n, err
					}
					if err := os.WriteFile(log, []byte(refill), 0o644); err != nil { // O_TRUNC, same inode
						t.Error(err)
					}
					m, err := pread(fd, b[first:], off+int64(first))
					return n + m, err
				}
			})
			if tt.trigger != "" {
				h.sync()
				armed.Store(true)
				testutil.AppendFile(t, log, tt.trigger)
			}
			h.sync()
			settle(h, &clock)
			if armed.Load() {
				t.Fatal("the pread to tear never came")
			}
			got := h.rec.lines()
			for _, l := range got {
				if !strings.HasPrefix(l, "old line") && !strings.HasPrefix(l, "new-") {
					t.Errorf("fragment passed: %q", l)
				}
			}
			wantLines(t, got, tt.want)
		})
	}
}
