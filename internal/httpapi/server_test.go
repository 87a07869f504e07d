package httpapi

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const deadline = 10 * time.Second

func mustNew(t *testing.T, addr string, reg *prometheus.Registry, hub *Hub, ready func() bool, sec Security) *Server {
	t.Helper()
	s, err := New(addr, reg, hub, ready, zerolog.Nop(), sec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitClients blocks until hub has n clients, woken by membership changes
// rather than polling, and fails the test after a deadline.
func waitClients(t *testing.T, h *Hub, n int) {
	t.Helper()
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	for {
		changed := h.changes()
		if h.Clients() == n {
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("hub has %d clients, want %d", h.Clients(), n)
		}
	}
}

type fixture struct {
	srv     *httptest.Server
	hub     *Hub
	dropped atomic.Int64
	ready   atomic.Bool
	client  *http.Client
}

func newFixture(t *testing.T, perClient int) *fixture {
	t.Helper()
	f := &fixture{}
	f.hub = NewHub(perClient, func() { f.dropped.Add(1) })
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "logscan_stream_clients", Help: "Clients.",
	}, func() float64 { return float64(f.hub.Clients()) }))
	s := mustNew(t, "127.0.0.1:0", reg, f.hub, f.ready.Load, Security{})
	f.srv = httptest.NewServer(s.Handler())
	f.client = &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		f.hub.Close()
		f.client.CloseIdleConnections()
		f.srv.Close()
	})
	return f
}

func (f *fixture) get(t *testing.T, path string) (int, string, http.Header) {
	t.Helper()
	resp, err := f.client.Get(f.srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return resp.StatusCode, string(b), resp.Header
}

// stream opens /matches and waits until the hub counts the client, so a
// Publish after stream returns is guaranteed to reach it.
func (f *fixture) stream(t *testing.T, ctx context.Context, query string) (*http.Response, *bufio.Reader) {
	t.Helper()
	before := f.hub.Clients()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL+"/matches"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatalf("GET /matches%s: %v", query, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /matches%s: status %d", query, resp.StatusCode)
	}
	waitClients(t, f.hub, before+1)
	return resp, bufio.NewReader(resp.Body)
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read stream: %v (got %q)", err, line)
	}
	return line
}

func TestProbes(t *testing.T) {
	f := newFixture(t, 8)
	tests := []struct {
		path     string
		ready    bool
		wantCode int
		wantBody string
	}{
		{"/healthz", false, 200, "ok\n"},
		{"/livez", false, 200, "ok\n"},
		{"/readyz", false, 503, "not ready\n"},
		{"/readyz", true, 200, "ok\n"},
		{"/healthz", true, 200, "ok\n"},
		{"/livez", true, 200, "ok\n"},
		{"/nope", true, 404, "404 page not found\n"},
	}
	for _, tt := range tests {
		f.ready.Store(tt.ready)
		code, body, _ := f.get(t, tt.path)
		if code != tt.wantCode || body != tt.wantBody {
			t.Errorf("%s (ready=%v): %d %q, want %d %q", tt.path, tt.ready, code, body, tt.wantCode, tt.wantBody)
		}
	}
}

func TestMetricsEndpoint(t *testing.T) {
	f := newFixture(t, 8)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.stream(t, ctx, "")
	code, body, hdr := f.get(t, "/metrics")
	if code != 200 || !strings.Contains(body, "logscan_stream_clients 1\n") {
		t.Fatalf("/metrics: %d %q", code, body)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("/metrics Content-Type %q", ct)
	}
}

func TestMatchReceivedLive(t *testing.T) {
	f := newFixture(t, 8)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, r := f.stream(t, ctx, "")
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type %q", ct)
	}
	buf := []byte(`{"rule":"errors","line":"boom"}` + "\n")
	f.hub.Publish("errors", buf)
	copy(buf, "XXXXXXXX") // the caller may reuse its buffer at once
	if got := readLine(t, r); got != `{"rule":"errors","line":"boom"}`+"\n" {
		t.Fatalf("got %q", got)
	}
	f.hub.Publish("errors", []byte("{\"n\":2}\n"))
	if got := readLine(t, r); got != "{\"n\":2}\n" {
		t.Fatalf("second match: got %q", got)
	}
}

func TestRuleFilter(t *testing.T) {
	f := newFixture(t, 8)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	streams := []struct {
		query string
		want  []string
	}{
		{"", []string{"b", "a", "unnamed", "end"}},
		{"?rule=a", []string{"a", "end"}},
		{"?rule=unnamed", []string{"unnamed", "end"}},
	}
	readers := make([]*bufio.Reader, len(streams))
	for i, s := range streams {
		_, readers[i] = f.stream(t, ctx, s.query)
	}
	for _, rule := range []string{"b", "a", ""} {
		name := rule
		if name == "" {
			name = "unnamed"
		}
		f.hub.Publish(rule, []byte(name+"\n"))
	}
	for _, rule := range []string{"a", "unnamed", "b"} {
		f.hub.Publish(rule, []byte("end\n")) // each stream ends on its first "end"
	}
	for i, s := range streams {
		var got []string
		for {
			l := strings.TrimSuffix(readLine(t, readers[i]), "\n")
			got = append(got, l)
			if l == "end" {
				break
			}
		}
		if strings.Join(got, ",") != strings.Join(s.want, ",") {
			t.Errorf("/matches%s got %v, want %v", s.query, got, s.want)
		}
	}
}

// TestSlowReaderDoesNotBlock holds a client that never reads a byte while
// 100k matches are published: Publish must keep its pace and count drops.
func TestSlowReaderDoesNotBlock(t *testing.T) {
	f := newFixture(t, 16)
	conn, err := net.Dial("tcp", f.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(conn, "GET /matches HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	waitClients(t, f.hub, 1)

	const n = 100_000
	line := []byte(`{"rule":"r","line":"` + strings.Repeat("x", 200) + `"}` + "\n")
	start := time.Now()
	for range n {
		f.hub.Publish("r", line)
	}
	elapsed := time.Since(start)
	// Unblocked, 100k publishes take milliseconds even under -race; a
	// Publish that waited on the stalled client would never finish.
	if elapsed > 5*time.Second {
		t.Errorf("100k publishes took %v", elapsed)
	}
	if f.dropped.Load() == 0 {
		t.Errorf("no drops counted for a client that never reads")
	}
	// 20 MB cannot fit in the client's buffer plus the socket buffers.
	if d := f.dropped.Load(); d < n/2 {
		t.Errorf("dropped %d of %d, expected most of them", d, n)
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	waitClients(t, f.hub, 0)
}

func TestClientDisconnectCleansUp(t *testing.T) {
	f := newFixture(t, 4)
	ctxA, cancelA := context.WithCancel(context.Background())
	ctxB, cancelB := context.WithCancel(context.Background())
	defer cancelB()
	f.stream(t, ctxA, "")
	_, rb := f.stream(t, ctxB, "")
	cancelA()
	waitClients(t, f.hub, 1)
	f.hub.Publish("r", []byte("still\n"))
	if got := readLine(t, rb); got != "still\n" {
		t.Fatalf("remaining client got %q", got)
	}
	cancelB()
	waitClients(t, f.hub, 0)
	if _, body, _ := f.get(t, "/metrics"); !strings.Contains(body, "logscan_stream_clients 0\n") {
		t.Errorf("clients gauge not back to 0:\n%s", body)
	}
}

func TestHubCloseEndsStreams(t *testing.T) {
	f := newFixture(t, 4)
	_, r := f.stream(t, context.Background(), "")
	f.hub.Close()
	f.hub.Close() // idempotent
	if b, err := io.ReadAll(r); err != nil || len(b) != 0 {
		t.Fatalf("stream after Close: %q, %v", b, err)
	}
	waitClients(t, f.hub, 0)
	code, _, _ := f.get(t, "/matches")
	if code != http.StatusServiceUnavailable {
		t.Errorf("/matches on a closed hub: %d, want 503", code)
	}
}

func TestTooManyClients(t *testing.T) {
	h := NewHub(1, nil)
	defer h.Close()
	for i := range MaxClients {
		if _, err := h.subscribe(""); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	if _, err := h.subscribe(""); err != ErrTooManyClients {
		t.Fatalf("client %d: %v, want ErrTooManyClients", MaxClients+1, err)
	}
}

func TestRunServesAndShutsDown(t *testing.T) {
	hub := NewHub(4, nil)
	defer hub.Close()
	s := mustNew(t, "127.0.0.1:0", prometheus.NewRegistry(), hub, nil, Security{})
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- s.Run(ctx) }()
	<-s.Started()
	if s.Addr() == "" {
		t.Fatalf("not listening: %v", <-runErr)
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://" + s.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
	// An open stream must not hold up shutdown.
	stream, err := client.Get("http://" + s.Addr() + "/matches")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	waitClients(t, hub, 1)

	start := time.Now()
	cancel()
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(deadline):
		t.Fatal("Run did not return after cancel")
	}
	if d := time.Since(start); d >= shutdownTimeout {
		t.Errorf("shutdown took %v: the stream held it up", d)
	}
	if _, err := io.ReadAll(stream.Body); err != nil {
		t.Errorf("stream did not end cleanly: %v", err)
	}
}

func TestRunListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := mustNew(t, ln.Addr().String(), nil, nil, nil, Security{})
	err = s.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("Run on a busy port: %v", err)
	}
	<-s.Started()
	if s.Addr() != "" {
		t.Errorf("Addr after failed listen = %q", s.Addr())
	}
}

func TestPublishAllocations(t *testing.T) {
	h := NewHub(1<<20, nil)
	defer h.Close()
	line := []byte("{}\n")
	if n := testing.AllocsPerRun(1000, func() { h.Publish("r", line) }); n != 0 {
		t.Errorf("Publish with no clients allocates %v", n)
	}
	for range 3 {
		if _, err := h.subscribe(""); err != nil {
			t.Fatal(err)
		}
	}
	if n := testing.AllocsPerRun(1000, func() { h.Publish("r", line) }); n != 1 {
		t.Errorf("Publish to 3 clients allocates %v, want 1 shared copy", n)
	}
}

func BenchmarkPublishNoClients(b *testing.B) {
	h := NewHub(64, nil)
	defer h.Close()
	line := []byte(`{"rule":"r","line":"some log line here"}` + "\n")
	b.ReportAllocs()
	for b.Loop() {
		h.Publish("r", line)
	}
}

func BenchmarkPublishStalledClient(b *testing.B) {
	h := NewHub(64, func() {})
	defer h.Close()
	if _, err := h.subscribe(""); err != nil {
		b.Fatal(err)
	}
	line := []byte(`{"rule":"r","line":"some log line here"}` + "\n")
	b.ReportAllocs()
	for b.Loop() {
		h.Publish("r", line)
	}
}
