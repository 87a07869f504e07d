// Package rotate_test runs the real logrotate (and the cp/truncate scripts
// people write instead) against the real `logscan --follow DIR --state-file
// S`, with an in-process writer that never reopens its file (except where a
// postrotate "HUP" tells it to), and counts every sequence-numbered line:
// written, lost, duplicated and torn.
//
// The short version runs in `go test ./...` (one seed, 4 s per scenario, 2,000
// lines/s). The long version takes its figures from the environment:
//
//	LOGSCAN_ROTATE_DURATION=25s LOGSCAN_ROTATE_SEEDS=4 go test ./test/rotate -run TestRotate -v
//
// or test/rotate/run-long.sh, which prints one table of the figures. Each run
// logs one line starting "ROTATE scenario=" with its figures. The knobs:
// LOGSCAN_ROTATE_DURATION (4s), LOGSCAN_ROTATE_SEEDS (1), LOGSCAN_ROTATE_SEED
// (the first seed, 1), LOGSCAN_ROTATE_RATE (lines/s in all, 2000), and
// LOGSCAN_ROTATE_KEEP=DIR to keep a failed run's outputs and tree in DIR.
// Subtests are named SCENARIO/seed=N.
//
// # Targets
//
// No line printed twice and no printed line that is not a whole writer line
// (torn), except that a logscan started after a kill -9 may repeat up to one
// second's worth (the save interval) of what the killed one printed; the
// half-written last record of a killed logscan is counted as cut. No loss
// under create (olddir outside the tree aside), and no loss anywhere of a
// line that a file in the tree holds (below).
//
// # What counts as lost
//
// After the run every file under the tree and under an olddir outside it is
// read (.gz decompressed). A line logscan never printed is
//   - absent from disk when no file holds it: logrotate's own copytruncate
//     gap (bytes written between its copy and its truncate), not logscan's;
//   - outside when only a file outside the tree holds it (an olddir outside
//     the tree): no tree follower can be asked for it;
//   - in the tree otherwise: that is logscan's loss, and it fails the run.
//
// The cp/truncate script overwrites app.log.1 each time, so after each of its
// steps the tree is read too, and a line seen there once counts as on disk.
//
// Repro tests for the deterministic cases (and one loss this suite
// found) are in repro_test.go, regression tests since the fix.
package rotate_test

import (
	"os"
	"testing"

	"github.com/logscan/logscan/internal/testutil"
)

var bin string

func TestMain(m *testing.M) {
	os.Exit(testutil.MainWithLogscan(m, "rotate", "", true, func(b *testutil.Binary) { bin = b.Path }))
}
