package otlp_test

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// writer appends sequence-numbered lines to tree/app.log at a steady rate,
// one write(2) per line, through one O_APPEND descriptor. On request it
// rotates as logrotate's create does and then the application's reopen:
// app.log is renamed to app.log.1, 20 more lines go to it, and a new app.log
// is written from there on.
type writer struct {
	tree    string
	rate    int
	f       *os.File
	gen     int
	n       atomic.Int64 // the last seq written
	rotate  chan chan error
	err     error
	done    chan struct{}
	started time.Time
}

func newWriter(tree string, rate int) (*writer, error) {
	w := &writer{tree: tree, rate: rate, rotate: make(chan chan error), done: make(chan struct{})}
	f, err := os.OpenFile(filepath.Join(tree, "app.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	w.f = f
	return w, nil
}

func (w *writer) written() int { return int(w.n.Load()) }

func (w *writer) run(stop <-chan struct{}) {
	defer close(w.done)
	defer func() {
		if err := w.f.Close(); err != nil && w.err == nil {
			w.err = err
		}
	}()
	w.started = time.Now()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case reply := <-w.rotate:
			err := w.renameAndReopen()
			reply <- err
			if err != nil {
				w.err = err
				return
			}
			continue
		case <-tick.C:
		}
		due := int(time.Since(w.started).Seconds() * float64(w.rate))
		if err := w.writeUpTo(due); err != nil {
			w.err = err
			return
		}
	}
}

// writeUpTo writes lines up to seq n.
func (w *writer) writeUpTo(n int) error {
	for seq := w.written() + 1; seq <= n; seq++ {
		if _, err := w.f.WriteString(lineText(seq, w.gen) + "\n"); err != nil {
			return err
		}
		w.n.Store(int64(seq))
	}
	return nil
}

func (w *writer) renameAndReopen() error {
	log := filepath.Join(w.tree, "app.log")
	if err := os.Rename(log, log+".1"); err != nil {
		return err
	}
	// An application reopens a moment after the rename: its last lines
	// before that land in app.log.1.
	if err := w.writeUpTo(w.written() + 20); err != nil {
		return err
	}
	f, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	w.f = f
	w.gen++
	return nil
}

// rotateNow has the writer rotate between two lines and waits until it has.
func (w *writer) rotateNow() error {
	reply := make(chan error)
	select {
	case w.rotate <- reply:
		return <-reply
	case <-w.done:
		return w.err
	}
}
