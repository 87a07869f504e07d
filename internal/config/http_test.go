package config

import (
	"errors"
	"strings"
	"testing"
)

func TestHTTPKeys(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		want HTTP
	}{
		{"defaults", "", nil, HTTP{}},
		{"file", `
http:
  listen: 0.0.0.0:9321
  auth:
    bearer_token_file: /run/secrets/token
    metrics: true
  tls:
    cert_file: /etc/tls/tls.crt
    key_file: /etc/tls/tls.key
  matches_public: true
`, nil, HTTP{BearerTokenFile: "/run/secrets/token", AuthMetrics: true, CertFile: "/etc/tls/tls.crt", KeyFile: "/etc/tls/tls.key", MatchesPublic: true}},
		{"env, named by the envName rule", "", []string{
			"LOGSCAN_HTTP_AUTH_BEARER_TOKEN_FILE=/t", "LOGSCAN_HTTP_AUTH_METRICS=true",
			"LOGSCAN_HTTP_TLS_CERT_FILE=/c", "LOGSCAN_HTTP_TLS_KEY_FILE=/k", "LOGSCAN_HTTP_MATCHES_PUBLIC=1",
		}, HTTP{BearerTokenFile: "/t", AuthMetrics: true, CertFile: "/c", KeyFile: "/k", MatchesPublic: true}},
		{"env over file", "http:\n  auth:\n    bearer_token_file: /file\n", []string{"LOGSCAN_HTTP_AUTH_BEARER_TOKEN_FILE=/env"}, HTTP{BearerTokenFile: "/env"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := Sources{Environ: tt.env}
			if tt.yaml != "" {
				src.File = writeYAML(t, tt.yaml)
			}
			c, err := Load(src)
			if err != nil {
				t.Fatal(err)
			}
			if c.HTTP != tt.want {
				t.Errorf("HTTP = %+v, want %+v", c.HTTP, tt.want)
			}
			if len(c.Warnings) > 0 {
				t.Errorf("warnings: %q", c.Warnings)
			}
		})
	}
	for _, key := range []string{"http.auth.bearer_token_file", "http.auth.metrics", "http.tls.cert_file", "http.tls.key_file", "http.matches_public"} {
		if envName(key) != "LOGSCAN_"+strings.ToUpper(strings.ReplaceAll(key, ".", "_")) {
			t.Errorf("envName(%q) = %q", key, envName(key))
		}
	}
}

func TestHTTPErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		want []string
	}{
		{"metrics auth without a token", "http:\n  auth:\n    metrics: true\n", nil, []string{"config key http.auth.metrics", "http.auth.bearer_token_file"}},
		{"cert without key", "http:\n  tls:\n    cert_file: /c\n", nil, []string{"config key http.tls.key_file", "http.tls.cert_file"}},
		{"key without cert", "", []string{"LOGSCAN_HTTP_TLS_KEY_FILE=/k"}, []string{"config key http.tls.cert_file", "http.tls.key_file"}},
		{"bad bool", "http:\n  matches_public: sometimes\n", nil, []string{"config key http.matches_public", `"sometimes"`}},
		{"bad env bool", "", []string{"LOGSCAN_HTTP_AUTH_METRICS=yes please"}, []string{"http.auth.metrics", `"yes please"`}},
		{"typo with suggestion", "http:\n  auth:\n    bearer_token_fil: /t\n", nil, []string{"http.auth.bearer_token_fil", "unknown key", `did you mean "http.auth.bearer_token_file"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := Sources{Environ: tt.env}
			if tt.yaml != "" {
				src.File = writeYAML(t, tt.yaml)
			}
			_, err := Load(src)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *config.Error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
