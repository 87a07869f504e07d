// Package linemetrics_test runs the real `logscan --follow` with metrics on
// its rules (rules[].metrics, served on /metrics at http.listen) against
// nginx-like access lines appended at a steady rate, and compares every
// exposed value with what the test computes from the lines themselves: the
// requests by method and status, the response bytes, a histogram of them
// (buckets 100, 1000, 10000, boundary values included) and a gauge of the
// last status.
//
//	go test ./test/linemetrics -v
//
// The expected values are computed from what some file holds at the end
// (app.log*), together with the lines logscan printed on its stdout: under
// copytruncate, a line written between logrotate's copy and its truncate
// is on no file, yet logscan may have read (and so counted) it before the
// truncate; its stdout says whether it did. A line counted twice or never
// makes the values differ.
//
// The scenarios (subtests of TestLineMetrics, two at a time, each with its
// own logscan, port and directory; the whole package takes about 45 s on
// two cores), with the writer at 2,500 lines/s:
//   - steady: 4 s of writing;
//   - kill-9: logscan is killed (-9) twice mid-stream and started again
//     with the same state file each time;
//   - sigterm: logscan is stopped (SIGTERM, exit 0) and started again;
//   - logrotate-create: the real logrotate (create, a postrotate that tells
//     the writer to reopen) runs three times during the writing;
//   - logrotate-copytruncate: the same with copytruncate;
//   - kill-9-create-while-down, kill-9-copytruncate-while-down: logscan is
//     killed (-9), logrotate runs while none runs, logscan starts again;
//   - sigterm-copytruncate-while-down: the same after a SIGTERM;
//   - reload: 2 s of lines, then, once logscan has counted them, a new
//     config (a new metric, other buckets for the histogram) and SIGHUP,
//     and 2 s more: the unchanged metrics count on from their values, the
//     histogram and the new metric count the lines after the reload; then
//     a kill -9 and a start keep all of them;
//   - reload-mid-stream: the same change while the writer writes: the
//     histogram holds exactly the lines the new metric counts, which are
//     those from some line on;
//   - max-series: a metric labelled by route with max_series 5 and 50
//     routes: 5 series and the "other" one, with the overflowed lines in
//     logscan_metric_overflow_total, also after a kill -9 and a start;
//   - max-series-memory: 100,000 distinct routes at 20,000 lines/s into
//     max_series 5 and the default 1000; the VmRSS of logscan stays under
//     64 MiB;
//   - expire-after: a series idle for expire_after (2 s) disappears from
//     /metrics, not sooner, while a busy one stays; a restart does not
//     bring it back, a new line does, from zero;
//   - promtool: `promtool check metrics` finds nothing to say about an
//     exposition with every kind of metric, overflow and value errors
//     (skipped without promtool: apt-get install prometheus).
//
// TestReproTruncatedWhileDown is the deterministic case of the
// *-copytruncate-while-down scenarios: 1,000 lines, a stop, a copytruncate,
// a start and 10 lines appended must make 1,010.
//
// TestMtail runs mtail (skipped without it: apt-get install mtail) with
// testdata/access.mtail, the same metrics, on the same file as logscan and
// requires the same values from both (mtail's names lack the logscan_
// prefix). It then appends lines with 0 bytes, which mtail's histogram
// counts in no bucket, not even +Inf (its first bucket is (0, 100]), and
// logs the difference as MTAIL_DIVERGENCE: it is mtail's, so it only fails
// the test when logscan's values are wrong.
//
// Each scenario logs one line starting "LINEMETRICS scenario=" with its
// figures: lines written, the requests expected, the requests exposed and
// their difference, and what the scenario adds (restarts, rotations, lines
// lost by copytruncate, peak RSS...).
//
// LOGSCAN_LINEMETRICS_LOGSCAN names a logscan binary to test instead of
// building ./cmd/logscan.
package linemetrics_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/logscan/logscan/internal/testutil"
)

var (
	bin      string // the logscan binary
	buildErr error  // why it could not be built: each test fails with it
)

func TestMain(m *testing.M) {
	os.Exit(testutil.MainWithLogscan(m, "linemetrics", "LOGSCAN_LINEMETRICS_LOGSCAN", false, func(b *testutil.Binary) {
		bin, buildErr = b.Path, b.Err
	}))
}

// needLogscan fails the test when the logscan binary could not be built.
func needLogscan(t *testing.T) {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// tool returns the path of an installed program, or skips the test naming
// the command that installs it.
func tool(t *testing.T, name, install string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/bin", "/usr/local/bin", "/usr/sbin"} {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p
		}
	}
	t.Skipf("%s is not installed: %s", name, install)
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
