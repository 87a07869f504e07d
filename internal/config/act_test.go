package config

import (
	"strings"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/linemetrics"
)

const actYAML = `
follow: true
rules:
  - name: http
    match: ['"(?P<method>[A-Z]+) (?P<route>/\S*) HTTP/[0-9.]+" (?P<status>\d{3}) (?P<bytes>\d+)']
    metrics:
      - {name: http_requests_total, labels: [method, status]}
      - {name: http_response_bytes_total, type: counter, value: bytes}
      - {name: http_request_seconds, type: histogram, value: dur, buckets: [0.01, 0.1, 1, 10]}
      - {name: last_status, type: gauge, value: status, expire_after: 10m, max_series: 50}
    alert:
      threshold: {count: 5, window: 1m}
      group_by: [route]
      resolve_after: 5m
      repeat_interval: 1h
      to: [alertmanager, ops, page]
alerting:
  alertmanagers: [http://127.0.0.1:9093, http://127.0.0.1:9094]
  resend_interval: 30s
  webhooks: [{name: ops, url: 'https://hooks.example/logscan', secret_file: /etc/logscan/hook.secret, rate_limit: {per_second: 0.5, burst: 3}}]
  exec: [{name: page, argv: [/usr/local/bin/page, --team, ops], timeout: 10s, max_running: 2}]
`

func TestActDecodes(t *testing.T) {
	c, err := Load(Sources{File: writeYAML(t, actYAML)})
	if err != nil {
		t.Fatal(err)
	}
	r := c.Rules[0]
	if len(r.Metrics) != 4 || r.Metrics[0].Type != "counter" || r.Metrics[0].Value != "" ||
		strings.Join(r.Metrics[0].Labels, ",") != "method,status" || r.Metrics[2].Buckets[3] != 10 ||
		r.Metrics[3].ExpireAfter != 10*time.Minute || r.Metrics[3].MaxSeries != 50 {
		t.Errorf("metrics: %+v", r.Metrics)
	}
	a := r.Alert
	if a == nil || a.Count != 5 || a.Window != time.Minute || a.ResolveAfter != 5*time.Minute || a.RepeatInterval != time.Hour ||
		strings.Join(a.To, ",") != "alertmanager,ops,page" || strings.Join(a.GroupBy, ",") != "route" {
		t.Errorf("alert: %+v", a)
	}
	al := c.Alerting
	if len(al.Alertmanagers) != 2 || al.ResendInterval != 30*time.Second || len(al.Webhooks) != 1 || al.Webhooks[0].RatePerSecond != 0.5 ||
		al.Webhooks[0].Burst != 3 || al.Webhooks[0].SecretFile != "/etc/logscan/hook.secret" || len(al.Exec) != 1 || al.Exec[0].MaxRunning != 2 ||
		al.Exec[0].Timeout != 10*time.Second || strings.Join(al.Exec[0].Argv, " ") != "/usr/local/bin/page --team ops" {
		t.Errorf("alerting: %+v", al)
	}
	if c.MetricPrefix != linemetrics.DefaultPrefix {
		t.Errorf("metric_prefix %q", c.MetricPrefix)
	}
	if err := c.CheckMode(); err != nil {
		t.Errorf("follow mode: %v", err)
	}
}

func TestActErrors(t *testing.T) {
	rule := func(body string) string {
		return "follow: true\nrules:\n  - name: r\n    match: [x]\n" + body
	}
	tests := []struct{ name, yaml, want string }{
		{"metric type", rule("    metrics: [{name: a, type: summary}]\n"), `config key rules[0].metrics[0].type: want counter, gauge or histogram: "summary"`},
		{"metric unknown key", rule("    metrics: [{name: a, lables: [x]}]\n"), `config key rules[0].metrics[0].lables: unknown key`},
		{"gauge without value", rule("    metrics: [{name: a, type: gauge}]\n"), `config key rules[0].metrics[0].value: a gauge needs a value`},
		{"buckets on a counter", rule("    metrics: [{name: a, buckets: [1]}]\n"), `config key rules[0].metrics[0].buckets: only a histogram has buckets`},
		{"bucket not a number", rule("    metrics: [{name: a, type: histogram, value: v, buckets: [1, x]}]\n"), `config key rules[0].metrics[0].buckets[1]: want a number`},
		{"alert without to", rule("    alert: {threshold: {count: 2, window: 1m}}\n"), `config key rules[0].alert.to: name at least one destination`},
		{"alert unknown key", rule("    alert: {to: [x], treshold: {count: 2}}\n"), `config key rules[0].alert.treshold: unknown key`},
		{"threshold unknown key", rule("    alert: {to: [x], threshold: {cnt: 2}}\n"), `config key rules[0].alert.threshold.cnt: unknown key`},
		{"window without count", rule("    alert: {to: [x], threshold: {window: 1m}}\n"), `config key rules[0].alert.threshold.window: a window needs a count`},
		{"unknown destination", rule("    alert: {to: [pager]}\nalerting: {alertmanagers: ['http://am:9093']}\n"), `config key rules[0].alert.to[0]: no such destination (known: alertmanager): "pager"`},
		{"no destinations", rule("    alert: {to: [alertmanager]}\n"), `config key rules[0].alert.to[0]: no such destination (none are configured under alerting)`},
		{"alert on an unnamed rule", "follow: true\nrules:\n  - match: [x]\n    alert: {to: [alertmanager]}\nalerting: {alertmanagers: ['http://am:9093']}\n", `config key rules[0].name: a rule with an alert needs a name`},
		{"bad alertmanager url", rule("    alert: {to: [alertmanager]}\nalerting: {alertmanagers: ['am:9093']}\n"), `config key alerting.alertmanagers[0]: want an http:// or https:// URL`},
		{"webhook without name", rule("    alert: {to: [x]}\nalerting: {webhooks: [{url: 'http://h/'}]}\n"), `config key alerting.webhooks[0].name: a webhook needs a name`},
		{"exec without argv", rule("    alert: {to: [x]}\nalerting: {exec: [{name: x}]}\n"), `config key alerting.exec[0].argv: want the command`},
		{"duplicate destination", rule("    alert: {to: [x]}\nalerting: {exec: [{name: x, argv: [/bin/true]}], webhooks: [{name: x, url: 'http://h/'}]}\n"), `config key alerting: two destinations have this name`},
		{"destinations without alerts", rule("alerting: {alertmanagers: ['http://am:9093']}\n"), `config key alerting: destinations are configured but no rule has an alert`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(Sources{File: writeYAML(t, tt.yaml)})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestActModes(t *testing.T) {
	body := "rules:\n  - name: r\n    match: [x]\n"
	for _, tt := range []struct{ name, yaml, want string }{
		{"metrics one-shot", body + "    metrics: [{name: a}]\n", "config key rules[0].metrics: does not work in a one-shot run"},
		{"metrics incremental", "state_file: /tmp/s\n" + body + "    metrics: [{name: a}]\n", "config key rules[0].metrics: does not work in an incremental run"},
		{"alert one-shot", body + "    alert: {to: [alertmanager]}\nalerting: {alertmanagers: ['http://am:9093']}\n", "config key rules[0].alert: does not work in a one-shot run"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(Sources{File: writeYAML(t, tt.yaml)})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.CheckMode(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %s", err, tt.want)
			}
		})
	}
}

// TestActWithoutStdout: a follower whose rules only count or alert need
// not print the lines.
func TestActWithoutStdout(t *testing.T) {
	body := "follow: true\noutput: {stdout: false}\nrules:\n  - name: r\n    match: [x]\n"
	if _, err := Load(Sources{File: writeYAML(t, body+"    metrics: [{name: a_total}]\n")}); err != nil {
		t.Errorf("metrics without stdout: %v", err)
	}
	if _, err := Load(Sources{File: writeYAML(t, body)}); err == nil || !strings.Contains(err.Error(), "output.stdout") {
		t.Errorf("nothing output: %v", err)
	}
}

func TestActFromEnv(t *testing.T) {
	c, err := Load(Sources{Environ: []string{
		`LOGSCAN_RULES=[{"name":"r","match":["x"],"alert":{"to":["ops"]},"metrics":[{"name":"x_total"}]}]`,
		`LOGSCAN_ALERTING_WEBHOOKS=[{"name":"ops","url":"http://hooks:8080/x"}]`,
		"LOGSCAN_METRIC_PREFIX=app_",
		"LOGSCAN_FOLLOW=true",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricPrefix != "app_" || c.Alerting.Webhooks[0].URL != "http://hooks:8080/x" || c.Rules[0].Alert.To[0] != "ops" || c.Rules[0].Metrics[0].Name != "x_total" {
		t.Errorf("%+v %+v", c.Alerting, c.Rules)
	}
}
