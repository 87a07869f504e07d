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
		{Path: "multi.log", Line: 12, Offset: 300, Text: []byte("foo bar foo \xff\xfe\r"), Rule: "r", Pattern: `foo|\xff`, Spans: []int{0, 3, 8, 11, 12, 13}},
		{Path: "multi.log", Line: 13, Offset: 318, Text: []byte("bad spans"), Spans: []int{4, 2, 0, 3, 1, 2, 5, 99}},
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
		{"text-b", Options{Filename: true, LineNumbers: true, ByteOffset: true}},
		{"text-Z", Options{Filename: true, Null: true}},
		{"text-o", Options{Filename: true, LineNumbers: true, ByteOffset: true, OnlyMatching: true}},
		{"color-o", Options{Filename: true, ByteOffset: true, OnlyMatching: true, Color: true}},
		{"color-sl", Options{Filename: true, Color: true, Colors: &slColors}},
		{"json-ignores-text-options", Options{Format: JSON, ByteOffset: true, Null: true, OnlyMatching: true}},
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
		subs, _ := got["submatches"].([]any)
		var spans []int
		for _, sub := range subs {
			sm := sub.(map[string]any)
			m := sm["match"].(map[string]any)
			s, e := int(sm["start"].(float64)), int(sm["end"].(float64))
			mt, ok := m["text"].(string)
			if !ok {
				b, _ := base64.StdEncoding.DecodeString(m["text_base64"].(string))
				mt = string(b)
			}
			if mt != string(r.Text[s:e]) {
				t.Errorf("submatch [%d,%d) of %q came back as %q", s, e, r.Text, mt)
			}
			spans = append(spans, s, e)
		}
		if len(r.Spans) > 0 && len(spans) == 0 {
			t.Errorf("record %q with spans %v has no submatches", r.Text, r.Spans)
		}
	}
}

func TestAppendDoesNotAllocate(t *testing.T) {
	for _, o := range []Options{
		{Format: Text, Filename: true, LineNumbers: true},
		{Format: JSON},
		{Filename: true, LineNumbers: true, ByteOffset: true, Null: true, Color: true, Colors: &slColors},
		{Filename: true, ByteOffset: true, OnlyMatching: true, Color: true},
	} {
		p := NewPrinter(o)
		for _, r := range records() {
			buf := make([]byte, 0, 4096)
			if n := testing.AllocsPerRun(100, func() { buf = p.Append(buf[:0], &r) }); n != 0 {
				t.Errorf("options %+v, record %q: %v allocs per Append", o, r.Text, n)
			}
		}
	}
}

var slColors = ParseGrepColors("sl=1:cx=2:ms=4;31:ne")

func TestParseGrepColors(t *testing.T) {
	def := DefaultColors()
	with := func(f func(*Colors)) Colors {
		c := DefaultColors()
		f(&c)
		return c
	}
	tests := []struct {
		in   string
		want Colors
	}{
		{"", def},
		{"ms=01;32", with(func(c *Colors) { c.SelectedMatch = "01;32" })},
		{"mt=01;32", with(func(c *Colors) { c.SelectedMatch, c.ContextMatch = "01;32", "01;32" })},
		{"ms=4:mt", with(func(c *Colors) { c.SelectedMatch, c.ContextMatch = "4", "4" })},
		{"mc=5:ms", with(func(c *Colors) { c.ContextMatch = "5" })}, // a name alone sets nothing
		{"fn=1:ln=2:bn=3:se=4:sl=5:cx=6", with(func(c *Colors) {
			c.Filename, c.LineNumber, c.ByteOffset, c.Separator, c.SelectedLine, c.ContextLine = "1", "2", "3", "4", "5", "6"
		})},
		{"ms=:fn=", with(func(c *Colors) { c.SelectedMatch, c.Filename = "", "" })},
		{"rv:ne", with(func(c *Colors) { c.Reverse, c.NoErase = true, true })},
		{"ne=1", with(func(c *Colors) { c.NoErase = true })},
		{"fn=31:ms=x1:ln=33", with(func(c *Colors) { c.Filename = "31" })}, // stops at the x
		{"fn=31:=4:ln=33", with(func(c *Colors) { c.Filename = "31" })},
		{"fn=3=1:ln=33", def},
		{"zz=1::bn=34:", with(func(c *Colors) { c.ByteOffset = "34" })},
	}
	for _, tt := range tests {
		if got := ParseGrepColors(tt.in); got != tt.want {
			t.Errorf("ParseGrepColors(%q) = %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
}
