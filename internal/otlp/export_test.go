package otlp

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.uber.org/goleak"

	"github.com/logscan/logscan/internal/retry"
)

func count(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	return testutil.ToFloat64(c)
}

// TestRetry covers the retryable answers: each batch is retried after the
// wait the backoff or the server's Retry-After says, delivered once, and
// the retries are counted.
func TestRetry(t *testing.T) {
	date := t0.Add(30 * time.Second).Format(http.TimeFormat)
	for _, tc := range []struct {
		name    string
		replies []reply // then 200s
		wait    []time.Duration
	}{
		{"503", []reply{{status: 503}}, []time.Duration{200 * time.Millisecond}},
		{"503 twice", []reply{{status: 503}, {status: 502}}, []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}},
		{"504", []reply{{status: 504}}, []time.Duration{200 * time.Millisecond}},
		{"429 Retry-After seconds", []reply{{status: 429, header: map[string]string{"Retry-After": "7"}}}, []time.Duration{7 * time.Second}},
		{"429 Retry-After date", []reply{{status: 429, header: map[string]string{"Retry-After": date}}}, []time.Duration{30 * time.Second}},
		{"503 Retry-After capped", []reply{{status: 503, header: map[string]string{"Retry-After": "86400"}}}, []time.Duration{retry.MaxRetryAfter}},
		{"429 bad Retry-After", []reply{{status: 429, header: map[string]string{"Retry-After": "soon"}}}, []time.Duration{200 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(call int) reply {
				if call < len(tc.replies) {
					return tc.replies[call]
				}
				return reply{status: 200}
			}, nil)
			f.e.Start(t.Context())
			for i := range 3 {
				f.e.Add(line("8:1", int64(i*10), "line"))
			}
			f.drain(t)
			if got := f.sleeps.got(); !equalDurations(got, tc.wait) {
				t.Errorf("waits %v, want %v", got, tc.wait)
			}
			if n := f.c.acceptedRecords(); n != 3 {
				t.Errorf("collector accepted %d records, want 3 (once each)", n)
			}
			retries := float64(len(tc.replies))
			if n := count(t, f.e.met.batchesRetried); n != retries {
				t.Errorf("batches retried %v, want %v", n, retries)
			}
			if n := count(t, f.e.met.recordsRetried); n != 3*retries {
				t.Errorf("records retried %v, want %v", n, 3*retries)
			}
			if n := count(t, f.e.met.recordsSent); n != 3 {
				t.Errorf("records sent %v, want 3", n)
			}
			logs := f.logs.String()
			if strings.Count(logs, `"level":"warn"`) != 1 || !strings.Contains(logs, "export recovered") {
				t.Errorf("want one warning and a recovery in the log:\n%s", logs)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempt int
		rand    float64
		want    time.Duration
	}{
		{0, 0.5, 200 * time.Millisecond},
		{0, 0, 100 * time.Millisecond},
		{0, 0.999, 299800 * time.Microsecond},
		{1, 0.5, 400 * time.Millisecond},
		{4, 0.5, 3200 * time.Millisecond},
		{5, 0.5, 5 * time.Second},
		{8, 0, 2500 * time.Millisecond},
		{8, 0.9, 5 * time.Second},
		{100, 0.5, 5 * time.Second},
	} {
		s := &sender{e: &Exporter{o: Options{Rand: func() float64 { return tc.rand }}}}
		if got := s.backoff(tc.attempt, 0); got != tc.want {
			t.Errorf("backoff(%d) with rand %v = %v, want %v", tc.attempt, tc.rand, got, tc.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"120", 2 * time.Minute, true},
		{"-1", 0, false},
		{"99999999999999", retry.MaxRetryAfter, true},
		{t0.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{t0.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"later", 0, false},
	} {
		got, ok := retry.RetryAfter(tc.in, t0)
		if got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestRefused covers the permanent refusals: the batch is done at once,
// written to the dead-letter file when there is one, and counted.
func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		dead      string // "file": under t.TempDir()
		result    string // failed or dropped
		deadLines int
	}{
		{"400 dead letter", 400, "file", resultFailed, 1},
		{"500 dead letter", 500, "file", resultFailed, 1},
		{"401 no dead letter", 401, "", resultFailed, 0},
		{"400 dead letter unwritable", 400, "/dev/full", resultDropped, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dead := tc.dead
			if dead == "file" {
				dead = filepath.Join(t.TempDir(), "dead.ndjson")
			}
			if dead == "/dev/full" {
				if _, err := os.Stat(dead); err != nil {
					t.Skip("no /dev/full")
				}
			}
			f := newFixture(t, func(int) reply {
				return reply{status: tc.status, body: []byte(`{"code":3,"message":"bad data"}`), header: map[string]string{"Content-Type": "application/json"}}
			}, func(o *Options) { o.DeadLetter = dead })
			f.e.Start(t.Context())
			f.e.Add(line("8:1", 0, "one"))
			f.e.Add(line("8:1", 4, "two"))
			if _, ok := f.e.Held("8:1"); !ok {
				t.Fatal("not held before the refusal")
			}
			f.drain(t)
			if off, ok := f.e.Held("8:1"); ok {
				t.Errorf("still held at %d after the refusal", off)
			}
			if got := f.sleeps.got(); len(got) != 0 {
				t.Errorf("retried after %v", got)
			}
			counters := map[string]prometheus.Counter{resultFailed: f.e.met.recordsFailed, resultDropped: f.e.met.recordsDropped}
			if n := count(t, counters[tc.result]); n != 2 {
				t.Errorf("records %s %v, want 2", tc.result, n)
			}
			if n := count(t, f.e.met.deadLetters); n != float64(tc.deadLines) {
				t.Errorf("dead-letter batches %v, want %d", n, tc.deadLines)
			}
			if logs := f.logs.String(); !strings.Contains(logs, "bad data") || !strings.Contains(logs, "refused") {
				t.Errorf("the log does not show the refusal and the response:\n%s", logs)
			}
			if tc.deadLines > 0 {
				checkDeadLetter(t, dead, tc.deadLines, 2)
			}
		})
	}
}

// checkDeadLetter checks that path, mode 0600, has lines lines of
// OTLP/JSON requests with records records in all.
func checkDeadLetter(t *testing.T, path string, lines, records int) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("dead-letter file mode %v, want 0600", st.Mode().Perm())
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	n, recs := 0, 0
	for sc.Scan() {
		n++
		req := plogotlp.NewExportRequest()
		if err := req.UnmarshalJSON(sc.Bytes()); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		recs += req.Logs().LogRecordCount()
	}
	if n != lines || recs != records {
		t.Errorf("dead-letter file has %d lines of %d records, want %d of %d", n, recs, lines, records)
	}
}

// TestRefusalProtoStatus checks that a refusal's google.rpc.Status body,
// as an OTLP receiver sends it for a protobuf request, is logged as text.
func TestRefusalProtoStatus(t *testing.T) {
	// code 3, message "bad data", hand-encoded: a fixture, not an encoder.
	status := []byte{0x08, 0x03, 0x12, 0x08, 'b', 'a', 'd', ' ', 'd', 'a', 't', 'a'}
	f := newFixture(t, func(int) reply {
		return reply{status: 400, body: status, header: map[string]string{"Content-Type": "application/x-protobuf"}}
	}, nil)
	f.e.Start(t.Context())
	f.e.Add(line("8:1", 0, "one"))
	f.drain(t)
	if logs := f.logs.String(); !strings.Contains(logs, `"response":"bad data"`) {
		t.Errorf("the log does not show the status message:\n%s", logs)
	}
}

func TestPartialSuccess(t *testing.T) {
	for _, encoding := range []string{"proto", "json"} {
		t.Run(encoding, func(t *testing.T) {
			f := newFixture(t, func(int) reply {
				return reply{status: 200, rejected: 2, message: "two too old"}
			}, func(o *Options) { o.Encoding = encoding })
			f.e.Start(t.Context())
			for i := range 5 {
				f.e.Add(line("8:1", int64(i), "x"))
			}
			f.drain(t)
			if n := count(t, f.e.met.recordsSent); n != 3 {
				t.Errorf("records sent %v, want 3", n)
			}
			if n := count(t, f.e.met.recordsDropped); n != 2 {
				t.Errorf("records dropped %v, want 2", n)
			}
			if n := count(t, f.e.met.batchesSent); n != 1 {
				t.Errorf("batches sent %v, want 1", n)
			}
			if logs := f.logs.String(); !strings.Contains(logs, "two too old") {
				t.Errorf("the log does not show the error message:\n%s", logs)
			}
		})
	}
}

// TestNetworkError sends to an address nobody listens on, then starts the
// collector there during the backoff wait.
func TestNetworkError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := &collector{t: t, recv: make(chan struct{}, 1)}
	c.srv = httptest.NewUnstartedServer(c)
	t.Cleanup(c.srv.Close)
	sl := &sleeps{}
	started := false
	e, err := New(Options{
		Endpoint: "http://" + addr, HostName: "h", MaxWait: time.Hour,
		Now: t0Clock,
		Sleep: func(ctx context.Context, d time.Duration) error {
			if !started {
				started = true
				l, err := net.Listen("tcp", addr)
				if err != nil {
					t.Errorf("the port was taken meanwhile: %v", err)
					return err
				}
				c.srv.Listener.Close()
				c.srv.Listener = l
				c.srv.Start()
			}
			return sl.Sleep(ctx, d)
		},
		Rand: func() float64 { return 0.5 },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.Start(t.Context())
	e.Add(line("8:1", 0, "x"))
	if err := e.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := sl.got(); len(got) != 1 {
		t.Errorf("waits %v, want one", got)
	}
	if n := c.acceptedRecords(); n != 1 {
		t.Errorf("collector accepted %d records, want 1", n)
	}
}

func t0Clock() time.Time { return t0 }

// TestSealing covers when a batch is sealed: at MaxRecords, at MaxBytes,
// by Flush once MaxWait old and not before, by Drain at once.
func TestSealing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mod     func(*Options)
		adds    int
		advance time.Duration // before Flush
		sealed  int           // batches queued after the adds and Flush
	}{
		{"under the limits", nil, 3, 0, 0},
		{"max records", func(o *Options) { o.MaxRecords = 2 }, 5, 0, 2},
		{"max bytes", func(o *Options) { o.MaxBytes = 1 }, 3, 0, 3},
		{"flush before max wait", func(o *Options) { o.MaxWait = time.Second }, 3, 999 * time.Millisecond, 0},
		{"flush at max wait", func(o *Options) { o.MaxWait = time.Second }, 3, time.Second, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil, tc.mod)
			for i := range tc.adds {
				f.e.Add(line("8:1", int64(i), "x"))
			}
			f.clock.Advance(tc.advance)
			f.e.Flush()
			f.e.mu.Lock()
			sealed := len(f.e.queue)
			f.e.mu.Unlock()
			if sealed != tc.sealed {
				t.Errorf("%d batches sealed, want %d", sealed, tc.sealed)
			}
			if n := f.e.Pending(); n != tc.adds {
				t.Errorf("Pending %d, want %d", n, tc.adds)
			}
			f.e.Start(t.Context())
			f.drain(t)
			if n := f.c.acceptedRecords(); n != tc.adds {
				t.Errorf("collector accepted %d records, want %d", n, tc.adds)
			}
		})
	}
}

// TestIdleTail checks that the sender's timer ships a batch nobody flushes.
func TestIdleTail(t *testing.T) {
	f := newFixture(t, nil, func(o *Options) { o.MaxWait = 5 * time.Millisecond })
	f.e.Start(t.Context())
	f.e.Add(line("8:1", 0, "x"))
	f.clock.Advance(time.Second)
	select {
	case <-f.c.recv:
	case <-time.After(10 * time.Second):
		t.Fatal("the idle batch was not sent")
	}
	if n := f.c.acceptedRecords(); n != 1 {
		t.Errorf("collector accepted %d records, want 1", n)
	}
}

// TestWatermark checks Held and Pending through batches done out of
// order; the FIFO itself is tested in acks_test.go.
func TestWatermark(t *testing.T) {
	f := newFixture(t, nil, func(o *Options) { o.MaxRecords = 2 })
	e := f.e
	held := func(id string, want int64, wantOK bool) {
		t.Helper()
		if off, ok := e.Held(id); off != want || ok != wantOK {
			t.Errorf("Held(%s) = %d, %v; want %d, %v", id, off, ok, want, wantOK)
		}
	}
	held("A", 0, false)
	e.Add(line("A", 100, "a1"))
	held("A", 100, true) // the open batch holds too
	e.Add(line("B", 5, "b1"))
	e.Add(line("A", 110, "a2"))
	e.Add(line("A", 120, "a3"))
	e.Add(line("A", 130, "a4"))
	// Batches: 1 {A100, B5}, 2 {A110, A120}, open 3 {A130}.
	e.mu.Lock()
	b1, b2 := e.take(), e.take()
	e.mu.Unlock()
	if n := e.Pending(); n != 5 {
		t.Errorf("Pending %d, want 5", n)
	}
	e.finish(b2)
	held("A", 100, true)
	held("B", 5, true)
	if n := e.Pending(); n != 3 {
		t.Errorf("Pending %d, want 3", n)
	}
	e.finish(b1)
	held("A", 130, true)
	held("B", 0, false)
	e.Start(t.Context())
	f.drain(t)
	held("A", 0, false)
	if n := e.Pending(); n != 0 {
		t.Errorf("Pending %d, want 0", n)
	}
	if n := len(e.acks.files); n != 0 {
		t.Errorf("%d FIFOs left", n)
	}
}

// TestFullWake fills a tiny queue: Full seals the open batch, and Wake
// receives once the acknowledgement makes room.
func TestFullWake(t *testing.T) {
	f := newFixture(t, nil, func(o *Options) { o.QueueBytes = 200 })
	e := f.e
	e.Add(line("8:1", 0, "x"))
	if e.Full() {
		t.Fatal("Full after one small record")
	}
	for i := range 3 {
		e.Add(line("8:1", int64(i+1), strings.Repeat("x", 100)))
	}
	if !e.Full() {
		t.Fatalf("not Full at %d bytes", e.queued())
	}
	select {
	case <-e.Wake():
		t.Fatal("woken while Full")
	default:
	}
	e.mu.Lock()
	sealed := len(e.queue)
	e.mu.Unlock()
	if sealed != 1 {
		t.Errorf("Full sealed %d batches, want 1", sealed)
	}
	e.Start(t.Context())
	select {
	case <-e.Wake():
	case <-time.After(10 * time.Second):
		t.Fatal("no Wake after the acknowledgement")
	}
	if e.Full() {
		t.Error("Full after Wake")
	}
}

// TestDrainGivesUp checks that Drain returns, naming the count, when the
// collector never answers well: after ShutdownTimeout, or when ctx is done.
func TestDrainGivesUp(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		ctx     func() (context.Context, context.CancelFunc)
		want    string
	}{
		{"timeout", time.Millisecond, func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }, "3 records unacknowledged after 1ms"},
		{"ctx", time.Hour, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancelCause(context.Background())
			cancel(errors.New("second signal"))
			return ctx, func() {}
		}, "3 records unacknowledged: second signal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(int) reply { return reply{status: 503} }, func(o *Options) { o.ShutdownTimeout = tc.timeout })
			f.sleeps.block = true
			f.e.Start(t.Context())
			for i := range 3 {
				f.e.Add(line("8:1", int64(i), "x"))
			}
			ctx, cancel := tc.ctx()
			defer cancel()
			err := f.e.Drain(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Drain: %v, want an error with %q", err, tc.want)
			}
			if err := f.e.Close(); err != nil {
				t.Fatal(err)
			}
			if off, ok := f.e.Held("8:1"); !ok || off != 0 {
				t.Errorf("Held after Close = %d, %v; want 0, true", off, ok)
			}
		})
	}
}

// TestClose checks that Close stops every goroutine the Exporter started,
// with a batch mid-retry, and that it is idempotent.
func TestClose(t *testing.T) {
	c := newCollector(t, func(int) reply { return reply{status: 503} })
	sl := &sleeps{block: true, called: make(chan struct{}, 1)}
	e, err := New(Options{Endpoint: c.srv.URL, HostName: "h", Sleep: sl.Sleep, MaxWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e.Start(t.Context())
	e.Add(line("8:1", 0, "x"))
	<-sl.called // the batch is mid-retry
	for range 2 {
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
	e.Start(t.Context()) // after Close: nothing
	c.srv.Close()
	goleak.VerifyNone(t)
}

func TestCloseUnstarted(t *testing.T) {
	e, err := New(Options{Endpoint: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	e.Add(line("8:1", 0, "x"))
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t)
}
