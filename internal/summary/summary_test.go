package summary

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/logscan/logscan/internal/fields"
)

func mustCompile(t testing.TB, spec Spec, fieldsOn bool, patterns ...string) *Extractor {
	t.Helper()
	var res []*regexp.Regexp
	for _, p := range patterns {
		res = append(res, regexp.MustCompile(p))
	}
	x, err := Compile(spec, []Rule{{Name: "r", Patterns: res}}, fieldsOn)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// input is one observed line: its text and, for a format with fields, the
// JSON it parses as.
type input struct {
	text string
	json bool
}

func observe(a *Acc, in []input) {
	var rec fields.Record
	for _, l := range in {
		var r *fields.Record
		if l.json {
			rec.Reset()
			if fields.ParseJSON([]byte(l.text), &rec, nil) == nil {
				r = &rec
			}
		}
		a.Observe([]byte(l.text), r, 0)
	}
}

func TestObserve(t *testing.T) {
	tests := []struct {
		name     string
		spec     Spec
		fields   bool
		patterns []string
		lines    []input
		want     string // exactLines of the result
	}{
		{
			name: "capture", spec: Spec{Value: "ms"}, patterns: []string{`ms=(?P<ms>\S+)`},
			lines: []input{{text: "a ms=10"}, {text: "b ms=30"}, {text: "c ms=x1"}, {text: "d ms=-"}, {text: "no value"}, {text: "e ms=2e1"}},
			want:  "r [] count=3 min=10 max=30 sum=60 errors=2 missing=1\n",
		},
		{
			name: "optional group that took no part is missing", spec: Spec{Value: "n"}, patterns: []string{`GET (?:/(?P<n>\d+)|/x)`},
			lines: []input{{text: "GET /5"}, {text: "GET /x"}},
			want:  "r [] count=1 min=5 max=5 sum=5 errors=0 missing=1\n",
		},
		{
			name: "second pattern", spec: Spec{Value: "n"}, patterns: []string{`a=(?P<n>\d+)`, `b=(?P<n>\d+)`, `c`},
			lines: []input{{text: "a=1"}, {text: "b=3"}, {text: "c only"}},
			want:  "r [] count=2 min=1 max=3 sum=4 errors=0 missing=1\n",
		},
		{
			name: "by groups in byte order, missing by value is empty", spec: Spec{Value: "ms", By: []string{"st"}}, patterns: []string{`(?:st=(?P<st>\S+) )?ms=(?P<ms>\d+)`},
			lines: []input{{text: "st=500 ms=9"}, {text: "st=200 ms=1"}, {text: "st=200 ms=3"}, {text: "ms=7"}},
			want: `r [] count=1 min=7 max=7 sum=7 errors=0 missing=0
r [200] count=2 min=1 max=3 sum=4 errors=0 missing=0
r [500] count=1 min=9 max=9 sum=9 errors=0 missing=0
`,
		},
		{
			name: "two by names", spec: Spec{Value: "ms", By: []string{"m", "st"}}, patterns: []string{`(?P<m>[A-Z]+) \S+ (?P<st>\d+) (?P<ms>\d+)`},
			lines: []input{{text: "GET / 200 5"}, {text: "POST / 200 7"}, {text: "GET /a 200 1"}, {text: "GET / 404 2"}},
			want: `r [GET 200] count=2 min=1 max=5 sum=6 errors=0 missing=0
r [GET 404] count=1 min=2 max=2 sum=2 errors=0 missing=0
r [POST 200] count=1 min=7 max=7 sum=7 errors=0 missing=0
`,
		},
		{
			name: "fields: numbers, numeric strings, null, bools, huge", spec: Spec{Value: "v", By: []string{"k"}}, fields: true,
			lines: []input{{text: `{"k":"a","v":1.5}`, json: true}, {text: `{"k":"a","v":"2.5"}`, json: true}, {text: `{"k":"a","v":null}`, json: true},
				{text: `{"k":"a","v":true}`, json: true}, {text: `{"k":"a","v":1e999}`, json: true}, {text: `{"k":"a"}`, json: true}, {text: "not json", json: true}},
			want: `r [] count=0 min=0 max=0 sum=0 errors=0 missing=1
r [a] count=2 min=1.5 max=2.5 sum=4 errors=3 missing=1
`,
		},
		{
			name: "a capture wins over a field of the same name", spec: Spec{Value: "v"}, fields: true, patterns: []string{`x(?P<v>\d)`},
			lines: []input{{text: `{"v":100,"m":"x7"}`, json: true}, {text: `{"v":100}`, json: true}},
			want:  "r [] count=2 min=7 max=100 sum=107 errors=0 missing=0\n",
		},
		{
			name: "an event's lines are searched in order", spec: Spec{Value: "n"}, patterns: []string{`took (?P<n>\d+)`},
			lines: []input{{text: "ERROR x\n\tat y\ntook 12ms\ntook 99ms"}},
			want:  "r [] count=1 min=12 max=12 sum=12 errors=0 missing=0\n",
		},
		{
			name: "negative and zero", spec: Spec{Value: "n"}, patterns: []string{`n=(?P<n>\S+)`},
			lines: []input{{text: "n=-5"}, {text: "n=0"}, {text: "n=-0.5"}, {text: "n=+2"}},
			want:  "r [] count=4 min=-5 max=2 sum=-3.5 errors=0 missing=0\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := mustCompile(t, tt.spec, tt.fields, tt.patterns...)
			a := x.NewAcc()
			observe(a, tt.lines)
			if got := exactLines(a); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// exactLines prints the exact statistics of each group, in output order.
func exactLines(a *Acc) string {
	var b strings.Builder
	for _, r := range a.rows() {
		st := r.st
		fmt.Fprintf(&b, "%s %v count=%d min=%v max=%v sum=%v errors=%d missing=%d\n", r.rule, r.by, st.count, st.min, st.max, st.sum, st.errors, st.missing)
	}
	return b.String()
}

func TestCompileNames(t *testing.T) {
	re := regexp.MustCompile(`(?P<ms>\d+) (?P<st>\d+)`)
	rules := []Rule{{Name: "a", Patterns: []*regexp.Regexp{regexp.MustCompile(`x`)}}, {Name: "b", Patterns: []*regexp.Regexp{re}}}
	for _, tt := range []struct {
		spec   Spec
		fields bool
		bad    string
		by     bool
	}{
		{spec: Spec{Value: "ms", By: []string{"st"}}},
		{spec: Spec{Value: "nope"}, bad: "nope"},
		{spec: Spec{Value: "ms", By: []string{"st", "nope"}}, bad: "nope", by: true},
		{spec: Spec{Value: "nope", By: []string{"other"}}, fields: true},
	} {
		_, err := Compile(tt.spec, rules, tt.fields)
		var ne *NameError
		switch {
		case tt.bad == "" && err != nil:
			t.Errorf("%+v: %v", tt.spec, err)
		case tt.bad != "" && (!asNameError(err, &ne) || ne.Name != tt.bad || ne.By != tt.by):
			t.Errorf("%+v: err %v, want a NameError for %q (by %v)", tt.spec, err, tt.bad, tt.by)
		}
	}
}

func asNameError(err error, ne **NameError) bool {
	e, ok := err.(*NameError)
	*ne = e
	return ok
}

// TestRulesApart keeps each rule's groups apart, in rule order, with the
// selection without a rule last.
func TestRulesApart(t *testing.T) {
	rules := []Rule{
		{Name: "slow", Patterns: []*regexp.Regexp{regexp.MustCompile(`slow (?P<n>\d+)`)}},
		{Name: "", Patterns: []*regexp.Regexp{regexp.MustCompile(`(?P<n>\d+)`)}},
	}
	x, err := Compile(Spec{Value: "n"}, rules, false)
	if err != nil {
		t.Fatal(err)
	}
	a := x.NewAcc()
	a.Observe([]byte("5"), nil, 1)
	a.Observe([]byte("slow 7"), nil, 0)
	a.Observe([]byte("slow 9"), nil, -1) // no rule: no pattern to capture with
	want := `rule=slow count=1 min=7 mean=7 p50=7 p90=7 p99=7 max=7 errors=0 missing=0
rule=-    count=1 min=5 mean=5 p50=5 p90=5 p99=5 max=5 errors=0 missing=0
rule=-    count=0 min=- mean=- p50=- p90=- p99=- max=- errors=0 missing=1
`
	if got := string(a.Append(nil)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestCardinality: a rule keeps DefaultMaxGroups groups, the lines of the
// others go to one group "other", counted in a warning; Merge keeps the
// bound.
func TestCardinality(t *testing.T) {
	x := mustCompile(t, Spec{Value: "n", By: []string{"k"}}, false, `k=(?P<k>\S+) n=(?P<n>\d+)`)
	a := x.NewAcc()
	for i := range DefaultMaxGroups + 250 {
		a.Observe(fmt.Appendf(nil, "k=%05d n=%d", i, i), nil, 0)
		a.Observe(fmt.Appendf(nil, "k=%05d n=%d", i, i), nil, 0) // twice: a known group stays known
	}
	out := strings.Split(strings.TrimSuffix(string(a.Append(nil)), "\n"), "\n")
	if len(out) != DefaultMaxGroups+1 {
		t.Fatalf("%d lines, want %d groups and other", len(out), DefaultMaxGroups+1)
	}
	last := strings.Fields(out[len(out)-1])
	if last[1] != "k=other" || last[2] != "count=500" || last[3] != "min=1000" || last[8] != "max=1249" {
		t.Errorf("other: %q", out[len(out)-1])
	}
	if !strings.HasPrefix(out[DefaultMaxGroups-1], "rule=r k=00999 count=2 ") {
		t.Errorf("last group: %q", out[DefaultMaxGroups-1])
	}
	w := a.Warnings()
	if len(w) != 1 || !strings.HasSuffix(w[0], `"other": 500`) || !strings.Contains(w[0], "1000 groups") {
		t.Errorf("warnings: %q", w)
	}

	// Two workers with 600 groups each, 100 of them shared: 1000 groups,
	// and the lines of the other 100 in other.
	b, c := x.NewAcc(), x.NewAcc()
	for i := range 600 {
		b.Observe(fmt.Appendf(nil, "k=%05d n=1", i), nil, 0)
		c.Observe(fmt.Appendf(nil, "k=%05d n=1", i+500), nil, 0)
	}
	b.Merge(c)
	out = strings.Split(strings.TrimSuffix(string(b.Append(nil)), "\n"), "\n")
	if len(out) != DefaultMaxGroups+1 || !strings.Contains(out[len(out)-1], "k=other count=100 ") {
		t.Errorf("merged: %d lines, last %q", len(out), out[len(out)-1])
	}
	if w := b.Warnings(); len(w) != 1 || !strings.HasSuffix(w[0], `"other": 100`) {
		t.Errorf("merged warnings: %q", w)
	}
}

// TestMergeIsOneAcc: lines observed by several Accs and merged print as
// if one Acc saw them all.
func TestMergeIsOneAcc(t *testing.T) {
	x := mustCompile(t, Spec{Value: "n", By: []string{"k"}, JSON: true}, false, `k=(?P<k>\S+) n=(?P<n>\S+)`)
	one := x.NewAcc()
	parts := []*Acc{x.NewAcc(), x.NewAcc(), x.NewAcc()}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		line := fmt.Appendf(nil, "k=%d n=%d", r.IntN(7), r.IntN(100000)-500)
		if i%97 == 0 {
			line = fmt.Appendf(nil, "k=%d n=bad", r.IntN(7))
		}
		one.Observe(line, nil, 0)
		parts[r.IntN(3)].Observe(line, nil, 0)
	}
	parts[0].Merge(parts[1])
	parts[0].Merge(parts[2])
	if got, want := string(parts[0].Append(nil)), string(one.Append(nil)); got != want {
		t.Errorf("merged:\n%s\none:\n%s", got, want)
	}
}

// TestQuantileAccuracy holds p50, p90 and p99 to 1 % of the exact value
// of rank ceil(q·n) (nearest rank), over spreads a latency or size takes.
func TestQuantileAccuracy(t *testing.T) {
	src := rand.NewPCG(3, 4)
	r := rand.New(src)
	gens := map[string]func() float64{
		"uniform":     func() float64 { return r.Float64() * 1000 },
		"exponential": func() float64 { return r.ExpFloat64() * 50 },
		"lognormal":   func() float64 { return math.Exp(r.NormFloat64()*2 + 3) },
		"integers":    func() float64 { return float64(r.IntN(5000)) },
		"negative":    func() float64 { return r.NormFloat64() * 100 },
	}
	for name, gen := range gens {
		t.Run(name, func(t *testing.T) {
			// One generator for all, reseeded per distribution: the map's
			// order must not change what a distribution draws.
			src.Seed(3, uint64(len(name)))
			x := mustCompile(t, Spec{Value: "v"}, false, `(?P<v>\S+)`)
			a := x.NewAcc()
			vals := make([]float64, 50000)
			for i := range vals {
				vals[i] = gen()
				a.Observe(strconv.AppendFloat(nil, vals[i], 'g', -1, 64), nil, 0)
			}
			slices.Sort(vals)
			st := a.rules[0].single.stats
			q := st.quantiles()
			for i, p := range quantiles {
				// Within 1 % of the value of the nearest rank, or of a rank
				// next to it: the sketch ranks its negative store from the
				// other end, one rank off where values cross zero, and there
				// a rank's neighbours differ by more than 1 % of it.
				idx := int(math.Ceil(p*float64(len(vals)))) - 1
				ok := false
				for _, j := range []int{idx, idx - 1, idx + 1} {
					if j >= 0 && j < len(vals) && math.Abs(q[i]-vals[j]) <= RelativeAccuracy*math.Abs(vals[j])+1e-9 {
						ok = true
					}
				}
				if !ok {
					t.Errorf("p%v = %v, exact %v: beyond 1 %% of it and of its neighbours", p*100, q[i], vals[idx])
				}
			}
			if st.min != vals[0] || st.max != vals[len(vals)-1] || st.count != int64(len(vals)) {
				t.Errorf("min %v max %v count %d", st.min, st.max, st.count)
			}
		})
	}
}

// TestBoundedBins: values spanning float64's whole range keep each
// sketch store at maxBins, with p99 still within 1 %.
func TestBoundedBins(t *testing.T) {
	x := mustCompile(t, Spec{Value: "v"}, false, `(?P<v>\S+)`)
	a := x.NewAcc()
	var vals []float64
	for e := -300; e <= 300; e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, float64(e))
			vals = append(vals, v)
			a.Observe(strconv.AppendFloat(nil, v, 'g', -1, 64), nil, 0)
		}
	}
	st := a.rules[0].single.stats
	bins := 0
	st.sk.GetPositiveValueStore().ForEach(func(int, float64) bool { bins++; return false })
	if bins > maxBins {
		t.Errorf("%d bins, bound %d", bins, maxBins)
	}
	slices.Sort(vals)
	want := vals[int(math.Ceil(0.99*float64(len(vals))))-1]
	if q := st.quantiles()[2]; math.Abs(q-want) > RelativeAccuracy*want {
		t.Errorf("p99 %v, exact %v", q, want)
	}
}

func TestFormatNumbers(t *testing.T) {
	for _, tt := range []struct {
		v          float64
		exact, sig string
	}{
		{0, "0", "0"},
		{200, "200", "200"},
		{-3, "-3", "-3"},
		{0.125, "0.125", "0.125"},
		{1234.5678, "1234.5678", "1235"},
		{99.4342, "99.4342", "99.43"},
		{0.000123456, "0.000123456", "0.0001235"},
		{123456789, "123456789", "123456789"},
		{1e21, "1e+21", "1e+21"},
		{2.5e-9, "2.5e-09", "2.5e-09"},
		{9.99996, "9.99996", "10"},
	} {
		if got := exact(tt.v); got != tt.exact {
			t.Errorf("exact(%v) = %q, want %q", tt.v, got, tt.exact)
		}
		if got := sig(tt.v, 4); got != tt.sig {
			t.Errorf("sig(%v, 4) = %q, want %q", tt.v, got, tt.sig)
		}
	}
}

// TestTextIsLogfmt: logscan's own logfmt parser reads every column of the
// text output back, quoted values included.
func TestTextIsLogfmt(t *testing.T) {
	x := mustCompile(t, Spec{Value: "n", By: []string{"who"}}, false, `who=<(?P<who>[^>]*)> n=(?P<n>\d+)`)
	a := x.NewAcc()
	for _, who := range []string{"a b", `q"x`, "", "tab\there", "caf\xe9", "ok"} {
		a.Observe([]byte("who=<"+who+"> n=12"), nil, 0)
	}
	for _, line := range strings.Split(strings.TrimSuffix(string(a.Append(nil)), "\n"), "\n") {
		var rec fields.Record
		if err := fields.ParseLogfmt([]byte(line), &rec, nil); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if len(rec.Fields) != 11 || rec.Get("count") == nil || string(rec.Get("count").Value) != "1" || string(rec.Get("p99").Value) != "12" {
			t.Errorf("%q parsed as %d fields", line, len(rec.Fields))
		}
	}
}

var update = flag.Bool("update", false, "rewrite the golden files")

// TestAppendGolden pins both output formats: alignment, quoting, a group
// with no value, the group "other", and two rules.
func TestAppendGolden(t *testing.T) {
	rules := []Rule{
		{Name: "slow requests", Patterns: []*regexp.Regexp{regexp.MustCompile(`slow k=<(?P<k>[^>]*)> n=(?P<n>\S*)`)}},
		{Name: "", Patterns: []*regexp.Regexp{regexp.MustCompile(`k=<(?P<k>[^>]*)>(?: n=(?P<n>\S*))?`)}},
	}
	lines := []struct {
		text string
		rule int
	}{
		{"slow k=<a> n=1200", 0}, {"slow k=<a> n=1500.5", 0}, {"slow k=<b c> n=980", 0},
		{"k=<a> n=0.002", 1}, {"k=<a> n=0.0035", 1}, {"k=<a> n=-", 1}, {"k=<\"q\"> n=7", 1}, {"k=<> n=1e-9", 1},
		{"k=<none>", 1}, {"k=<x=y> n=123456789", 1}, {"k=<z> n=1", 1}, {"k=<zz> n=2", 1},
	}
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			x, err := Compile(Spec{Value: "n", By: []string{"k"}, JSON: format == "json", MaxGroups: 6}, rules, false)
			if err != nil {
				t.Fatal(err)
			}
			a := x.NewAcc()
			for _, l := range lines {
				a.Observe([]byte(l.text), nil, l.rule)
			}
			got := string(a.Append(nil)) + "warnings: " + strings.Join(a.Warnings(), "; ") + "\n"
			golden := filepath.Join("testdata", format+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			if format == "json" {
				for _, l := range strings.Split(strings.TrimSpace(string(a.Append(nil))), "\n") {
					var m map[string]any
					if err := json.Unmarshal([]byte(l), &m); err != nil {
						t.Errorf("%s: %v", l, err)
					}
				}
			}
		})
	}
}

// TestObserveAllocs: a known group costs no allocation for a field, and
// only Go's submatch slice for a capture.
func TestObserveAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	x := mustCompile(t, Spec{Value: "latency_ms", By: []string{"route"}}, true)
	a := x.NewAcc()
	line := []byte(`{"route":"/api/items","status":200,"latency_ms":12.5}`)
	var rec fields.Record
	if err := fields.ParseJSON(line, &rec, nil); err != nil {
		t.Fatal(err)
	}
	a.Observe(line, &rec, 0)
	if n := testing.AllocsPerRun(1000, func() { a.Observe(line, &rec, 0) }); n != 0 {
		t.Errorf("field: %v allocations per line", n)
	}
	x = mustCompile(t, Spec{Value: "ms", By: []string{"st"}}, false, `status=(?P<st>\d+) latency_ms":(?P<ms>\d+)`)
	a = x.NewAcc()
	line = []byte(`GET /a status=200 latency_ms":123 more text after it`)
	a.Observe(line, nil, 0)
	if n := testing.AllocsPerRun(1000, func() { a.Observe(line, nil, 0) }); n > 1 {
		t.Errorf("capture: %v allocations per line, want at most regexp's one", n)
	}
}

func TestKeyRoundTrip(t *testing.T) {
	for _, vals := range [][]string{{}, {""}, {"a", ""}, {"", "a"}, {"a\x00b", "c"}, {strings.Repeat("x", 300), "y"}} {
		bs := make([][]byte, len(vals))
		for i, v := range vals {
			bs[i] = []byte(v)
		}
		if got := decodeKey(string(appendKey(nil, bs)), len(vals)); !slices.Equal(got, vals) {
			t.Errorf("%q round-trips as %q", vals, got)
		}
	}
}

// FuzzSummaryValues holds the extraction to a plain reading: the value a
// line yields is what regexp.FindSubmatch captures, counted as a value
// exactly when strconv.ParseFloat reads it as a finite number; the --by
// key of every group decodes to the values that made it; every line is
// counted once, and the quantiles lie within [min, max].
func FuzzSummaryValues(f *testing.F) {
	for _, s := range []string{"v=12 k=a", "v=-0.5e3 k=", "v=NaN k=x", "v=0x1p4 k=\x00", "k=a", "v=1e999 k=b", "v=+.5 k=a b", "v=1_0 k=é"} {
		f.Add(s, false)
		f.Add(`{"v":`+strconv.Quote(s)+`,"k":3}`, true)
	}
	re := `v=(?P<v>\S*)(?: k=(?P<k>.*))?`
	reV := regexp.MustCompile(re)
	f.Fuzz(func(t *testing.T, line string, asJSON bool) {
		x := mustCompile(t, Spec{Value: "v", By: []string{"k"}}, asJSON, re)
		a := x.NewAcc()
		var rec *fields.Record
		if asJSON {
			rec = &fields.Record{}
			if fields.ParseJSON([]byte(line), rec, nil) != nil {
				rec = nil
			}
		}
		lines := strings.Split(line, "\n")
		for _, l := range lines {
			a.Observe([]byte(l), rec, 0)
		}
		// The reference: the line's capture, else the field; a value is
		// a finite float64 (the sketch may still refuse one near the
		// largest, as an error), anything else an error.
		var total, finite, bad int64
		for _, l := range lines {
			total++
			var v []byte
			var ok, isNum bool
			var n float64
			if m := reV.FindSubmatchIndex([]byte(l)); m != nil {
				if m[2] >= 0 {
					v, ok = []byte(l[m[2]:m[3]]), true
				}
			} else if rec != nil {
				if fl := rec.Get("v"); fl != nil {
					v, ok = fl.Value, true
					if fl.Kind == fields.Number {
						n, isNum = fl.Num, true
					}
				}
			}
			if !ok {
				continue
			}
			if !isNum {
				var err error
				if n, err = strconv.ParseFloat(string(v), 64); err != nil {
					n = math.NaN()
				}
			}
			if math.IsNaN(n) || math.IsInf(n, 0) {
				bad++
			} else {
				finite++
			}
		}
		var seen, gotValues, gotErrs int64
		ra := &a.rules[0]
		for key, g := range ra.groups {
			if string(appendKey(nil, bytesOf(decodeKey(key, 1)))) != key {
				t.Fatalf("key %q does not round-trip", key)
			}
			seen += g.lines()
			gotValues += g.count
			gotErrs += g.errors
			if g.count > 0 {
				for _, q := range g.quantiles() {
					if q < g.min || q > g.max {
						t.Fatalf("quantile %v outside [%v, %v]", q, g.min, g.max)
					}
				}
			}
		}
		if seen != total {
			t.Fatalf("%d lines counted, %d observed", seen, total)
		}
		if gotValues+gotErrs != finite+bad || gotValues > finite || gotErrs < bad {
			t.Fatalf("values %d errors %d, want %d values and %d errors", gotValues, gotErrs, finite, bad)
		}
		_ = a.Append(nil)
	})
}

func bytesOf(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}
