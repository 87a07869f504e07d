// Package daemon runs the follower as a source of the one pipeline: an
// incremental run (a state file without follow) and follow mode as a
// long-lived service. Its sink runs the pipeline's stages and printers (the
// same as a one-shot run's), feeds /matches and the metrics; around it the
// daemon reloads the configuration on SIGHUP without re-reading or skipping
// lines, serves the HTTP endpoints, speaks sd_notify, and shuts down
// flushing the output and saving the state. It may touch stdout, the HTTP
// listener and the sd_notify socket; the files are the follower's.
//
// A reload takes exactly the path the start took: the Reload callback reads
// the layers again, config checks the mode, pipeline.Compile builds a new
// pipeline, and the sink swaps it in with an atomic pointer at the next
// file, so a bad config is refused whole and the old one keeps running.
// Settings that need new sockets or files (http.listen, state_file) take
// effect at the next restart; a reload that changes them says so in the log.
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

	"github.com/logscan/logscan/internal/alert"
	"github.com/logscan/logscan/internal/config"
	"github.com/logscan/logscan/internal/filter"
	"github.com/logscan/logscan/internal/httpapi"
	"github.com/logscan/logscan/internal/metrics"
	"github.com/logscan/logscan/internal/notify"
	"github.com/logscan/logscan/internal/pipeline"
	"github.com/logscan/logscan/internal/watch"
)

// Options configures Run.
type Options struct {
	Config *config.Config
	// Reload re-reads the configuration layers the way the start read them;
	// nil disables reloading.
	Reload func() (*config.Config, error)
	// Env is where the output goes, for the pipeline (colour on a terminal).
	Env    pipeline.Env
	Stdout io.Writer
	// Avoid is the output file when stdout is a regular file: it is never
	// read, as grep refuses "input file is also the output".
	Avoid os.FileInfo
	// OutputBuffer is how much output is buffered mid-batch before it is
	// written; 0 means 256 KiB, 1 writes every line (--line-buffered).
	OutputBuffer int
	Log          zerolog.Logger
	// Hup delivers SIGHUP; nil means no reloads.
	Hup <-chan os.Signal
	// Notifier speaks sd_notify; nil means notify.New() (a no-op without NOTIFY_SOCKET).
	Notifier *notify.Notifier
	Version  string
	// WatchdogTick overrides the watchdog ticker (tests).
	WatchdogTick <-chan time.Time
	// Started, if set, receives the HTTP server's address once it listens (tests).
	Started func(addr string)
	// Now is the clock of the event stages' idle timer; nil means time.Now.
	Now func() time.Time
}

// Result is what a run found, for the exit status and --stats.
type Result struct {
	Matches    int64
	ReadErrors int64
	Files      int64 // files followed or read
	Bytes      int64 // bytes read
	Lines      int64 // lines read
	Binary     int64 // files skipped as binary
	// ParseErrors counts the lines that did not parse in their format.
	ParseErrors int64
	CutLines    int64 // lines cut at max_line
}

// Run reads the configured roots: an incremental run (a state file without
// follow) reads what is new and returns; follow mode follows until ctx is
// done. The error is non-nil when the run could not start or the output
// failed.
func Run(ctx context.Context, o Options) (Result, error) {
	d, err := start(o)
	if err != nil {
		return Result{}, err
	}
	if o.Config.Mode() != config.Follow {
		return d.once(ctx)
	}
	return d.follow(ctx)
}

// daemon is one run: the follower, its sink and the services around it.
type daemon struct {
	o   Options
	cfg *config.Config
	log zerolog.Logger
	f   *watch.Follower
	s   *sink
	met *metrics.Metrics
	hub *httpapi.Hub
	// avoided logs the skipped output file once; the follower's goroutine
	// and a reload both reach it.
	avoided sync.Once
	// engine delivers the rules' alerts, nil without any; alertRules maps
	// the name of each of its rules to the rule's index at the start, the
	// engine's (act.go).
	engine     *alert.Engine
	alertRules map[string]int
}

func start(o Options) (*daemon, error) {
	cfg := o.Config
	if len(cfg.Roots) == 0 {
		return nil, &config.Error{Where: "config key roots", Msg: "no roots: give a PATH or set roots (LOGSCAN_ROOTS)"}
	}
	if err := cfg.CheckMode(); err != nil {
		return nil, err
	}
	p, err := pipeline.Compile(cfg, o.Env)
	if err != nil {
		return nil, err
	}
	if o.Notifier == nil {
		o.Notifier = notify.New()
	}
	d := &daemon{o: o, cfg: cfg, log: o.Log, met: metrics.New(o.Version)}
	d.hub = httpapi.NewHub(4096, d.met.StreamDropped)
	out := o.Stdout
	if !cfg.Stdout {
		out = io.Discard
	}
	d.s = newSink(out, o.OutputBuffer, p, d.met, d.hub)
	if d.s.exp, err = d.newExporter(cfg); err != nil {
		return nil, err
	}
	d.s.drainFatal = cfg.Mode() == config.Incremental
	d.s.log = d.log
	d.s.stateful = cfg.StateFile != ""
	if o.Now != nil {
		d.s.sc.Now = o.Now
	}
	if cfg.Mode() == config.Incremental {
		d.s.files = map[string]keptFile{}
	}
	if cfg.HasAlerts() {
		if d.engine, err = d.newAlertEngine(cfg, p.Capture); err != nil {
			return nil, err
		}
	}
	a, err := d.newAct(cfg, p)
	if err != nil {
		return nil, err
	}
	d.s.proxy = &metricsProxy{}
	d.s.setAct(a)
	d.f, err = watch.New(d.watchConfig(cfg), d.s)
	if err != nil {
		return nil, err
	}
	return d, nil
}

func (d *daemon) result() Result {
	st := d.f.Stats()
	return Result{
		Matches: d.s.written.Load(), ReadErrors: st.ReadErrors.Load(), Files: d.s.ended,
		Bytes: st.BytesRead.Load(), Lines: st.LinesRead.Load(), Binary: d.s.sc.Binary, CutLines: st.LongLines.Load(),
		ParseErrors: d.s.sc.ParseErrors,
	}
}

// once is the incremental run: what is new since the state file, then exit.
func (d *daemon) once(ctx context.Context) (Result, error) {
	defer d.startExporter()()
	err := d.f.RunOnce(ctx)
	if err == nil && d.f.Stats().StateSaveErrors.Load() > 0 {
		// Unlike follow mode there is no later save to retry: the next run
		// would repeat (or, after a rotation, skip) these lines.
		err = fmt.Errorf("state_file %s: could not be saved (see the log above); the next run will not resume here", d.cfg.StateFile)
	}
	if e := d.s.exp; err == nil && e != nil && e.Refused() > 0 {
		err = fmt.Errorf("otlp: the collector refused %d records (see the log above; the refused batches are in %s)", e.Refused(), deadLetterPath(d.cfg))
	}
	return d.result(), err
}

// follow runs the follower and the services around it until ctx is done.
func (d *daemon) follow(ctx context.Context) (Result, error) {
	if err := d.observe(); err != nil {
		return Result{}, err
	}
	if err := d.met.Registry().Register(d.s.proxy); err != nil {
		return Result{}, fmt.Errorf("metrics: %w", err)
	}
	if err := d.checkMetricNames(d.cfg, nil); err != nil {
		return Result{}, err
	}
	if d.engine != nil {
		// Its own context, as the exporter's: the follower's shutdown
		// closes it after the run's context is done (sink.Drain).
		d.engine.Start(context.Background())
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d.s.stop = cancel // -q: the first selected line ends the run
	var wg sync.WaitGroup
	defer wg.Wait()
	defer d.hub.Close()

	var ready atomic.Bool
	srvErr, err := d.serve(ctx, &wg, ready.Load)
	if err != nil {
		return Result{}, err
	}
	n := d.o.Notifier
	n.SetErrorHandler(func(err error) { d.log.Warn().Err(err).Msg("sd_notify") })
	d.s.progress = n.Progress
	d.watchdog(ctx, &wg)

	defer d.startExporter()() // after wg.Wait: the follower's shutdown drains it
	runErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		runErr <- d.f.Run(ctx)
	}()
	err = d.events(ctx, &ready, srvErr, runErr)
	return d.result(), err
}

// events is the service's main loop: readiness, status, reloads and the
// end of the follower.
func (d *daemon) events(ctx context.Context, ready *atomic.Bool, srvErr, runErr chan error) error {
	n := d.o.Notifier
	st := d.f.Stats()
	status := time.NewTicker(10 * time.Second)
	defer status.Stop()
	readyCh := d.f.Ready()
	for {
		select {
		case <-readyCh:
			readyCh = nil
			ready.Store(true)
			n.Progress()
			if err := n.Ready(); err != nil {
				d.log.Warn().Err(err).Msg("sd_notify READY")
			}
			d.log.Info().Int64("files", st.FilesWatched.Load()).Strs("roots", d.cfg.Roots).Msg("following")
			d.sendStatus()
		case <-status.C:
			d.sendStatus()
		case <-d.o.Hup:
			d.reload()
		case err := <-srvErr:
			if err != nil {
				d.log.Error().Err(err).Msg("http server stopped")
			}
			srvErr = nil
		case err := <-runErr:
			d.stopping()
			if ctx.Err() == nil && err == nil {
				err = errors.New("follower stopped unexpectedly")
			}
			return err
		case <-ctx.Done():
			d.stopping()
			d.log.Info().Msg("stopping: flushing output and saving state")
			return <-runErr
		}
	}
}

// isOutput reports whether path is the output file, logging it once: a
// follower that read its own output would feed on itself.
func (d *daemon) isOutput(path string) bool {
	if d.o.Avoid == nil {
		return false
	}
	fi, err := os.Lstat(path)
	if err != nil || !os.SameFile(fi, d.o.Avoid) {
		return false
	}
	d.avoided.Do(func() { d.log.Warn().Str("path", path).Msg("input file is also the output; not read") })
	return true
}

func (d *daemon) stopping() {
	if err := d.o.Notifier.Stopping(); err != nil {
		d.log.Warn().Err(err).Msg("sd_notify STOPPING")
	}
}

// observe exposes the follower's counters as metrics.
func (d *daemon) observe() error {
	st := d.f.Stats()
	if err := d.met.Observe(metrics.Sources{
		LinesRead:        gauge(&st.LinesRead),
		BytesRead:        gauge(&st.BytesRead),
		FilesWatched:     gauge(&st.FilesWatched),
		Rotations:        gauge(&st.Rotations),
		Truncations:      gauge(&st.Truncations),
		LagBytes:         gauge(&st.LagBytes),
		TruncatedBytes:   gauge(&st.TruncatedBytes),
		LongLines:        gauge(&st.LongLines),
		DeletedOpenBytes: gauge(&st.DeletedOpenBytes),
		StreamClients:    func() float64 { return float64(d.hub.Clients()) },
		LostBytes: func(yield func(string, float64)) {
			yield("deleted", float64(st.LostDeleted.Load()))
			yield("missing_at_start", float64(st.LostMissing.Load()))
			yield("unacknowledged", float64(st.LostUnacked.Load()))
		},
		ReadErrors: func(yield func(string, float64)) {
			yield("read", float64(st.ReadErrors.Load()))
			yield("watch", float64(st.WatchErrors.Load()))
			yield("state_save", float64(st.StateSaveErrors.Load()))
			yield("overflow", float64(st.Overflows.Load()))
		},
	}); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// serve starts the HTTP endpoints when http.listen is set and waits until
// they listen.
func (d *daemon) serve(ctx context.Context, wg *sync.WaitGroup, ready func() bool) (chan error, error) {
	cfg := d.cfg
	if cfg.HTTPListen == "" {
		return nil, nil
	}
	h := cfg.HTTP
	srv, err := httpapi.New(cfg.HTTPListen, d.met.Registry(), d.hub, ready, d.log, httpapi.Security{
		TokenFile: h.BearerTokenFile, AuthMetrics: h.AuthMetrics,
		CertFile: h.CertFile, KeyFile: h.KeyFile, MatchesPublic: h.MatchesPublic,
	})
	if err != nil {
		return nil, err
	}
	srvErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		srvErr <- srv.Run(ctx)
	}()
	select {
	case <-srv.Started():
		if srv.Addr() == "" {
			return nil, fmt.Errorf("http.listen %q: %w", cfg.HTTPListen, <-srvErr)
		}
		d.log.Info().Str("addr", srv.Addr()).Msg("serving /metrics, /healthz, /livez, /readyz, /matches")
		if d.o.Started != nil {
			d.o.Started(srv.Addr())
		}
		return srvErr, nil
	case err := <-srvErr:
		return nil, fmt.Errorf("http.listen %q: %w", cfg.HTTPListen, err)
	}
}

// watchdog pings systemd's watchdog while the pipeline makes progress.
func (d *daemon) watchdog(ctx context.Context, wg *sync.WaitGroup) {
	n := d.o.Notifier
	tick := d.o.WatchdogTick
	if tick == nil && n.WatchdogInterval() <= 0 {
		return
	}
	var t *time.Ticker
	if tick == nil {
		t = time.NewTicker(n.WatchdogInterval())
		tick = t.C
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if t != nil {
			defer t.Stop()
		}
		n.RunWatchdog(ctx, tick)
	}()
}

func gauge(v *atomic.Int64) func() float64 { return func() float64 { return float64(v.Load()) } }

func (d *daemon) sendStatus() {
	st := d.f.Stats()
	_ = d.o.Notifier.Status(fmt.Sprintf("following %d files, %d matches", st.FilesWatched.Load(), d.s.written.Load()))
}

// reload re-reads the configuration on SIGHUP and swaps it in, or refuses
// it whole and keeps the running one.
func (d *daemon) reload() {
	if d.o.Reload == nil {
		return
	}
	n := d.o.Notifier
	if err := n.Reloading(); err != nil {
		d.log.Warn().Err(err).Msg("sd_notify RELOADING")
	}
	next, err := d.swap()
	d.met.ConfigReload(err)
	if err != nil {
		d.log.Error().Err(err).Msg("reload refused; the previous configuration keeps running")
	} else {
		d.cfg = next
		d.log.Info().Str("config", next.Source).Msg("configuration reloaded")
	}
	if err := n.Ready(); err != nil {
		d.log.Warn().Err(err).Msg("sd_notify READY")
	}
	d.sendStatus()
}

// swap validates a new configuration exactly as the start did, compiles its
// pipeline and swaps it in.
func (d *daemon) swap() (*config.Config, error) {
	old := d.cfg
	next, err := d.o.Reload()
	if err != nil {
		return nil, err
	}
	if len(next.Roots) == 0 {
		return nil, &config.Error{Where: "config key roots", Msg: "no roots"}
	}
	if next.Mode() != old.Mode() {
		return nil, &config.Error{Where: "config key follow", Msg: "a reload cannot change the mode; restart instead"}
	}
	if err := next.CheckMode(); err != nil {
		return nil, err
	}
	p, err := pipeline.Compile(next, d.o.Env)
	if err != nil {
		return nil, err
	}
	for _, c := range []struct{ key, a, b string }{
		{"http.listen", old.HTTPListen, next.HTTPListen},
		{"http.auth.bearer_token_file", old.HTTP.BearerTokenFile, next.HTTP.BearerTokenFile},
		{"http.auth.metrics", fmt.Sprint(old.HTTP.AuthMetrics), fmt.Sprint(next.HTTP.AuthMetrics)},
		{"http.tls.cert_file", old.HTTP.CertFile, next.HTTP.CertFile},
		{"http.tls.key_file", old.HTTP.KeyFile, next.HTTP.KeyFile},
		{"http.matches_public", fmt.Sprint(old.HTTP.MatchesPublic), fmt.Sprint(next.HTTP.MatchesPublic)},
		{"state_file", old.StateFile, next.StateFile},
		{"otlp", otlpSettings(old), otlpSettings(next)},
		{"otlp.headers", headersDigest(old), headersDigest(next)},
		{"output.stdout", fmt.Sprint(old.Stdout), fmt.Sprint(next.Stdout)},
		{"alerting and rules[].alert", alertSettings(old), alertSettings(next)},
	} {
		if c.a != c.b {
			d.log.Warn().Str("key", c.key).Str("running", c.a).Str("new", c.b).Msg("this setting takes effect at the next restart")
		}
	}
	a, err := d.newAct(next, p)
	if err != nil {
		return nil, err
	}
	if err := d.checkMetricNames(next, old); err != nil {
		return nil, err
	}
	if err := d.f.Reload(d.watchConfig(next)); err != nil {
		return nil, err
	}
	d.s.setPipeline(p, a)
	return next, nil
}

// watchConfig maps the config to the follower's.
func (d *daemon) watchConfig(cfg *config.Config) watch.Config {
	log := d.log
	flt := filter.New(cfg.Include, cfg.Exclude, cfg.ExcludeDir)
	roots := cfg.Roots
	var accept func(string) bool
	if !flt.Empty() || d.o.Avoid != nil {
		accept = func(path string) bool {
			if d.isOutput(path) {
				return false
			}
			if flt.Empty() {
				return true
			}
			for _, r := range roots {
				prefix := strings.TrimSuffix(r, "/") + "/"
				if rel, ok := strings.CutPrefix(path, prefix); ok {
					return flt.Path(rel)
				}
			}
			return true // a root named as a file
		}
	}
	startAt := cfg.StartAt
	if startAt == "" {
		// Following starts existing files at their end, like tail -F; an
		// incremental run with no state yet reads them whole, as logtail
		// does on its first run, and so reports what a one-shot run does.
		startAt = "end"
		if cfg.Mode() == config.Incremental {
			startAt = "beginning"
		}
	}
	return watch.Config{
		Roots:        roots,
		Filter:       accept,
		StartAt:      startAt,
		StateFile:    cfg.StateFile,
		PollInterval: cfg.PollInterval,
		MaxLine:      cfg.MaxLine,
		Decompress:   cfg.Decompress,
		SaveInterval: cfg.SaveInterval,
		Logger:       log,
	}
}
