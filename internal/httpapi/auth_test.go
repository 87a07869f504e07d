package httpapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/logscan/logscan/internal/testutil"
)

const testToken = "s3cret-token-0123456789"

// writeFile writes data to path by a rename over it, as Kubernetes updates
// a Secret volume and as editors save, and moves its mtime by age from now
// so that a change never hides in the filesystem's timestamp granularity.
func writeFile(t *testing.T, path string, data []byte, age time.Duration) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	mt := time.Now().Add(age)
	if err := os.Chtimes(tmp, mt, mt); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// selfSigned returns a PEM certificate and key for 127.0.0.1 and localhost
// with common name cn, and the parsed certificate for a client's roots.
func selfSigned(t *testing.T, cn string) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // its own root in the client's pool
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), cert
}

// running is a Server started with Run on 127.0.0.1; the test's cleanup
// stops it and waits for Run to return.
type running struct {
	s   *Server
	hub *Hub
	log *testutil.SyncBuffer
}

func startServer(t *testing.T, sec Security) *running {
	t.Helper()
	r := &running{hub: NewHub(8, nil), log: &testutil.SyncBuffer{}}
	s, err := New("127.0.0.1:0", prometheus.NewRegistry(), r.hub, nil, zerolog.New(r.log), sec)
	if err != nil {
		t.Fatal(err)
	}
	r.s = s
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		r.hub.Close()
		if err := <-runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	<-s.Started()
	if s.Addr() == "" {
		t.Fatal("server did not start")
	}
	return r
}

// tlsClient trusts roots only and, with fresh, opens a new connection (and
// so a new handshake) for every request.
func tlsClient(t *testing.T, fresh bool, roots ...*x509.Certificate) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	for _, c := range roots {
		pool.AddCert(c)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: fresh, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: deadline}
}

// do sends a GET with the given Authorization header ("" for none) and
// returns the response with its body read, up to a first line for the
// /matches stream, which never ends by itself.
func do(t *testing.T, c *http.Client, url, auth string) (*http.Response, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") == "application/x-ndjson" {
		return resp, "" // the stream is open: that is all this needs
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp, string(b)
}

// TestAuthOverTLS checks who gets what, over HTTPS with a real client: the
// token guards /matches always and /metrics with AuthMetrics, the probes
// stay open, and a missing or wrong token is a 401 with the Bearer
// challenge.
func TestAuthOverTLS(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM, cert := selfSigned(t, "logscan-test")
	sec := Security{
		TokenFile: filepath.Join(dir, "token"),
		CertFile:  filepath.Join(dir, "tls.crt"),
		KeyFile:   filepath.Join(dir, "tls.key"),
	}
	writeFile(t, sec.TokenFile, []byte(testToken+"\n"), 0)
	writeFile(t, sec.CertFile, certPEM, 0)
	writeFile(t, sec.KeyFile, keyPEM, 0)
	servers := map[bool]*running{false: startServer(t, sec)}
	sec.AuthMetrics = true
	servers[true] = startServer(t, sec)
	client := tlsClient(t, false, cert)

	const (
		open    = ""
		noToken = `Bearer realm="logscan"`
		badTok  = `Bearer realm="logscan", error="invalid_token"`
	)
	tests := []struct {
		name          string
		authMetrics   bool
		path          string
		auth          string
		wantCode      int
		wantChallenge string
	}{
		{"matches without token", false, "/matches", "", 401, noToken},
		{"matches wrong token", false, "/matches", "Bearer wrong", 401, badTok},
		{"matches token prefix", false, "/matches", "Bearer " + testToken[:10], 401, badTok},
		{"matches token plus a byte", false, "/matches", "Bearer " + testToken + "x", 401, badTok},
		{"matches basic auth", false, "/matches", "Basic " + testToken, 401, noToken},
		{"matches empty bearer", false, "/matches", "Bearer ", 401, noToken},
		{"matches token", false, "/matches", "Bearer " + testToken, 200, open},
		{"matches token lower-case scheme", false, "/matches", "bearer " + testToken, 200, open},
		{"metrics open without auth.metrics", false, "/metrics", "", 200, open},
		{"metrics without token", true, "/metrics", "", 401, noToken},
		{"metrics wrong token", true, "/metrics", "Bearer nope", 401, badTok},
		{"metrics token", true, "/metrics", "Bearer " + testToken, 200, open},
		{"healthz open", true, "/healthz", "", 200, open},
		{"livez open", true, "/livez", "", 200, open},
		{"readyz open", true, "/readyz", "", 200, open},
		{"readyz ignores a wrong token", true, "/readyz", "Bearer nope", 200, open},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := servers[tt.authMetrics]
			resp, body := do(t, client, "https://"+srv.s.Addr()+tt.path, tt.auth)
			if resp.TLS == nil {
				t.Fatal("response not over TLS")
			}
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tt.wantCode, body)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tt.wantChallenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.wantChallenge)
			}
			if tt.wantCode == 401 && !strings.Contains(body, "http.auth.bearer_token_file") {
				t.Errorf("401 body %q does not name the setting", body)
			}
		})
	}
}

// TestTokenRotation changes the token file under a running server: every
// request sees the file's current token, and a file that cannot be used
// refuses every token rather than keeping the old one.
func TestTokenRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	writeFile(t, path, []byte("first-token\n"), -time.Hour)
	hub := NewHub(1, nil)
	defer hub.Close()
	log := &testutil.SyncBuffer{}
	s, err := New("127.0.0.1:0", prometheus.NewRegistry(), hub, nil, zerolog.New(log), Security{TokenFile: path, AuthMetrics: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	steps := []struct {
		name     string
		change   func()
		accepted string // the one token that works now, "" for none
		rejected []string
		wantLog  string
	}{
		{"initial", func() {}, "first-token", []string{"second-token"}, ""},
		{"renamed over", func() { writeFile(t, path, []byte("second-token"), -time.Minute) }, "second-token", []string{"first-token"}, ""},
		{"rewritten in place, same size", func() {
			if err := os.WriteFile(path, []byte("third--token"), 0o600); err != nil {
				t.Fatal(err)
			}
			mt := time.Now()
			if err := os.Chtimes(path, mt, mt); err != nil {
				t.Fatal(err)
			}
		}, "third--token", []string{"second-token"}, ""},
		{"emptied", func() { writeFile(t, path, []byte(" \n"), -time.Second) }, "", []string{"third--token", ""}, "holds no token"},
		{"removed", func() {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, "", []string{"third--token"}, "no such file"},
		{"restored", func() { writeFile(t, path, []byte("  fourth-token  \n"), 0) }, "fourth-token", []string{"third--token"}, ""},
	}
	for _, st := range steps {
		st.change()
		toks := append([]string{st.accepted}, st.rejected...)
		for _, tok := range append(toks, toks...) {
			if tok == "" && st.accepted == "" {
				continue
			}
			resp, _ := do(t, client, ts.URL+"/metrics", "Bearer "+tok)
			want := http.StatusUnauthorized
			if tok == st.accepted {
				want = http.StatusOK
			}
			if resp.StatusCode != want {
				t.Errorf("%s: token %q: status %d, want %d", st.name, tok, resp.StatusCode, want)
			}
		}
		if st.wantLog != "" && !strings.Contains(log.String(), st.wantLog) {
			t.Errorf("%s: log does not say %q:\n%s", st.name, st.wantLog, log.Tail(3))
		}
	}
	// A broken file is logged once per problem, not per request.
	if n := strings.Count(log.String(), "holds no token"); n != 1 {
		t.Errorf("empty token file logged %d times, want 1:\n%s", n, log.String())
	}
}

// TestCertRotation replaces the certificate under a running HTTPS server:
// new connections get the new one; a pair that does not load keeps the
// previous certificate in service and is logged.
func TestCertRotation(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	aCert, aKey, a := selfSigned(t, "cert-a")
	bCert, bKey, b := selfSigned(t, "cert-b")
	cCert, cKey, c := selfSigned(t, "cert-c")
	writeFile(t, certPath, aCert, -time.Hour)
	writeFile(t, keyPath, aKey, -time.Hour)
	srv := startServer(t, Security{CertFile: certPath, KeyFile: keyPath})
	client := tlsClient(t, true, a, b, c)

	steps := []struct {
		name    string
		change  func()
		wantCN  string
		wantLog string
	}{
		{"initial", func() {}, "cert-a", ""},
		{"both renamed over", func() {
			writeFile(t, keyPath, bKey, -time.Minute)
			writeFile(t, certPath, bCert, -time.Minute)
		}, "cert-b", ""},
		{"certificate without its key", func() { writeFile(t, certPath, cCert, -time.Second) }, "cert-b", "private key does not match public key"},
		{"then its key", func() { writeFile(t, keyPath, cKey, -time.Second) }, "cert-c", ""},
		{"garbage certificate", func() { writeFile(t, certPath, []byte("not a certificate\n"), 0) }, "cert-c", "failed to find any PEM data"},
		{"key removed", func() {
			if err := os.Remove(keyPath); err != nil {
				t.Fatal(err)
			}
		}, "cert-c", ""},
	}
	for _, st := range steps {
		st.change()
		for range 3 { // a fresh handshake each
			resp, _ := do(t, client, "https://"+srv.s.Addr()+"/healthz", "")
			if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
				t.Fatalf("%s: no peer certificate", st.name)
			}
			if cn := resp.TLS.PeerCertificates[0].Subject.CommonName; cn != st.wantCN {
				t.Errorf("%s: served %q, want %q", st.name, cn, st.wantCN)
			}
		}
		if st.wantLog != "" && !strings.Contains(srv.log.String(), st.wantLog) {
			t.Errorf("%s: log does not say %q:\n%s", st.name, st.wantLog, srv.log.Tail(3))
		}
	}
	if n := strings.Count(srv.log.String(), "failed to find any PEM data"); n != 1 {
		t.Errorf("the garbage certificate was logged %d times, want once until the files change", n)
	}
}
