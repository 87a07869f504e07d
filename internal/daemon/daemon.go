// Package daemon runs follow mode as a long-lived service around the watch
// engine: it selects and prints lines, reloads the configuration on SIGHUP
// without re-reading or skipping lines, serves the HTTP endpoints, speaks
// sd_notify, and shuts down flushing the output and saving the state.
//
// Reload builds a new matcher and printer from scratch and swaps them in with
// an atomic pointer, so a bad config is refused whole and the old one keeps
// running. Settings that need new sockets or new output streams
// (http.listen, output.format, state_file) take effect at the next restart;
// a reload that changes them says so in the log.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/logscan/logscan/internal/config"
	"github.com/logscan/logscan/internal/filter"
	"github.com/logscan/logscan/internal/httpapi"
	"github.com/logscan/logscan/internal/match"
	"github.com/logscan/logscan/internal/metrics"
	"github.com/logscan/logscan/internal/notify"
	"github.com/logscan/logscan/internal/output"
	"github.com/logscan/logscan/internal/watch"
)

// Options configures Run.
type Options struct {
	Config *config.Config
	// Reload re-reads the configuration layers; nil disables reloading.
	Reload func() (*config.Config, error)
	// Compile builds the matcher of a configuration.
	Compile func(*config.Config) (*match.Matcher, error)
	Stdout  io.Writer
	Log     zerolog.Logger
	// Hup delivers SIGHUP; nil means no reloads.
	Hup <-chan os.Signal
	// Notifier speaks sd_notify; nil means notify.New() (a no-op without NOTIFY_SOCKET).
	Notifier *notify.Notifier
	// Once reads what is new since the state file and returns (the logtail
	// pattern) instead of following.
	Once    bool
	Version string
	// WatchdogTick overrides the watchdog ticker (tests).
	WatchdogTick <-chan time.Time
	// Started, if set, receives the HTTP server's address once it listens (tests).
	Started func(addr string)
}

// Result is what a run found, for the exit status.
type Result struct {
	Matches    int64
	ReadErrors int64
}

// Run follows until ctx is done (or, with Once, until everything new was
// read) and returns what it found. The error is non-nil when the run could
// not start or the output failed.
func Run(ctx context.Context, o Options) (Result, error) {
	cfg := o.Config
	if len(cfg.Roots) == 0 {
		return Result{}, &config.Error{Where: "config key roots", Msg: "no roots: give a PATH or set roots (LOGSCAN_ROOTS)"}
	}
	for _, r := range cfg.Roots {
		if r == "-" {
			return Result{}, &config.Error{Where: "config key roots", Value: r, Msg: "standard input cannot be followed or checkpointed"}
		}
	}
	m, err := o.Compile(cfg)
	if err != nil {
		return Result{}, err
	}
	if o.Notifier == nil {
		o.Notifier = notify.New()
	}
	met := metrics.New(o.Version)
	met.SetRules(ruleNames(m))
	hub := httpapi.NewHub(4096, met.StreamDropped)
	s, err := newSink(o.Stdout, cfg, m, met, hub)
	if err != nil {
		return Result{}, err
	}
	if cfg.StartAt == "" {
		// Following starts existing files at their end, like tail -F; an
		// incremental one-shot run with no state yet reads them whole, as
		// logtail does on its first run.
		cfg.StartAt = "end"
		if o.Once {
			cfg.StartAt = "beginning"
		}
	}
	f, err := watch.New(watchConfig(cfg, o.Log), s)
	if err != nil {
		return Result{}, err
	}
	if o.Once {
		err := f.RunOnce(ctx)
		res := Result{Matches: s.written.Load(), ReadErrors: f.Stats().ReadErrors.Load()}
		if err == nil && f.Stats().StateSaveErrors.Load() > 0 {
			// Unlike follow mode there is no later save to retry: the next run
			// would repeat (or, after a rotation, skip) these lines.
			err = fmt.Errorf("state_file %s: could not be saved (see the log above); the next run will not resume here", cfg.StateFile)
		}
		return res, err
	}
	st := f.Stats()
	if err := met.Observe(metrics.Sources{
		LinesRead:        gauge(&st.LinesRead),
		BytesRead:        gauge(&st.BytesRead),
		FilesWatched:     gauge(&st.FilesWatched),
		Rotations:        gauge(&st.Rotations),
		Truncations:      gauge(&st.Truncations),
		LagBytes:         gauge(&st.LagBytes),
		TruncatedBytes:   gauge(&st.TruncatedBytes),
		LongLines:        gauge(&st.LongLines),
		DeletedOpenBytes: gauge(&st.DeletedOpenBytes),
		StreamClients:    func() float64 { return float64(hub.Clients()) },
		ReadErrors: func(yield func(string, float64)) {
			yield("read", float64(st.ReadErrors.Load()))
			yield("watch", float64(st.WatchErrors.Load()))
			yield("state_save", float64(st.StateSaveErrors.Load()))
			yield("overflow", float64(st.Overflows.Load()))
		},
	}); err != nil {
		return Result{}, fmt.Errorf("metrics: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer hub.Close()

	var ready atomic.Bool
	var srvErr chan error
	if cfg.HTTPListen != "" {
		h := cfg.HTTP
		srv, err := httpapi.New(cfg.HTTPListen, met.Registry(), hub, ready.Load, o.Log, httpapi.Security{
			TokenFile: h.BearerTokenFile, AuthMetrics: h.AuthMetrics,
			CertFile: h.CertFile, KeyFile: h.KeyFile, MatchesPublic: h.MatchesPublic,
		})
		if err != nil {
			return Result{}, err
		}
		srvErr = make(chan error, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			srvErr <- srv.Run(ctx)
		}()
		select {
		case <-srv.Started():
			if srv.Addr() == "" {
				return Result{}, fmt.Errorf("http.listen %q: %w", cfg.HTTPListen, <-srvErr)
			}
			o.Log.Info().Str("addr", srv.Addr()).Msg("serving /metrics, /healthz, /livez, /readyz, /matches")
			if o.Started != nil {
				o.Started(srv.Addr())
			}
		case err := <-srvErr:
			return Result{}, fmt.Errorf("http.listen %q: %w", cfg.HTTPListen, err)
		}
	}

	n := o.Notifier
	n.SetErrorHandler(func(err error) { o.Log.Warn().Err(err).Msg("sd_notify") })
	s.progress = n.Progress
	if tick := o.WatchdogTick; tick != nil || n.WatchdogInterval() > 0 {
		if tick == nil {
			t := time.NewTicker(n.WatchdogInterval())
			defer t.Stop()
			tick = t.C
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.RunWatchdog(ctx, tick)
		}()
	}

	runErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		runErr <- f.Run(ctx)
	}()

	status := time.NewTicker(10 * time.Second)
	defer status.Stop()
	readyCh := f.Ready()
	for {
		select {
		case <-readyCh:
			readyCh = nil
			ready.Store(true)
			n.Progress()
			if err := n.Ready(); err != nil {
				o.Log.Warn().Err(err).Msg("sd_notify READY")
			}
			o.Log.Info().Int64("files", st.FilesWatched.Load()).Strs("roots", cfg.Roots).Msg("following")
			sendStatus(n, st, s)
		case <-status.C:
			sendStatus(n, st, s)
		case <-o.Hup:
			if o.Reload == nil {
				continue
			}
			if err := n.Reloading(); err != nil {
				o.Log.Warn().Err(err).Msg("sd_notify RELOADING")
			}
			next, err := reload(o, cfg, f, s, met)
			met.ConfigReload(err)
			if err != nil {
				o.Log.Error().Err(err).Msg("reload refused; the previous configuration keeps running")
			} else {
				cfg = next
				o.Log.Info().Str("config", cfg.Source).Msg("configuration reloaded")
			}
			if err := n.Ready(); err != nil {
				o.Log.Warn().Err(err).Msg("sd_notify READY")
			}
			sendStatus(n, st, s)
		case err := <-srvErr:
			if err != nil {
				o.Log.Error().Err(err).Msg("http server stopped")
			}
			srvErr = nil
		case err := <-runErr:
			if err2 := n.Stopping(); err2 != nil {
				o.Log.Warn().Err(err2).Msg("sd_notify STOPPING")
			}
			if ctx.Err() == nil && err == nil {
				err = errors.New("follower stopped unexpectedly")
			}
			return Result{Matches: s.written.Load(), ReadErrors: st.ReadErrors.Load()}, err
		case <-ctx.Done():
			if err := n.Stopping(); err != nil {
				o.Log.Warn().Err(err).Msg("sd_notify STOPPING")
			}
			o.Log.Info().Msg("stopping: flushing output and saving state")
			err := <-runErr
			return Result{Matches: s.written.Load(), ReadErrors: st.ReadErrors.Load()}, err
		}
	}
}

func gauge(v *atomic.Int64) func() float64 { return func() float64 { return float64(v.Load()) } }

func sendStatus(n *notify.Notifier, st *watch.Stats, s *sink) {
	_ = n.Status(fmt.Sprintf("following %d files, %d matches", st.FilesWatched.Load(), s.written.Load()))
}

// ruleNames lists the matcher's rules for the metrics, with "" (unnamed)
// for rule -1 when there are no rules at all.
func ruleNames(m *match.Matcher) []string {
	names := make([]string, 0, m.NumRules()+1)
	for i := range m.NumRules() {
		names = append(names, m.RuleName(i))
	}
	if len(names) == 0 {
		names = append(names, "")
	}
	return names
}

// reload validates a new configuration and swaps it in.
func reload(o Options, old *config.Config, f *watch.Follower, s *sink, met *metrics.Metrics) (*config.Config, error) {
	next, err := o.Reload()
	if err != nil {
		return nil, err
	}
	if len(next.Roots) == 0 {
		return nil, &config.Error{Where: "config key roots", Msg: "no roots"}
	}
	m, err := o.Compile(next)
	if err != nil {
		return nil, err
	}
	if next.StartAt == "" {
		next.StartAt = old.StartAt
	}
	for _, c := range []struct{ key, a, b string }{
		{"http.listen", old.HTTPListen, next.HTTPListen},
		{"output.format", old.OutputFormat, next.OutputFormat},
		{"state_file", old.StateFile, next.StateFile},
	} {
		if c.a != c.b {
			o.Log.Warn().Str("key", c.key).Str("running", c.a).Str("new", c.b).Msg("this setting takes effect at the next restart")
		}
	}
	if err := f.Reload(watchConfig(next, o.Log)); err != nil {
		return nil, err
	}
	met.SetRules(ruleNames(m))
	s.swap(m, met)
	return next, nil
}

// watchConfig maps the config to the follower's.
func watchConfig(cfg *config.Config, log zerolog.Logger) watch.Config {
	flt := filter.New(cfg.Include, cfg.Exclude, cfg.ExcludeDir)
	roots := cfg.Roots
	var accept func(string) bool
	if !flt.Empty() {
		accept = func(path string) bool {
			for _, r := range roots {
				prefix := strings.TrimSuffix(r, "/") + "/"
				if rel, ok := strings.CutPrefix(path, prefix); ok {
					return flt.Path(rel)
				}
			}
			return true // a root named as a file
		}
	}
	return watch.Config{
		Roots:        roots,
		Filter:       accept,
		StartAt:      cfg.StartAt,
		StateFile:    cfg.StateFile,
		PollInterval: cfg.PollInterval,
		MaxLine:      cfg.MaxLine,
		SaveInterval: cfg.SaveInterval,
		Logger:       log,
	}
}

// pipeline is what a reload swaps: the matcher and the per-rule metrics.
type pipeline struct {
	m     *match.Matcher
	rules []*metrics.RuleMetrics // by rule index; last is for rule -1
}

// sink is the watch.Consumer: it selects lines, prints them into a buffer,
// publishes them to /matches, and writes the buffer out on Flush. Lines and
// Flush are called from the follower's goroutine only.
type sink struct {
	out      io.Writer
	buf      []byte
	jbuf     []byte
	printer  *output.Printer
	json     *output.Printer
	jsonOut  bool
	hub      *httpapi.Hub
	p        atomic.Pointer[pipeline]
	rec      output.Record
	now      func() time.Time
	progress func()

	lastFile watch.File
	lastID   string

	// pending counts selected lines not yet flushed, so that the metrics
	// count a written match exactly once; a reload between two flushes
	// appends the new pipeline's rules after the old ones.
	pending  []pend
	base     int // index in pending of the current pipeline's rule 0
	pendingP *pipeline
	written  atomic.Int64
	lastTime time.Time
}

func newSink(out io.Writer, cfg *config.Config, m *match.Matcher, met *metrics.Metrics, hub *httpapi.Hub) (*sink, error) {
	format, ok := output.ParseFormat(cfg.OutputFormat)
	if !ok {
		return nil, &config.Error{Where: "config key output.format", Value: cfg.OutputFormat, Msg: "want text or json"}
	}
	s := &sink{
		out:     out,
		printer: output.NewPrinter(output.Options{Format: format, Filename: true}),
		json:    output.NewPrinter(output.Options{Format: output.JSON}),
		jsonOut: format == output.JSON,
		hub:     hub,
		now:     time.Now,
		buf:     make([]byte, 0, 256<<10),
	}
	s.swap(m, met)
	return s, nil
}

func (s *sink) swap(m *match.Matcher, met *metrics.Metrics) {
	n := m.NumRules()
	p := &pipeline{m: m, rules: make([]*metrics.RuleMetrics, n+1)}
	for i := range n {
		p.rules[i] = met.Rule(m.RuleName(i))
	}
	p.rules[n] = met.Rule("")
	s.p.Store(p)
}

// Lines implements watch.Consumer.
func (s *sink) Lines(f watch.File, block []byte, off, _ int64) error {
	p := s.p.Load()
	if p != s.pendingP {
		s.pendingP, s.base = p, len(s.pending)
		for _, rm := range p.rules {
			s.pending = append(s.pending, pend{rm: rm})
		}
	}
	if f != s.lastFile || s.lastID == "" {
		s.lastFile, s.lastID = f, f.ID()
	}
	now := s.now()
	r := &s.rec
	for pos := 0; pos < len(block); {
		start, end, rule, ok := p.m.Next(block, pos)
		if !ok {
			break
		}
		text := block[start:end]
		r.Path, r.FileID, r.Offset, r.Text, r.Time = f.Path, s.lastID, off+int64(start), text, now
		r.Rule = ""
		if rule >= 0 {
			r.Rule = p.m.RuleName(rule)
		}
		streaming := s.hub.Clients() > 0
		r.Pattern = ""
		if s.jsonOut || streaming {
			r.Pattern = p.m.Pattern(text, rule)
		}
		s.buf = s.printer.Append(s.buf, r)
		if streaming {
			s.jbuf = s.json.Append(s.jbuf[:0], r)
			s.hub.Publish(r.Rule, s.jbuf)
		}
		idx := rule
		if idx < 0 {
			idx = len(p.rules) - 1
		}
		s.pending[s.base+idx].n++
		s.lastTime = now
		pos = end + 1
	}
	return nil
}

// Beat implements watch.Heartbeat: the follower's loop is alive.
func (s *sink) Beat() {
	if s.progress != nil {
		s.progress()
	}
}

// Flush implements watch.Consumer.
func (s *sink) Flush() error {
	s.Beat()
	if len(s.buf) == 0 {
		return nil
	}
	if _, err := s.out.Write(s.buf); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	s.buf = s.buf[:0]
	s.commitMetrics()
	return nil
}

type pend struct {
	rm *metrics.RuleMetrics
	n  int64
}

func (s *sink) commitMetrics() {
	for _, p := range s.pending {
		for range p.n {
			p.rm.Match(s.lastTime)
		}
		s.written.Add(p.n)
	}
	s.pending, s.pendingP = s.pending[:0], nil
}
