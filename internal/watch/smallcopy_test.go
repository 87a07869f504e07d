package watch

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/logscan/logscan/internal/testutil"
)

// TestSmallCopies covers copies of content under 1 KiB, where the head
// alone proves little: a copy named as a rotation of the file (app.log.1,
// app.log-20261201, as copytruncate makes) is content already read, while
// a file of its own that happens to hold the same lines (app-1.log, or a
// copy in another directory) is read.
func TestSmallCopies(t *testing.T) {
	tests := []struct {
		name, copyTo string
		want         string // the lines passed, in order
	}{
		{"copytruncate to app.log.1", "app.log.1", "a1\na2\nnew1\n"},
		{"copytruncate to app.log-20261201", "app.log-20261201", "a1\na2\nnew1\n"},
		{"same lines in app-1.log", "app-1.log", "a1\na2\na1\na2\nnew1\n"},
		{"same lines in another directory", "old/app.log.1", "a1\na2\na1\na2\nnew1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "app.log")
			writeFile(t, log, "")
			h := start(t, Config{Roots: []string{dir}}, nil)
			testutil.AppendFile(t, log, "a1\na2\n")
			h.sync()
			data, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, tt.copyTo), string(data))
			if err := os.Truncate(log, 0); err != nil {
				t.Fatal(err)
			}
			testutil.AppendFile(t, log, "new1\n")
			h.sync()
			h.syncNew()
			h.stop()
			var got []string
			for _, l := range h.rec.lines() {
				if len(l) < 5 || l[:5] != "sync-" {
					got = append(got, l)
				}
			}
			wantLines(t, got, linesOf(tt.want))
		})
	}
}
