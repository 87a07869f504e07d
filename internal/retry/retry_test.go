package retry

import (
	"context"
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	b := Backoff{First: 200 * time.Millisecond, Max: 5 * time.Second}
	for _, tc := range []struct {
		attempt    int
		jitter     float64
		retryAfter time.Duration
		want       time.Duration
	}{
		{0, 0.5, 0, 200 * time.Millisecond},
		{1, 0.5, 0, 400 * time.Millisecond},
		{0, 0, 0, 100 * time.Millisecond},
		{0, 0.999, 0, 299800 * time.Microsecond},
		{4, 0.5, 0, 3200 * time.Millisecond},
		{5, 0.5, 0, 5 * time.Second},
		{5, 0.999, 0, 5 * time.Second}, // jitter never goes past Max
		{62, 0.5, 0, 5 * time.Second},  // no shift overflow
		{1000, 0.5, 0, 5 * time.Second},
		{3, 0.5, 42 * time.Second, 42 * time.Second},
	} {
		if got := b.Delay(tc.attempt, tc.jitter, tc.retryAfter); got != tc.want {
			t.Errorf("Delay(%d, %v, %v) = %v, want %v", tc.attempt, tc.jitter, tc.retryAfter, got, tc.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"3", 3 * time.Second, true},
		{"0", 0, true},
		{"-1", 0, false},
		{"86400", MaxRetryAfter, true},
		{"99999999999999", MaxRetryAfter, true},
		{"Tue, 01 Dec 2026 10:00:30 GMT", 30 * time.Second, true},
		{"Tue, 01 Dec 2026 09:00:00 GMT", 0, true}, // in the past: at once
		{"soon", 0, false},
	} {
		got, ok := RetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("RetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSleep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); err != context.Canceled {
		t.Errorf("Sleep after cancel: %v", err)
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("Sleep: %v", err)
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"3", "Tue, 01 Dec 2026 10:00:30 GMT", "-5", "1e9"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := RetryAfter(v, now)
		if d < 0 || d > MaxRetryAfter || !ok && d != 0 {
			t.Fatalf("RetryAfter(%q) = %v, %v", v, d, ok)
		}
	})
}
