package watch

import (
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

// TestPendingCopyWaitsForTheClock: a new file whose head is a strict prefix
// of a file already read may be a copy still being written, so it waits
// (pendingAge, on the injected clock) before it is read as a new file; if
// the copy completes in time it is recognised and none of it is passed.
func TestPendingCopyWaitsForTheClock(t *testing.T) {
	big := numbered("orig-", 1, 200) // over the 1 KiB a copy must share
	part := big[:strings.LastIndexByte(big[:500], '\n')+1]
	tests := []struct {
		name       string
		complete   bool
		wantCopied int64
		wantLines  []string // of copy.log
	}{
		{"completed in time", true, 1, nil},
		{"never completed", false, 0, linesOf(part)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "orig.log"), big)
			cp := filepath.Join(dir, "copy.log")
			var clock atomic.Int64
			h := start(t, Config{Roots: []string{dir}, StartAt: "beginning"}, nil, func(f *Follower) {
				f.hooks.now = func() time.Time { return time.Unix(0, clock.Load()) }
			})
			copyLines := func() []string {
				var out []string
				for _, r := range h.rec.records() {
					if r.path == cp {
						out = append(out, r.line)
					}
				}
				return out
			}
			writeFile(t, cp, part)
			h.syncNew()
			h.tickSync()
			clock.Add(int64(pendingAge - time.Nanosecond))
			h.tickSync()
			h.syncNew()
			if got := copyLines(); len(got) != 0 {
				t.Fatalf("a possible copy was read before pendingAge: %q", got)
			}
			if tt.complete {
				testutil.AppendFile(t, cp, big[len(part):])
				h.syncNew()
			}
			clock.Add(int64(time.Nanosecond))
			h.tickSync()
			h.syncNew()
			if n := h.f.Stats().CopiesSkipped.Load(); n != tt.wantCopied {
				t.Errorf("CopiesSkipped = %d, want %d", n, tt.wantCopied)
			}
			wantLines(t, copyLines(), tt.wantLines)
		})
	}
}
