package linemetrics_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// accessPattern is the rules' pattern, in logscan's config and (with its
// slashes escaped) in testdata/access.mtail.
const accessPattern = `"(?P<method>[A-Z]+) (?P<route>/\S*) HTTP/[0-9.]+" (?P<status>\d{3}) (?P<bytes>\d+)`

var accessRE = regexp.MustCompile(accessPattern)

// The mix of the writer's lines. The bytes include each bucket's bound and
// its neighbours, and never 0 (see TestMtail).
var (
	methods  = []string{"GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE"}
	routes   = []string{"/", "/api/users", "/api/orders", "/static/app.js", "/login", "/health"}
	statuses = []string{"200", "200", "200", "200", "200", "201", "204", "301", "304", "404", "500", "502", "503"}
	sizes    = []string{"1", "99", "100", "101", "512", "999", "1000", "1001", "4096", "9999", "10000", "10001", "65536"}
)

// mix spreads seq over a table without its neighbours repeating the pattern.
func mix(seq, n, salt int) int {
	return int((uint64(seq)*2654435761 + uint64(salt)*40503) % 1000003 % uint64(n))
}

// accessLine is writer line seq with the given route ("" for the mix).
func accessLine(seq int, route string) string {
	if route == "" {
		route = routes[mix(seq, len(routes), 1)]
	}
	return fmt.Sprintf(`10.0.%d.%d - - [02/Dec/2026:10:%02d:%02d +0000] "%s %s HTTP/1.1" %s %s "-" "lmtest/1.0" seq=%d`,
		seq%7, seq%250, seq/60%60, seq%60, methods[mix(seq, len(methods), 2)], route,
		statuses[mix(seq, len(statuses), 3)], sizes[mix(seq, len(sizes), 4)], seq)
}

func mixLine(seq int) string { return accessLine(seq, "") }

// hit is a line the rule selects, its captures.
type hit struct {
	method, route, status string
	bytes                 float64
}

func parseHit(line string) (hit, bool) {
	m := accessRE.FindStringSubmatch(line)
	if m == nil {
		return hit{}, false
	}
	b, err := strconv.ParseFloat(m[4], 64)
	if err != nil {
		return hit{}, false
	}
	return hit{m[1], m[2], m[3], b}, true
}

// seqOf is the seq= of a writer line, -1 for none.
func seqOf(line string) int {
	i := strings.LastIndex(line, " seq=")
	if i < 0 {
		return -1
	}
	n, err := strconv.Atoi(line[i+len(" seq="):])
	if err != nil {
		return -1
	}
	return n
}

// writer appends lines to path at a steady rate, one write a tick, from a
// file it keeps open (as a daemon does) until the hup file appears (a
// postrotate touches it), which makes it reopen path.
type writer struct {
	path, hup string
	gen       func(seq int) string
	stop      chan struct{}
	done      chan struct{}
	mu        sync.Mutex
	n         int // lines written
	last      string
	err       error
}

// startWriter starts writing gen(first), gen(first+1)... at rate lines/s.
func startWriter(t *testing.T, path, hup string, first, rate int, gen func(int) string) *writer {
	t.Helper()
	w := &writer{path: path, hup: hup, gen: gen, stop: make(chan struct{}), done: make(chan struct{}), n: first}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	go w.run(f, first, rate)
	t.Cleanup(func() { w.Stop() })
	return w
}

func (w *writer) run(f *os.File, first, rate int) {
	defer close(w.done)
	defer func() { _ = f.Close() }()
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var buf []byte
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		if w.hup != "" && fileExists(w.hup) {
			_ = os.Remove(w.hup)
			nf, err := os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				w.fail(err)
				return
			}
			_ = f.Close()
			f = nf
		}
		w.mu.Lock()
		due := first + int(time.Since(start).Seconds()*float64(rate))
		buf = buf[:0]
		var last string
		for seq := w.n; seq < due; seq++ {
			last = w.gen(seq)
			buf = append(append(buf, last...), '\n')
		}
		w.mu.Unlock()
		if len(buf) == 0 {
			continue
		}
		if _, err := f.Write(buf); err != nil {
			w.fail(err)
			return
		}
		w.mu.Lock()
		w.n, w.last = due, last
		w.mu.Unlock()
	}
}

func (w *writer) fail(err error) {
	w.mu.Lock()
	w.err = err
	w.mu.Unlock()
}

// Stop stops the writer and returns the next seq (the lines written, from
// the first) and the last line.
func (w *writer) Stop() (int, string, error) {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n, w.last, w.err
}

func (w *writer) written() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// appendLines appends gen(from)...gen(to-1) in one write.
func appendLines(t *testing.T, path string, from, to int, gen func(int) string) {
	t.Helper()
	var b strings.Builder
	for seq := from; seq < to; seq++ {
		b.WriteString(gen(seq))
		b.WriteByte('\n')
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// onDisk returns the lines that the files matching dir/app.log* hold, in
// the order of the files' names (app.log before app.log.1) and of the
// lines, and how many of those are a file's last line without its newline
// (a copy that logrotate made while a write was landing).
func onDisk(t *testing.T, dir string) (lines []string, torn int) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "app.log*"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for line := range strings.Lines(s) {
			if !strings.HasSuffix(line, "\n") {
				torn++
			}
			lines = append(lines, strings.TrimSuffix(line, "\n"))
		}
	}
	return lines, torn
}

// union is the distinct lines of the lists, in first-seen order.
func union(lists ...[]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range lists {
		for _, s := range l {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// printed is what logscan printed on stdout, each line without the
// "PATH:" logscan puts before the lines of a directory's files.
func printed(dir string, out []string) []string {
	lines := make([]string, 0, len(out))
	for _, l := range out {
		if strings.HasPrefix(l, dir+string(filepath.Separator)) {
			if i := strings.IndexByte(l, ':'); i >= 0 {
				l = l[i+1:]
			}
		}
		lines = append(lines, l)
	}
	return lines
}

// bounds are the histogram's buckets in the scenarios' configs.
var bounds = []float64{100, 1000, 10000}

// expectation builds the exposition logscan should serve for a list of
// lines, in the keys of testutil.ParseExposition.
type expectation struct {
	series
	prefix string
}

func newExpectation(prefix string) *expectation {
	return &expectation{series: series{}, prefix: prefix}
}

// base adds three of the scenarios' metrics over lines: the requests by
// method and status, the response bytes and their histogram (lastStatus
// adds the fourth).
func (e *expectation) base(lines []string, buckets []float64) *expectation {
	e.counterBy("http_requests_total", lines, func(h hit) []string { return []string{"method", h.method, "status", h.status} })
	e.sum("http_response_bytes_total", lines)
	e.histogram("http_bytes", lines, buckets)
	return e
}

func (e *expectation) counterBy(name string, lines []string, labels func(hit) []string) {
	for _, l := range lines {
		if h, ok := parseHit(l); ok {
			e.series[key(e.prefix+name, labels(h)...)]++
		}
	}
}

func (e *expectation) sum(name string, lines []string) {
	k := key(e.prefix + name)
	e.series[k] += 0
	for _, l := range lines {
		if h, ok := parseHit(l); ok {
			e.series[k] += h.bytes
		}
	}
}

func (e *expectation) histogram(name string, lines []string, buckets []float64) {
	n := e.prefix + name
	les := append(slices.Clone(buckets), inf)
	for _, le := range les {
		e.series[key(n+"_bucket", "le", formatLE(le))] += 0
	}
	e.series[key(n+"_sum")] += 0
	e.series[key(n+"_count")] += 0
	for _, l := range lines {
		h, ok := parseHit(l)
		if !ok {
			continue
		}
		for _, le := range les {
			if h.bytes <= le {
				e.series[key(n+"_bucket", "le", formatLE(le))]++
			}
		}
		e.series[key(n+"_sum")] += h.bytes
		e.series[key(n+"_count")]++
	}
}

// requests is the sum of the http_requests_total series of s.
func requests(s series, prefix string) float64 { return s.total(prefix + "http_requests_total") }

func mustFloat(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		panic(err)
	}
	return f
}
