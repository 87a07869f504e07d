package daemon

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/logscan/logscan/internal/config"
	"github.com/logscan/logscan/internal/otlp"
	"github.com/logscan/logscan/internal/watch"
)

// The sink ships what it selects over OTLP when otlp.endpoint is set. The
// exporter holds each record until the collector acknowledges it, and the
// sink reports that hold to the follower (Held) as it reports a pending
// multiline event: a file's committed offset is the lowest one that either
// still holds, so the state file never passes a record the collector has
// not taken. Full and Wake pace the follower on the exporter's bounded
// queue; Drain waits for the acknowledgements at the end.

// deadLetterPath is where permanently refused batches go: beside the state
// file, so that an operator finds it with the state; "" without one.
func deadLetterPath(cfg *config.Config) string {
	if cfg.StateFile == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(cfg.StateFile), filepath.Base(cfg.StateFile)+".deadletter.ndjson")
}

// newExporter builds the exporter of cfg, or nil when there is none.
func (d *daemon) newExporter(cfg *config.Config) (*otlp.Exporter, error) {
	o := cfg.OTLP
	if !o.Enabled() {
		return nil, nil
	}
	host, err := hostName(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.StateFile == "" {
		d.log.Warn().Msg("otlp without state_file: records not acknowledged at shutdown are not sent again, and refused batches are only counted")
	}
	return otlp.New(otlp.Options{
		Endpoint:        o.Endpoint,
		Headers:         o.Headers,
		Compression:     o.Compression,
		Encoding:        o.Encoding,
		Timeout:         o.Timeout,
		MaxRecords:      o.MaxRecords,
		MaxBytes:        o.MaxBytes,
		MaxWait:         o.MaxWait,
		QueueBytes:      int64(o.QueueBytes),
		ShutdownTimeout: o.ShutdownTimeout,
		Concurrency:     o.Concurrency,
		TLS:             o.TLS,
		DeadLetter:      deadLetterPath(cfg),
		HostName:        host,
		ServiceName:     o.ServiceName,
		Log:             d.log,
		Registerer:      d.met.Registry(),
	})
}

// startExporter runs the exporter's sender for the run; the returned stop
// closes it once the follower has drained it.
func (d *daemon) startExporter() func() {
	e := d.s.exp
	if e == nil {
		return func() {}
	}
	// Its own context: the run's is done at SIGTERM, before the follower's
	// shutdown drains the exporter.
	e.Start(context.Background())
	return func() {
		if err := e.Close(); err != nil {
			d.log.Warn().Err(err).Msg("otlp exporter close")
		}
	}
}

// Unacked implements watch.Acker: a deleted file whose lines the
// collector has not acknowledged is kept until it has.
func (s *sink) Unacked(f watch.File) bool {
	if s.exp == nil {
		return false
	}
	_, held := s.exp.Held(f.ID())
	return held
}

// Full implements watch.Pacer.
func (s *sink) Full() bool { return s.exp != nil && s.exp.Full() }

// Wake implements watch.Pacer.
func (s *sink) Wake() <-chan struct{} {
	if s.exp == nil {
		return nil
	}
	return s.exp.Wake()
}

// Drain implements watch.Drainer: it waits, within otlp.shutdown_timeout,
// for the collector to acknowledge what was shipped.
func (s *sink) Drain() error {
	if s.act != nil && s.act.alerts != nil {
		// Before the last save, so that what is delivered meanwhile is
		// saved as delivered, and what is not stays in the outbox.
		if err := s.act.alerts.Close(alertCloseTimeout); err != nil {
			s.log.Warn().Err(err).Msg("stopping with alert notifications not delivered; they are saved and delivered after the next start")
		}
	}
	if s.exp == nil {
		return nil
	}
	err := s.exp.Drain(context.Background())
	if err != nil && !s.drainFatal {
		// A follower stopping while the collector is down: the next start
		// sends the rest again from the saved watermark.
		s.log.Warn().Err(err).Msg("stopping with records the collector has not acknowledged; the next start sends them again")
		return nil
	}
	return err
}

// shipHeld is where the exporter's hold of f begins, lowered to off when
// the event stages hold from further back.
func (s *sink) shipHeld(f watch.File, off int64, held bool) (int64, bool) {
	if s.exp == nil {
		return off, held
	}
	eoff, eheld := s.exp.Held(f.ID())
	return lowerHold(off, held, eoff, eheld)
}

// lowerHold is the hold that begins first of two.
func lowerHold(a int64, aok bool, b int64, bok bool) (int64, bool) {
	switch {
	case !bok:
		return a, aok
	case !aok || b < a:
		return b, true
	}
	return a, aok
}

// otlpSettings prints the exporter's settings but its headers, to tell a
// reload that changed them (they take effect at the next start: the
// exporter's queue and acknowledgements live across a reload) without
// logging a token.
func otlpSettings(c *config.Config) string {
	o := c.OTLP
	o.Headers = nil
	return fmt.Sprintf("%+v", o)
}

// headersDigest names the exporter's headers with a digest of their values,
// to log that they changed without logging them.
func headersDigest(c *config.Config) string {
	names := make([]string, 0, len(c.OTLP.Headers))
	for k := range c.OTLP.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, k := range names {
		fmt.Fprintf(h, "%s\x00%s\x00", k, c.OTLP.Headers[k])
	}
	return fmt.Sprintf("%s sha256:%x", strings.Join(names, ","), h.Sum(nil)[:6])
}

// Epoch implements watch.EpochHolder.
func (s *sink) Epoch() uint64 {
	if s.exp == nil {
		return 0
	}
	return s.exp.Epoch()
}

// HeldIn implements watch.EpochHolder: the exporter's hold of f in epochs
// (after, upto], and, for the content up to now (upto 0), a pending
// event's too.
func (s *sink) HeldIn(f watch.File, after, upto uint64) (int64, bool) {
	if upto == 0 {
		off, held := s.eventHeld(f)
		if s.exp == nil {
			return off, held
		}
		eoff, eheld := s.exp.HeldIn(f.ID(), after, 0)
		return lowerHold(off, held, eoff, eheld)
	}
	if s.exp == nil {
		return 0, false
	}
	return s.exp.HeldIn(f.ID(), after, upto)
}
