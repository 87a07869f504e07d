package daemon

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/logscan/logscan/internal/config"
	"github.com/logscan/logscan/internal/state"
	"github.com/logscan/logscan/internal/testutil"
)

// fakeCollector speaks OTLP/HTTP through pdata: it accepts the first
// accept requests (all when accept < 0), then answers status.
type fakeCollector struct {
	mu     sync.Mutex
	accept int
	status int
	bodies map[string]int // record bodies taken, by count
}

func newFakeCollector(t *testing.T, accept, status int) (*fakeCollector, string) {
	fc := &fakeCollector{accept: accept, status: status, bodies: map[string]int{}}
	srv := httptest.NewServer(fc)
	t.Cleanup(srv.Close)
	return fc, srv.URL
}

func (fc *fakeCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		z, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = z
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.accept == 0 {
		w.WriteHeader(fc.status)
		return
	}
	fc.accept--
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(raw); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rls := req.Logs().ResourceLogs()
	for i := range rls.Len() {
		sls := rls.At(i).ScopeLogs()
		for j := range sls.Len() {
			lrs := sls.At(j).LogRecords()
			for k := range lrs.Len() {
				fc.bodies[lrs.At(k).Body().AsString()]++
			}
		}
	}
	out, _ := plogotlp.NewExportResponse().MarshalProto()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (fc *fakeCollector) set(accept, status int) {
	fc.mu.Lock()
	fc.accept, fc.status = accept, status
	fc.mu.Unlock()
}

func (fc *fakeCollector) counts() map[string]int {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	m := make(map[string]int, len(fc.bodies))
	for k, v := range fc.bodies {
		m[k] = v
	}
	return m
}

// TestShipIncremental: an incremental run ships what is new and exits 0
// only once the collector acknowledged all of it; what it did acknowledge
// before an outage is not sent again by the next run, and the saved offset
// is the first unacknowledged record's. A collector that refuses a batch
// for good makes the run fail, with the batch in the dead-letter file.
func TestShipIncremental(t *testing.T) {
	const lines, perBatch = 1000, 100
	tests := []struct {
		name       string
		accept     int // requests accepted before status
		status     int
		wantErr    string
		wantOffset int // the 0-based line the state resumes at (an outage: the first not taken)
		deadLines  int
		inFlight   int
	}{
		{"all acknowledged", -1, 0, "", lines, 0, 1},
		{"outage after two batches", 2, http.StatusServiceUnavailable, "unacknowledged", 2 * perBatch, 0, 1},
		// Acknowledged out of order: a batch taken above the watermark is
		// sent again by the next run, and only such a batch.
		{"outage, four in flight", 2, http.StatusServiceUnavailable, "unacknowledged", 0, 0, 4},
		{"refused for good", 3, http.StatusBadRequest, "refused 700 records", lines, 7, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			stateFile := filepath.Join(t.TempDir(), "state.json")
			logf := filepath.Join(root, "app.log")
			var b strings.Builder
			offsets := make([]int, lines+1)
			for i := range lines {
				offsets[i] = b.Len()
				fmt.Fprintf(&b, "ERROR %04d\n", i)
			}
			offsets[lines] = b.Len()
			testutil.AppendFile(t, logf, b.String())
			fc, url := newFakeCollector(t, tc.accept, tc.status)
			run := func() error {
				cfg, err := config.Load(config.Sources{Flags: map[string]any{
					"roots": []string{root}, "state_file": stateFile, "match": []string{"ERROR"},
					"otlp.endpoint": url, "otlp.batch.max_records": perBatch, "otlp.shutdown_timeout": "300ms",
					"output.stdout": false, "otlp.concurrency": tc.inFlight,
				}})
				if err != nil {
					t.Fatal(err)
				}
				_, err = Run(context.Background(), Options{Config: cfg, Stdout: io.Discard, Log: zerolog.Nop()})
				return err
			}
			err := run()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("first run: %v, want %q", err, tc.wantErr)
			}
			st, lerr := state.Load(stateFile)
			if lerr != nil || st == nil || len(st.Files) != 1 {
				t.Fatalf("state: %v %+v", lerr, st)
			}
			// With requests in flight at once, which batches the outage
			// cut off varies: the state resumes at the first line the
			// collector did not take.
			want := tc.wantOffset
			if tc.status == http.StatusServiceUnavailable {
				got := fc.counts()
				want = 0
				for want < lines && got[fmt.Sprintf("ERROR %04d", want)] > 0 {
					want++
				}
				if want == lines {
					t.Fatal("the outage cut off nothing")
				}
			}
			if got := st.Files[0].Offset; got != int64(offsets[want]) {
				t.Fatalf("saved offset %d, want %d (line %d)", got, offsets[want], want)
			}
			if tc.deadLines > 0 {
				raw, rerr := os.ReadFile(deadLetterPath(&config.Config{StateFile: stateFile}))
				if rerr != nil || strings.Count(string(raw), "\n") != tc.deadLines {
					t.Fatalf("dead letters: %v, %d lines, want %d", rerr, strings.Count(string(raw), "\n"), tc.deadLines)
				}
				return
			}
			fc.set(-1, 0)
			if err := run(); err != nil {
				t.Fatalf("second run: %v", err)
			}
			got := fc.counts()
			for i := range lines {
				n := got[fmt.Sprintf("ERROR %04d", i)]
				if n != 1 && (tc.inFlight == 1 || i < want || n != 2) {
					t.Fatalf("line %d received %d times, want once (twice only above the watermark, line %d, with requests in flight at once)", i, n, want)
				}
			}
		})
	}
}
