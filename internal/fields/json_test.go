package fields

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

// nginxLine is a realistic access-log line for the benchmarks.
var nginxLine = []byte(`{"time":"2026-03-14T09:26:53.589+01:00","remote_addr":"203.0.113.42","method":"GET","uri":"/api/v1/orders?id=4711","status":200,"bytes_sent":5123,"request_time":0.042,"http_referer":"-","http_user_agent":"Mozilla/5.0 (X11; Linux x86_64)","upstream":{"addr":"10.0.0.7:8080","time":0.039},"level":"info","tls":true}`)

// show renders r as "key=kind:value" lines for table comparisons.
func show(r *Record) string {
	var b strings.Builder
	for _, f := range r.Fields {
		fmt.Fprintf(&b, "%s=%s:%s", f.Key, f.Kind, f.Value)
		if f.Kind == Number {
			fmt.Fprintf(&b, "(%g)", f.Num)
		}
		b.WriteByte(' ')
	}
	return strings.TrimSpace(b.String())
}

func TestParseJSON(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		out  string
		err  bool
	}{
		{in: `{}`, out: ``},
		{in: ` {"a":1} `, out: `a=number:1(1)`},
		{in: `{"n":-1.5e3,"z":0,"f":1E-2}`, out: `n=number:-1.5e3(-1500) z=number:0(0) f=number:1E-2(0.01)`},
		{in: `{"b":true,"c":false,"d":null}`, out: `b=bool:true c=bool:false d=null:null`},
		{in: `{"s":"a\"b\\c\/d\n\tx"}`, out: "s=string:a\"b\\c/d\n\tx"},
		{in: `{"u":"\u00e9\ud83d\ude00","lone":"\ud800x"}`, out: "u=string:é😀 lone=string:\uFFFDx"},
		{in: `{"raw":"日本語"}`, out: `raw=string:日本語`},
		{in: `{"a":{"b":{"c":1},"d":"x"},"e":2}`, out: `a.b.c=number:1(1) a.d=string:x e=number:2(2)`},
		{in: `{"arr":[1, {"x":[2]}, "]"],"k":"v"}`, out: `arr=string:[1, {"x":[2]}, "]"] k=string:v`},
		{in: `{"t":"2026-01-02T03:04:05Z","t2":"2026-01-02T03:04:05.123456+05:30","nt":"2026-13-02T03:04:05Z"}`,
			out: `t=time:2026-01-02T03:04:05Z t2=time:2026-01-02T03:04:05.123456+05:30 nt=string:2026-13-02T03:04:05Z`},
		{in: `{"k\"ey":1,"a":{"b\n":2}}`, out: "k\"ey=number:1(1) a.b\n=number:2(2)"},
		{in: string(nginxLine), want: []string{"status", "upstream.addr"}, out: `status=number:200(200) upstream.addr=string:10.0.0.7:8080`},
		{in: `{"a":{"b":1,"c":2},"a.c":3}`, want: []string{"a.c"}, out: `a.c=number:2(2)`},
		{in: `{"x":1,"x":2}`, want: []string{"x"}, out: `x=number:1(1)`},
		{in: `{"x":1,"x":2}`, out: `x=number:1(1) x=number:2(2)`},
		{in: `{"a":1,"skip":[1,2,{"q":"\""}],"b":2,"c":3}`, want: []string{"b", "zz"}, out: `b=number:2(2)`},
		{in: `[1,2]`, err: true},
		{in: `"x"`, err: true},
		{in: ``, err: true},
		{in: `{"a":1`, err: true},
		{in: `{"a":1,}`, err: true},
		{in: `{"a" 1}`, err: true},
		{in: `{"a":01}`, err: true},
		{in: `{"a":-}`, err: true},
		{in: `{"a":1.}`, err: true},
		{in: `{"a":tru}`, err: true},
		{in: `{"a":"x\q"}`, err: true},
		{in: `{"a":"x\u12"}`, err: true},
		{in: `{"a":"unterminated}`, err: true},
		{in: `{"a":1} x`, err: true},
		{in: `{"a":[1,]}`, err: true},
		{in: `{"a":{"b":1}`, err: true},
		{in: `{a:1}`, err: true},
	}
	for _, tt := range tests {
		var r Record
		err := ParseJSON([]byte(tt.in), &r, tt.want)
		if (err != nil) != tt.err {
			t.Errorf("ParseJSON(%q) error = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if got := show(&r); !tt.err && got != tt.out {
			t.Errorf("ParseJSON(%q, %q)\n got %s\nwant %s", tt.in, tt.want, got, tt.out)
		}
	}
}

func TestParseJSONOutOfRange(t *testing.T) {
	var r Record
	if err := ParseJSON([]byte(`{"big":1e400}`), &r, nil); err != nil {
		t.Fatal(err)
	}
	if f := r.Get("big"); f == nil || !math.IsInf(f.Num, 1) {
		t.Errorf("big = %+v, want +Inf", f)
	}
}

func TestParseJSONNoAllocs(t *testing.T) {
	line := []byte(`{"time":"2026-03-14T09:26:53+01:00","msg":"a \"quoted\" word\n","n":-1.5e3,"a":{"b":[1,2]},"ok":true}`)
	var r Record
	for _, want := range [][]string{nil, {"msg", "a.b"}} {
		allocs := testing.AllocsPerRun(100, func() {
			r.Reset()
			if err := ParseJSON(line, &r, want); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("want %q: %v allocs per line, want 0", want, allocs)
		}
	}
}

func FuzzParseJSON(f *testing.F) {
	f.Add(nginxLine)
	f.Add([]byte(`{"a":{"b":[1,"x",{"c":null}]},"s":"\u00e9\n","n":-1.5e3}`))
	f.Add([]byte(`{"":{"":1},"t":"2026-01-02T03:04:05Z"}`))
	f.Add([]byte(`{"log":"hi\n","stream":"stdout","time":"2026-01-02T03:04:05.1Z"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var r Record
		err := ParseJSON(line, &r, nil)
		_ = ParseJSON(line, new(Record), []string{"a", "a.b"})
		_, _ = ParseDocker(line, new(Record))
		_ = Detect(line)
		var ref map[string]any
		if json.Unmarshal(line, &ref) != nil || ref == nil {
			return
		}
		if err != nil {
			t.Fatalf("encoding/json accepts %q, ParseJSON: %v", line, err)
		}
		if !utf8.Valid(line) {
			return // encoding/json replaces invalid UTF-8; we pass it through
		}
		compareJSON(t, line, &r, ref)
	})
}

func compareJSON(t *testing.T, line []byte, r *Record, ref map[string]any) {
	seen := map[string]bool{}
	for _, f := range r.Fields {
		if seen[string(f.Key)] {
			return // repeated or colliding keys: encoding/json keeps one
		}
		seen[string(f.Key)] = true
	}
	want := map[string]any{}
	flatJSON("", false, ref, want)
	for k, v := range want {
		f := r.Get(k)
		if f == nil {
			t.Fatalf("%q: key %q missing", line, k)
		}
		switch v := v.(type) {
		case string:
			if (f.Kind != String && f.Kind != Time) || string(f.Value) != v {
				t.Fatalf("%q: %q = %s %q, want string %q", line, k, f.Kind, f.Value, v)
			}
		case float64:
			if f.Kind != Number || f.Num != v {
				t.Fatalf("%q: %q = %s %v, want number %v", line, k, f.Kind, f.Num, v)
			}
		case bool:
			if f.Kind != Bool || string(f.Value) != fmt.Sprint(v) {
				t.Fatalf("%q: %q = %s %q, want %v", line, k, f.Kind, f.Value, v)
			}
		case nil:
			if f.Kind != Null {
				t.Fatalf("%q: %q = %s, want null", line, k, f.Kind)
			}
		case []any:
			var got []any
			if f.Kind != String || json.Unmarshal(f.Value, &got) != nil {
				t.Fatalf("%q: %q = %s %q, want an array", line, k, f.Kind, f.Value)
			}
		}
	}
}

func flatJSON(prefix string, nested bool, m map[string]any, out map[string]any) {
	for k, v := range m {
		key := k
		if nested {
			key = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok {
			flatJSON(key, true, sub, out)
			continue
		}
		out[key] = v
	}
}

func BenchmarkParseJSON(b *testing.B) {
	for _, bc := range []struct {
		name string
		want []string
	}{{"all", nil}, {"want2", []string{"status", "upstream.addr"}}} {
		b.Run(bc.name, func(b *testing.B) {
			var r Record
			b.SetBytes(int64(len(nginxLine)))
			b.ReportAllocs()
			for b.Loop() {
				r.Reset()
				if err := ParseJSON(nginxLine, &r, bc.want); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
