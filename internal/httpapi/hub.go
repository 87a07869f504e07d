package httpapi

import (
	"errors"
	"sync"
	"sync/atomic"
)

// ErrHubClosed is returned when subscribing to a closed Hub.
var ErrHubClosed = errors.New("httpapi: match hub closed")

// ErrTooManyClients is returned when MaxClients streams are already open.
var ErrTooManyClients = errors.New("httpapi: too many /matches clients")

// MaxClients bounds concurrent /matches streams, so that their buffers bound
// memory too: at most MaxClients × perClientBuffer lines are queued.
const MaxClients = 64

// unnamedRule mirrors metrics.UnnamedRule so that ?rule=unnamed selects the
// same matches as the metric label of that name.
const unnamedRule = "unnamed"

// Hub fans matches out to the /matches clients. Publish never blocks: each
// client has a bounded buffer and what does not fit is dropped and counted.
// It is safe for concurrent use.
type Hub struct {
	perClient int
	dropped   func()

	// clients is replaced, never mutated, so Publish reads it with one
	// atomic load and no lock; writers serialise on mu.
	clients atomic.Pointer[[]*client]
	mu      sync.Mutex
	closed  bool
	done    chan struct{} // closed by Close: every stream ends
	changed chan struct{} // closed and replaced on every membership change
}

type client struct {
	rule string      // "" selects every match
	ch   chan []byte // never closed: Publish may still hold a snapshot with it
}

// NewHub returns a Hub giving each client a buffer of perClientBuffer lines
// (at least 1) and calling dropped, if not nil, once per line dropped for a
// full buffer.
func NewHub(perClientBuffer int, dropped func()) *Hub {
	if perClientBuffer < 1 {
		perClientBuffer = 1
	}
	h := &Hub{
		perClient: perClientBuffer,
		dropped:   dropped,
		done:      make(chan struct{}),
		changed:   make(chan struct{}),
	}
	h.clients.Store(&[]*client{})
	return h
}

// Publish offers line, one complete JSON object followed by '\n', selected by
// rule, to every client whose filter accepts it. With no clients it costs an
// atomic load; otherwise line is copied once and shared, so the caller may
// reuse its buffer as soon as Publish returns.
func (h *Hub) Publish(rule string, line []byte) {
	cs := *h.clients.Load()
	if len(cs) == 0 {
		return
	}
	if rule == "" {
		rule = unnamedRule
	}
	var cp []byte
	for _, c := range cs {
		if c.rule != "" && c.rule != rule {
			continue
		}
		if len(c.ch) == cap(c.ch) {
			// Full now, so skip the copy: only the client's own goroutine
			// drains it, and dropping a line it could take a moment later is
			// the same loss as dropping it on the send below.
			if h.dropped != nil {
				h.dropped()
			}
			continue
		}
		if cp == nil {
			cp = append([]byte(nil), line...)
		}
		select {
		case c.ch <- cp:
		default:
			if h.dropped != nil {
				h.dropped()
			}
		}
	}
}

// Clients returns the number of connected /matches clients, for the
// logscan_stream_clients gauge.
func (h *Hub) Clients() int { return len(*h.clients.Load()) }

// Close ends every stream and refuses new ones; it is idempotent.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	close(h.done)
}

func (h *Hub) subscribe(rule string) (*client, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrHubClosed
	}
	old := *h.clients.Load()
	if len(old) >= MaxClients {
		return nil, ErrTooManyClients
	}
	c := &client{rule: rule, ch: make(chan []byte, h.perClient)}
	next := append(old[:len(old):len(old)], c)
	h.clients.Store(&next)
	h.notifyLocked()
	return c, nil
}

func (h *Hub) unsubscribe(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := *h.clients.Load()
	next := make([]*client, 0, len(old))
	for _, o := range old {
		if o != c {
			next = append(next, o)
		}
	}
	h.clients.Store(&next)
	h.notifyLocked()
}

func (h *Hub) notifyLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// changes returns a channel closed at the next change of membership, so a
// caller can wait for a client count without polling.
func (h *Hub) changes() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.changed
}
