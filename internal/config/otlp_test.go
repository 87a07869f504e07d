package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOTLPLayers: the exporter's settings come from YAML, env and the flag,
// headers from a map, LOGSCAN_OTLP_HEADERS (name=value,...) and a file.
func TestOTLPLayers(t *testing.T) {
	hf := filepath.Join(t.TempDir(), "headers")
	if err := os.WriteFile(hf, []byte("# the token\nauthorization: Bearer s3cret\n\nX-Scope-OrgID: team-a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := writeYAML(t, "otlp:\n  endpoint: http://a:4318\n  compression: none\n  batch:\n    max_records: 100\n    max_wait: 50ms\n  headers:\n    X-Env: prod\n")
	tests := []struct {
		name    string
		env     []string
		flags   map[string]any
		want    func(o OTLP) bool
		comment string
	}{
		{"file", nil, nil, func(o OTLP) bool {
			return o.Endpoint == "http://a:4318" && o.Compression == "none" && o.MaxRecords == 100 && o.MaxWait == 50*time.Millisecond &&
				o.Headers["X-Env"] == "prod" && o.Encoding == "proto" && o.QueueBytes == 64<<20
		}, "YAML values, defaults for the rest"},
		{"env", []string{"LOGSCAN_OTLP_ENDPOINT=https://b:4318", "LOGSCAN_OTLP_QUEUE_BYTES=8MiB", "LOGSCAN_OTLP_HEADERS=X-A=1, X-B=two"}, nil, func(o OTLP) bool {
			return o.Endpoint == "https://b:4318" && o.QueueBytes == 8<<20 && o.Headers["X-A"] == "1" && o.Headers["X-B"] == "two"
		}, "env over the file; env headers replace the file's map"},
		{"flag", []string{"LOGSCAN_OTLP_ENDPOINT=https://b:4318"}, map[string]any{"otlp.endpoint": "http://c:4318"}, func(o OTLP) bool {
			return o.Endpoint == "http://c:4318"
		}, "the flag wins"},
		{"headers file", []string{"LOGSCAN_OTLP_HEADERS_FILE=" + hf}, nil, func(o OTLP) bool {
			return o.Headers["Authorization"] == "Bearer s3cret" && o.Headers["X-Scope-Orgid"] == "team-a" && o.Headers["X-Env"] == "prod"
		}, "file lines are added to the map, names canonical"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(Sources{File: file, Environ: tt.env, Flags: tt.flags, FlagOf: map[string]string{"otlp.endpoint": "otlp-endpoint"}})
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(c.OTLP) {
				t.Errorf("%s: got %+v", tt.comment, c.OTLP)
			}
		})
	}
}

// TestOTLPErrors: each bad setting is refused naming its key (or flag).
func TestOTLPErrors(t *testing.T) {
	hf := filepath.Join(t.TempDir(), "headers")
	if err := os.WriteFile(hf, []byte("X-Env: other\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(bad, []byte("no colon here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, yaml string
		env        []string
		want       string
	}{
		{"compression", "otlp: {endpoint: 'http://a', compression: zstd}", nil, "config key otlp.compression"},
		{"encoding", "otlp: {endpoint: 'http://a', encoding: xml}", nil, "config key otlp.encoding"},
		{"zero batch", "otlp: {endpoint: 'http://a', batch: {max_records: 0}}", nil, "config key otlp.batch.max_records"},
		{"queue below batch", "otlp: {endpoint: 'http://a', queue_bytes: 1KiB}", nil, "config key otlp.queue_bytes"},
		{"bad timeout", "otlp: {endpoint: 'http://a', timeout: 0s}", nil, "config key otlp.timeout"},
		{"headers file missing", "otlp: {endpoint: 'http://a', headers_file: /nonexistent/h}", nil, "config key otlp.headers_file"},
		{"headers file syntax", "otlp: {endpoint: 'http://a', headers_file: '" + bad + "'}", nil, bad + ":1"},
		{"header twice", "otlp: {endpoint: 'http://a', headers_file: '" + hf + "', headers: {X-Env: prod}}", nil, "also set in otlp.headers"},
		{"env headers syntax", "", []string{"LOGSCAN_OTLP_ENDPOINT=http://a", "LOGSCAN_OTLP_HEADERS=novalue"}, "env LOGSCAN_OTLP_HEADERS"},
		{"setting without endpoint", "otlp: {compression: none}", nil, "config key otlp.compression: needs otlp.endpoint"},
		{"header without endpoint", "otlp: {headers: {A: b}}", nil, "config key otlp.headers: needs otlp.endpoint"},
		{"nothing output", "output: {stdout: false}", nil, "config key output.stdout"},
		{"unknown key", "otlp: {endpont: 'http://a'}", nil, `did you mean "otlp.endpoint"`},
		{"count", "otlp: {endpoint: 'http://a'}\noutput: {count: true}", nil, "config key output.count: does not work with otlp.endpoint"},
		{"quiet", "otlp: {endpoint: 'http://a'}\noutput: {quiet: true}", nil, "config key output.quiet: does not work with otlp.endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := Sources{Environ: tt.env}
			if tt.yaml != "" {
				src.File = writeYAML(t, tt.yaml+"\n")
			}
			_, err := Load(src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestOTLPMode: shipping needs a state file or following, since what is
// acknowledged is checkpointed; the refusal names the flag and the mode.
func TestOTLPMode(t *testing.T) {
	c, err := Load(Sources{Flags: map[string]any{"otlp.endpoint": "http://a:4318"}, FlagOf: map[string]string{"otlp.endpoint": "otlp-endpoint"}})
	if err != nil {
		t.Fatal(err)
	}
	err = c.CheckMode()
	if err == nil || !strings.Contains(err.Error(), "flag --otlp-endpoint: does not work in a one-shot run") {
		t.Fatalf("got %v", err)
	}
	for _, flags := range []map[string]any{{"state_file": "/s"}, {"follow": true}} {
		flags["otlp.endpoint"] = "http://a:4318"
		c, err := Load(Sources{Flags: flags})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.CheckMode(); err != nil {
			t.Errorf("%v: %v", flags, err)
		}
	}
}
