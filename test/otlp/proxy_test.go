package otlp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"
)

// flaky is a reverse proxy in front of the collector. It answers 503
// Service Unavailable to every request for the first window after the first
// request (and to at least the first minRejects), every other one with
// Retry-After: 1, and forwards from then on. Once armed by holdNext, it
// holds the collector's next answer back for a while, and announces on held
// that the collector has written the records but logscan has no
// acknowledgement yet.
type flaky struct {
	srv        *httptest.Server
	rp         *httputil.ReverseProxy
	window     time.Duration
	minRejects int
	hold       time.Duration // armed: how long to hold the next answer
	held       chan struct{}

	mu                  sync.Mutex
	first, lastReject   time.Time
	rejected, withRetry int
	forwarded           int
	statuses            map[int]int // the collector's answers to forwarded requests
}

func newFlaky(t *testing.T, target string, window time.Duration, minRejects int) *flaky {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	f := &flaky{rp: httputil.NewSingleHostReverseProxy(u), window: window, minRejects: minRejects,
		held: make(chan struct{}, 1), statuses: map[int]int{}}
	f.rp.ModifyResponse = func(resp *http.Response) error {
		f.mu.Lock()
		f.statuses[resp.StatusCode]++
		hold := f.hold
		f.hold = 0
		f.mu.Unlock()
		if hold > 0 {
			f.held <- struct{}{}
			time.Sleep(hold) // the acknowledgement is late: that is the point
		}
		return nil
	}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	now := time.Now()
	if f.first.IsZero() {
		f.first = now
	}
	reject := now.Sub(f.first) < f.window || f.rejected < f.minRejects
	retry := false
	if reject {
		retry = f.rejected%2 == 0
		f.rejected++
		if retry {
			f.withRetry++
		}
		f.lastReject = now
	} else {
		f.forwarded++
	}
	f.mu.Unlock()
	if !reject {
		f.rp.ServeHTTP(w, r)
		return
	}
	_, _ = io.Copy(io.Discard, r.Body)
	if retry {
		w.Header().Set("Retry-After", "1")
	}
	http.Error(w, "collector overloaded (test)", http.StatusServiceUnavailable)
}

func (f *flaky) endpoint() string { return f.srv.URL }

// holdNext arms the proxy: the collector's next answer is passed on only d
// after it came.
func (f *flaky) holdNext(d time.Duration) {
	f.mu.Lock()
	f.hold = d
	f.mu.Unlock()
}

func (f *flaky) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	span := time.Duration(0)
	if !f.lastReject.IsZero() {
		span = f.lastReject.Sub(f.first)
	}
	return fmt.Sprintf("rejected=%d (with Retry-After: 1 %d) over %s, forwarded=%d, collector answered %v",
		f.rejected, f.withRetry, span.Round(time.Millisecond), f.forwarded, f.statuses)
}
