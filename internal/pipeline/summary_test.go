package pipeline

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/logscan/logscan/internal/fields"
)

// TestSummaryObserves: in Summary mode every path of the select stage (the
// block search, the line-at-a-time path, the event stages, a named binary
// file) hands the selected lines to Observe with their rule, and prints
// nothing.
func TestSummaryObserves(t *testing.T) {
	text := "a ms=1\nb\nc ms=2 x\nd ms=3\n"
	json := `{"ms":1,"k":"a"}` + "\n" + `{"k":"b"}` + "\nnot json\n" + `{"ms":3}` + "\n"
	cases := []struct {
		name       string
		flags      map[string]any
		content    string
		lineByLine bool
		named      bool
		want       []string
	}{
		{"block", map[string]any{"match": []string{`ms=(?P<ms>\d+)`}, "summary": "ms"}, text, false, false,
			[]string{"0 a ms=1", "0 c ms=2 x", "0 d ms=3"}},
		{"line by line", map[string]any{"match": []string{`ms=(?P<ms>\d+)`}, "summary": "ms"}, text, true, false,
			[]string{"0 a ms=1", "0 c ms=2 x", "0 d ms=3"}},
		{"max count", map[string]any{"match": []string{`ms=(?P<ms>\d+)`}, "summary": "ms", "output.max_count": "2"}, text, false, false,
			[]string{"0 a ms=1", "0 c ms=2 x"}},
		{"binary, named", map[string]any{"match": []string{`ms=(?P<ms>\d+)`}, "summary": "ms"}, "\x00" + text, false, true,
			[]string{"0 \x00a ms=1", "0 c ms=2 x", "0 d ms=3"}},
		{"events", map[string]any{"format": "json", "match": []string{""}, "summary": "ms", "summary_by": "k"}, json, false, false,
			[]string{`0 {"ms":1,"k":"a"} fields=2`, `0 {"k":"b"} fields=1`, "0 not json fields=0", `0 {"ms":3} fields=1`}},
		{"events, inverted", map[string]any{"format": "json", "match": []string{"b"}, "invert": true, "summary": "ms"}, json, false, false,
			[]string{`-1 {"ms":1,"k":"a"} fields=1`, "-1 not json fields=0", `-1 {"ms":3} fields=1`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := compile(t, c.flags)
			if p.Mode != Summary || p.Summary == nil {
				t.Fatalf("mode %v, extractor %v", p.Mode, p.Summary)
			}
			p.lineByLine = c.lineByLine
			s := NewScanner(p, 1<<16, nil)
			var got []string
			s.Observe = func(text []byte, rec *fields.Record, rule int) {
				l := fmt.Sprintf("%d %s", rule, text)
				if rec != nil {
					l += fmt.Sprintf(" fields=%d", len(rec.Fields))
				}
				got = append(got, l)
			}
			s.Begin("f", "", 1, c.named)
			s.Block([]byte(c.content), 0, 0)
			s.End()
			if len(s.Buf) > 0 {
				t.Errorf("printed %q", s.Buf)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("observed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}
