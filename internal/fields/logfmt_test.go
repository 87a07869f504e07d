package fields

import (
	"testing"
)

var logfmtLine = []byte(`time=2026-03-14T09:26:53.589Z level=info msg="GET /api/v1/orders \"4711\"" status=200 bytes=5123 took=0.042 remote=203.0.113.42 ua="Mozilla/5.0 (X11; Linux x86_64)" cached tls=true`)

func TestParseLogfmt(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		out  string
		err  bool
	}{
		{in: `a=1 b=-1.5e3 c=true d=false e=x`, out: `a=number:1(1) b=number:-1.5e3(-1500) c=bool:true d=bool:false e=string:x`},
		{in: `k="quoted \" value" flag`, out: `k=string:quoted " value flag=bool:true`},
		{in: `k="a\\b\nc\td\u00e9\q"`, out: "k=string:a\\b\nc\td\u00e9\\q"},
		{in: `t=2026-01-02T03:04:05Z q="2026-01-02T03:04:05+01:00" n="12"`, out: `t=time:2026-01-02T03:04:05Z q=time:2026-01-02T03:04:05+01:00 n=string:12`},
		{in: `empty= x=1`, out: `empty=string: x=number:1(1)`},
		{in: `url=/a?b=c&d=e v=007 w=1.`, out: `url=string:/a?b=c&d=e v=string:007 w=string:1.`},
		{in: `k.e-y/x:y@z=v 日本=語`, out: `k.e-y/x:y@z=string:v 日本=string:語`},
		{in: "  a=1\tb=2  ", out: `a=number:1(1) b=number:2(2)`},
		{in: `a=1 b=2 c=3`, want: []string{"c", "a"}, out: `a=number:1(1) c=number:3(3)`},
		{in: `a="x y" b=2`, want: []string{"b"}, out: `b=number:2(2)`},
		{in: `just some words`, err: true},
		{in: ``, err: true},
		{in: `a="unterminated`, err: true},
		{in: `a=1 ="x"`, err: true},
		{in: `a=1 "k"=v`, err: true},
		{in: `a=1 b="x\"`, err: true},
	}
	for _, tt := range tests {
		var r Record
		err := ParseLogfmt([]byte(tt.in), &r, tt.want)
		if (err != nil) != tt.err {
			t.Errorf("ParseLogfmt(%q) error = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if got := show(&r); !tt.err && got != tt.out {
			t.Errorf("ParseLogfmt(%q, %q)\n got %s\nwant %s", tt.in, tt.want, got, tt.out)
		}
	}
}

func TestParseLogfmtNoAllocs(t *testing.T) {
	var r Record
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset()
		if err := ParseLogfmt(logfmtLine, &r, nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocs per line, want 0", allocs)
	}
}

func FuzzParseLogfmt(f *testing.F) {
	f.Add(logfmtLine)
	f.Add([]byte(`a="x\u12" b=\ c`))
	f.Add([]byte(`k="\\" z= "`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var r Record
		n, err := parseLogfmt(line, &r, nil)
		if err == nil && n == 0 {
			t.Fatalf("%q: accepted without a pair", line)
		}
		for _, fl := range r.Fields {
			if len(fl.Key) == 0 {
				t.Fatalf("%q: empty key", line)
			}
		}
		_ = ParseLogfmt(line, new(Record), []string{"a"})
	})
}

func BenchmarkParseLogfmt(b *testing.B) {
	var r Record
	b.SetBytes(int64(len(logfmtLine)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset()
		if err := ParseLogfmt(logfmtLine, &r, nil); err != nil {
			b.Fatal(err)
		}
	}
}
