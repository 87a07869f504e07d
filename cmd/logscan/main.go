// Command logscan scans and follows log files: a grep -r for log trees that
// reads compressed rotations, and a daemon that follows every log under its
// roots through rotation and restarts.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal starts a clean shutdown, restore the default
		// handling so that a second SIGINT or SIGTERM ends the process at once.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
