package daemon

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/logscan/logscan/internal/config"
	"github.com/logscan/logscan/internal/state"
	"github.com/logscan/logscan/internal/testutil"
)

// TestMetricsUnderShippingHold: the exporter holds the checkpoint at the
// first record the collector has not acknowledged, so the next start reads
// again lines the metrics of rules have counted. They are counted once:
// the state says, per file, up to where they were counted.
func TestMetricsUnderShippingHold(t *testing.T) {
	const lines, perBatch = 1000, 100
	root := t.TempDir()
	stateFile := filepath.Join(t.TempDir(), "state.json")
	var b strings.Builder
	for i := range lines {
		fmt.Fprintf(&b, "ERROR status=%d n=%04d\n", 200+i%2*300, i)
	}
	testutil.AppendFile(t, filepath.Join(root, "app.log"), b.String())
	cfgFile := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgFile, []byte(`rules:
  - name: errors
    match: ['ERROR status=(?P<status>\d+)']
    metrics: [{name: errors_total, labels: [status]}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	fc, url := newFakeCollector(t, 2, http.StatusServiceUnavailable)
	shipped := func() bool {
		got := fc.counts()
		for i := range lines {
			if got[fmt.Sprintf("ERROR status=%d n=%04d", 200+i%2*300, i)] == 0 {
				return false
			}
		}
		return true
	}
	run := func(want string, settled func() bool) {
		t.Helper()
		cfg, err := config.Load(config.Sources{File: cfgFile, Flags: map[string]any{
			"roots": []string{root}, "follow": true, "start_at": "beginning", "state_file": stateFile,
			"http.listen": "127.0.0.1:0", "save_interval": "20ms", "output.stdout": false,
			"otlp.endpoint": url, "otlp.batch.max_records": perBatch, "otlp.batch.max_wait": "10ms", "otlp.shutdown_timeout": "200ms",
		}})
		if err != nil {
			t.Fatal(err)
		}
		addr := make(chan string, 1)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := Run(ctx, Options{Config: cfg, Stdout: io.Discard, Log: zerolog.Nop(), Started: func(a string) { addr <- a }})
			done <- err
		}()
		base := "http://" + <-addr
		testutil.Eventually(t, "every line counted", 10*time.Second, func() bool {
			_, m := get(t, base+"/metrics")
			return metricValue(m, `logscan_errors_total{status="500"}`) == want && settled()
		})
		_, m := get(t, base+"/metrics")
		for _, s := range []string{"200", "500"} {
			if got := metricValue(m, `logscan_errors_total{status="`+s+`"}`); got != want {
				t.Errorf("status %s counted %s times, want %s", s, got, want)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	run("500", func() bool { return true })
	st, err := state.Load(stateFile)
	if err != nil || len(st.Files) != 1 || st.Files[0].Offset == 0 || st.Files[0].Offset >= int64(b.Len()) {
		t.Fatalf("the collector's outage should hold the offset within the file: %v %+v", err, st)
	}
	fc.set(-1, 0)
	run("500", shipped) // read again from the hold: shipped again, not counted again
}
