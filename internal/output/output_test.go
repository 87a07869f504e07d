package output

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func records() []Record {
	return []Record{
		{Path: "var/log/syslog", Line: 3, Offset: 120, Text: []byte("Nov  1 ERROR disk full"), Rule: "errors", Pattern: "ERROR", Spans: []int{7, 12}},
		{Path: "var/log/syslog", Line: 4, Offset: 143, Text: []byte("context line"), Context: true},
		{Path: "a b/crlf.log", Line: 1, Offset: 0, Text: []byte("ERROR with CR\r"), Spans: []int{0, 5}},
		{Path: "bin.log", Line: 9, Offset: 77, Text: []byte("bad \xff\xfe utf8 \x00 nul")},
		{Path: "q\"uote\\.log", FileID: "2049:1234", Offset: 5, Text: []byte("tab\there \"q\" \x01\x7f"), Rule: "", Time: time.Date(2026, 11, 28, 10, 0, 0, 5, time.UTC)},
		{Path: "bad\xffpath.log", Line: 1, Text: []byte("x")},
	}
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"text", Options{Filename: true}},
		{"text-n", Options{Filename: true, LineNumbers: true}},
		{"text-bare", Options{}},
		{"color", Options{Filename: true, LineNumbers: true, Color: true}},
		{"json", Options{Format: JSON}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPrinter(tt.opts)
			var b []byte
			for i, r := range records() {
				if i == 2 {
					b = p.AppendSeparator(b)
				}
				b = p.Append(b, &r)
			}
			b = p.AppendCount(b, "var/log/syslog", 42)
			b = p.AppendPath(b, "var/log/syslog")
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != string(want) {
				t.Errorf("output differs from %s:\n got: %q\nwant: %q", golden, b, want)
			}
		})
	}
}

// TestJSONRoundTrip proves the JSON is valid and that every byte survives,
// including bytes that are not UTF-8.
func TestJSONRoundTrip(t *testing.T) {
	p := NewPrinter(Options{Format: JSON})
	for _, r := range records() {
		b := p.Append(nil, &r)
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("invalid JSON %q: %v", b, err)
		}
		var text []byte
		var err error
		if s, ok := got["text"].(string); ok {
			text = []byte(s)
		} else {
			text, err = base64.StdEncoding.DecodeString(got["text_base64"].(string))
			if err != nil {
				t.Fatal(err)
			}
		}
		if string(text) != string(r.Text) {
			t.Errorf("text %q came back as %q", r.Text, text)
		}
		if s, ok := got["path"].(string); ok && s != r.Path {
			t.Errorf("path %q came back as %q", r.Path, s)
		}
	}
}

func TestAppendDoesNotAllocate(t *testing.T) {
	for _, f := range []Format{Text, JSON} {
		p := NewPrinter(Options{Format: f, Filename: true, LineNumbers: true})
		r := records()[0]
		buf := make([]byte, 0, 4096)
		if n := testing.AllocsPerRun(100, func() { buf = p.Append(buf[:0], &r) }); n != 0 {
			t.Errorf("format %d: %v allocs per Append", f, n)
		}
	}
}
