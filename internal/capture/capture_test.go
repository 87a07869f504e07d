package capture

import (
	"math"
	"regexp"
	"testing"

	"github.com/logscan/logscan/internal/fields"
)

func TestGet(t *testing.T) {
	rules := []Rule{
		{Name: "http", Patterns: []*regexp.Regexp{
			regexp.MustCompile(`nomatch(?P<status>x)`),
			regexp.MustCompile(`" (?P<status>\d{3}) (?P<bytes>\d+)?`),
		}},
		{Name: "plain", Patterns: []*regexp.Regexp{regexp.MustCompile(`ERROR`)}},
	}
	rec := &fields.Record{}
	rec.Add([]byte("status"), []byte("201"), fields.Number, 201)
	rec.Add([]byte("route"), []byte("/a"), fields.String, 0)
	tests := []struct {
		name   string
		fields bool
		text   string
		rec    *fields.Record
		rule   int
		want   map[string]string // name → value, absent: missing
	}{
		{"captures", false, `"GET /" 503 12`, nil, 0, map[string]string{"status": "503", "bytes": "12"}},
		{"a group that took no part is missing", false, `"GET /" 503 `, nil, 0, map[string]string{"status": "503"}},
		{"no pattern matches", false, `nothing`, nil, 0, map[string]string{}},
		{"the second line of an event", false, "first\n\"GET /\" 404 7", nil, 0, map[string]string{"status": "404", "bytes": "7"}},
		{"a capture wins over a field", true, `"GET /" 503 12`, rec, 0, map[string]string{"status": "503", "bytes": "12", "route": "/a"}},
		{"fields of a rule without groups", true, `ERROR`, rec, 1, map[string]string{"status": "201", "route": "/a"}},
		{"fields ignored without fields", false, `ERROR`, rec, 1, map[string]string{}},
		{"no rule (-v) reads fields", true, `x`, rec, -1, map[string]string{"status": "201", "route": "/a"}},
	}
	names := []string{"status", "bytes", "route"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := Compile(names, rules, tt.fields)
			m := x.NewMatch()
			m.Reset([]byte(tt.text), tt.rec, tt.rule)
			for i, n := range names {
				v, _, ok := m.Get(i)
				want, wantOK := tt.want[n]
				if ok != wantOK || string(v) != want {
					t.Errorf("%s = %q, %v; want %q, %v", n, v, ok, want, wantOK)
				}
			}
		})
	}
}

func TestNumber(t *testing.T) {
	x := Compile([]string{"v"}, []Rule{{Patterns: []*regexp.Regexp{regexp.MustCompile(`v=(?P<v>\S*)`)}}}, true)
	m := x.NewMatch()
	for _, tt := range []struct {
		text string
		want float64
		st   Status
	}{
		{"v=12.5", 12.5, OK}, {"v=-3", -3, OK}, {"v=0x1p4", 16, OK}, {"v=abc", 0, NotANumber},
		{"v=NaN", 0, NotANumber}, {"v=1e999", 0, NotANumber}, {"v=", 0, NotANumber}, {"x", 0, Missing},
	} {
		m.Reset([]byte(tt.text), nil, 0)
		if n, st := m.Number(0); n != tt.want || st != tt.st {
			t.Errorf("%q: %v, %v; want %v, %v", tt.text, n, st, tt.want, tt.st)
		}
	}
	rec := &fields.Record{}
	rec.Add([]byte("v"), []byte("1e999"), fields.Number, math.Inf(1))
	m.Reset([]byte("x"), rec, 0)
	if _, st := m.Number(0); st != NotANumber {
		t.Errorf("an infinite field: %v", st)
	}
}

func TestCaptures(t *testing.T) {
	rules := []Rule{
		{Name: "a", Patterns: []*regexp.Regexp{regexp.MustCompile(`(?P<x>\d)`)}},
		{Name: "b", Patterns: []*regexp.Regexp{regexp.MustCompile(`(?P<y>\d)`)}},
	}
	x := Compile([]string{"x", "y"}, rules, false)
	if !x.Captures(0, "x") || x.Captures(0, "y") || !x.Captures(-1, "y") || x.Captures(-1, "z") {
		t.Error("Captures")
	}
	err := x.CheckNames(0, []string{"x", "y"})
	if ne, ok := err.(*NameError); !ok || ne.Name != "y" || ne.Rule != "a" {
		t.Errorf("CheckNames: %v", err)
	}
	if !Compile([]string{"x"}, rules, true).Captures(1, "anything") {
		t.Error("with fields any name may be held")
	}
}

func TestParseValue(t *testing.T) {
	for s, want := range map[string]bool{
		"12": true, "-1.5": true, "2e3": true, "0x1p-2": true, "+7": true, ".5": true,
		"": false, "-": false, "NaN": false, "inf": false, "-Inf": false, "1e400": false, "12ms": false, "1,5": false, " 1": false,
	} {
		if _, ok := ParseValue([]byte(s)); ok != want {
			t.Errorf("ParseValue(%q) ok = %v, want %v", s, ok, want)
		}
	}
}

func BenchmarkGetField(b *testing.B) {
	x := Compile([]string{"status"}, nil, true)
	m := x.NewMatch()
	rec := &fields.Record{}
	rec.Add([]byte("status"), []byte("200"), fields.Number, 200)
	text := []byte("x")
	b.ReportAllocs()
	for b.Loop() {
		m.Reset(text, rec, -1)
		if _, st := m.Number(0); st != OK {
			b.Fatal(st)
		}
	}
}
