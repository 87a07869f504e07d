// Package otlp_test ships sequence-numbered lines with the real `logscan
// --follow --otlp-endpoint` to a real OpenTelemetry Collector (the otlp
// receiver, HTTP only, and the file exporter, no batch processor) and counts,
// from the collector's output file, every line written: lost, received
// twice by sequence number, and received twice by log.record.uid.
//
// The collector is test/otelcol/build.sh's (v0.161.0). The tests take its path
// from LOGSCAN_OTELCOL (or OTELCOL), else from build.sh when its cached
// binary exists (or LOGSCAN_OTELCOL_BUILD=1 lets it build, minutes), and skip
// otherwise:
//
//	OTELCOL=$(test/otelcol/build.sh) go test ./test/otlp -v
//
// The scenarios (subtests of TestOTLP, two at a time, about 40 s in all),
// each against its own collector, with the writer at a steady 2,000 lines/s:
//   - steady: 7 s of writing;
//   - collector-outage: the collector is stopped (SIGTERM) for 20 s
//     mid-stream and started again on the same port;
//   - 503-then-200: a reverse proxy answers 503 for the first 3 s (and at
//     least 4 requests), every other one with Retry-After: 1, then forwards;
//   - kill-9-restart: logscan is killed (-9) mid-stream and started again
//     with the same state file;
//   - kill-9-unacked: the same, but the kill comes while the proxy holds back
//     the collector's answer to a request it has written, so the records
//     must come twice;
//   - rename-during-outage: app.log is renamed to app.log.1 (the writer
//     writes 20 more lines there, then a new app.log) while the collector
//     is down, then it comes back;
//   - term-rename-during-outage: logscan is stopped (SIGTERM) while the
//     collector is down, the log is renamed while no logscan runs, then
//     logscan and the collector are started again.
//
// After the writer stops, the test waits until the collector's output holds
// every line written, stops logscan (SIGTERM: exit status 0 required) and the
// collector, and counts. Each scenario logs one line starting "OTLP
// scenario=" with its figures, and its timeline. The knobs: LOGSCAN_OTLP_RATE (lines/s, 2000), LOGSCAN_OTLP_OUTAGE
// (how long the collector is down in the outage scenario, 20s),
// LOGSCAN_OTLP_SETTLE (how long to wait for the last lines after the writer
// stopped, 60s: logscan's retry backoff grows to 30 s), LOGSCAN_OTLP_LOGSCAN
// (a logscan binary to test instead of building ./cmd/logscan) and
// LOGSCAN_OTLP_KEEP=DIR (keep a failed scenario's tree, collector output and
// both processes' diagnostics in DIR).
//
// # Targets
//
// In every scenario no line is lost, every record is a whole writer line
// and carries log.file.path, log.file.name and log.record.uid, and its
// resource host.name (os.Hostname) and service.name ("logscan"). No line
// arrives twice, except that a logscan restarted after a kill -9 may send
// again what the killed one had sent without the acknowledgement reaching
// its state file (bounded at two seconds of lines, and only lines written
// before the kill); after the kill of kill-9-unacked it must. Whenever a line
// does arrive twice, both copies carry the same log.record.uid, and no two
// lines share one: a receiver that drops repeated uids sees each line once.
//
// # The collector's part
//
// The file exporter has no sending queue (it passes no queue option to
// exporterhelper, and v0.161's default is none) and there is no batch
// processor, so the receiver answers a request only after the exporter has
// written it into its buffered writer; the buffer is flushed every
// flush_interval (100 ms) and when the collector shuts down. The collector is
// only ever stopped with SIGTERM, which drains, so nothing it acknowledged is
// missing from its output. (A kill -9 of the collector could lose up to
// flush_interval of acknowledged records: that is the collector's durability,
// not logscan's, and is not tested.) The output is opened with append: true,
// because the exporter's default truncates the file when the collector
// starts again.
package otlp_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/logscan/logscan/internal/testutil"
)

var (
	bin      string // the logscan binary
	buildErr error  // why it could not be built: the tests that need it fail with it
)

func TestMain(m *testing.M) {
	os.Exit(testutil.MainWithLogscan(m, "otlp", "LOGSCAN_OTLP_LOGSCAN", false, func(b *testutil.Binary) {
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

const noCollector = "no OpenTelemetry Collector: LOGSCAN_OTELCOL=$(test/otelcol/build.sh) go test ./test/otlp (the collector builder builds it once, cached); .ci/run does"

// otelcolPath returns the collector binary, or skips the test.
func otelcolPath(t *testing.T) string {
	t.Helper()
	for _, env := range []string{"LOGSCAN_OTELCOL", "OTELCOL"} {
		if p := os.Getenv(env); p != "" {
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("%s=%s: %v", env, p, err)
			}
			return p
		}
	}
	script := filepath.Join(repoRoot(t), "test", "otelcol", "build.sh")
	if _, err := os.Stat(cachedOtelcol(t)); err != nil && os.Getenv("LOGSCAN_OTELCOL_BUILD") != "1" {
		t.Skip(noCollector)
	}
	out, err := exec.Command(script).Output()
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	return strings.TrimSpace(string(out))
}

// cachedOtelcol is where build.sh keeps its binary: the same computation as
// the script's, so that finding it needs no build.
func cachedOtelcol(t *testing.T) string {
	t.Helper()
	cache := os.Getenv("LOGSCAN_OTELCOL_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return ""
			}
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "logscan", "otelcol")
	}
	dir := filepath.Join(repoRoot(t), "test", "otelcol")
	script, err := os.ReadFile(filepath.Join(dir, "build.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^release=(\S+)$`).FindSubmatch(script)
	if m == nil {
		t.Fatalf("%s/build.sh: no release= line", dir)
	}
	b, err := os.ReadFile(filepath.Join(dir, "builder.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return filepath.Join(cache, string(m[1])+"-"+hex.EncodeToString(sum[:])[:12], "otelcol-logscan-test")
}

// repoRoot is the module's root; go test runs in the package's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}
