package otlp

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Log rate limits: an outage or a collector refusing everything would
// otherwise log per batch, several times a second.
const (
	warnEvery   = time.Minute      // "still failing" while retrying
	reportEvery = 10 * time.Second // refusals and partial successes
	// bodyPreview is how much of a refusal's response body is logged.
	bodyPreview = 512
)

// accept completes a batch the collector took, counting what a partial
// success says it rejected.
func (s *sender) accept(b *batch, r result) {
	e := s.e
	rejected, msg, err := partialSuccess(r, e.o.Encoding)
	if err != nil {
		e.log.Debug().Err(err).Msg("unreadable OTLP export response; taken as a full success")
	}
	rejected = min(max(rejected, 0), int64(b.n))
	e.met.recordsSent.Add(float64(int64(b.n) - rejected))
	e.met.recordsDropped.Add(float64(rejected))
	e.refused.Add(rejected)
	e.met.batchesSent.Inc()
	if (rejected > 0 || msg != "") && s.partial.allow(e.now()) {
		e.log.Warn().Int64("rejected", rejected).Int("records", b.n).Str("error_message", msg).
			Int("suppressed", s.partial.take()).Msg("OTLP collector accepted a batch in part")
	}
	e.finish(b)
}

// partialSuccess reads the ExportResponse of a 2xx, in the encoding its
// Content-Type says, or in the request's when it says neither. An empty
// body is a full success.
func partialSuccess(r result, encoding string) (int64, string, error) {
	if len(r.body) == 0 {
		return 0, "", nil
	}
	if isJSON(r.ctype, encoding) {
		return partialSuccessJSON(r.body)
	}
	return partialSuccessProto(r.body)
}

func isJSON(ctype, encoding string) bool {
	switch {
	case strings.HasPrefix(ctype, "application/json"):
		return true
	case strings.HasPrefix(ctype, "application/x-protobuf"), strings.HasPrefix(ctype, "application/protobuf"):
		return false
	}
	return encoding == "json"
}

// refuse completes a batch the collector refused for good: it goes to the
// dead-letter file, from which it can be replayed, or is dropped when
// there is none or it cannot be written.
func (s *sender) refuse(b *batch, r result) {
	e := s.e
	var werr error
	if e.dead != nil {
		werr = s.writeDeadLetter(b)
	}
	e.refused.Add(int64(b.n))
	dropped := werr != nil
	if dropped {
		e.met.recordsDropped.Add(float64(b.n))
		e.met.batchesDropped.Inc()
	} else {
		e.met.recordsFailed.Add(float64(b.n))
		e.met.batchesFailed.Inc()
		if e.dead != nil {
			e.met.deadLetters.Inc()
		}
	}
	if s.refusals.allow(e.now()) {
		ev := e.log.Error().Str("result", r.String()).Int("records", b.n).Int("suppressed", s.refusals.take())
		if len(r.body) > 0 {
			ev = ev.Str("response", responseText(r, e.o.Encoding))
		}
		switch {
		case werr != nil:
			ev = ev.AnErr("dead_letter_error", werr).Str("dead_letter", e.o.DeadLetter)
		case e.dead != nil:
			ev = ev.Str("dead_letter", e.o.DeadLetter)
		}
		ev.Msg("OTLP collector refused a batch")
	}
	e.finish(b)
}

// writeDeadLetter appends b as one line of OTLP/JSON, the request as the
// collector would have had it, so that a replay can POST the line as is.
func (s *sender) writeDeadLetter(b *batch) error {
	line, err := marshalRequest(b.logs, true)
	if err != nil {
		return err
	}
	return s.e.dead.write(append(line, '\n'))
}

// responseText is what a refusal's body says, for the log: the message of
// the google.rpc.Status an OTLP receiver answers with, else the first
// bytes of the body as text.
func responseText(r result, encoding string) string {
	if !isJSON(r.ctype, encoding) && !strings.HasPrefix(r.ctype, "text/") {
		if msg, ok := statusMessage(r.body); ok {
			return msg
		}
	}
	b := r.body
	if len(b) > bodyPreview {
		b = b[:bodyPreview] // a rune cut in two becomes one U+FFFD
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// failures is the state of an outage, for logging it: at warn when it
// starts, then at most every warnEvery, and at info when it ends.
type failures struct {
	since    time.Time // zero when the last attempt succeeded
	lastWarn time.Time
	attempts int
}

func (f *failures) failed(e *Exporter, r result, wait time.Duration) {
	now := e.now()
	f.attempts++
	ev := e.log.Debug()
	switch {
	case f.since.IsZero():
		f.since, f.lastWarn = now, now
		ev = e.log.Warn()
	case now.Sub(f.lastWarn) >= warnEvery:
		f.lastWarn = now
		ev = e.log.Warn().Dur("failing_for", now.Sub(f.since))
	}
	ev.Str("result", r.String()).Int("attempts", f.attempts).Dur("retry_in", wait).
		Msg("OTLP export failed; retrying")
}

func (f *failures) recovered(e *Exporter, retried int) {
	if f.since.IsZero() {
		return
	}
	e.log.Info().Int("attempts", f.attempts).Int("batch_retries", retried).
		Dur("failed_for", e.now().Sub(f.since)).Msg("OTLP export recovered")
	*f = failures{}
}

// limiter lets one report through per reportEvery and counts the others.
type limiter struct {
	last       time.Time
	suppressed int
}

func (l *limiter) allow(now time.Time) bool {
	if !l.last.IsZero() && now.Sub(l.last) < reportEvery {
		l.suppressed++
		return false
	}
	l.last = now
	return true
}

// take returns how many reports were suppressed since the last one.
func (l *limiter) take() int {
	n := l.suppressed
	l.suppressed = 0
	return n
}

// deadLetter is the file refused batches are appended to. Only the sender
// writes it, and Close closes it after the sender stopped.
type deadLetter struct {
	path string
	mu   sync.Mutex // the senders write concurrently
	f    *os.File
}

func openDeadLetter(path string) (*deadLetter, error) {
	if path == "" {
		return nil, nil
	}
	d := &deadLetter{path: path}
	if err := d.open(); err != nil {
		return nil, fmt.Errorf("otlp: dead-letter file: %w", err)
	}
	return d, nil
}

func (d *deadLetter) open() error {
	f, err := os.OpenFile(d.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	d.f = f
	return nil
}

// write appends line. After a failed write the file is reopened at the
// next one: it may have been removed or its disk remounted.
func (d *deadLetter) write(line []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		if err := d.open(); err != nil {
			return err
		}
	}
	if _, err := d.f.Write(line); err != nil {
		_ = d.f.Close()
		d.f = nil
		return err
	}
	return nil
}

func (d *deadLetter) close() error {
	if d == nil || d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	if err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("otlp: closing the dead-letter file: %w", err)
	}
	return nil
}
