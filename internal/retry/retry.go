// Package retry is what the senders (the OTLP exporter, the alert
// destinations) share about waiting between attempts: exponential backoff
// with jitter, a server's Retry-After, and a wait that a context cuts
// short. It touches nothing but the timer it waits on.
package retry

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// MaxRetryAfter caps a server's Retry-After: a typo'd or hostile value
// must not park a sender for a day.
const MaxRetryAfter = 5 * time.Minute

// Backoff is exponential: First after the first failure, doubling, capped
// at Max, each wait scaled by a jitter in [0.5, 1.5), so that many senders
// do not retry in step after their receiver comes back.
type Backoff struct {
	First, Max time.Duration
}

// Delay is the wait after the attempt-th failure in a row (0 for the
// first): the server's retryAfter when it gave one (> 0), else the
// backoff with jitter, which is a number in [0, 1).
func (b Backoff) Delay(attempt int, jitter float64, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return retryAfter
	}
	d := b.Max
	if attempt < 30 && b.First<<attempt > 0 {
		d = min(b.First<<attempt, b.Max)
	}
	return min(time.Duration(float64(d)*(0.5+jitter)), b.Max)
}

// RetryAfter parses a Retry-After header, delay seconds or an HTTP date,
// capped at MaxRetryAfter; false when there is none or it is malformed.
func RetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		d = time.Duration(min(n, int64(MaxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	return min(max(d, 0), MaxRetryAfter), true
}

// Sleep waits d, or until ctx is done, and then returns its error.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
