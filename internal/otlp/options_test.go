package otlp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// writeKeyPair writes a self-signed certificate and its key under dir.
func writeKeyPair(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "logscan test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)
	return certFile, keyFile
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeKeyPair(t, dir)
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	ok := "http://127.0.0.1:4318"
	for _, tc := range []struct {
		name string
		o    Options
		want string // the error's start
	}{
		{"no endpoint", Options{}, "otlp.endpoint: required"},
		{"scheme", Options{Endpoint: "grpc://h:4317"}, "otlp.endpoint: "},
		{"no scheme", Options{Endpoint: "h:4318"}, "otlp.endpoint: "},
		{"no host", Options{Endpoint: "http://:4318"}, "otlp.endpoint: "},
		{"unparsable", Options{Endpoint: "http://[::1"}, "otlp.endpoint: "},
		{"compression", Options{Endpoint: ok, Compression: "zstd"}, "otlp.compression: "},
		{"encoding", Options{Endpoint: ok, Encoding: "xml"}, "otlp.encoding: "},
		{"timeout", Options{Endpoint: ok, Timeout: -time.Second}, "otlp.timeout: "},
		{"max_records", Options{Endpoint: ok, MaxRecords: -1}, "otlp.batch.max_records: "},
		{"max_bytes", Options{Endpoint: ok, MaxBytes: -1}, "otlp.batch.max_bytes: "},
		{"max_wait", Options{Endpoint: ok, MaxWait: -1}, "otlp.batch.max_wait: "},
		{"queue_bytes", Options{Endpoint: ok, QueueBytes: -1}, "otlp.queue_bytes: "},
		{"shutdown_timeout", Options{Endpoint: ok, ShutdownTimeout: -1}, "otlp.shutdown_timeout: "},
		{"header name", Options{Endpoint: ok, Headers: map[string]string{"Bad Name": "v"}}, "otlp.headers: "},
		{"header value", Options{Endpoint: ok, Headers: map[string]string{"X-A": "a\nb"}}, "otlp.headers: "},
		{"ca missing", Options{Endpoint: ok, TLS: TLS{CAFile: missing}}, "otlp.tls.ca_file: "},
		{"ca garbage", Options{Endpoint: ok, TLS: TLS{CAFile: garbage}}, "otlp.tls.ca_file: "},
		{"cert without key", Options{Endpoint: ok, TLS: TLS{CertFile: cert}}, "otlp.tls.key_file: "},
		{"key without cert", Options{Endpoint: ok, TLS: TLS{KeyFile: key}}, "otlp.tls.cert_file: "},
		{"cert missing", Options{Endpoint: ok, TLS: TLS{CertFile: missing, KeyFile: key}}, "otlp.tls.cert_file: "},
		{"key missing", Options{Endpoint: ok, TLS: TLS{CertFile: cert, KeyFile: missing}}, "otlp.tls.key_file: "},
		{"pair mismatch", Options{Endpoint: ok, TLS: TLS{CertFile: cert, KeyFile: cert}}, "otlp.tls.cert_file: "},
		{"dead letter", Options{Endpoint: ok, DeadLetter: filepath.Join(dir, "no", "dir", "dead.ndjson")}, "otlp: dead-letter file: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(tc.o)
			if err == nil {
				e.Close()
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %q, want it to start with %q", err, tc.want)
			}
		})
	}
	e, err := New(Options{Endpoint: "https://h:4318", TLS: TLS{CAFile: cert, CertFile: cert, KeyFile: key}})
	if err != nil {
		t.Fatalf("valid TLS files: %v", err)
	}
	e.Close()
}

func TestEndpointURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://h:4318":              "http://h:4318/v1/logs",
		"http://h:4318/":             "http://h:4318/v1/logs",
		"https://h/otlp":             "https://h/otlp/v1/logs",
		"https://h/otlp/":            "https://h/otlp/v1/logs",
		"http://h:4318/v1/logs":      "http://h:4318/v1/logs",
		"http://h/custom/v1/logs":    "http://h/custom/v1/logs",
		"http://h:4318/v1/logs?x=1":  "http://h:4318/v1/logs?x=1",
		"http://h:4318/ingest?tok=a": "http://h:4318/ingest/v1/logs?tok=a",
		"http://[::1]:4318":          "http://[::1]:4318/v1/logs",
	} {
		got, _, err := endpointURL(in)
		if err != nil || got != want {
			t.Errorf("endpointURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestEndpointShown checks that the logged endpoint keeps no secret.
func TestEndpointShown(t *testing.T) {
	_, shown, err := endpointURL("https://user:pw@h:4318/otlp?token=secret")
	if err != nil || shown != "https://h:4318/otlp/v1/logs" {
		t.Errorf("shown %q, %v", shown, err)
	}
}

// TestTLS ships to an HTTPS collector whose certificate the CA file holds.
func TestTLS(t *testing.T) {
	c := &collector{t: t, recv: make(chan struct{}, 1)}
	c.srv = httptest.NewTLSServer(c)
	defer c.srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writePEM(t, ca, "CERTIFICATE", c.srv.Certificate().Raw)
	e, err := New(Options{Endpoint: c.srv.URL, TLS: TLS{CAFile: ca}, HostName: "h"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.Start(t.Context())
	e.Add(line("8:1", 0, "x"))
	if err := e.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := c.acceptedRecords(); n != 1 {
		t.Errorf("collector accepted %d records, want 1", n)
	}
}

// TestMetrics checks the names on a registry, that a second Exporter
// cannot register beside the first but can after its Close, and the
// oldest-unacknowledged gauge.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixture(t, nil, func(o *Options) { o.Registerer = reg })
	if _, err := New(Options{Endpoint: "http://h:1", Registerer: reg}); err == nil {
		t.Error("a second Exporter registered on the same registry")
	}
	f.e.Add(line("8:1", 0, "x"))
	f.clock.Advance(5 * time.Second)
	got := gather(t, reg)
	want := map[string]float64{
		"logscan_otlp_records_total":              0,
		"logscan_otlp_records_retried_total":      0,
		"logscan_otlp_batches_total":              0,
		"logscan_otlp_batches_retried_total":      0,
		"logscan_otlp_dead_letter_batches_total":  0,
		"logscan_otlp_queue_bytes":                float64(f.e.queued()),
		"logscan_otlp_export_duration_seconds":    0,
		"logscan_otlp_oldest_unacked_age_seconds": 5,
	}
	for name, v := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s not registered", name)
		} else if g != v {
			t.Errorf("%s = %v, want %v", name, g, v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("metrics %v, want %d of them", got, len(want))
	}
	f.e.Start(t.Context())
	f.drain(t)
	got = gather(t, reg)
	if got["logscan_otlp_oldest_unacked_age_seconds"] != 0 || got["logscan_otlp_queue_bytes"] != 0 {
		t.Errorf("after Drain: %v", got)
	}
	if got["logscan_otlp_records_total"] != 1 || got["logscan_otlp_export_duration_seconds"] != 1 {
		t.Errorf("after Drain: %v", got)
	}
	if err := f.e.Close(); err != nil {
		t.Fatal(err)
	}
	e, err := New(Options{Endpoint: "http://h:1", Registerer: reg})
	if err != nil {
		t.Fatalf("New after Close: %v", err)
	}
	e.Close()
}

// gather sums each metric family's values (a histogram's count).
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		var sum float64
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
		out[mf.GetName()] = sum
	}
	return out
}
