package otlp

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.uber.org/goleak"

	"github.com/logscan/logscan/internal/output"
	"github.com/logscan/logscan/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// t0 is the fixed clock's start.
var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

// sleeps records the backoff waits. A blocking one waits for the sender's
// context instead of returning at once, for tests of a collector that never
// recovers.
type sleeps struct {
	mu     sync.Mutex
	d      []time.Duration
	block  bool
	called chan struct{} // receives at each Sleep when not nil
}

func (s *sleeps) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	block := s.block
	s.mu.Unlock()
	if s.called != nil {
		select {
		case s.called <- struct{}{}:
		default:
		}
	}
	if block {
		<-ctx.Done()
	}
	return ctx.Err()
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// reply is what the fake collector answers one request with.
type reply struct {
	status   int
	header   map[string]string
	body     []byte // raw; nil: an ExportResponse in the request's encoding
	rejected int64  // partial success
	message  string
}

// collector is a fake OTLP/HTTP receiver that decodes requests with pdata.
type collector struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	calls   int
	headers []http.Header
	got     []plog.Logs // the requests it answered with a 2xx
	respond func(call int) reply
	recv    chan struct{}
}

func newCollector(t *testing.T, respond func(call int) reply) *collector {
	c := &collector{t: t, respond: respond, recv: make(chan struct{}, 100)}
	c.srv = httptest.NewServer(c)
	t.Cleanup(c.srv.Close)
	return c
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			c.t.Errorf("collector: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	asJSON := r.Header.Get("Content-Type") == "application/json"
	req := plogotlp.NewExportRequest()
	if asJSON {
		err = req.UnmarshalJSON(data)
	} else {
		err = req.UnmarshalProto(data)
	}
	if err != nil {
		c.t.Errorf("collector: decoding: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	rep := reply{status: http.StatusOK}
	if c.respond != nil {
		rep = c.respond(c.calls)
	}
	c.calls++
	c.headers = append(c.headers, r.Header.Clone())
	if rep.status/100 == 2 {
		c.got = append(c.got, req.Logs())
	}
	c.mu.Unlock()
	c.write(w, rep, asJSON)
	select {
	case c.recv <- struct{}{}:
	default:
	}
}

func (c *collector) write(w http.ResponseWriter, rep reply, asJSON bool) {
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	out := rep.body
	if out == nil && rep.status/100 == 2 {
		resp := plogotlp.NewExportResponse()
		if rep.rejected > 0 || rep.message != "" {
			resp.PartialSuccess().SetRejectedLogRecords(rep.rejected)
			resp.PartialSuccess().SetErrorMessage(rep.message)
		}
		var err error
		if asJSON {
			w.Header().Set("Content-Type", "application/json")
			out, err = resp.MarshalJSON()
		} else {
			w.Header().Set("Content-Type", "application/x-protobuf")
			out, err = resp.MarshalProto()
		}
		if err != nil {
			c.t.Error(err)
		}
	}
	w.WriteHeader(rep.status)
	_, _ = w.Write(out)
}

// accepted returns the logs of the requests answered with a 2xx.
func (c *collector) accepted() []plog.Logs {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]plog.Logs(nil), c.got...)
}

// acceptedRecords counts the log records of the accepted requests.
func (c *collector) acceptedRecords() int {
	n := 0
	for _, l := range c.accepted() {
		n += l.LogRecordCount()
	}
	return n
}

// fixture is an Exporter wired to a fake collector, a fixed clock and
// recorded sleeps.
type fixture struct {
	e      *Exporter
	c      *collector
	clock  *testutil.Clock
	sleeps *sleeps
	logs   *testutil.SyncBuffer
}

func newFixture(t *testing.T, respond func(int) reply, mod func(*Options)) *fixture {
	t.Helper()
	f := &fixture{c: newCollector(t, respond), clock: testutil.NewClock(t0), sleeps: &sleeps{}, logs: &testutil.SyncBuffer{}}
	o := Options{
		Endpoint:        f.c.srv.URL,
		Client:          f.c.srv.Client(),
		MaxWait:         time.Hour, // batches are sealed by the test
		ShutdownTimeout: 10 * time.Second,
		HostName:        "host-1",
		Log:             zerolog.New(f.logs),
		Now:             f.clock.Now,
		Sleep:           f.sleeps.Sleep,
		Rand:            func() float64 { return 0.5 },
	}
	if mod != nil {
		mod(&o)
	}
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	f.e = e
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	return f
}

// drain seals and waits for every record to be done.
func (f *fixture) drain(t *testing.T) {
	t.Helper()
	if err := f.e.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// line returns a plain record of file id at off.
func line(id string, off int64, text string) *output.Record {
	return &output.Record{Path: "/var/log/" + id + ".log", FileID: id, Offset: off, Text: []byte(text), Time: t0}
}
