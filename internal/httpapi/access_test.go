package httpapi

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/logscan/logscan/internal/testutil"
)

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		listen string
		want   bool
	}{
		{"127.0.0.1:9321", true},
		{"127.0.0.1:0", true},
		{"127.8.9.10:9321", true}, // all of 127/8
		{"[::1]:9321", true},
		{"[::ffff:127.0.0.1]:9321", true},
		{"localhost:9321", true},
		{"LocalHost:9321", true},
		{"0.0.0.0:9321", false},
		{":9321", false},
		{"[::]:9321", false},
		{"10.1.2.3:9321", false},
		{"[fe80::1%eth0]:9321", false},
		{"[::ffff:10.0.0.1]:9321", false},
		{"example.com:9321", false}, // a name could resolve to anything
		{"localhost.example.com:9321", false},
		{"127.0.0.1", false}, // no port: does not parse
		{"", false},
	}
	for _, tt := range tests {
		if got := isLoopback(tt.listen); got != tt.want {
			t.Errorf("isLoopback(%q) = %v, want %v", tt.listen, got, tt.want)
		}
	}
}

func TestMatchesRefusal(t *testing.T) {
	tests := []struct {
		listen        string
		token, public bool
		refused       bool
	}{
		{"127.0.0.1:9321", false, false, false},
		{"[::1]:9321", false, false, false},
		{"0.0.0.0:9321", false, false, true},
		{":9321", false, false, true},
		{"[::]:9321", false, false, true},
		{"192.168.1.5:9321", false, false, true},
		{"0.0.0.0:9321", true, false, false},
		{"0.0.0.0:9321", false, true, false},
		{"0.0.0.0:9321", true, true, false},
		{"127.0.0.1:9321", true, false, false},
	}
	for _, tt := range tests {
		got := matchesRefusal(tt.listen, tt.token, tt.public)
		if (got != "") != tt.refused {
			t.Errorf("matchesRefusal(%q, token %v, public %v) = %q, want refused %v", tt.listen, tt.token, tt.public, got, tt.refused)
		}
		if got != "" {
			for _, setting := range []string{"http.auth.bearer_token_file", "http.matches_public", tt.listen} {
				if !strings.Contains(got, setting) {
					t.Errorf("refusal %q does not name %q", got, setting)
				}
			}
		}
	}
}

// TestMatchesOnPublicAddress builds servers for addresses other hosts could
// reach and serves their handler on 127.0.0.1 (a test never binds anything
// else): the decision follows the configured address, and the log at start
// names the setting behind it.
func TestMatchesOnPublicAddress(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(testToken), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		listen   string
		sec      Security
		wantCode int
		wantBody string
		wantLog  string // "" for no warning
	}{
		{"all interfaces, no token", "0.0.0.0:9321", Security{}, 403, "http.matches_public", `"setting":"http.auth.bearer_token_file"`},
		{"IPv6 any, no token", "[::]:9321", Security{}, 403, "http.auth.bearer_token_file", `"level":"warn"`},
		{"public by choice", "0.0.0.0:9321", Security{MatchesPublic: true}, 200, "", `"setting":"http.matches_public"`},
		{"token without TLS", "0.0.0.0:9321", Security{TokenFile: tokenFile}, 401, "http.auth.bearer_token_file", `"setting":"http.tls.cert_file"`},
		{"loopback, no token", "127.0.0.1:9321", Security{}, 200, "", ""},
		{"loopback, token", "127.0.0.1:9321", Security{TokenFile: tokenFile}, 401, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hub := NewHub(1, nil)
			defer hub.Close()
			log := &testutil.SyncBuffer{}
			s, err := New(tt.listen, prometheus.NewRegistry(), hub, nil, zerolog.New(log), tt.sec)
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(s.Handler())
			defer ts.Close()
			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			resp, body := do(t, client, ts.URL+"/matches", "")
			if resp.StatusCode != tt.wantCode || !strings.Contains(body, tt.wantBody) {
				t.Errorf("/matches: %d %q, want %d with %q", resp.StatusCode, body, tt.wantCode, tt.wantBody)
			}
			if resp, _ := do(t, client, ts.URL+"/healthz", ""); resp.StatusCode != 200 {
				t.Errorf("/healthz: %d", resp.StatusCode)
			}
			logged := log.String()
			if tt.wantLog == "" && strings.Contains(logged, `"level":"warn"`) {
				t.Errorf("unexpected warning: %s", logged)
			}
			if tt.wantLog != "" && !strings.Contains(logged, tt.wantLog) {
				t.Errorf("log %q does not contain %q", logged, tt.wantLog)
			}
		})
	}
}

func TestNewRefusesBadSecurity(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM, _ := selfSigned(t, "x")
	files := map[string][]byte{"token": []byte(testToken), "empty": []byte("\n\t \n"), "tls.crt": certPEM, "tls.key": keyPEM, "garbage": []byte("nope")}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		name string
		sec  Security
		want []string
	}{
		{"missing token file", Security{TokenFile: p("nope")}, []string{"http.auth.bearer_token_file", p("nope"), "no such file"}},
		{"empty token file", Security{TokenFile: p("empty")}, []string{"http.auth.bearer_token_file", "holds no token"}},
		{"token file is a directory", Security{TokenFile: dir}, []string{"http.auth.bearer_token_file"}},
		{"metrics auth without token", Security{AuthMetrics: true}, []string{"http.auth.metrics", "http.auth.bearer_token_file"}},
		{"cert without key", Security{CertFile: p("tls.crt")}, []string{"http.tls.cert_file", "http.tls.key_file"}},
		{"key without cert", Security{KeyFile: p("tls.key")}, []string{"http.tls.cert_file", "http.tls.key_file"}},
		{"missing cert", Security{CertFile: p("nope"), KeyFile: p("tls.key")}, []string{"http.tls.cert_file", "no such file"}},
		{"garbage cert", Security{CertFile: p("garbage"), KeyFile: p("tls.key")}, []string{"http.tls.cert_file", p("garbage")}},
		{"key for cert swapped", Security{CertFile: p("tls.key"), KeyFile: p("tls.crt")}, []string{"http.tls.cert_file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New("127.0.0.1:0", prometheus.NewRegistry(), NewHub(1, nil), nil, zerolog.Nop(), tt.sec)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
