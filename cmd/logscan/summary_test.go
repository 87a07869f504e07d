package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// access is one line of the generated access log, with the values it holds.
type access struct {
	status, route string
	bytes         int     // -1: written as "-" (an error for --summary bytes)
	rt            float64 // -1: no rt= field (missing for --summary rt)
}

// accessTree writes n nginx-style access lines with known values into
// three files (one of them a gzip rotation) below a new root.
func accessTree(t *testing.T, n int) (string, []access) {
	t.Helper()
	root := t.TempDir()
	r := rand.New(rand.NewPCG(12, 34))
	statuses := []string{"200", "200", "200", "200", "404", "500", "302"}
	routes := []string{"/", "/api/items", "/api/pay", "/static/app.js"}
	var lines []access
	var files [3]bytes.Buffer
	for i := range n {
		a := access{status: statuses[r.IntN(len(statuses))], route: routes[r.IntN(len(routes))], bytes: r.IntN(50000), rt: float64(r.IntN(3000)) / 1000}
		if i%101 == 7 {
			a.bytes = -1
		}
		if i%53 == 5 {
			a.rt = -1
		}
		b := strconv.Itoa(a.bytes)
		if a.bytes < 0 {
			b = "-"
		}
		fmt.Fprintf(&files[i%3], `10.0.%d.%d - - [01/Dec/2026:10:%02d:%02d +0000] "GET %s HTTP/1.1" %s %s "-" "curl/8.5"`, i%7, i%250, i/60%60, i%60, a.route, a.status, b)
		if a.rt >= 0 {
			fmt.Fprintf(&files[i%3], " rt=%.3f", a.rt)
		}
		files[i%3].WriteByte('\n')
		lines = append(lines, a)
	}
	writeTree(t, root, map[string]string{"nginx/access.log": files[0].String(), "web/access.log": files[1].String()})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(files[2].Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "nginx/access.log.1.gz"), gz.Bytes())
	return root, lines
}

const (
	bytesPattern = `HTTP/1\.1" (?P<status>\d{3}) (?P<bytes>\S+)`
	rtPattern    = `"GET (?P<route>\S+) HTTP/1\.1" (?P<status>\d{3}) .*?(?: rt=(?P<rt>\S+))?$`
)

// TestSummaryGolden runs --summary end to end on the generated access log:
// captures, --by, JSON, config rules and the settings from the
// environment, and JSON lines with their fields.
func TestSummaryGolden(t *testing.T) {
	root, _ := accessTree(t, 3000)
	writeTree(t, root, map[string]string{"app/app.json": jsonLog(400)})
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, cfg, []byte(`rules:
  - name: api
    match: ['"GET (?P<route>/api/\S+) HTTP/1\.1" \d+ (?P<bytes>\d+)']
  - name: static
    match: ['"GET (?P<route>/static/\S+) HTTP/1\.1" \d+ (?P<bytes>\d+)']
summary_by: [route]
`))
	tests := []struct {
		name string
		env  []string
		args []string
	}{
		{"bytes", nil, []string{"-j1", "-e", bytesPattern, "--summary", "bytes", "--include", "access.log*", "ROOT"}},
		{"bytes-by-status", nil, []string{"-j2", "-e", bytesPattern, "--summary", "bytes", "--by", "status", "--include", "access.log*", "ROOT"}},
		{"rt-by-status-route", nil, []string{"-j1", "-e", rtPattern, "--summary", "rt", "--by", "status,route", "--include", "access.log*", "ROOT"}},
		{"rt-json", nil, []string{"-j1", "--json", "-e", rtPattern, "--summary", "rt", "--by", "status", "--include", "access.log*", "ROOT"}},
		{"config-rules", []string{"LOGSCAN_SUMMARY=bytes"}, []string{"-j1", "--config", cfg, "--include", "access.log*", "ROOT"}},
		{"json-fields", nil, []string{"-j1", "--format", "json", "--where", "status>=400", "--summary", "latency_ms", "--by", "route,status", "ROOT/app"}},
		{"json-fields-all", nil, []string{"-j1", "--format", "json", "-e", "", "--summary", "latency_ms", "--by", "level", "ROOT/app"}},
		{"no-match", nil, []string{"-e", `nothing (?P<n>\d+)`, "--summary", "n", "ROOT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "ROOT", root)
			}
			r := runCLIEnv(t, tt.env, "", args...)
			got := "exit " + strconv.Itoa(r.code) + "\n" + r.stdout
			want := goldenFile(t, filepath.Join("testdata", "summary", tt.name+".golden"), got)
			if got != want {
				t.Errorf("%v\n got:\n%s\nwant:\n%s\nstderr: %s", tt.args, got, want, r.stderr)
			}
		})
	}
}

// jsonLog is n JSON application lines with a route, a status and a
// latency; one in 50 lacks the latency and one in 70 has a string there.
func jsonLog(n int) string {
	var b strings.Builder
	levels := []string{"info", "info", "warn", "error"}
	for i := range n {
		lat := strconv.Itoa((i * 37) % 2000)
		switch {
		case i%50 == 3:
			fmt.Fprintf(&b, `{"level":"%s","route":"/r%d","status":%d,"msg":"no latency"}`+"\n", levels[i%4], i%3, 200+100*(i%4))
			continue
		case i%70 == 9:
			lat = `"slow"`
		}
		fmt.Fprintf(&b, `{"level":"%s","route":"/r%d","status":%d,"latency_ms":%s}`+"\n", levels[i%4], i%3, 200+100*(i%4), lat)
	}
	return b.String()
}

type summaryObj struct {
	Type    string            `json:"type"`
	Rule    string            `json:"rule"`
	Value   string            `json:"value"`
	By      map[string]string `json:"by"`
	Other   bool              `json:"other"`
	Count   int64             `json:"count"`
	Min     *float64          `json:"min"`
	Mean    *float64          `json:"mean"`
	P50     *float64          `json:"p50"`
	P90     *float64          `json:"p90"`
	P99     *float64          `json:"p99"`
	Max     *float64          `json:"max"`
	Errors  int64             `json:"errors"`
	Missing int64             `json:"missing"`
}

func parseSummary(t *testing.T, out string) []summaryObj {
	t.Helper()
	var objs []summaryObj
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var o summaryObj
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		objs = append(objs, o)
	}
	return objs
}

// TestSummaryExact checks the one-shot path over two workers against the
// values written: count, min, max, errors and missing exactly, the mean
// exactly (the sum of integers) or to float rounding, and p50, p90 and p99
// within the sketch's 1 % of the exact value of rank floor(q·(n-1)).
func TestSummaryExact(t *testing.T) {
	root, lines := accessTree(t, 20000)
	for _, c := range []struct {
		value, pattern string
		get            func(a access) (v float64, ok, isErr bool)
		meanTol        float64
	}{
		{"bytes", bytesPattern, func(a access) (float64, bool, bool) { return float64(a.bytes), a.bytes >= 0, a.bytes < 0 }, 0},
		{"rt", rtPattern, func(a access) (float64, bool, bool) { return a.rt, a.rt >= 0, false }, 1e-12},
	} {
		t.Run(c.value, func(t *testing.T) {
			r := runCLI(t, "", "-j2", "--json", "-e", c.pattern, "--summary", c.value, "--by", "status", root)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			type exp struct {
				vals            []float64
				sum             float64
				errors, missing int64
			}
			want := map[string]*exp{}
			for _, a := range lines {
				e := want[a.status]
				if e == nil {
					e = &exp{}
					want[a.status] = e
				}
				switch v, ok, isErr := c.get(a); {
				case ok:
					e.vals = append(e.vals, v)
					e.sum += v
				case isErr:
					e.errors++
				default:
					e.missing++
				}
			}
			objs := parseSummary(t, r.stdout)
			if len(objs) != len(want) {
				t.Fatalf("%d groups, want %d:\n%s", len(objs), len(want), r.stdout)
			}
			for _, o := range objs {
				e := want[o.By["status"]]
				if e == nil || o.Type != "summary" || o.Value != c.value || o.Rule != "" {
					t.Fatalf("unexpected %+v", o)
				}
				slices.Sort(e.vals)
				n := len(e.vals)
				if o.Count != int64(n) || *o.Min != e.vals[0] || *o.Max != e.vals[n-1] || o.Errors != e.errors || o.Missing != e.missing {
					t.Errorf("status %s: count %d min %v max %v errors %d missing %d; want %d %v %v %d %d",
						o.By["status"], o.Count, *o.Min, *o.Max, o.Errors, o.Missing, n, e.vals[0], e.vals[n-1], e.errors, e.missing)
				}
				if mean := e.sum / float64(n); math.Abs(*o.Mean-mean) > c.meanTol*mean {
					t.Errorf("status %s: mean %v, want %v", o.By["status"], *o.Mean, mean)
				}
				for i, got := range []*float64{o.P50, o.P90, o.P99} {
					q := []float64{0.5, 0.9, 0.99}[i]
					exact := e.vals[int(math.Ceil(q*float64(n)))-1]
					if math.Abs(*got-exact) > 0.01*exact {
						t.Errorf("status %s: p%v = %v, exact %v: beyond 1 %%", o.By["status"], q*100, *got, exact)
					}
				}
			}
		})
	}
}

// TestSummaryRefused: each flag that prints something else, and follow
// mode, is refused with exit status 2 naming the flag; so are names that
// nothing can hold.
func TestSummaryRefused(t *testing.T) {
	root, _ := accessTree(t, 10)
	state := filepath.Join(t.TempDir(), "state.json")
	base := []string{"-e", bytesPattern, "--summary", "bytes", root}
	for _, tt := range []struct {
		extra []string
		flag  string
		say   string
	}{
		{[]string{"-c"}, "--count", "--summary"},
		{[]string{"-l"}, "--files-with-matches", "--summary"},
		{[]string{"-L"}, "--files-without-match", "--summary"},
		{[]string{"-q"}, "--quiet", "--summary"},
		{[]string{"-o"}, "--only-matching", "--summary"},
		{[]string{"-A", "1"}, "--after-context", "--summary"},
		{[]string{"-B", "1"}, "--before-context", "--summary"},
		{[]string{"-C", "0"}, "--context", "--summary"},
		{[]string{"--format", "json", "--fields", "a,b"}, "--fields", "--summary"},
		{[]string{"--state-file", state, "--otlp-endpoint", "http://127.0.0.1:9"}, "--otlp-endpoint", "nothing would be shipped"},
		{[]string{"--follow"}, "--summary", "follow mode"},
		{[]string{"-v"}, "--invert-match", "capture groups"},
		{[]string{"--by", "status,nope"}, "--by", `"nope"`},
		{[]string{"--by", "count"}, "--by", "column"},
		{[]string{"--by", "bytes"}, "--by", "twice"},
	} {
		t.Run(strings.Join(tt.extra, " "), func(t *testing.T) {
			r := runCLI(t, "", append(slices.Clone(tt.extra), base...)...)
			if r.code != 2 || !strings.Contains(r.stderr, "flag "+tt.flag+":") || !strings.Contains(r.stderr, tt.say) || r.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q: want 2 naming flag %s and %q", r.code, r.stdout, r.stderr, tt.flag, tt.say)
			}
		})
	}
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"-e", `(?P<st>\d+)`, "--summary", "ms", root}, []string{"flag --summary:", `"ms"`, "no capture group"}},
		{[]string{"-e", `x`, "--by", "status", root}, []string{"flag --by:", "needs summary"}},
	} {
		r := runCLI(t, "", tt.args...)
		for _, w := range tt.want {
			if r.code != 2 || !strings.Contains(r.stderr, w) {
				t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, r.code, r.stderr, w)
			}
		}
	}
	// Follow mode is refused from the config and the environment alike.
	r := runCLIEnv(t, []string{"LOGSCAN_SUMMARY=bytes", "LOGSCAN_FOLLOW=true"}, "", "-e", bytesPattern, root)
	if r.code != 2 || !strings.Contains(r.stderr, "config key summary: does not work in follow mode") {
		t.Errorf("env: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestSummaryIncremental: with a state file each run prints what a
// one-shot run prints over the content that is new since the last one,
// and a run with nothing new prints nothing.
func TestSummaryIncremental(t *testing.T) {
	root := t.TempDir()
	log := filepath.Join(root, "app.log")
	first, more := "took 10ms\ntook 30ms\nother\ntook 7ms\n", "took 100ms\ntook 2ms\n"
	writeFile(t, log, []byte(first))
	state := filepath.Join(t.TempDir(), "state.json")
	pattern := []string{"-e", `took (?P<ms>\d+)ms`, "--summary", "ms"}
	oneShot := func(content string) string {
		t.Helper()
		p := filepath.Join(t.TempDir(), "app.log")
		writeFile(t, p, []byte(content))
		r := runCLI(t, "", append(slices.Clone(pattern), p)...)
		if r.code != 0 || r.stdout == "" {
			t.Fatalf("one-shot: exit %d, stdout %q", r.code, r.stdout)
		}
		return r.stdout
	}
	check := func(wantCode int, want string) {
		t.Helper()
		r := runCLI(t, "", append(slices.Clone(pattern), "--state-file", state, root)...)
		if r.code != wantCode || r.stdout != want {
			t.Errorf("exit %d, stdout %q; want %d, %q (stderr %s)", r.code, r.stdout, wantCode, want, r.stderr)
		}
	}
	check(0, oneShot(first))
	f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(more); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	check(0, oneShot(more))
	check(1, "")
}

// TestSummaryCardinality: past 1000 groups a rule's lines go to the group
// "other", and a warning on stderr says how many; the bound holds however
// the workers split the files.
func TestSummaryCardinality(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{}
	for f := range 4 {
		var b strings.Builder
		for i := range 300 {
			fmt.Fprintf(&b, "GET /u/%d %d\n", f*300+i, i)
		}
		files[fmt.Sprintf("f%d.log", f)] = b.String()
	}
	writeTree(t, root, files)
	r := runCLIEnv(t, []string{"LOGSCAN_LOG_FORMAT=json"}, "", "-j2", "-e", `GET (?P<route>\S+) (?P<n>\d+)`, "--summary", "n", "--by", "route", root)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || len(lines) != 1001 {
		t.Fatalf("exit %d, %d lines, want 1000 groups and other; stderr %s", r.code, len(lines), r.stderr)
	}
	if f := strings.Fields(lines[1000]); f[1] != "route=other" || f[2] != "count=200" {
		t.Errorf("last line %q, want route=other with the 200 lines past the bound", lines[1000])
	}
	if !strings.Contains(r.stderr, `reached 1000 groups; lines of further groups counted in group \"other\": 200`) {
		t.Errorf("stderr %q has no warning", r.stderr)
	}
}
