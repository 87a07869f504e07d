// Package notify speaks the systemd sd_notify protocol: READY, RELOADING,
// STOPPING, STATUS and the watchdog keep-alive.
//
// Messages are single datagrams written to the unixgram socket named by
// $NOTIFY_SOCKET; a name starting with '@' is a Linux abstract socket. When
// the variable is unset (not run by systemd, or Type= is not notify) every
// method is a no-op that returns nil, so callers need no special case.
//
// The watchdog is deliberately not free-running: [Notifier.RunWatchdog] pings
// only if [Notifier.Progress] was called since the previous ping. A pipeline
// that stalls therefore stops the pings, and systemd restarts the service
// after WatchdogSec= instead of trusting a goroutine that merely still runs.
package notify

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Notifier sends sd_notify messages to $NOTIFY_SOCKET; it is a no-op when
// the variable is unset. Its methods are safe for concurrent use.
type Notifier struct {
	addr     *net.UnixAddr // nil: notifications are disabled
	watchdog time.Duration // WATCHDOG_USEC as a duration; 0: disabled

	progress atomic.Bool

	mu    sync.Mutex // serialises sends and guards onErr
	onErr func(error)

	tickDone func() // test hook: called after each tick is handled
}

// New returns a Notifier configured from the environment: NOTIFY_SOCKET for
// the socket, and WATCHDOG_USEC for the watchdog, which is ignored when
// WATCHDOG_PID is set to another process's PID (the variables were inherited,
// not meant for us). A malformed WATCHDOG_USEC disables the watchdog.
func New() *Notifier {
	var wd time.Duration
	if usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64); err == nil && usec > 0 {
		wd = time.Duration(usec) * time.Microsecond
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" {
		if p, err := strconv.Atoi(pid); err != nil || p != os.Getpid() {
			wd = 0
		}
	}
	return NewWithSocket(os.Getenv("NOTIFY_SOCKET"), wd)
}

// NewWithSocket returns a Notifier that writes to the unixgram socket at
// path (empty disables it) with watchdog as the full WatchdogSec= timeout;
// it exists so tests can point it at a fake socket.
func NewWithSocket(path string, watchdog time.Duration) *Notifier {
	n := &Notifier{}
	if path != "" {
		n.addr = &net.UnixAddr{Name: path, Net: "unixgram"}
		if watchdog > 0 {
			n.watchdog = watchdog
		}
	}
	return n
}

// enabled reports whether a notification socket is configured.
func (n *Notifier) enabled() bool { return n.addr != nil }

// SetErrorHandler sets the function that receives errors from watchdog pings
// sent by RunWatchdog, which has no caller to return them to; the caller
// typically logs them. Call it before RunWatchdog.
func (n *Notifier) SetErrorHandler(f func(error)) {
	n.mu.Lock()
	n.onErr = f
	n.mu.Unlock()
}

// Ready tells systemd that start-up (or a reload) is complete.
func (n *Notifier) Ready() error { return n.send("READY=1") }

// Reloading tells systemd that a configuration reload started, stamped with
// CLOCK_MONOTONIC as Type=notify-reload requires; follow it with Ready.
func (n *Notifier) Reloading() error {
	if n.addr == nil {
		return nil
	}
	usec, err := monotonicUsec()
	if err != nil {
		return fmt.Errorf("notify: reloading: %w", err)
	}
	return n.send("RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatInt(usec, 10))
}

// Stopping tells systemd that the service is shutting down.
func (n *Notifier) Stopping() error { return n.send("STOPPING=1") }

// Status sets the one-line status shown by systemctl status. Newlines in s
// are replaced by spaces because they would start a new assignment.
func (n *Notifier) Status(s string) error {
	return n.send("STATUS=" + strings.ReplaceAll(s, "\n", " "))
}

// WatchdogInterval returns how often to ping: half of WATCHDOG_USEC, or 0 if
// the watchdog is disabled.
func (n *Notifier) WatchdogInterval() time.Duration { return n.watchdog / 2 }

// Progress records that the pipeline is healthy; the next watchdog tick
// sends a ping. It is cheap (one atomic store) and may be called per batch.
func (n *Notifier) Progress() { n.progress.Store(true) }

// RunWatchdog sends WATCHDOG=1 on each tick from tick, but only if Progress
// was called since the previous tick. It returns when ctx is done. The caller
// owns the goroutine and the ticker, normally
// time.NewTicker(n.WatchdogInterval()) when that is non-zero. Send errors go
// to the handler set with SetErrorHandler and do not stop the loop: a
// missed ping is retried on the next tick.
func (n *Notifier) RunWatchdog(ctx context.Context, tick <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			n.ping()
			if n.tickDone != nil {
				n.tickDone()
			}
		}
	}
}

// ping sends WATCHDOG=1 if there was progress since the last ping; when
// stalled it sends nothing and lets systemd's timer run out.
func (n *Notifier) ping() {
	if !n.progress.Swap(false) {
		return
	}
	if err := n.send("WATCHDOG=1"); err != nil {
		n.mu.Lock()
		f := n.onErr
		n.mu.Unlock()
		if f != nil {
			f(err)
		}
	}
}

// send writes msg as one datagram. Dialing per message keeps no descriptor
// open between the rare notifications and survives a restarted systemd.
func (n *Notifier) send(msg string) error {
	if n.addr == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	conn, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("notify: dial %s: %w", n.addr.Name, err)
	}
	_, werr := conn.Write([]byte(msg))
	cerr := conn.Close()
	if werr != nil {
		return fmt.Errorf("notify: send %q to %s: %w", firstLine(msg), n.addr.Name, werr)
	}
	if cerr != nil {
		return fmt.Errorf("notify: close %s: %w", n.addr.Name, cerr)
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// monotonicUsec reads CLOCK_MONOTONIC, the clock systemd compares
// MONOTONIC_USEC against; Go's time package does not expose it.
func monotonicUsec() (int64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, fmt.Errorf("clock_gettime(CLOCK_MONOTONIC): %w", err)
	}
	return ts.Nano() / 1000, nil
}
