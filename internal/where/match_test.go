package where

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/fields"
)

// kv is a field as a test writes it; the kind comes from the text the way a
// JSON parser would type a bare value, unless str asks for a JSON string.
type kv struct {
	key, value string
	str        bool
}

func record(kvs ...kv) *fields.Record {
	r := &fields.Record{}
	for _, f := range kvs {
		kind, num := kindOf(f.value, f.str)
		r.Add([]byte(f.key), []byte(f.value), kind, num)
	}
	return r
}

func kindOf(v string, str bool) (fields.Kind, float64) {
	if str {
		if _, ok := parseTime([]byte(v)); ok {
			return fields.Time, 0
		}
		return fields.String, 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && isJSONNumber(v) {
		return fields.Number, n
	}
	switch v {
	case "true", "false":
		return fields.Bool, 0
	case "null":
		return fields.Null, 0
	}
	return fields.String, 0
}

func isJSONNumber(v string) bool {
	_, ok := parseNum([]byte(v))
	return ok && v[0] != '+' && v[0] != '.' && v[len(v)-1] != '.'
}

func TestMatch(t *testing.T) {
	r := record(
		kv{"level", "error", true},
		kv{"status", "200", false},
		kv{"code", "200", true}, // a number written as a JSON string
		kv{"latency", "1.5", false},
		kv{"size", "2e3", false},
		kv{"ok", "true", false},
		kv{"ts", "2026-03-01T10:00:00.5+01:00", true},
		kv{"msg", "connection timed out", true},
		kv{"empty", "", true},
		kv{"nothing", "null", false},
		kv{"word", "slow", true},
		kv{"req.id", "a-1", true},
	)
	tests := []struct {
		expr string
		want bool
	}{
		{"level=error", true},
		{"level=Error", false},
		{"level!=error", false},
		{"level!=debug", true},
		{"missing=x", false},
		{"missing!=x", false}, // a missing field is false
		{"missing!~x", false},
		{"missing<1", false},
		{"status=200", true},
		{"status=200.0", true},
		{"status=2e2", true},
		{"code=200", true},
		{"code=200.00", true},
		{"code!=200", false},
		{"latency=1.50", true},
		{"latency>1", true},
		{"latency<=1.5", true},
		{"latency<1.5", false},
		{"size=2000", true},
		{"size>=1e3", true},
		{"word>900", false}, // not a number: no numeric order
		{"word<900", false},
		{"word=900", false},
		{"word!=900", true},
		{"word>abc", true}, // text order
		{"word<=slow", true},
		{"word<slo", false},
		{"level<=error", true},
		{"ok=true", true},
		{"ok!=false", true},
		{"ok=True", false},
		{"ts=2026-03-01T09:00:00.5Z", true},
		{"ts=2026-03-01T09:00:00.500z", true},
		{"ts!=2026-03-01T09:00:00.5Z", false},
		{"ts>2026-03-01T09:00:00Z", true},
		{"ts<2026-03-01T09:00:00.6Z", true},
		{"ts>2026-03-01 09:00:01Z", false},
		{"msg>2026-03-01T09:00:00Z", false}, // not a time: no time order
		{"ts>1", false},
		{`msg ~ "timed? out"`, true},
		{`msg ~ ^timed`, false},
		{`msg !~ refused`, true},
		{`msg !~ (?i)CONNECTION`, false},
		{`status ~ ^2\d\d$`, true},
		{`empty = ""`, true},
		{`empty != ""`, false},
		{`empty < a`, true},
		{`nothing = null`, true},
		{`req.id = a-1`, true},
		{`req.id ~ -`, true},
	}
	for _, tt := range tests {
		e, err := Parse(tt.expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.expr, err)
		}
		if got := e.Match(r); got != tt.want {
			t.Errorf("%q.Match = %v, want %v", tt.expr, got, tt.want)
		}
	}
	if e, _ := Parse("a=1"); e.Match(nil) {
		t.Error("Match(nil) = true")
	}
}

func TestParseNum(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0", 0, true},
		{"-12.5", -12.5, true},
		{"+5", 5, true},
		{".5", .5, true},
		{"5.", 5, true},
		{"1e3", 1000, true},
		{"1E-3", .001, true},
		{"1e400", math.Inf(1), true},
		{"-1e400", math.Inf(-1), true},
		{"1e-400", 0, true},
		{"0e999999999999", 0, true},
		{"1.7976931348623157e308", math.MaxFloat64, true},
		{"1.7976931348623158e308", math.MaxFloat64, true},
		{"", 0, false},
		{"-", 0, false},
		{".", 0, false},
		{"1e", 0, false},
		{"1e+", 0, false},
		{"NaN", 0, false},
		{"Inf", 0, false},
		{"0x10", 0, false},
		{"1_000", 0, false},
		{"1 ", 0, false},
		{"--1", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseNum([]byte(tt.in))
		if ok != tt.ok || ok && got != tt.want {
			t.Errorf("parseNum(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestOverflowThreshold(t *testing.T) {
	want := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 1024), new(big.Int).Lsh(big.NewInt(1), 970))
	if overflowThreshold != want.String() {
		t.Fatal("overflowThreshold is not 2^1024 - 2^970")
	}
	below := new(big.Int).Sub(want, big.NewInt(1)).String()
	if n, _ := parseNum([]byte(below)); n != math.MaxFloat64 {
		t.Errorf("threshold-1 = %v, want MaxFloat64", n)
	}
	for _, s := range []string{overflowThreshold, "-" + overflowThreshold, overflowThreshold[:300] + "." + overflowThreshold[300:] + "e9", "0.00" + overflowThreshold + "e311"} {
		if n, _ := parseNum([]byte(s)); !math.IsInf(n, 0) {
			t.Errorf("%s = %v, want Inf", s, n)
		}
	}
	if n, _ := parseNum([]byte(below + ".999e0")); n != math.MaxFloat64 {
		t.Errorf("threshold-0.001 = %v, want MaxFloat64", n)
	}
}

func TestParseTime(t *testing.T) {
	good := []string{
		"2026-03-01T10:00:00Z",
		"2026-03-01t10:00:00z",
		"2026-03-01 10:00:00+01:00",
		"2024-02-29T23:59:59.123456789-12:30",
		"2026-03-01T10:00:00.1234567891Z",
	}
	for _, s := range good {
		if _, ok := parseTime([]byte(s)); !ok {
			t.Errorf("parseTime(%q) failed", s)
		}
	}
	bad := []string{
		"2026-03-01", "2026-03-01T10:00:00", "2026-13-01T10:00:00Z", "2025-02-29T10:00:00Z",
		"2026-03-01T24:00:00Z", "2026-03-01T10:00:60Z", "2026-03-01T10:00:00.Z",
		"2026-03-01T10:00:00+0100", "2026-03-01T10:00:00+01:00x", "2026/03/01T10:00:00Z",
	}
	for _, s := range bad {
		if _, ok := parseTime([]byte(s)); ok {
			t.Errorf("parseTime(%q) succeeded", s)
		}
	}
	a, _ := parseTime([]byte("2026-03-01T10:00:00.25+01:00"))
	b, _ := parseTime([]byte("2026-03-01T09:00:00.250Z"))
	if a != b {
		t.Errorf("%v != %v", a, b)
	}
}

func TestMatchAllocs(t *testing.T) {
	r := record(
		kv{"level", "error", true},
		kv{"latency", "1.5", true},
		kv{"big", "1e999", true},
		kv{"ts", "2026-03-01T10:00:00+01:00", true},
		kv{"msg", "connection timed out after a long long long long wait", true},
	)
	for _, expr := range []string{
		"level=error", "level!=warn", "latency>1", "latency=1.50", "big>1",
		"ts>2026-03-01T08:00:00-01:00", "ts=2026-03-01T09:00:00Z", "msg>a",
		`msg~"timed? out"`, "msg!~^x", "missing=1",
		"msg=connection timed out after a long long long long wait",
	} {
		e, err := Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		if raceEnabled && strings.Contains(expr, "~") {
			continue // the regexp's machines come from a sync.Pool, which -race empties at random
		}
		if n := testing.AllocsPerRun(100, func() { e.Match(r) }); n != 0 {
			t.Errorf("%q: %v allocs per Match", expr, n)
		}
	}
}

func TestDaysFromCivil(t *testing.T) {
	for _, s := range []string{
		"0000-01-01T00:00:00Z", "0000-03-01T00:00:00Z", "1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z",
		"2000-02-29T12:00:00+05:30", "2024-12-31T23:59:59-08:00", "9999-12-31T23:59:59Z", "2026-03-01T00:00:00Z",
	} {
		want, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := parseTime([]byte(s))
		if !ok || got.sec != want.Unix() {
			t.Errorf("parseTime(%q) = %d, want %d", s, got.sec, want.Unix())
		}
	}
}
