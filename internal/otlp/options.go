package otlp

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/logscan/logscan/internal/retry"
)

// New validates o and returns an Exporter that sends nothing until Start.
// Its errors name the option at fault ("otlp.endpoint: ..."), since the
// caller shows them as configuration errors. It opens the dead-letter file,
// if any, so that a path that cannot be written is a startup error rather
// than a loss found when the first batch is refused, and registers the
// metrics on o.Registerer.
func New(o Options) (*Exporter, error) {
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	u, shown, err := endpointURL(o.Endpoint)
	if err != nil {
		return nil, err
	}
	hdr, err := requestHeader(o)
	if err != nil {
		return nil, err
	}
	e := &Exporter{
		o:      o,
		url:    u,
		header: hdr,
		client: o.Client,
		log:    o.Log.With().Str("endpoint", shown).Logger(),
		kick:   make(chan struct{}, 1),
		wake:   make(chan struct{}, 1),
		idle:   make(chan struct{}, 1),
		acks:   acks{files: make(map[string]*fileQ)},
		bld:    newBuilder(o.HostName, o.ServiceName, o.Now),
	}
	tc, err := o.TLS.config() // checked even when a test brings its client
	if err != nil {
		return nil, err
	}
	if e.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone() // proxies from the environment
		tr.TLSClientConfig = tc
		e.client = &http.Client{Transport: tr}
	}
	if e.dead, err = openDeadLetter(o.DeadLetter); err != nil {
		return nil, err
	}
	e.met = newMetrics(e)
	if err := e.met.register(o.Registerer); err != nil {
		_ = e.dead.close()
		return nil, err
	}
	return e, nil
}

// setDefaults fills zero fields and rejects values no default can mend.
func (o *Options) setDefaults() error {
	if o.Compression == "" {
		o.Compression = DefaultCompression
	}
	if o.Compression != "gzip" && o.Compression != "none" {
		return fmt.Errorf("otlp.compression: %q: want gzip or none", o.Compression)
	}
	if o.Encoding == "" {
		o.Encoding = DefaultEncoding
	}
	if o.Encoding != "proto" && o.Encoding != "json" {
		return fmt.Errorf("otlp.encoding: %q: want proto or json", o.Encoding)
	}
	if err := positive("otlp.timeout", &o.Timeout, DefaultTimeout); err != nil {
		return err
	}
	if err := positive("otlp.batch.max_records", &o.MaxRecords, DefaultMaxRecords); err != nil {
		return err
	}
	if err := positive("otlp.batch.max_bytes", &o.MaxBytes, DefaultMaxBytes); err != nil {
		return err
	}
	if err := positive("otlp.batch.max_wait", &o.MaxWait, DefaultMaxWait); err != nil {
		return err
	}
	if err := positive("otlp.queue_bytes", &o.QueueBytes, DefaultQueueBytes); err != nil {
		return err
	}
	if err := positive("otlp.shutdown_timeout", &o.ShutdownTimeout, DefaultShutdownTimeout); err != nil {
		return err
	}
	if err := positive("otlp.concurrency", &o.Concurrency, DefaultConcurrency); err != nil {
		return err
	}
	if o.HostName == "" {
		o.HostName, _ = os.Hostname() // none is better than no exporter
	}
	if o.ServiceName == "" {
		o.ServiceName = "logscan"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = retry.Sleep
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	return nil
}

func positive[T int | int64 | time.Duration](name string, v *T, def T) error {
	switch {
	case *v == 0:
		*v = def
	case *v < 0:
		return fmt.Errorf("%s: %v: must be positive", name, *v)
	}
	return nil
}

// endpointURL returns the URL requests go to: the endpoint with the OTLP
// logs path appended, as the OTLP exporters' "endpoint" setting does; and
// the URL to show in logs, without what may be a secret (user
// information, the query).
func endpointURL(s string) (full, shown string, err error) {
	if s == "" {
		return "", "", errors.New("otlp.endpoint: required")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", "", fmt.Errorf("otlp.endpoint: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", "", fmt.Errorf("otlp.endpoint: %q: the scheme must be http or https", s)
	}
	if u.Hostname() == "" {
		return "", "", fmt.Errorf("otlp.endpoint: %q: no host", s)
	}
	if !strings.HasSuffix(u.Path, "/v1/logs") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/logs"
		u.RawPath = ""
	}
	show := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return u.String(), show.String(), nil
}

// requestHeader builds the headers every request carries. The user's come
// first, so that Content-Type and Content-Encoding, which must match the
// body, are ours. A name or value that net/http would reject is an error
// here: at request time it would fail every retry forever.
func requestHeader(o Options) (http.Header, error) {
	h := make(http.Header, len(o.Headers)+3)
	h.Set("User-Agent", "logscan")
	for k, v := range o.Headers {
		if !validHeaderName(k) {
			return nil, fmt.Errorf("otlp.headers: %q: not a valid header name", k)
		}
		if !validHeaderValue(v) {
			return nil, fmt.Errorf("otlp.headers: %s: the value has a control character", k)
		}
		h.Set(k, v)
	}
	h.Set("Content-Type", contentType(o.Encoding))
	h.Del("Content-Encoding")
	if o.Compression == "gzip" {
		h.Set("Content-Encoding", "gzip")
	}
	return h, nil
}

func contentType(encoding string) string {
	if encoding == "json" {
		return "application/json"
	}
	return "application/x-protobuf"
}

// validHeaderName reports whether k is an RFC 9110 token.
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// config builds the client's TLS configuration, reading the files now so
// that a missing or bad one is a startup error.
func (t TLS) config() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("otlp.tls.ca_file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("otlp.tls.ca_file: %s: no PEM certificate", t.CAFile)
		}
	}
	switch {
	case t.CertFile == "" && t.KeyFile == "":
		return c, nil
	case t.KeyFile == "":
		return nil, errors.New("otlp.tls.key_file: required with cert_file")
	case t.CertFile == "":
		return nil, errors.New("otlp.tls.cert_file: required with key_file")
	}
	cert, err := os.ReadFile(t.CertFile)
	if err != nil {
		return nil, fmt.Errorf("otlp.tls.cert_file: %w", err)
	}
	key, err := os.ReadFile(t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("otlp.tls.key_file: %w", err)
	}
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("otlp.tls.cert_file: %s with key_file %s: %w", t.CertFile, t.KeyFile, err)
	}
	c.Certificates = []tls.Certificate{pair}
	return c, nil
}
