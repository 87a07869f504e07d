package httpapi

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"

	"github.com/rs/zerolog"
)

// Security says who may read the endpoints and whether they are served over
// TLS. The zero value is plain HTTP without a token, where /matches is
// served only on a loopback address.
type Security struct {
	// TokenFile, if set, names a file holding the bearer token (surrounding
	// whitespace trimmed) that /matches, and /metrics with AuthMetrics,
	// require. It is stat'ed on every such request and re-read when its
	// inode, size or mtime changed, so a rotated token (a Kubernetes Secret
	// update, a rewritten file) applies to the next request, without a
	// SIGHUP or a restart.
	TokenFile string
	// AuthMetrics puts /metrics behind the token too. Probes never are:
	// the kubelet and systemd cannot send one.
	AuthMetrics bool
	// CertFile and KeyFile, if set, serve HTTPS with that PEM pair,
	// re-loaded at the first handshake after either file changed.
	CertFile string
	KeyFile  string
	// MatchesPublic serves /matches without a token on a non-loopback
	// address, which is otherwise refused.
	MatchesPublic bool
}

// maxTokenFile bounds what is read as a token: a bearer token is at most a
// few hundred bytes, and a huge file named by mistake must not be read on a
// request.
const maxTokenFile = 64 << 10

// tokenFile is the bearer token, cached by the stat of the file it was read
// from. It keeps the token's SHA-256 only: comparing digests of equal length
// with subtle.ConstantTimeCompare leaks neither the token's bytes nor its
// length through the time a wrong guess takes.
type tokenFile struct {
	path string
	log  zerolog.Logger

	mu      sync.Mutex
	stat    os.FileInfo // of the version sum comes from; nil: none read yet
	sum     [sha256.Size]byte
	ok      bool   // the version read holds a token
	lastErr string // the problem last logged, so a broken file logs once, not per request
}

// newTokenFile reads path once, so that a missing or empty token file stops
// the start rather than refusing every request later.
func newTokenFile(path string, log zerolog.Logger) (*tokenFile, error) {
	t := &tokenFile{path: path, log: log}
	fi, err := os.Stat(path)
	if err == nil {
		err = t.read(fi)
	}
	if err != nil {
		// Returned, not logged: the caller reports it and does not start.
		return nil, fmt.Errorf("http.auth.bearer_token_file %s: %w", path, err)
	}
	return t, nil
}

// allow reports whether presented is the token. While the file cannot be
// read or holds no token, nothing is allowed: an unreadable token must not
// open the endpoints, nor keep a revoked token working.
func (t *tokenFile) allow(presented string) bool {
	t.mu.Lock()
	err := t.refresh()
	sum, ok := t.sum, t.ok
	t.mu.Unlock()
	if err != nil {
		return false
	}
	got := sha256.Sum256([]byte(presented))
	return ok && subtle.ConstantTimeCompare(got[:], sum[:]) == 1
}

// refresh re-reads the file if its stat differs from the version held;
// t.mu is held, or t is not shared yet. The stat comes first, so the content
// read is at least as new as the stat kept: a write in between shows as a
// change at the next request.
func (t *tokenFile) refresh() error {
	fi, err := os.Stat(t.path)
	if err == nil && t.stat != nil && sameVersion(t.stat, fi) {
		if !t.ok {
			return errEmptyToken
		}
		return nil
	}
	if err == nil {
		err = t.read(fi)
	}
	if err != nil {
		t.ok = false
		t.report(err)
		return err
	}
	t.lastErr = ""
	return nil
}

var errEmptyToken = errors.New("holds no token")

func (t *tokenFile) read(fi os.FileInfo) error {
	if fi.Size() > maxTokenFile {
		return fmt.Errorf("%d bytes, more than a token (at most %d)", fi.Size(), maxTokenFile)
	}
	b, err := os.ReadFile(t.path)
	if err != nil {
		return err
	}
	t.stat = fi
	tok := bytes.TrimSpace(b)
	if len(tok) == 0 {
		return errEmptyToken
	}
	t.sum, t.ok = sha256.Sum256(tok), true
	clear(b)
	return nil
}

func (t *tokenFile) report(err error) {
	if msg := err.Error(); msg != t.lastErr {
		t.lastErr = msg
		t.log.Error().Err(err).Str("setting", "http.auth.bearer_token_file").Str("path", t.path).
			Msg("httpapi: cannot use the bearer token file; requests that need the token are refused")
	}
}

// sameVersion reports whether two stats of a path show the same version of
// the file: the same inode (a rename over it, as Kubernetes does for a
// Secret, makes a new one), size and mtime.
func sameVersion(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// requireToken wraps h so that it answers 401 unless the request carries
// "Authorization: Bearer TOKEN" with the token.
func (s *Server) requireToken(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		presented, given := bearerToken(r)
		if given && s.token.allow(presented) {
			h.ServeHTTP(w, r)
			return
		}
		// RFC 6750 section 3: a request without credentials gets the
		// challenge alone, a wrong token error="invalid_token".
		challenge := `Bearer realm="logscan"`
		if given {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
		s.log.Debug().Str("remote", r.RemoteAddr).Str("path", r.URL.Path).Bool("token_given", given).Msg("httpapi: unauthorized request")
		s.text(w, http.StatusUnauthorized, "unauthorized: send Authorization: Bearer <the token in http.auth.bearer_token_file>\n")
	})
}

// bearerToken returns the token of an "Authorization: Bearer" header; the
// scheme is case-insensitive (RFC 7235).
func bearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// matchesRefusal returns why /matches must not be served on listen, or ""
// to serve it. Matched lines may carry secrets, so an address that other
// hosts can reach needs a token, or the explicit http.matches_public.
func matchesRefusal(listen string, token, public bool) string {
	if token || public || isLoopback(listen) {
		return ""
	}
	return fmt.Sprintf("/matches is disabled: http.listen %q is not a loopback address and "+
		"http.auth.bearer_token_file is not set; set it (clients then send Authorization: Bearer TOKEN), "+
		"or set http.matches_public: true to stream matched lines to anyone who can connect", listen)
}

// isLoopback reports whether listen (host:port) listens on loopback only: a
// loopback IP (127.0.0.0/8, ::1, an IPv4-mapped 127.x) or the name
// localhost. An empty host, 0.0.0.0 or :: listens on every interface, and
// any other name could resolve to anything, so they are not loopback; nor
// is an address that does not parse.
func isLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
