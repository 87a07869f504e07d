package config

import (
	"bufio"
	"fmt"
	"net/textproto"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/logscan/logscan/internal/otlp"
)

// OTLP holds the settings of the OTLP/HTTP exporter. Endpoint "" turns it
// off; every other key needs it.
type OTLP struct {
	Endpoint string
	// Headers are the request headers: otlp.headers merged with the lines
	// of otlp.headers_file, which is read when the config is loaded (at
	// start and at each reload, so a rotated token is picked up).
	Headers         map[string]string
	HeadersFile     string
	Compression     string // gzip or none
	Encoding        string // proto or json
	Timeout         time.Duration
	MaxRecords      int
	MaxBytes        int
	MaxWait         time.Duration
	QueueBytes      int
	ShutdownTimeout time.Duration
	Concurrency     int
	TLS             otlp.TLS
	ServiceName     string
	HostName        string // "" is os.Hostname at start
	// changed are the otlp keys set to other than their defaults.
	changed []string
}

// Enabled reports whether records are shipped.
func (o *OTLP) Enabled() bool { return o.Endpoint != "" }

var otlpKeys = map[string]kind{
	"otlp.endpoint":                 kString,
	"otlp.headers":                  kMap,
	"otlp.headers_file":             kString,
	"otlp.compression":              kString,
	"otlp.encoding":                 kString,
	"otlp.timeout":                  kDuration,
	"otlp.batch.max_records":        kInt,
	"otlp.batch.max_bytes":          kSize,
	"otlp.batch.max_wait":           kDuration,
	"otlp.queue_bytes":              kSize,
	"otlp.shutdown_timeout":         kDuration,
	"otlp.concurrency":              kInt,
	"otlp.tls.ca_file":              kString,
	"otlp.tls.cert_file":            kString,
	"otlp.tls.key_file":             kString,
	"otlp.tls.insecure_skip_verify": kBool,
	"otlp.service_name":             kString,
	"otlp.host_name":                kString,
	"output.stdout":                 kBool,
}

func init() {
	for k, v := range otlpKeys {
		keys[k] = v
	}
}

// otlpDefaults refer to the exporter's own defaults.
func otlpDefaults(m map[string]any) {
	m["otlp.compression"] = otlp.DefaultCompression
	m["otlp.encoding"] = otlp.DefaultEncoding
	m["otlp.timeout"] = otlp.DefaultTimeout.String()
	m["otlp.batch.max_records"] = otlp.DefaultMaxRecords
	m["otlp.batch.max_bytes"] = otlp.DefaultMaxBytes
	m["otlp.batch.max_wait"] = otlp.DefaultMaxWait.String()
	m["otlp.queue_bytes"] = int(otlp.DefaultQueueBytes)
	m["otlp.shutdown_timeout"] = otlp.DefaultShutdownTimeout.String()
	m["otlp.concurrency"] = otlp.DefaultConcurrency
	m["otlp.service_name"] = "logscan"
	m["output.stdout"] = true
}

func (d *decoder) otlp() OTLP {
	o := OTLP{
		Endpoint:        d.str("otlp.endpoint"),
		HeadersFile:     d.str("otlp.headers_file"),
		Compression:     d.str("otlp.compression"),
		Encoding:        d.str("otlp.encoding"),
		Timeout:         d.duration("otlp.timeout"),
		MaxRecords:      d.integer("otlp.batch.max_records"),
		MaxBytes:        d.size("otlp.batch.max_bytes"),
		MaxWait:         d.duration("otlp.batch.max_wait"),
		QueueBytes:      d.size("otlp.queue_bytes"),
		ShutdownTimeout: d.duration("otlp.shutdown_timeout"),
		Concurrency:     d.integer("otlp.concurrency"),
		TLS: otlp.TLS{
			CAFile:             d.str("otlp.tls.ca_file"),
			CertFile:           d.str("otlp.tls.cert_file"),
			KeyFile:            d.str("otlp.tls.key_file"),
			InsecureSkipVerify: d.boolean("otlp.tls.insecure_skip_verify"),
		},
		ServiceName: d.str("otlp.service_name"),
		HostName:    d.str("otlp.host_name"),
	}
	defaults := map[string]any{} // otlp's only: Defaults() builds every layer's
	otlpDefaults(defaults)
	for key := range otlpKeys {
		if strings.HasPrefix(key, "otlp.") && key != "otlp.endpoint" && key != "otlp.headers" && d.k.Exists(key) &&
			normal(key, d.k.Get(key)) != normal(key, defaults[key]) {
			o.changed = append(o.changed, key)
		}
	}
	o.Headers = d.headers("otlp.headers")
	if len(o.Headers) > 0 {
		o.changed = append(o.changed, "otlp.headers")
	}
	sort.Strings(o.changed)
	if o.HeadersFile != "" && d.err == nil {
		d.headersFile(&o)
	}
	d.oneOf("otlp.compression", o.Compression, "gzip", "none")
	d.oneOf("otlp.encoding", o.Encoding, "proto", "json")
	for key, v := range map[string]int{"otlp.batch.max_records": o.MaxRecords, "otlp.batch.max_bytes": o.MaxBytes, "otlp.queue_bytes": o.QueueBytes, "otlp.concurrency": o.Concurrency} {
		if v < 1 {
			d.fail(key, v, "want 1 or more")
		}
	}
	if o.QueueBytes < o.MaxBytes {
		d.fail("otlp.queue_bytes", o.QueueBytes, "want at least otlp.batch.max_bytes")
	}
	for key, v := range map[string]time.Duration{"otlp.timeout": o.Timeout, "otlp.batch.max_wait": o.MaxWait, "otlp.shutdown_timeout": o.ShutdownTimeout} {
		if v <= 0 {
			d.fail(key, v, "want a positive duration")
		}
	}
	return o
}

// headers reads a map of header names to values; nested keys (a name with
// a dot, which the loader splits) are joined again.
func (d *decoder) headers(key string) map[string]string {
	v := d.k.Get(key)
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		d.fail(key, v, "want a map of header names to values")
		return nil
	}
	out := map[string]string{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			name := prefix + k
			switch x := v.(type) {
			case map[string]any:
				walk(name+".", x)
			case string:
				out[textproto.CanonicalMIMEHeaderKey(name)] = x
			default:
				d.fail(key+"."+name, v, "want a string")
			}
		}
	}
	walk("", m)
	return out
}

// headersFile adds the "Name: value" lines of otlp.headers_file (blank
// lines and # comments skipped) to o.Headers. A name also in otlp.headers
// is an error: which one is meant cannot be guessed.
func (d *decoder) headersFile(o *OTLP) {
	key := "otlp.headers_file"
	f, err := os.Open(o.HeadersFile)
	if err != nil {
		d.fail(key, o.HeadersFile, "cannot read: "+err.Error())
		return
	}
	defer f.Close()
	if o.Headers == nil {
		o.Headers = map[string]string{}
	}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name = textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name))
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			d.fail(key, fmt.Sprintf("%s:%d", o.HeadersFile, n), `want "Name: value" lines`)
			return
		}
		if _, dup := o.Headers[name]; dup {
			d.fail(key, fmt.Sprintf("%s:%d", o.HeadersFile, n), "header "+name+" is also set in otlp.headers")
			return
		}
		o.Headers[name] = strings.TrimSpace(value)
	}
	if err := sc.Err(); err != nil {
		d.fail(key, o.HeadersFile, "cannot read: "+err.Error())
	}
}

// envHeaders parses LOGSCAN_OTLP_HEADERS as OTEL_EXPORTER_OTLP_HEADERS is
// written: name=value pairs separated by commas.
func envHeaders(where, val string) (map[string]any, error) {
	m := map[string]any{}
	for _, kv := range strings.Split(val, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		name, value, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, &Error{Where: where, Value: val, Msg: "want name=value pairs separated by commas"}
		}
		m[strings.TrimSpace(name)] = strings.TrimSpace(value)
	}
	return m, nil
}

// checkOTLP refuses exporter settings without an endpoint, and a run that
// would output nothing.
func (c *Config) checkOTLP() error {
	if c.OTLP.Enabled() {
		// These print per file, not the lines: the pipeline would select
		// nothing for the exporter to ship.
		for _, m := range []struct {
			key string
			set bool
		}{
			{"output.count", c.Output.Count},
			{"output.files_with_matches", c.Output.FilesWithMatches},
			{"output.files_without_match", c.Output.FilesWithout},
			{"output.quiet", c.Output.Quiet},
		} {
			if m.set {
				return &Error{Where: c.whereKey(m.key), Msg: "does not work with otlp.endpoint: it prints per file, not the lines, so nothing would be shipped"}
			}
		}
		return nil
	}
	if len(c.OTLP.changed) > 0 {
		return &Error{Where: c.whereKey(c.OTLP.changed[0]), Msg: "needs otlp.endpoint (--otlp-endpoint): there is no exporter to configure"}
	}
	if !c.Stdout && !c.HasMetrics() && !c.HasAlerts() {
		return &Error{Where: c.whereKey("output.stdout"), Value: "false", Msg: "needs otlp.endpoint, or rules with metrics or an alert: else nothing would be output"}
	}
	return nil
}

// normal prints a value of key so that equal settings print the same:
// 4MiB and 4194304, 200ms and 0.2s.
func normal(key string, v any) string {
	if v == nil {
		switch keys[key] {
		case kBool:
			return "false"
		case kInt, kSize:
			return "0"
		}
		return ""
	}
	str := fmt.Sprint(v)
	switch keys[key] {
	case kSize:
		if n, err := parseSize(str); err == nil {
			return fmt.Sprint(n)
		}
	case kDuration:
		if d, err := time.ParseDuration(str); err == nil {
			return d.String()
		}
	}
	return str
}
