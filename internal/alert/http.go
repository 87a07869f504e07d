package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/logscan/logscan/internal/retry"
)

// backoff between attempts at one destination: exponential with ±50%
// jitter, from 500 ms up to 30 s.
var backoff = retry.Backoff{First: 500 * time.Millisecond, Max: 30 * time.Second}

const (
	amBatch      = 64       // alerts per Alertmanager post
	maxResponse  = 64 << 10 // response bytes read
	amTimeFormat = "2006-01-02T15:04:05.000Z07:00"
)

// runHTTP delivers d's outbox (an Alertmanager's or a webhook's) until the
// run context is done or, once Close started draining, the outbox is
// empty.
func (e *Engine) runHTTP(d *dest) {
	ctx, drain, draining := e.run, e.wake.Done(), false
	batch := 1
	if d.kind == kindAM {
		batch = amBatch
	}
	fails := 0
	for {
		ts := e.take(d, batch)
		if len(ts) == 0 {
			if draining {
				return
			}
			select {
			case <-d.kick:
			case <-drain:
				draining, drain = true, nil
			case <-ctx.Done():
				return
			}
			continue
		}
		res := e.send(ctx, d, ts)
		out := res.outcome()
		if out == outRetry && ctx.Err() != nil {
			e.finish(d, ts, outRetry)
			return // shutting down: the failure is ours
		}
		e.report(d, ts, res, out, fails)
		e.finish(d, ts, out)
		if out != outRetry {
			fails = 0
			continue
		}
		wait := e.backoff(fails, res.retryAfter)
		fails++
		sleepCtx := e.wake // Close's drain cuts a wait short, once
		if draining {
			sleepCtx = ctx
		}
		if err := e.opt.Sleep(sleepCtx, wait); err != nil {
			if ctx.Err() != nil {
				return
			}
			draining, drain = true, nil
		}
	}
}

// report logs an attempt: each refusal, the first failure of a series of
// retries and every tenth, and the recovery.
func (e *Engine) report(d *dest, ts []taken, res result, out outcome, fails int) {
	switch {
	case out == outDelivered && fails > 0:
		e.log.Info().Str("destination", d.name).Int("attempts", fails+1).Msg("alert: delivered after retrying")
	case out == outFailed:
		e.log.Error().Str("destination", d.name).Str("rule", ts[0].n.Rule).Int("notifications", len(ts)).
			Str("result", res.String()).Bytes("response", res.body).Msg("alert: notification refused; not retried")
	case out == outRetry && fails%10 == 0:
		e.log.Warn().Str("destination", d.name).Int("notifications", len(ts)).Int("attempt", fails+1).
			Str("result", res.String()).Msg("alert: delivery failed; retrying")
	}
}

// send makes one attempt at ts.
func (e *Engine) send(ctx context.Context, d *dest, ts []taken) result {
	now := e.now()
	if d.kind == kindAM {
		alerts := make([]amAlert, len(ts))
		for i, t := range ts {
			alerts[i] = e.amAlert(t.n, now)
		}
		body, err := json.Marshal(alerts)
		if err != nil {
			return result{err: err, permanent: true}
		}
		return e.post(ctx, d, body, nil)
	}
	n := ts[0].n
	body, err := json.Marshal(webhookPayload(n))
	if err != nil {
		return result{err: err, permanent: true}
	}
	return e.post(ctx, d, body, func(h http.Header) {
		for k, v := range d.hook.Headers {
			h.Set(k, v)
		}
		h.Set("Idempotency-Key", n.Key)
		if len(d.hook.Secret) > 0 {
			ts := strconv.FormatInt(now.Unix(), 10)
			h.Set("X-Logscan-Timestamp", ts)
			h.Set("X-Logscan-Signature", Sign(d.hook.Secret, ts, body))
		}
	})
}

// Sign is the X-Logscan-Signature of a webhook request: "sha256=" and the
// hex HMAC-SHA256 with secret of the X-Logscan-Timestamp header's value, a
// '.', and the body. The timestamp (unix seconds of the attempt) lets the
// receiver refuse a replayed request.
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// post POSTs body to d's URL.
func (e *Engine) post(ctx context.Context, d *dest, body []byte, header func(http.Header)) result {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(body))
	if err != nil {
		return result{err: err, permanent: true}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "logscan")
	if header != nil {
		header(req.Header)
	}
	resp, err := e.opt.Client.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(io.LimitReader(resp.Body, maxResponse))
	res := result{status: resp.StatusCode}
	if res.outcome() == outFailed {
		res.body = buf.Bytes()[:min(buf.Len(), 512)]
	}
	if d, ok := retry.RetryAfter(resp.Header.Get("Retry-After"), e.now()); ok && d > 0 {
		res.retryAfter = d
	}
	return res
}

// backoff is the wait after the fails-th failure in a row: the server's
// Retry-After when it gave one, else exponential with jitter.
func (e *Engine) backoff(fails int, retryAfter time.Duration) time.Duration {
	return backoff.Delay(fails, e.opt.Rand(), retryAfter)
}

// result is the end of one attempt: a status, or an error.
type result struct {
	status     int
	err        error
	permanent  bool // an error that another attempt cannot cure
	retryAfter time.Duration
	body       []byte // of a refusal, for the log
}

// outcome: 2xx is delivered; a network error, a timeout, 408, 429 and 5xx
// are retried; any other status (4xx, and 3xx: redirects are not followed)
// is refused for good.
func (r result) outcome() outcome {
	switch {
	case r.err != nil && r.permanent:
		return outFailed
	case r.err != nil:
		return outRetry
	case r.status >= 200 && r.status < 300:
		return outDelivered
	case r.status == http.StatusRequestTimeout, r.status == http.StatusTooManyRequests, r.status >= 500:
		return outRetry
	}
	return outFailed
}

func (r result) String() string {
	if r.err != nil {
		var te interface{ Timeout() bool }
		if errors.As(r.err, &te) && te.Timeout() {
			return "timeout: " + r.err.Error()
		}
		return r.err.Error()
	}
	return strconv.Itoa(r.status) + " " + http.StatusText(r.status)
}

// amAlert is an element of Alertmanager's API v2 PostableAlerts.
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     string            `json:"startsAt,omitempty"`
	EndsAt       string            `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// amAlert is n as Alertmanager takes it at now. A firing alert ends at
// now + 4×ResendInterval, as Prometheus sends it, so that Alertmanager
// keeps it between resends and resolves it itself only when logscan is
// gone; a resolved one ended when it was resolved.
func (e *Engine) amAlert(n *notification, now time.Time) amAlert {
	end := now.Add(4 * e.cfg.ResendInterval)
	if n.Status == statusResolved {
		end = n.EndsAt
	}
	return amAlert{
		Labels:      n.Labels,
		Annotations: annotations(n),
		StartsAt:    n.StartsAt.UTC().Format(amTimeFormat),
		EndsAt:      end.UTC().Format(amTimeFormat),
	}
}

func annotations(n *notification) map[string]string {
	a := map[string]string{"summary": n.Summary, "count": strconv.Itoa(n.Count)}
	if n.Sample != "" {
		a["sample"] = n.Sample
	}
	if n.File != "" {
		a["file"] = n.File
	}
	return a
}

// webhookBody is what a webhook receives.
type webhookBody struct {
	Version        string            `json:"version"`
	Status         string            `json:"status"`
	Rule           string            `json:"rule"`
	Labels         map[string]string `json:"labels"`
	Annotations    map[string]string `json:"annotations"`
	StartsAt       time.Time         `json:"startsAt"`
	EndsAt         time.Time         `json:"endsAt,omitzero"`
	Count          int               `json:"count"`
	File           string            `json:"file"`
	Sample         string            `json:"sample"`
	IdempotencyKey string            `json:"idempotency_key"`
}

func webhookPayload(n *notification) webhookBody {
	b := webhookBody{
		Version: "1", Status: n.Status, Rule: n.Rule, Labels: n.Labels,
		Annotations: annotations(n), StartsAt: n.StartsAt.UTC(), Count: n.Count,
		File: n.File, Sample: n.Sample, IdempotencyKey: n.Key,
	}
	if !n.EndsAt.IsZero() {
		b.EndsAt = n.EndsAt.UTC()
	}
	return b
}
