package fields

import (
	"strings"
	"testing"
	"time"
)

func TestParseDocker(t *testing.T) {
	tests := []struct {
		in          string
		log, stream string
		partial     bool
		err         bool
	}{
		{in: `{"log":"hello \"x\"\n","stream":"stdout","time":"2026-01-02T03:04:05.123456789Z"}`, log: `hello "x"`, stream: "stdout"},
		{in: `{"log":"part","stream":"stderr","attrs":{"a":[1]},"time":"2026-01-02T03:04:05Z"}`, log: "part", stream: "stderr", partial: true},
		{in: `{"log":"\n"}`, log: ""},
		{in: `{"stream":"stdout"}`, err: true},
		{in: `{"log":1}`, err: true},
		{in: `{"log":"x\n"} junk`, err: true},
		{in: `not json`, err: true},
	}
	for _, tt := range tests {
		var r Record
		d, err := ParseDocker([]byte(tt.in), &r)
		if (err != nil) != tt.err {
			t.Errorf("ParseDocker(%q) error = %v", tt.in, err)
			continue
		}
		if !tt.err && (string(d.Log) != tt.log || string(d.Stream) != tt.stream || d.Partial != tt.partial) {
			t.Errorf("ParseDocker(%q) = %+v", tt.in, d)
		}
	}
	var j Joiner
	var r Record
	for _, l := range []string{`{"log":"a","time":"1"}`, `{"log":"b","time":"2"}`, `{"log":"c\n","time":"3"}`} {
		d, err := ParseDocker([]byte(l), &r)
		if err != nil {
			t.Fatal(err)
		}
		if msg, ok := j.AddDocker(d); ok && (string(msg) != "abc" || string(j.Time()) != "1") {
			t.Errorf("joined %q at %q", msg, j.Time())
		}
	}
}

func TestSeverity(t *testing.T) {
	tests := []struct {
		in   string
		text string
		num  int
	}{
		{"trace", "TRACE", 1}, {"DEBUG", "DEBUG", 5}, {"Info", "INFO", 9}, {"information", "INFO", 9},
		{"notice", "INFO2", 10}, {"warn", "WARN", 13}, {"WARNING", "WARN", 13}, {"error", "ERROR", 17},
		{"err", "ERROR", 17}, {"crit", "ERROR2", 18}, {"critical", "ERROR2", 18}, {"alert", "ERROR3", 19},
		{"fatal", "FATAL", 21}, {"panic", "FATAL", 21}, {"emerg", "FATAL", 21}, {"emergency", "FATAL", 21},
		{"I", "INFO", 9}, {"W", "WARN", 13}, {"E", "ERROR", 17}, {"D", "DEBUG", 5}, {"F", "FATAL", 21},
		{"0", "FATAL", 21}, {"3", "ERROR", 17}, {"7", "DEBUG", 5}, {"30", "INFO", 9}, {"50", "ERROR", 17},
		{"", "", 0}, {"verbose", "", 0}, {"8", "", 0}, {"a-very-long-level-name", "", 0},
	}
	for _, tt := range tests {
		if text, num := Severity([]byte(tt.in)); text != tt.text || num != tt.num {
			t.Errorf("Severity(%q) = %q, %d, want %q, %d", tt.in, text, num, tt.text, tt.num)
		}
	}
	if a := testing.AllocsPerRun(10, func() { Severity([]byte("WARNING")) }); a != 0 {
		t.Errorf("Severity allocates %v", a)
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC3339Nano in UTC; "" for not a time
	}{
		{"2026-01-02T03:04:05Z", "2026-01-02T03:04:05Z"},
		{"2026-01-02T03:04:05.123456789Z", "2026-01-02T03:04:05.123456789Z"},
		{"2026-01-02T03:04:05.5+01:30", "2026-01-02T01:34:05.5Z"},
		{"2024-02-29T23:59:59-00:30", "2024-03-01T00:29:59Z"},
		{"2026-01-02 03:04:05", "2026-01-02T03:04:05Z"},
		{"2026-01-02 03:04:05.250", "2026-01-02T03:04:05.25Z"},
		{"1700000000", "2023-11-14T22:13:20Z"},
		{"1700000000.5", "2023-11-14T22:13:20.5Z"},
		{"1700000000123", "2023-11-14T22:13:20.123Z"},
		{"1700000000123.5", "2023-11-14T22:13:20.1235Z"},
		{"1700000000123456789", "2023-11-14T22:13:20.123456789Z"},
		{"2025-02-29T00:00:00Z", ""},
		{"2026-01-02T24:00:00Z", ""},
		{"2026-01-02T03:04:05+24:00", ""},
		{"2026-01-02T03:04:05", ""},
		{"2026-01-02T03:04:05.Z", ""},
		{"12a", ""}, {"", ""}, {"1.", ""}, {"-1", ""},
	}
	for _, tt := range tests {
		got, ok := ParseTime([]byte(tt.in))
		if ok != (tt.want != "") || ok && got.Format(time.RFC3339Nano) != tt.want {
			t.Errorf("ParseTime(%q) = %v, %v, want %q", tt.in, got.Format(time.RFC3339Nano), ok, tt.want)
		}
	}
}

// FuzzRFC3339 holds isRFC3339 and ParseTime to time.Parse, which they
// replace on the hot path.
func FuzzRFC3339(f *testing.F) {
	f.Add("2026-01-02T03:04:05.123+01:00")
	f.Add("0000-02-29T00:00:00Z")
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := time.Parse(time.RFC3339, s)
		// time.Parse also takes a one-digit hour ("T0:00:00") and an
		// offset's minutes up to 99 ("+00:60"), which RFC 3339 does not.
		strict := err == nil && len(s) >= 20 && s[19] != ',' && s[13] == ':' && s[16] == ':' && rfcOffset(s)
		if isRFC3339([]byte(s)) != strict {
			t.Fatalf("isRFC3339(%q) = %v, time.Parse: %v", s, !strict, err)
		}
		if got, ok := ParseTime([]byte(s)); strict && (!ok || !got.Equal(ref)) {
			t.Fatalf("ParseTime(%q) = %v, %v, want %v", s, got, ok, ref)
		}
	})
}

// rfcOffset reports whether s ends in Z or in an offset whose hours and
// minutes RFC 3339 allows (at most 23 and 59).
func rfcOffset(s string) bool {
	if strings.HasSuffix(s, "Z") {
		return true
	}
	if len(s) < 6 {
		return false
	}
	z := s[len(s)-6:]
	return (z[0] == '+' || z[0] == '-') && z[1:3] <= "23" && z[4:6] <= "59"
}

func TestFormat(t *testing.T) {
	for f := FormatText; f <= FormatAuto; f++ {
		if g, ok := ParseFormat(f.String()); !ok || g != f {
			t.Errorf("ParseFormat(%q) = %v, %v", f, g, ok)
		}
	}
	if _, ok := ParseFormat("xml"); ok {
		t.Error("ParseFormat accepted xml")
	}
	tests := []struct {
		in   string
		want Format
	}{
		{`{"log":"x\n","stream":"stdout","time":"2026-01-02T03:04:05Z"}`, FormatDocker},
		{`{"log":"x\n","stream":"stdout","time":"2026-01-02T03:04:05Z","attrs":{"tag":"a"}}`, FormatDocker},
		{`{"log":"x\n","stream":"stdout"}`, FormatJSON},
		{string(nginxLine), FormatJSON},
		{`  {"a":1}`, FormatJSON},
		{`{not json} a=1 b=2`, FormatLogfmt},
		{string(criLine), FormatCRI},
		{string(logfmtLine), FormatLogfmt},
		{`msg="a b=c"`, FormatText},
		{`GET /index.html 200`, FormatText},
		{``, FormatText},
	}
	for _, tt := range tests {
		if got := Detect([]byte(tt.in)); got != tt.want {
			t.Errorf("Detect(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
