// Package otlp ships the follower's selected records to an OpenTelemetry
// collector over OTLP/HTTP, at least once.
//
// What it touches: the network, to the one configured endpoint only; the
// dead-letter file, if one is configured (opened by New, appended to, never
// read); and its own goroutines: the one sender that Start starts and Close
// stops (plus the HTTP transport's connection goroutines, whose idle
// connections Close closes). It touches nothing of the follower: it never
// reads the log files, never commits an offset, never blocks the caller.
// Instead the follower asks it, with Held, which offset of each file is the
// first one not yet acknowledged, and commits no further; the files on
// disk, not memory, are the buffer while the collector is down, which is
// why a batch is retried for as long as the process runs.
//
// Records are grouped into batches as they are added, each batch built
// directly as plog.Logs so that the sender only marshals it. A batch is
// done when the collector accepted it (2xx, partial success included) or
// refused it for good (then it is written to the dead-letter file); only
// then do its records stop holding their files' offsets.
package otlp

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/logscan/logscan/internal/output"
)

// Defaults, declared once here; the config package refers to them. New
// also applies them to zero Options fields.
const (
	DefaultCompression     = "gzip"
	DefaultEncoding        = "proto"
	DefaultTimeout         = 10 * time.Second
	DefaultMaxRecords      = 2048
	DefaultMaxBytes        = 4 << 20
	DefaultMaxWait         = 200 * time.Millisecond
	DefaultQueueBytes      = 64 << 20
	DefaultShutdownTimeout = 10 * time.Second
	// DefaultConcurrency is how many requests may be in flight. One keeps
	// the acknowledgements in order, so that the saved watermark is exact
	// and a clean stop sends nothing acknowledged again; with more, a
	// batch acknowledged above an unacknowledged one is sent again after a
	// stop during an outage. One takes MaxRecords per round trip: 2048 per
	// 100 ms from a collector 100 ms away.
	DefaultConcurrency = 1
)

// TLS configures the client side of HTTPS: a CA bundle to trust instead of
// the system's, a client certificate for mutual TLS.
type TLS struct {
	CAFile, CertFile, KeyFile string
	InsecureSkipVerify        bool
}

// Options configures an Exporter. Zero values take the defaults above.
type Options struct {
	// Endpoint is http(s)://host:port[/path]; "/v1/logs" is appended
	// unless the path already ends in it.
	Endpoint string
	// Headers are sent with every request (the caller merged headers_file
	// in already).
	Headers     map[string]string
	Compression string // "gzip" or "none"
	Encoding    string // "proto" or "json"
	Timeout     time.Duration
	// A batch is sealed at MaxRecords records, at MaxBytes estimated
	// bytes, or when its first record is MaxWait old.
	MaxRecords int
	MaxBytes   int
	MaxWait    time.Duration
	// QueueBytes bounds the estimated bytes added and not yet done; Full
	// reports true past it.
	QueueBytes      int64
	ShutdownTimeout time.Duration // Drain's bound
	// Concurrency is the number of sender goroutines, each with one
	// request in flight; batches may then be acknowledged out of order,
	// which the per-file acknowledgement lists allow for.
	Concurrency int
	TLS         TLS
	// DeadLetter is an NDJSON file for batches the collector refused for
	// good; "" keeps none (they are then counted and logged only).
	DeadLetter string
	// HostName and ServiceName are the resource's host.name and
	// service.name; "" takes os.Hostname() and "logscan".
	HostName, ServiceName string
	Log                   zerolog.Logger
	Registerer            prometheus.Registerer // nil: no metrics registered

	// For tests.
	Client *http.Client                                     // nil: built from TLS
	Now    func() time.Time                                 // nil: time.Now
	Sleep  func(ctx context.Context, d time.Duration) error // backoff waits; nil: a timer
	Rand   func() float64                                   // jitter in [0,1); nil: math/rand/v2
}

// Exporter batches records and ships them. Add, Flush, Full, Held and
// Pending are meant for one goroutine, the follower's; the sender
// goroutine completes batches concurrently, so everything they share is
// under mu.
type Exporter struct {
	o      Options
	url    string
	header http.Header
	client *http.Client
	met    *metrics
	dead   *deadLetter
	log    zerolog.Logger

	kick chan struct{} // to the sender: a batch was sealed or opened
	wake chan struct{} // to the follower: Full turned false
	idle chan struct{} // to Drain: Pending reached 0

	mu      sync.Mutex
	open    *batch   // the batch records are added to, nil when none
	queue   []*batch // sealed, not yet taken by the sender
	live    []*batch // sealed and not done, by seq
	seq     uint64   // the last batch's sequence number
	acks    acks
	bld     builder
	pending int   // records added and not done
	unacked int64 // their estimated bytes
	// refused counts the records the collector refused or rejected, for
	// an incremental run's exit status.
	refused atomic.Int64

	life     sync.Mutex // Start and Close
	started  bool
	closed   bool
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	closeErr error
}

// Start starts the sender goroutine. It stops at Close or when ctx is
// done; a batch it was sending then stays pending. Start after Close, or
// a second Start, does nothing.
func (e *Exporter) Start(ctx context.Context) {
	e.life.Lock()
	defer e.life.Unlock()
	if e.started || e.closed {
		return
	}
	e.started = true
	ctx, e.cancel = context.WithCancel(ctx)
	for range e.o.Concurrency {
		s := newSender(e)
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			s.run(ctx)
		}()
	}
}

// Close stops the sender goroutine, whether or not Drain ran first, and
// releases what New took: idle connections, the dead-letter file, the
// metrics' registrations (so that a reload can register a new Exporter).
// Records not done stay pending. Close is idempotent.
func (e *Exporter) Close() error {
	e.life.Lock()
	defer e.life.Unlock()
	if e.closed {
		return e.closeErr
	}
	e.closed = true
	if e.cancel != nil {
		e.cancel()
	}
	e.wg.Wait()
	e.client.CloseIdleConnections()
	e.met.unregister()
	e.closeErr = e.dead.close()
	return e.closeErr
}

// Add appends r to the open batch and seals the batch when it is full. It
// never blocks on the network: while the queue is Full the caller is
// expected to stop reading, but Add still takes what it is given. r and
// its slices are copied; they may be reused when Add returns.
func (e *Exporter) Add(r *output.Record) {
	e.mu.Lock()
	b := e.open
	if b == nil {
		e.seq++
		b = e.bld.newBatch(e.seq, e.now())
		e.open = b
	}
	size := e.bld.add(b, r)
	if q := e.acks.add(r.FileID, b.seq, r.Offset); q != nil {
		b.files = append(b.files, q)
	}
	b.n++
	b.bytes += size
	e.pending++
	e.unacked += size
	switch {
	case b.n >= e.o.MaxRecords || b.bytes >= int64(e.o.MaxBytes):
		e.sealLocked()
	case b.n == 1:
		e.kickSender() // to arm the MaxWait timer
	}
	e.mu.Unlock()
}

// Flush seals the open batch once its first record is MaxWait old. It is
// meant to be called after every read batch: sealing at each call would
// make tiny batches under load, while the age rule keeps them large and
// bounds the latency; the sender's timer seals an idle tail.
func (e *Exporter) Flush() {
	e.mu.Lock()
	// While sealed batches wait for a sender, the open one grows on
	// towards MaxRecords: with a slow receiver, sealing by age alone made
	// batches of a few hundred records and capped the throughput at
	// them per round trip.
	if b := e.open; b != nil && len(e.queue) == 0 && e.now().Sub(b.first) >= e.o.MaxWait {
		e.sealLocked()
	}
	e.mu.Unlock()
}

// Full reports whether the estimated bytes added and not yet done reached
// QueueBytes. When it does, it also seals the open batch: the caller stops
// adding, so waiting for the batch to fill or age would only delay the
// acknowledgements that make room.
func (e *Exporter) Full() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	full := e.unacked >= e.o.QueueBytes
	if full && e.open != nil {
		e.sealLocked()
	}
	return full
}

// Wake receives after Full turned false. It is buffered, so a wake-up
// between the caller's Full and its receive is not lost, and a stale one
// only makes the caller check Full again.
func (e *Exporter) Wake() <-chan struct{} { return e.wake }

// Held returns the lowest offset of a record of fileID that was added and
// is not done, the offset the follower may commit at most; ok is false
// when there is none.
func (e *Exporter) Held(fileID string) (off int64, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.acks.held(fileID)
}

// Epoch seals what was added so far into batches and returns the last
// batch's sequence number: records added later belong to batches above it.
// The follower takes one when a file is truncated under records not yet
// acknowledged, to tell the old content's holds (in the copy logrotate
// made) from the new content's, which share the file's identity.
func (e *Exporter) Epoch() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sealLocked()
	return e.seq
}

// HeldIn is Held for the records of batches in (after, upto] (upto 0: no
// upper bound).
func (e *Exporter) HeldIn(fileID string, after, upto uint64) (off int64, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.acks.heldIn(fileID, after, upto)
}

// Refused is the number of records the collector refused (dead-lettered or
// dropped) or rejected in a partial success, so far.
func (e *Exporter) Refused() int64 { return e.refused.Load() }

// Pending returns the number of records added and not done.
func (e *Exporter) Pending() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pending
}

// Drain seals the open batch and waits until every record is done, at
// most ShutdownTimeout or until ctx is done. The sender must be running
// for anything to complete.
func (e *Exporter) Drain(ctx context.Context) error {
	e.mu.Lock()
	e.sealLocked()
	e.mu.Unlock()
	t := time.NewTimer(e.o.ShutdownTimeout)
	defer t.Stop()
	for {
		n := e.Pending()
		if n == 0 {
			return nil
		}
		select {
		case <-e.idle:
		case <-t.C:
			return fmt.Errorf("otlp: %d records unacknowledged after %v", n, e.o.ShutdownTimeout)
		case <-ctx.Done():
			return fmt.Errorf("otlp: %d records unacknowledged: %w", n, context.Cause(ctx))
		}
	}
}

// sealLocked moves the open batch, if it has records, to the sender's
// queue.
func (e *Exporter) sealLocked() {
	b := e.open
	if b == nil {
		return
	}
	e.open = nil
	if b.n == 0 {
		return
	}
	e.queue = append(e.queue, b)
	e.live = append(e.live, b)
	e.kickSender()
}

func (e *Exporter) kickSender() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// take returns the next sealed batch, or nil. Batches leave the queue in
// order, so one sender sends them in order.
func (e *Exporter) take() *batch {
	if len(e.queue) == 0 {
		return nil
	}
	b := e.queue[0]
	e.queue[0] = nil
	e.queue = e.queue[1:]
	return b
}

// finish marks b done: its records stop holding their files, its bytes
// leave the queue.
func (e *Exporter) finish(b *batch) {
	e.mu.Lock()
	for _, q := range b.files {
		e.acks.done(q, b.seq)
	}
	wasFull := e.unacked >= e.o.QueueBytes
	e.unacked -= b.bytes
	e.pending -= b.n
	if i := slices.Index(e.live, b); i >= 0 {
		e.live = slices.Delete(e.live, i, i+1)
	}
	if wasFull && e.unacked < e.o.QueueBytes {
		signal(e.wake)
	}
	if e.pending == 0 {
		signal(e.idle)
	}
	e.mu.Unlock()
	b.release()
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// oldest returns when the oldest record not done was added, zero when
// none is.
func (e *Exporter) oldest() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.live) > 0 {
		return e.live[0].first
	}
	if e.open != nil && e.open.n > 0 {
		return e.open.first
	}
	return time.Time{}
}

func (e *Exporter) queued() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.unacked
}

func (e *Exporter) now() time.Time { return e.o.Now() }
