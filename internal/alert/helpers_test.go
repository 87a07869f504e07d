package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/logscan/logscan/internal/capture"
	"github.com/logscan/logscan/internal/fields"
	clocks "github.com/logscan/logscan/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// t0 is the fake clock's start.
var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

// wait bounds every wait for a goroutine's result.
const wait = 10 * time.Second

func newClock() *clocks.Clock { return clocks.NewClock(t0) }

// sleeps records the backoff waits. With block, a wait lasts until a
// release or ctx is done; else it returns at once.
type sleeps struct {
	mu      sync.Mutex
	d       []time.Duration
	block   bool
	called  chan time.Duration
	release chan struct{}
}

func newSleeps(block bool) *sleeps {
	return &sleeps{block: block, called: make(chan time.Duration, 100), release: make(chan struct{})}
}

func (s *sleeps) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	select {
	case s.called <- d:
	default:
	}
	if !s.block {
		return ctx.Err()
	}
	select {
	case <-s.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *sleeps) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.d)
}

// logBuf is a zerolog sink the tests read.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// messages returns the messages of the log lines whose field key is value.
func (l *logBuf) messages(key, value string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for line := range strings.Lines(l.b.String()) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m[key] == value {
			s, _ := m["message"].(string)
			out = append(out, s)
		}
	}
	return out
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// request is one request a fake server answered.
type request struct {
	header http.Header
	body   []byte
}

// server is a fake Alertmanager or webhook; respond gives the status of
// the n-th request (from 0), 200 when nil.
type server struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []request
	respond func(n int) int
	got     chan request
}

func newServer(t *testing.T, respond func(n int) int) *server {
	s := &server{t: t, respond: respond, got: make(chan request, 100)}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	return s
}

// newServerAt serves on addr, for a restart on the same URL.
func newServerAt(t *testing.T, addr string, respond func(n int) int) *server {
	s := &server{t: t, respond: respond, got: make(chan request, 100)}
	var l net.Listener
	var err error
	for range 100 {
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond) // the port is being released
	}
	if err != nil {
		t.Fatal(err)
	}
	s.srv = httptest.NewUnstartedServer(s)
	s.srv.Listener = l
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	n := len(s.reqs)
	req := request{header: r.Header.Clone(), body: body}
	s.reqs = append(s.reqs, req)
	status := http.StatusOK
	if s.respond != nil {
		status = s.respond(n)
	}
	s.mu.Unlock()
	w.WriteHeader(status)
	s.got <- req
}

func (s *server) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// next waits for the next request.
func (s *server) next() request {
	s.t.Helper()
	select {
	case r := <-s.got:
		return r
	case <-time.After(wait):
		s.t.Fatal("no request")
		return request{}
	}
}

// alerts waits for the next request and decodes it as Alertmanager's.
func (s *server) alerts() []amAlert {
	s.t.Helper()
	var a []amAlert
	if err := json.Unmarshal(s.next().body, &a); err != nil {
		s.t.Fatal(err)
	}
	return a
}

// fixture is an Engine on a fake clock, and what it logs and counts.
type fixture struct {
	e      *Engine
	clock  *clocks.Clock
	log    *logBuf
	reg    *prometheus.Registry
	sleeps *sleeps
	x      *capture.Extractor
	m      *capture.Match
}

// newFixture makes an Engine of cfg whose rules may group by the names
// "user" and "ip", captured by the pattern `user=(?P<user>\w+)( ip=(?P<ip>\S+))?`
// of matcher rule 0 (and 1, 2: the same pattern).
func newFixture(t *testing.T, cfg Config, opt ...func(*Options)) *fixture {
	t.Helper()
	f := &fixture{clock: newClock(), log: &logBuf{}, reg: prometheus.NewRegistry(), sleeps: newSleeps(false)}
	f.x = testExtractor()
	f.m = f.x.NewMatch()
	o := Options{
		Now: f.clock.Now, Host: "h1", Log: zerolog.New(f.log), Registerer: f.reg,
		Extractor: f.x, Sleep: f.sleeps.Sleep, Rand: func() float64 { return 0.5 },
	}
	for _, fn := range opt {
		fn(&o)
	}
	e, err := New(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	f.e = e
	t.Cleanup(func() { _ = e.Close(time.Second) })
	return f
}

// testExtractor extracts user and ip, captured by the pattern of matcher
// rules 0, 1 and 2, or fields.
func testExtractor() *capture.Extractor {
	re := regexp.MustCompile(`user=(?P<user>\w+)(?: ip=(?P<ip>\S+))?`)
	rules := []capture.Rule{{Name: "r0", Patterns: []*regexp.Regexp{re}}, {Name: "r1", Patterns: []*regexp.Regexp{re}}, {Name: "r2", Patterns: []*regexp.Regexp{re}}}
	return capture.Compile([]string{"user", "ip", "pid"}, rules, true)
}

// line observes text as selected by matcher rule rule, with the fields of
// rec (nil: none).
func (f *fixture) line(rule int, text string, rec *fields.Record) {
	f.m.Reset([]byte(text), rec, rule)
	f.e.Observe(rule, f.m, "/var/log/auth.log")
}

func (f *fixture) start(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f.e.Start(ctx)
}

func (f *fixture) alerts(rule, result string) float64 {
	return testutil.ToFloat64(f.e.met.rule(rule, result))
}

func (f *fixture) suppressed(reason string) float64 {
	return testutil.ToFloat64(f.e.met.suppressed.WithLabelValues(reason))
}

// eventually waits until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// groups returns the number of groups of the rule named name.
func (f *fixture) groups(name string) int {
	f.e.mu.Lock()
	defer f.e.mu.Unlock()
	return len(f.e.byName[name].groups)
}

func (f *fixture) firing(name string) int {
	f.e.mu.Lock()
	defer f.e.mu.Unlock()
	n := 0
	for _, g := range f.e.byName[name].groups {
		if g.firing {
			n++
		}
	}
	return n
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(amTimeFormat, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
