package main

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// TestAwaitSignals sends SIGINT to the test process right after
// awaitSignals returns: if it returned before the handler was installed,
// the signal's default action would end the whole test binary.
func TestAwaitSignals(t *testing.T) {
	for range 20 {
		ctx, stop := shutdownOnSignal()
		awaitSignals(ctx)
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("SIGINT did not cancel the context")
		}
		stop()
	}
}

func TestAwaitSignalsWithoutHandler(t *testing.T) {
	done := make(chan struct{})
	go func() {
		awaitSignals(context.Background())
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("awaitSignals blocked on a context without a signal handler")
	}
}
