package alert

import (
	"context"
	"fmt"
	"slices"
	"time"

	"golang.org/x/time/rate"
)

type kind uint8

const (
	kindAM kind = iota
	kindWebhook
	kindExec
)

func (k kind) String() string {
	switch k {
	case kindAM:
		return "alertmanager"
	case kindWebhook:
		return "webhook"
	}
	return "exec"
}

// dest is one destination: an Alertmanager, a webhook or a command, with
// its outbox and the goroutine that empties it.
type dest struct {
	kind    kind
	name    string // in logs and the destination label
	id      string // in checkpoints
	url     string
	path    string // the command's
	timeout time.Duration
	hook    *Webhook
	exec    *Exec
	limiter *rate.Limiter // webhooks' firing notifications
	kick    chan struct{} // to the goroutine: the outbox changed
	index   int           // in Engine.dests

	// Under Engine.mu: the outbox, oldest first, and its index.
	queue   []*entry
	byID    map[string]*entry
	running int // commands running
}

// entry is a pending notification. An Alertmanager's are keyed by alert,
// a newer notification taking the place of an undelivered one; webhooks'
// and commands' by idempotency key.
type entry struct {
	id    string
	seq   uint64 // changes whenever n does
	added uint64 // the seq it was added with: the outbox's order
	n     *notification
	busy  bool // being delivered
}

// taken is an entry as a delivery goroutine took it.
type taken struct {
	ent *entry
	seq uint64
	n   *notification
}

// outcome is how a delivery attempt ended.
type outcome uint8

const (
	outDelivered outcome = iota // done: sent
	outFailed                   // done: refused for good, or the command failed
	outRetry                    // stays pending
)

func (d *dest) kickIt() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// enqueue puts n in d's outbox under id; e.mu is held.
func (e *Engine) enqueue(d *dest, id string, n *notification) {
	e.seq++
	e.dirtyOut[outRef{d.id, id}] = struct{}{}
	defer d.kickIt()
	if ent := d.byID[id]; ent != nil {
		ent.n, ent.seq = n, e.seq
		return
	}
	if len(d.queue) >= e.cfg.OutboxMax && !e.dropOldest(d) {
		e.dropped(d, n, "all pending notifications are being delivered")
		return
	}
	ent := &entry{id: id, seq: e.seq, added: e.seq, n: n}
	d.queue = append(d.queue, ent)
	d.byID[id] = ent
	e.met.outbox(d).Set(float64(len(d.queue)))
}

// dropOldest drops the oldest entry not being delivered; false if none.
func (e *Engine) dropOldest(d *dest) bool {
	for _, ent := range d.queue {
		if !ent.busy {
			e.remove(d, ent)
			e.dropped(d, ent.n, fmt.Sprintf("the outbox holds %d", e.cfg.OutboxMax))
			return true
		}
	}
	return false
}

func (e *Engine) dropped(d *dest, n *notification, why string) {
	e.met.rule(n.Rule, resultDropped).Inc()
	e.dropLog.Warn().Str("destination", d.name).Str("rule", n.Rule).Str("status", n.Status).
		Msgf("alert: notification dropped: %s", why)
}

// remove deletes ent from d's outbox; e.mu is held.
func (e *Engine) remove(d *dest, ent *entry) {
	for i, x := range d.queue {
		if x == ent {
			d.queue = slices.Delete(d.queue, i, i+1)
			break
		}
	}
	delete(d.byID, ent.id)
	e.dirtyOut[outRef{d.id, ent.id}] = struct{}{}
	e.met.outbox(d).Set(float64(len(d.queue)))
}

// take marks up to max entries of d that are not being delivered as busy
// and returns them, oldest first.
func (e *Engine) take(d *dest, max int) []taken {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ts []taken
	for _, ent := range d.queue {
		if len(ts) == max {
			break
		}
		if !ent.busy {
			ent.busy = true
			ts = append(ts, taken{ent: ent, seq: ent.seq, n: ent.n})
		}
	}
	return ts
}

// finish ends the attempt at ts. A done entry leaves the outbox unless a
// newer notification took its place meanwhile, which stays pending.
func (e *Engine) finish(d *dest, ts []taken, out outcome) {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, t := range ts {
		t.ent.busy = false
		switch out {
		case outRetry:
			continue
		case outDelivered:
			e.met.rule(t.n.Rule, resultSent).Inc()
			e.met.delivery(d).Observe(max(now.Sub(t.n.Created).Seconds(), 0))
		case outFailed:
			e.met.rule(t.n.Rule, resultFailed).Inc()
		}
		if d.byID[t.ent.id] == t.ent && t.ent.seq == t.seq {
			e.remove(d, t.ent)
		}
	}
	if out != outRetry {
		d.kickIt() // another may wait behind
	}
}

// pending is the number of notifications in all outboxes.
func (e *Engine) pending() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, d := range e.dests {
		n += len(d.queue)
	}
	return n
}

// Start starts the delivery goroutines, one per destination (a command's
// also starts one per running command, up to MaxRunning). They stop at
// Close or when ctx is done. A second Start, or Start after Close, does
// nothing.
func (e *Engine) Start(ctx context.Context) {
	e.life.Lock()
	defer e.life.Unlock()
	if e.started || e.closed {
		return
	}
	e.started = true
	e.run, e.cancel = context.WithCancel(ctx)
	e.wake, e.drain = context.WithCancel(e.run)
	for _, d := range e.dests {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			if d.kind == kindExec {
				e.runExec(d)
			} else {
				e.runHTTP(d)
			}
		}()
		d.kickIt() // restored notifications
	}
}

// Close delivers what is pending for at most timeout, then stops the
// goroutines (killing the commands still running) and closes idle
// connections. What was not delivered stays in the outbox, and in the
// next Checkpoint; Close then reports how much. Close is idempotent; Tick
// and Observe still work after it, delivering nothing.
func (e *Engine) Close(timeout time.Duration) error {
	e.life.Lock()
	defer e.life.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	if e.started {
		e.drain()
		done := make(chan struct{})
		go func() {
			e.wg.Wait()
			close(done)
		}()
		t := time.NewTimer(timeout)
		select {
		case <-done:
		case <-t.C:
			e.cancel()
			<-done
		}
		t.Stop()
		e.cancel()
	}
	e.opt.Client.CloseIdleConnections()
	if n := e.pending(); n > 0 {
		return fmt.Errorf("alert: %d notifications not delivered; they are kept in the checkpoint", n)
	}
	return nil
}
