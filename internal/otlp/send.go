package otlp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/logscan/logscan/internal/retry"
)

// backoff between attempts at one batch: exponential with jitter, as the
// OTLP exporters do, capped so that a long outage is still probed often.
// The cap is low because the receiver is usually a collector on the same
// host or network: after an outage, shipping resumes within seconds of its
// return (at 30 s, the end-to-end test saw 2-16 s).
var backoff = retry.Backoff{First: 200 * time.Millisecond, Max: 5 * time.Second}

const (
	// maxResponse bounds the response body read: an ExportResponse is
	// small, and an error page need not be read whole.
	maxResponse = 64 << 10
)

// sender is the state of one sender goroutine; nothing here is shared.
type sender struct {
	e    *Exporter
	gz   *gzip.Writer
	zbuf *bodyBuf
	resp bytes.Buffer
	fail failures
	// partial and refusals limit the reports of partial successes and
	// refusals.
	partial, refusals limiter
}

func newSender(e *Exporter) *sender {
	gz, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed) // a valid level: no error
	return &sender{e: e, gz: gz}
}

// run sends sealed batches in order until ctx is done.
func (s *sender) run(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	for {
		b := s.next(ctx, t)
		if b == nil {
			return
		}
		s.deliver(ctx, b)
	}
}

// next waits for a sealed batch, sealing the open one when it is MaxWait
// old so that an idle tail ships without another Add or Flush; nil when
// ctx is done. While a batch is being delivered nothing here runs, which
// is fine: what the timer would seal could not be sent sooner anyway, and
// Flush and Full still seal.
func (s *sender) next(ctx context.Context, t *time.Timer) *batch {
	e := s.e
	for {
		var wait <-chan time.Time
		e.mu.Lock()
		if o := e.open; o != nil && o.n > 0 {
			if d := e.o.MaxWait - e.now().Sub(o.first); d > 0 {
				t.Reset(d)
				wait = t.C
			} else {
				e.sealLocked()
			}
		}
		b := e.take()
		e.mu.Unlock()
		if b != nil {
			return b
		}
		select {
		case <-e.kick:
		case <-wait:
		case <-ctx.Done():
			return nil
		}
	}
}

// deliver sends b until it is done or ctx is done; then b stays pending,
// its records held, to be read again after a restart.
func (s *sender) deliver(ctx context.Context, b *batch) {
	e := s.e
	body, err := s.encode(b)
	if err != nil {
		s.refuse(b, result{err: fmt.Errorf("encoding: %w", err)})
		return
	}
	for attempt := 0; ; attempt++ {
		res := s.post(ctx, body)
		switch res.class() {
		case accepted:
			s.fail.recovered(e, attempt)
			s.accept(b, res)
			return
		case refused:
			s.fail.recovered(e, attempt)
			s.refuse(b, res)
			return
		}
		if ctx.Err() != nil {
			return // shutting down: the failure is ours, not the collector's
		}
		d := s.backoff(attempt, res.retryAfter)
		s.fail.failed(e, res, d)
		e.met.batchesRetried.Inc()
		e.met.recordsRetried.Add(float64(b.n))
		if e.o.Sleep(ctx, d) != nil || ctx.Err() != nil {
			return
		}
	}
}

// encode marshals b's request and compresses it. The compressed body's
// buffer is reused batch after batch, unless a request body of the last
// one may still be read (an HTTP transport may close a body after the
// round trip returns).
func (s *sender) encode(b *batch) ([]byte, error) {
	raw, err := marshalRequest(b.logs, s.e.o.Encoding == "json")
	if err != nil || s.e.o.Compression != "gzip" {
		return raw, err
	}
	if s.zbuf == nil || s.zbuf.readers.Load() != 0 {
		s.zbuf = new(bodyBuf)
	}
	s.zbuf.Reset()
	s.gz.Reset(&s.zbuf.Buffer)
	if _, err := s.gz.Write(raw); err != nil {
		return nil, err
	}
	if err := s.gz.Close(); err != nil {
		return nil, err
	}
	return s.zbuf.Bytes(), nil
}

// post makes one attempt. The response body is read into s.resp.
func (s *sender) post(ctx context.Context, body []byte) result {
	e := s.e
	ctx, cancel := context.WithTimeout(ctx, e.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, nil)
	if err != nil {
		return result{err: err}
	}
	req.Header = e.header.Clone()
	req.ContentLength = int64(len(body))
	var buf *bodyBuf
	if s.e.o.Compression == "gzip" {
		buf = s.zbuf
	}
	req.Body = newBody(body, buf)
	req.GetBody = func() (io.ReadCloser, error) { return newBody(body, buf), nil }
	start := time.Now()
	resp, err := e.client.Do(req)
	if err != nil {
		e.met.duration.Observe(time.Since(start).Seconds())
		return result{err: err}
	}
	defer resp.Body.Close()
	s.resp.Reset()
	// A body cut short leaves the status as it is: an accepted batch is
	// accepted without its partial success, a refusal still a refusal.
	_, _ = s.resp.ReadFrom(io.LimitReader(resp.Body, maxResponse))
	e.met.duration.Observe(time.Since(start).Seconds())
	res := result{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), body: s.resp.Bytes()}
	if d, ok := retry.RetryAfter(resp.Header.Get("Retry-After"), e.now()); ok {
		res.retryAfter = d
	}
	return res
}

// backoff returns the wait before the attempt after attempt: the server's
// Retry-After when it gave one, else exponential with ±50% jitter.
func (s *sender) backoff(attempt int, retryAfter time.Duration) time.Duration {
	return backoff.Delay(attempt, s.e.o.Rand(), retryAfter)
}

// result is the outcome of one attempt: a status, or a network error.
type result struct {
	status     int
	err        error
	ctype      string
	body       []byte
	retryAfter time.Duration
}

type class int

const (
	accepted class = iota
	retryable
	refused
)

// class follows the OTLP/HTTP specification: 429, 502, 503 and 504 are
// retryable, as is a failure to get a response at all; every other status
// that is not a success is permanent, 500 included. A 500 that retried
// forever would stall every file behind a batch the collector cannot
// take (a bug of its own, a record it chokes on), while a dead-lettered
// batch can be replayed.
func (r result) class() class {
	switch {
	case r.err != nil:
		return retryable
	case r.status >= 200 && r.status < 300:
		return accepted
	case r.status == http.StatusTooManyRequests, r.status == http.StatusBadGateway,
		r.status == http.StatusServiceUnavailable, r.status == http.StatusGatewayTimeout:
		return retryable
	}
	return refused
}

func (r result) String() string {
	if r.err != nil {
		var ue interface{ Timeout() bool }
		if errors.As(r.err, &ue) && ue.Timeout() {
			return "timeout: " + r.err.Error()
		}
		return r.err.Error()
	}
	return strconv.Itoa(r.status) + " " + http.StatusText(r.status)
}

// bodyBuf is the compressed body's buffer, with a count of the request
// bodies that may still read it.
type bodyBuf struct {
	bytes.Buffer
	readers atomic.Int32
}

// body is a request body over a buffer that is reused once every body over
// it was closed.
type body struct {
	bytes.Reader
	buf    *bodyBuf
	closed atomic.Bool
}

func newBody(p []byte, buf *bodyBuf) *body {
	b := &body{buf: buf}
	b.Reset(p)
	if buf != nil {
		buf.readers.Add(1)
	}
	return b
}

func (b *body) Close() error {
	if b.closed.CompareAndSwap(false, true) && b.buf != nil {
		b.buf.readers.Add(-1)
	}
	return nil
}
