// Package httpapi serves logscan's HTTP endpoints: Prometheus metrics,
// liveness and readiness probes, and /matches, a live NDJSON stream of
// matches.
//
// Endpoints (GET or HEAD):
//
//	/metrics  Prometheus text exposition of the registry given to New.
//	/healthz  200 "ok" while the process serves HTTP (alias /livez).
//	/readyz   503 until ready() reports true (initial walk done, watches set), then 200.
//	/matches  One JSON object per line, flushed as matches happen; ?rule=NAME
//	          keeps only that rule's matches ("unnamed" for a rule without a name).
//
// A slow /matches client never slows the pipeline: [Hub.Publish] drops what
// does not fit in the client's bounded buffer and counts it, and a client that
// cannot take a batch within the write timeout is disconnected. The stream
// has no replay: a client sees matches published after it connected.
//
// # Access
//
// Matched lines may carry secrets, so /matches is not open to everyone (see
// [Security]): with a bearer token file it requires the token; without one
// it is served only on a loopback address, unless MatchesPublic says
// otherwise, and elsewhere answers 403 naming the settings. /metrics
// requires the token when AuthMetrics is set. The probes /healthz, /livez
// and /readyz are always open. With a certificate and key it serves HTTPS.
//
// # What it touches
//
// The listening socket of Run, and, read-only, the token file and the
// certificate and key files named in [Security]: read by New, then stat'ed
// on each request that needs the token and on each TLS handshake, and read
// again when they changed. It starts no goroutine besides the http.Server's
// own in Run, which ends when Run returns.
package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

const (
	// shutdownTimeout bounds how long Run waits for requests in flight once
	// its context is done, before closing the connections.
	shutdownTimeout = 5 * time.Second
	// streamWriteTimeout disconnects a /matches client whose connection
	// accepts no batch for this long, freeing its goroutine.
	streamWriteTimeout = 30 * time.Second
	// readHeaderTimeout protects against clients that never finish headers.
	readHeaderTimeout = 10 * time.Second
)

// Server serves the endpoints. Create it with New and run it with Run.
type Server struct {
	addr  string
	hub   *Hub
	ready func() bool
	log   zerolog.Logger
	mux   *http.ServeMux

	stopping  chan struct{} // closed when Run's context is done: streams end
	stopOnce  sync.Once
	started   chan struct{} // closed once Run listens or fails to
	startOnce sync.Once
	mu        sync.Mutex
	boundAddr string

	writeTimeout time.Duration

	token          *tokenFile // nil: no token configured
	certs          *certFile  // nil: plain HTTP
	matchesRefusal string     // why /matches answers 403; "" serves it
}

// New returns a Server for addr (host:port; port 0 picks a free one). reg is
// served on /metrics, hub feeds /matches and ready gates /readyz; a nil reg
// or hub leaves its endpoint answering 404, a nil ready means always ready.
// sec says who may read /matches and /metrics and whether to serve HTTPS;
// New reads the files it names and returns an error naming the setting if
// one cannot be used. It logs how /matches is exposed, and why it is
// refused if it is.
func New(addr string, reg *prometheus.Registry, hub *Hub, ready func() bool, log zerolog.Logger, sec Security) (*Server, error) {
	if ready == nil {
		ready = func() bool { return true }
	}
	s := &Server{
		addr:         addr,
		hub:          hub,
		ready:        ready,
		log:          log,
		mux:          http.NewServeMux(),
		stopping:     make(chan struct{}),
		started:      make(chan struct{}),
		writeTimeout: streamWriteTimeout,
	}
	if err := s.secure(sec); err != nil {
		return nil, err
	}
	s.mux.HandleFunc("GET /healthz", s.handleAlive)
	s.mux.HandleFunc("GET /livez", s.handleAlive)
	s.mux.HandleFunc("GET /readyz", s.handleReady)
	if reg != nil {
		var h http.Handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
			ErrorLog:          promLogger{log},
			Registry:          reg, // counts promhttp's own errors
			EnableOpenMetrics: true,
		})
		if sec.AuthMetrics {
			if s.token == nil {
				return nil, errors.New("httpapi: http.auth.metrics needs http.auth.bearer_token_file")
			}
			h = s.requireToken(h)
		}
		s.mux.Handle("GET /metrics", h)
	}
	if hub != nil {
		var h http.Handler = http.HandlerFunc(s.handleMatches)
		switch {
		case s.token != nil:
			h = s.requireToken(h)
		case s.matchesRefusal != "":
			h = http.HandlerFunc(s.refuseMatches)
		}
		s.mux.Handle("GET /matches", h)
		s.logAccess(sec)
	}
	return s, nil
}

// secure loads the token and the certificate of sec and decides on
// /matches.
func (s *Server) secure(sec Security) error {
	if (sec.CertFile == "") != (sec.KeyFile == "") {
		return errors.New("httpapi: http.tls.cert_file and http.tls.key_file must be set together")
	}
	var err error
	if sec.TokenFile != "" {
		if s.token, err = newTokenFile(sec.TokenFile, s.log); err != nil {
			return fmt.Errorf("httpapi: %w", err)
		}
	}
	if sec.CertFile != "" {
		if s.certs, err = newCertFile(sec.CertFile, sec.KeyFile, s.log); err != nil {
			return fmt.Errorf("httpapi: %w", err)
		}
	}
	s.matchesRefusal = matchesRefusal(s.addr, s.token != nil, sec.MatchesPublic)
	return nil
}

// logAccess says at start how /matches is exposed, naming the setting that
// decides it, so that a 403 or an open stream is never a surprise.
func (s *Server) logAccess(sec Security) {
	switch {
	case s.matchesRefusal != "":
		s.log.Warn().Str("setting", "http.auth.bearer_token_file").Str("listen", s.addr).Msg("httpapi: " + s.matchesRefusal)
	case s.token == nil && !isLoopback(s.addr):
		s.log.Warn().Str("setting", "http.matches_public").Str("listen", s.addr).
			Msg("httpapi: /matches streams matched lines to anyone who can connect (http.matches_public: true)")
	case s.token != nil && s.certs == nil && !isLoopback(s.addr):
		s.log.Warn().Str("setting", "http.tls.cert_file").Str("listen", s.addr).
			Msg("httpapi: the bearer token and the matched lines cross the network in clear text; set http.tls.cert_file and http.tls.key_file")
	}
}

// refuseMatches answers /matches when it must not be served here.
func (s *Server) refuseMatches(w http.ResponseWriter, _ *http.Request) {
	s.text(w, http.StatusForbidden, s.matchesRefusal+"\n")
}

// Handler returns the endpoints as an http.Handler, for tests and for
// mounting elsewhere.
func (s *Server) Handler() http.Handler { return s.mux }

// Addr returns the address Run listens on, with the port resolved; it is
// empty until Started is closed, and stays empty if listening failed.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.boundAddr
}

// Started returns a channel closed once Run is listening or has failed to
// listen.
func (s *Server) Started() <-chan struct{} { return s.started }

// Run listens on the address given to New and serves until ctx is done, then
// ends the /matches streams and shuts down gracefully, closing connections
// still open after a timeout. It returns the listen or serve error, or nil
// after a clean shutdown. Run may be called once.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.startOnce.Do(func() { close(s.started) })
		return fmt.Errorf("httpapi: listen on %s: %w", s.addr, err)
	}
	s.mu.Lock()
	s.boundAddr = ln.Addr().String()
	s.mu.Unlock()
	s.startOnce.Do(func() { close(s.started) })

	srv := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: readHeaderTimeout,
		// No WriteTimeout: /matches streams for as long as the client stays;
		// it sets per-batch deadlines itself.
		IdleTimeout: 2 * time.Minute,
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		// Failed TLS handshakes (TCP probes, scanners) and the like, which
		// the standard logger would print unstructured on stderr.
		ErrorLog: stdlog.New(debugWriter{s.log}, "", 0),
	}
	serveErr := make(chan error, 1)
	if s.certs != nil {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.certs.getCertificate}
		// The pair comes from GetCertificate; ServeTLS adds HTTP/2.
		go func() { serveErr <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { serveErr <- srv.Serve(ln) }()
	}

	select {
	case err := <-serveErr:
		s.stop()
		return fmt.Errorf("httpapi: serve on %s: %w", s.boundAddr, err)
	case <-ctx.Done():
	}
	s.stop()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	var errs []error
	if err := srv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("httpapi: shutdown %s: %w", s.boundAddr, err))
		if cerr := srv.Close(); cerr != nil {
			errs = append(errs, fmt.Errorf("httpapi: close %s: %w", s.boundAddr, cerr))
		}
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("httpapi: serve on %s: %w", s.boundAddr, err))
	}
	return errors.Join(errs...)
}

func (s *Server) stop() { s.stopOnce.Do(func() { close(s.stopping) }) }

func (s *Server) handleAlive(w http.ResponseWriter, _ *http.Request) {
	s.text(w, http.StatusOK, "ok\n")
}

func (s *Server) handleReady(w http.ResponseWriter, _ *http.Request) {
	if !s.ready() {
		s.text(w, http.StatusServiceUnavailable, "not ready\n")
		return
	}
	s.text(w, http.StatusOK, "ok\n")
}

func (s *Server) text(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if _, err := w.Write([]byte(body)); err != nil {
		s.log.Debug().Err(err).Msg("httpapi: write probe response")
	}
}

// handleMatches streams the client's matches until the client leaves, the
// hub closes, the server stops or a batch cannot be written in time.
func (s *Server) handleMatches(w http.ResponseWriter, r *http.Request) {
	rule := r.URL.Query().Get("rule")
	c, err := s.hub.subscribe(rule)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer s.hub.unsubscribe(c)
	log := s.log.With().Str("remote", r.RemoteAddr).Str("rule", rule).Logger()
	log.Debug().Msg("httpapi: /matches client connected")

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "application/x-ndjson")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		log.Debug().Err(err).Msg("httpapi: /matches flush headers")
		return
	}
	for {
		select {
		case <-r.Context().Done():
			log.Debug().Msg("httpapi: /matches client disconnected")
			return
		case <-s.hub.done:
			return
		case <-s.stopping:
			return
		case line := <-c.ch:
			if err := s.writeBatch(w, rc, c, line); err != nil {
				log.Debug().Err(err).Msg("httpapi: /matches client dropped")
				return
			}
		}
	}
}

// writeBatch writes line and whatever else is already queued, then flushes
// once, so a burst costs one flush rather than one per line.
func (s *Server) writeBatch(w http.ResponseWriter, rc *http.ResponseController, c *client, line []byte) error {
	// A writer without deadlines (a test recorder) streams without the guard.
	if err := rc.SetWriteDeadline(time.Now().Add(s.writeTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("set write deadline: %w", err)
	}
	if _, err := w.Write(line); err != nil {
		return fmt.Errorf("write match: %w", err)
	}
	for n := len(c.ch); n > 0; n-- {
		if _, err := w.Write(<-c.ch); err != nil {
			return fmt.Errorf("write match: %w", err)
		}
	}
	if err := rc.Flush(); err != nil {
		return fmt.Errorf("flush matches: %w", err)
	}
	return nil
}

// debugWriter routes the http.Server's error log to zerolog at debug level.
type debugWriter struct{ log zerolog.Logger }

func (d debugWriter) Write(p []byte) (int, error) {
	d.log.Debug().Msg("httpapi: " + strings.TrimSpace(string(p)))
	return len(p), nil
}

// promLogger routes promhttp's errors to zerolog.
type promLogger struct{ log zerolog.Logger }

func (p promLogger) Println(v ...any) { p.log.Error().Msg(fmt.Sprint(v...)) }
