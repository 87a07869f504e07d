package daemon

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/logscan/logscan/internal/httpapi"
	"github.com/logscan/logscan/internal/linemetrics"
	"github.com/logscan/logscan/internal/metrics"
	"github.com/logscan/logscan/internal/multiline"
	"github.com/logscan/logscan/internal/otlp"
	"github.com/logscan/logscan/internal/output"
	"github.com/logscan/logscan/internal/pipeline"
	"github.com/logscan/logscan/internal/summary"
	"github.com/logscan/logscan/internal/watch"
)

// flushAt is how much output the sink buffers before it writes mid-batch:
// a first read of a large tree must not be held in memory until the batch
// ends. Writing early is safe: offsets are committed only at Flush.
const flushAt = 256 << 10

// sink is the follower's watch.Consumer: the one pipeline's Scanner runs the
// stages and prints, the sink writes the output and feeds /matches and the
// metrics. Every method but setPipeline is called from the follower's
// goroutine only.
type sink struct {
	out  io.Writer
	sc   *pipeline.Scanner
	next atomic.Pointer[pipeline.Pipeline] // a reloaded pipeline, taken at the next file
	werr error

	hub  *httpapi.Hub
	json *output.Printer
	jbuf []byte
	met  *metrics.Metrics
	// stop is called when the pipeline needs no more input (-q in follow
	// mode, after the first selected line).
	stop func()

	// progress is called when the loop is alive (the systemd watchdog).
	progress func()

	cur   watch.File
	begun bool
	// files keeps the Scanner's state of each file an incremental run has
	// read, for its FileEnd, which comes after every file was read, and of
	// each followed file while the event stages run (a pending multiline
	// event); nil otherwise, in follow mode, where nothing is kept per file.
	files map[string]keptFile
	// named maps the name each kept file was begun under to its ID, the
	// newest when several had it: adopt looks a new file's predecessor up
	// there rather than among every kept file.
	named map[string]string
	ev    *metrics.EventMetrics
	// stateful: offsets are saved, so a pending event is kept back at
	// shutdown rather than emitted (Release).
	stateful bool
	// parseErrors and flushes are the Scanner's counts already added to ev.
	parseErrors int64
	flushes     [len(pipeline.Scanner{}.Flushes)]int64
	// rules are the current pipeline's rule metrics by rule index, the last
	// for rule -1; pending counts the selected lines not yet flushed, so
	// that a metric counts a written line exactly once, whatever reload
	// happens between a read and its flush.
	rules   []*metrics.RuleMetrics
	pending map[*metrics.RuleMetrics]int64
	lastHit time.Time
	written atomic.Int64
	ended   int64 // files ended (incremental runs)
	// exp ships the selected records over OTLP; nil without otlp.endpoint
	// (ship.go).
	exp *otlp.Exporter
	// drainFatal: an incremental run fails when the collector has not
	// acknowledged everything by the end; a follower stopping logs it.
	drainFatal bool
	log        zerolog.Logger
	// sum accumulates --summary (incremental runs only: follow mode
	// refuses it); Flush prints it before the offsets are committed.
	sum *summary.Acc
	// act feeds the rules' metrics and alerts (act.go); nil when no rule
	// has either. actOf holds the act of each reloaded pipeline until the
	// follower's goroutine takes it with the pipeline; proxy serves the
	// current act's metrics.
	act   *act
	actOf sync.Map // *pipeline.Pipeline → *act
	proxy *metricsProxy
}

// keptFile is a file's Scanner state between two of its blocks.
type keptFile struct {
	f  watch.File
	st pipeline.FileState
}

func newSink(out io.Writer, buffer int, p *pipeline.Pipeline, met *metrics.Metrics, hub *httpapi.Hub) *sink {
	if buffer <= 0 {
		buffer = flushAt
	}
	s := &sink{out: out, hub: hub, met: met, json: output.NewPrinter(output.Options{Format: output.JSON}),
		pending: map[*metrics.RuleMetrics]int64{}}
	s.sc = pipeline.NewScanner(p, buffer, s.writeFull)
	s.sc.Now = time.Now
	s.sc.Inline = true
	s.sc.Tap = s.tap
	if p.Summary != nil {
		s.sum = p.Summary.NewAcc()
		s.sc.Observe = s.sum.Observe
	}
	s.next.Store(p)
	s.setRules(p)
	s.ev = met.Events()
	s.keepFiles(p)
	return s
}

// keepFiles keeps each file's state when p's event stages hold content
// across blocks; an incremental run keeps it anyway.
func (s *sink) keepFiles(p *pipeline.Pipeline) {
	if s.files == nil && p.HasEvents() {
		s.files = map[string]keptFile{}
	}
}

// setRules registers the rules of p with the metrics.
func (s *sink) setRules(p *pipeline.Pipeline) {
	names := p.RuleNames()
	s.met.SetRules(names)
	s.rules = s.rules[:0]
	for _, n := range names {
		s.rules = append(s.rules, s.met.Rule(n))
	}
	s.rules = append(s.rules, s.met.Rule("")) // rule -1: no rule, or -v
}

// setPipeline swaps in a reloaded pipeline and its act stage; the
// follower's goroutine takes them at the start of the next file it reads.
func (s *sink) setPipeline(p *pipeline.Pipeline, a *act) {
	s.actOf.Store(p, a)
	s.next.Store(p)
}

// setAct makes a the current act stage, continuing the previous one.
func (s *sink) setAct(a *act) {
	if a != nil {
		a.takeOver(s.act)
	}
	s.act = a
	if s.proxy != nil {
		var set *linemetrics.Set
		if a != nil {
			set = a.set
		}
		s.proxy.cur.Store(set)
	}
}

// begin makes f the Scanner's current file, saving the previous one's state
// in an incremental run.
func (s *sink) begin(f watch.File) {
	if p := s.next.Load(); p != s.sc.Pipeline() {
		if !pipeline.SameEvents(s.sc.Pipeline(), p) {
			s.flushKept()
		}
		s.sc.SetPipeline(p)
		s.setRules(p)
		s.keepFiles(p)
		if a, ok := s.actOf.LoadAndDelete(p); ok {
			s.setAct(a.(*act))
		}
	}
	if s.files != nil && s.begun {
		s.keep(s.cur, s.sc.Save())
	}
	s.cur, s.begun = f, true
	if k, ok := s.files[f.ID()]; ok {
		s.sc.Restore(k.st)
		return
	}
	s.sc.Begin(f.Path, f.ID(), 0, false)
	s.adopt(f)
}

// adopt lets a new file take over the pending event of the file that had
// its name before (rotated away or deleted), so that an event that spans
// the rotation is one event (pipeline/rotation.go).
func (s *sink) adopt(f watch.File) {
	id, ok := s.named[f.Path]
	if !ok || id == f.ID() {
		return
	}
	k := s.files[id]
	s.sc.Adopt(&k.st) // the state's event lives behind a pointer: k needs no store
}

// keep saves a file's Scanner state between its blocks.
func (s *sink) keep(f watch.File, st pipeline.FileState) {
	id := f.ID()
	s.files[id] = keptFile{f, st}
	if s.named == nil {
		s.named = map[string]string{}
	}
	s.named[st.Name()] = id
}

// drop forgets a kept file's state.
func (s *sink) drop(f watch.File) {
	id := f.ID()
	if k, ok := s.files[id]; ok && s.named[k.st.Name()] == id {
		delete(s.named, k.st.Name())
	}
	delete(s.files, id)
}

// Lines implements watch.Consumer.
func (s *sink) Lines(f watch.File, block []byte, off, line int64) error {
	if !s.begun || f != s.cur || s.next.Load() != s.sc.Pipeline() {
		s.begin(f)
	}
	more := s.sc.Block(block, off, line)
	if s.werr != nil {
		return s.werr
	}
	if s.sc.IsBinary() {
		return watch.ErrSkipFile
	}
	if !more && s.sc.Pipeline().Mode == pipeline.Quiet && s.stop != nil {
		s.stop()
	}
	return nil
}

// FileEnd implements watch.FileEnder: an incremental run prints -c and -l
// at the end of each file, as a one-shot run does.
func (s *sink) FileEnd(f watch.File) {
	if !s.begun || f != s.cur {
		s.begin(f)
	}
	s.sc.End()
	s.begun = false
	s.drop(f)
	s.ended++
}

func (s *sink) tap(r *output.Record, rule int) {
	if s.exp != nil {
		s.exp.Add(r)
	}
	if s.hub.Clients() > 0 {
		s.jbuf = s.json.Append(s.jbuf[:0], r)
		s.hub.Publish(r.Rule, s.jbuf)
	}
	idx := rule
	if idx < 0 || idx >= len(s.rules)-1 {
		idx = len(s.rules) - 1
	}
	s.pending[s.rules[idx]]++
	s.lastHit = r.Time
	if s.act != nil {
		s.act.observe(r, rule)
	}
}

// writeFull writes the Scanner's buffer when it is full, mid-batch.
func (s *sink) writeFull(sc *pipeline.Scanner) {
	if s.werr != nil || len(sc.Buf) == 0 {
		sc.Buf = sc.Buf[:0]
		return
	}
	if _, err := s.out.Write(sc.Buf); err != nil {
		s.werr = fmt.Errorf("writing output: %w", err)
	}
	sc.Buf = sc.Buf[:0]
}

// Flush implements watch.Consumer. An incremental run flushes once, after
// every file's FileEnd, so the summary it prints covers what the commit
// that follows moves past; a later flush would print what came since.
func (s *sink) Flush() error {
	if s.sum != nil && !s.sum.Empty() {
		s.sc.Buf = s.sum.Append(s.sc.Buf)
		for _, w := range s.sum.Warnings() {
			s.log.Warn().Msg(w)
		}
		s.sum.Reset()
	}
	s.writeFull(s.sc)
	if s.werr != nil {
		return s.werr
	}
	for rm, n := range s.pending {
		for range n {
			rm.Match(s.lastHit)
		}
	}
	clear(s.pending)
	if s.exp != nil {
		s.exp.Flush()
	}
	s.written.Store(s.sc.Matches)
	s.countEvents()
	return nil
}

// countEvents adds what the Scanner counted since the last flush to the
// event metrics.
func (s *sink) countEvents() {
	sc := s.sc
	if d := sc.ParseErrors - s.parseErrors; d > 0 {
		s.ev.ParseErrors.Add(float64(d))
		s.parseErrors = sc.ParseErrors
	}
	for i, n := range sc.Flushes {
		if d := n - s.flushes[i]; d > 0 && i < len(s.ev.Flushes) {
			s.ev.Flushes[i].Add(float64(d))
			s.flushes[i] = n
		}
	}
}

// Held implements watch.Holder: where the content of f that the event
// stages keep back (a pending multiline event) begins.
func (s *sink) Held(f watch.File) (int64, bool) {
	off, held := s.eventHeld(f)
	return s.shipHeld(f, off, held)
}

// eventHeld is where the pending event of f, if any, begins.
func (s *sink) eventHeld(f watch.File) (int64, bool) {
	if s.begun && f == s.cur {
		off, _, ok := s.sc.Held()
		return off, ok
	}
	if k, ok := s.files[f.ID()]; ok {
		off, _, held := k.st.Held()
		return off, held
	}
	return 0, false
}

// Release implements watch.Holder. A forgotten file's pending event is
// emitted (reason rotate) and its state dropped. A truncated one
// (copytruncate) keeps its pending event, which the new content's first
// lines may continue, as after a rename rotation; its state goes on with
// the new content. At shutdown with a state file the pending event is kept
// back: its start is what is saved, and the next start reads it again and
// emits it whole, so that a trace still being written is never cut in two
// by a restart. Without a state file nothing would read it again, so it is
// emitted (reason shutdown).
func (s *sink) Release(f watch.File, why watch.ReleaseReason) {
	if s.act != nil {
		switch why {
		case watch.Truncated:
			s.act.truncated(f.ID())
		case watch.Forgotten:
			s.act.forgotten(f.ID())
		}
	}
	if _, ok := s.files[f.ID()]; !ok && !(s.begun && f == s.cur) {
		return
	}
	if why == watch.Shutdown && s.stateful {
		return
	}
	if !s.begun || f != s.cur {
		s.begin(f)
	}
	switch why {
	case watch.Truncated:
		if s.sc.Truncated() {
			return
		}
		s.sc.FlushEvents(multiline.Rotate)
	case watch.Shutdown:
		s.sc.FlushEvents(multiline.Shutdown)
	default:
		s.sc.FlushEvents(multiline.Rotate)
	}
	s.begun = false
	s.drop(f)
}

// flushKept emits every kept file's pending event under the pipeline that
// joined it, before a reload changes the event stages (reason shutdown:
// those stages stop), and forgets the stages' state; the rest of each
// file's state stays.
func (s *sink) flushKept() {
	if s.files == nil {
		return
	}
	if s.begun {
		s.keep(s.cur, s.sc.Save())
		s.begun = false
	}
	for id, k := range s.files {
		s.sc.Restore(k.st)
		s.sc.FlushEvents(multiline.Shutdown)
		st := s.sc.Save()
		st.DropEvents()
		s.files[id] = keptFile{k.f, st}
	}
}

// flushIdle emits the pending events that have been idle for
// multiline.idle_flush, and writes them: no read may come to do it.
func (s *sink) flushIdle() {
	if s.files == nil || !s.sc.Pipeline().HasEvents() || s.sc.Now == nil {
		return
	}
	now := s.sc.Now()
	var due []watch.File
	if s.begun && s.sc.EventsDue(now) {
		due = append(due, s.cur)
	}
	for _, k := range s.files {
		if k.st.Due(now) {
			due = append(due, k.f)
		}
	}
	for _, f := range due {
		if !s.begun || f != s.cur {
			s.begin(f)
		}
		s.sc.FlushEvents(multiline.Idle)
	}
	if len(due) > 0 {
		_ = s.Flush() // an error is kept in werr and returned by the next Lines
	}
}

// Beat implements watch.Heartbeat: the follower's loop is alive.
func (s *sink) Beat() {
	s.flushIdle()
	if s.act != nil {
		s.act.tick()
	}
	if s.progress != nil {
		s.progress()
	}
}

// Checkpoint implements watch.Checkpointer: the act stage's state.
func (s *sink) Checkpoint(full bool) ([]byte, error) {
	if s.act == nil {
		return nil, nil
	}
	return s.act.checkpoint(full)
}

// Restore implements watch.Checkpointer.
func (s *sink) Restore(parts [][]byte) error {
	if s.act == nil {
		for _, p := range parts {
			if len(p) > 0 {
				s.log.Warn().Msg("the state file holds metrics or alerts of rules, and no rule has any now; they are dropped")
				break
			}
		}
		return nil
	}
	warnings, err := s.act.restore(parts)
	for _, w := range warnings {
		s.log.Warn().Msg(w)
	}
	return err
}

// Dirty implements watch.Checkpointer: an alert's state changed on its own
// (a delivery, a resolve).
func (s *sink) Dirty() bool {
	return s.act != nil && s.act.alerts != nil && s.act.alerts.Dirty()
}
