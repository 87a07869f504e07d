package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeYAML(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLayersLaterWins(t *testing.T) {
	file := writeYAML(t, "roots: [/from/file]\nstart_at: beginning\npoll_interval: 2s\noutput:\n  format: json\n")
	tests := []struct {
		name    string
		env     []string
		flags   map[string]any
		roots   []string
		startAt string
		poll    time.Duration
	}{
		{"file only", nil, nil, []string{"/from/file"}, "beginning", 2 * time.Second},
		{"env over file", []string{"LOGSCAN_ROOTS=/a,/b", "LOGSCAN_POLL_INTERVAL=5s"}, nil, []string{"/a", "/b"}, "beginning", 5 * time.Second},
		{"flags over env", []string{"LOGSCAN_ROOTS=/a"}, map[string]any{"roots": []string{"/c"}, "start_at": "end"}, []string{"/c"}, "end", 2 * time.Second},
		{"env JSON list", []string{`LOGSCAN_ROOTS=["/x,y"]`}, nil, []string{"/x,y"}, "beginning", 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(Sources{File: file, Environ: tt.env, Flags: tt.flags})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(c.Roots, "|") != strings.Join(tt.roots, "|") || c.StartAt != tt.startAt || c.PollInterval != tt.poll {
				t.Errorf("got roots=%q start_at=%q poll=%v", c.Roots, c.StartAt, c.PollInterval)
			}
			if c.OutputFormat != "json" {
				t.Errorf("output.format = %q, want json from the file", c.OutputFormat)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c, err := Load(Sources{})
	if err != nil {
		t.Fatal(err)
	}
	if c.StartAt != "" || c.MaxLine != 16<<20 || !c.Decompress || c.OutputFormat != "text" || c.SaveInterval != time.Second {
		t.Errorf("defaults: %+v", c)
	}
}

func TestRules(t *testing.T) {
	file := writeYAML(t, `
rules:
  - name: errors
    match: [ERROR, FATAL]
    ignore: healthcheck
  - match: "x"
    ignore_case: true
    fixed: true
`)
	c, err := Load(Sources{File: file})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rules) != 2 {
		t.Fatalf("rules: %+v", c.Rules)
	}
	r := c.Rules[0]
	if r.Name != "errors" || len(r.Match) != 2 || len(r.Ignore) != 1 || r.Ignore[0] != "healthcheck" {
		t.Errorf("rule 0: %+v", r)
	}
	if !c.Rules[1].IgnoreCase || !c.Rules[1].Fixed || c.Rules[1].Match[0] != "x" {
		t.Errorf("rule 1: %+v", c.Rules[1])
	}
	env, err := Load(Sources{Environ: []string{`LOGSCAN_RULES=[{"name":"e","match":["a,b"]}]`, "LOGSCAN_MATCH=a{1,3}"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(env.Rules) != 1 || env.Rules[0].Match[0] != "a,b" || len(env.Match) != 1 || env.Match[0] != "a{1,3}" {
		t.Errorf("env rules: %+v match %q", env.Rules, env.Match)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		env   []string
		flags map[string]any
		of    map[string]string
		want  []string
	}{
		{"unknown key with suggestion", "rule:\n  - match: [x]\n", nil, nil, nil, []string{"config key rule", "unknown key", `did you mean "rules"`}},
		{"unknown nested key", "output:\n  formt: json\n", nil, nil, nil, []string{"output.formt", "unknown key"}},
		{"unknown rule key", "rules:\n  - name: a\n    matches: [x]\n", nil, nil, nil, []string{"rules[0].matches", "unknown key"}},
		{"bad duration", "poll_interval: 5 sec\n", nil, nil, nil, []string{"config key poll_interval", "bad duration", `"5 sec"`}},
		{"bad start_at", "start_at: middle\n", nil, nil, nil, []string{"config key start_at", `"middle"`}},
		{"bad format", "output:\n  format: xml\n", nil, nil, nil, []string{"output.format", `"xml"`}},
		{"bad bool", "follow: maybe\n", nil, nil, nil, []string{"config key follow", `"maybe"`}},
		{"bad rule field type", "rules:\n  - match: [1]\n", nil, nil, nil, []string{"rules[0].match[0]"}},
		{"duplicate rule name", "rules:\n  - name: a\n  - name: a\n", nil, nil, nil, []string{"rules[1].name", "duplicate"}},
		{"bad env duration", "", []string{"LOGSCAN_POLL_INTERVAL=fast"}, nil, nil, []string{"poll_interval", `"fast"`}},
		{"bad flag value", "", nil, map[string]any{"start_at": "now"}, map[string]string{"start_at": "start-at"}, []string{"flag --start-at", `"now"`}},
		{"bad yaml", "roots: [\n", nil, nil, nil, []string{"config file"}},
		{"bad size", "max_line: huge\n", nil, nil, nil, []string{"max_line", `"huge"`}},
		{"bad glob", "include: ['[']\n", nil, nil, nil, []string{"bad glob"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := Sources{Environ: tt.env, Flags: tt.flags, FlagOf: tt.of}
			if tt.yaml != "" {
				src.File = writeYAML(t, tt.yaml)
			}
			_, err := Load(src)
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

func TestUnknownEnvIsAWarning(t *testing.T) {
	c, err := Load(Sources{Environ: []string{"LOGSCAN_ROOT=/x", "LOGSCAN_SERVICE_HOST=10.0.0.1", "PATH=/bin"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 2 || !strings.Contains(c.Warnings[0], "LOGSCAN_ROOT") {
		t.Errorf("warnings: %q", c.Warnings)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load(Sources{File: filepath.Join(t.TempDir(), "nope.yaml")})
	var ce *Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("err = %v", err)
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	c, err := Load(Sources{File: "../../config.example.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rules) == 0 || len(c.Roots) == 0 {
		t.Errorf("example config lost its rules or roots: %+v", c)
	}
}

func TestEveryKeyIsDocumented(t *testing.T) {
	b, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for key := range keys {
		leaf := key[strings.LastIndex(key, ".")+1:]
		if !strings.Contains(string(b), leaf+":") {
			t.Errorf("config.example.yaml does not document %q", key)
		}
	}
}

func FuzzLoad(f *testing.F) {
	f.Add("roots: [/a]\nrules:\n  - name: x\n    match: [a]\n")
	f.Add("rules: 3\n")
	f.Add("output: [1,2]\n")
	f.Add("poll_interval: [1]\nmax_line: {a: b}\n")
	f.Fuzz(func(t *testing.T, body string) {
		p := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(Sources{File: p})
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
	})
}

// TestLayersWithoutFile: with no file the defaults, the environment and
// the flags are overlaid into one koanf Load; later layers still win, and
// what each layer set is still known as given.
func TestLayersWithoutFile(t *testing.T) {
	tests := []struct {
		name  string
		env   []string
		flags map[string]any
		roots []string
		poll  time.Duration
		save  bool // save_interval given
	}{
		{"defaults", nil, nil, nil, 0, false},
		{"env over defaults", []string{"LOGSCAN_ROOTS=/a,/b", "LOGSCAN_POLL_INTERVAL=5s"}, nil, []string{"/a", "/b"}, 5 * time.Second, false},
		{"flags over env", []string{"LOGSCAN_ROOTS=/a", "LOGSCAN_POLL_INTERVAL=5s"}, map[string]any{"roots": []string{"/c"}}, []string{"/c"}, 5 * time.Second, false},
		{"env given", []string{"LOGSCAN_SAVE_INTERVAL=3s"}, nil, nil, 0, true},
		{"flag given", nil, map[string]any{"save_interval": "3s"}, nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(Sources{Environ: tt.env, Flags: tt.flags})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(c.Roots, "|") != strings.Join(tt.roots, "|") || c.PollInterval != tt.poll || c.given["save_interval"] != tt.save {
				t.Errorf("got roots=%q poll=%v save_interval given=%v", c.Roots, c.PollInterval, c.given["save_interval"])
			}
			if c.OutputFormat != "text" || c.Output.Label != "(standard input)" {
				t.Errorf("defaults lost: output.format %q, output.label %q", c.OutputFormat, c.Output.Label)
			}
		})
	}
}

func TestOverlay(t *testing.T) {
	dst := map[string]any{"a": 1, "m": map[string]any{"x": "1", "y": "2"}, "s": []string{"d"}}
	overlay(dst, map[string]any{"a": 2, "m": map[string]any{"y": "3", "z": "4"}, "s": []string{"e"}, "n": "new"})
	want := map[string]any{"a": 2, "m": map[string]any{"x": "1", "y": "3", "z": "4"}, "s": []string{"e"}, "n": "new"}
	if fmt.Sprint(dst) != fmt.Sprint(want) {
		t.Errorf("overlay: got %v, want %v (a map over a map merges, anything else replaces)", dst, want)
	}
	dst = map[string]any{"m": map[string]any{"x": "1"}}
	overlay(dst, map[string]any{"m": "scalar"})
	if dst["m"] != "scalar" {
		t.Errorf("a scalar over a map: got %v", dst["m"])
	}
}
