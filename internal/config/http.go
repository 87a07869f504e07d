package config

// HTTP holds who may read the HTTP endpoints and whether they are served
// over TLS: the keys http.auth.*, http.tls.* and http.matches_public.
//
// Only their consistency is checked here. The files they name are read by
// the HTTP server when it starts, and again whenever they change, so that a
// rotated Secret or certificate takes effect without a restart; a file that
// cannot be read is reported then, naming its key. Keeping file reads out of
// Load also lets a config be checked on a machine without those files (the
// deploy tests load the sidecar's env here).
type HTTP struct {
	// BearerTokenFile names a file holding the token (surrounding
	// whitespace trimmed) that /matches, and /metrics with AuthMetrics,
	// require as "Authorization: Bearer TOKEN".
	BearerTokenFile string
	// AuthMetrics puts /metrics behind the token too.
	AuthMetrics bool
	// CertFile and KeyFile name a PEM certificate (chain) and its key:
	// both set serve HTTPS.
	CertFile string
	KeyFile  string
	// MatchesPublic serves /matches without a token on an address other
	// hosts can reach, which is otherwise refused.
	MatchesPublic bool
}

// http decodes and checks the HTTP access keys.
func (d *decoder) http() HTTP {
	h := HTTP{
		BearerTokenFile: d.str("http.auth.bearer_token_file"),
		AuthMetrics:     d.boolean("http.auth.metrics"),
		CertFile:        d.str("http.tls.cert_file"),
		KeyFile:         d.str("http.tls.key_file"),
		MatchesPublic:   d.boolean("http.matches_public"),
	}
	switch {
	case h.AuthMetrics && h.BearerTokenFile == "":
		// Silently serving /metrics to everyone would be worse than
		// refusing to start.
		d.fail("http.auth.metrics", true, "needs http.auth.bearer_token_file, the token /metrics would require")
	case h.CertFile != "" && h.KeyFile == "":
		d.fail("http.tls.key_file", "", "must be set with http.tls.cert_file")
	case h.KeyFile != "" && h.CertFile == "":
		d.fail("http.tls.cert_file", "", "must be set with http.tls.key_file")
	}
	return h
}
