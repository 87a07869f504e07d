package match

import "testing"

// TestCaptureRegexps: each pattern's regexp keeps its group names and
// matches as the pattern selects, under -i, -w and -x.
func TestCaptureRegexps(t *testing.T) {
	for _, tt := range []struct {
		opts Options
		pat  string
		line string
		want string // the group's text; "" for no match
	}{
		{Options{}, `ms=(?P<ms>\d+)`, "a ms=12 b", "12"},
		{Options{IgnoreCase: true}, `MS=(?P<ms>\d+)`, "a ms=12 b", "12"},
		{Options{Word: true}, `ms=(?P<ms>\d+)`, "xms=1 ms=12 b", "12"},
		{Options{Word: true}, `\d+ (?P<ms>\d+)`, "1 2x 3 4", "4"},
		{Options{Line: true}, `ms=(?P<ms>\d+)`, "a ms=12", ""},
		{Options{Line: true}, `.*ms=(?P<ms>\d+)`, "a ms=12", "12"},
	} {
		m, err := Compile([]Rule{{Match: []string{tt.pat, "plain"}}}, tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		res := m.CaptureRegexps(0)
		if len(res) != 2 || res[1].NumSubexp() != 0 {
			t.Fatalf("%s: %d regexps", tt.pat, len(res))
		}
		re := res[0]
		got := ""
		if loc := re.FindStringSubmatchIndex(tt.line); loc != nil {
			i := re.SubexpIndex("ms")
			got = tt.line[loc[2*i]:loc[2*i+1]]
		}
		if got != tt.want {
			t.Errorf("%+v %s on %q: %q, want %q", tt.opts, tt.pat, tt.line, got, tt.want)
		}
	}
	if m, _ := Compile([]Rule{{Match: []string{"x"}}}, Options{}); m.CaptureRegexps(1) != nil || m.CaptureRegexps(-1) != nil {
		t.Error("a rule out of range has regexps")
	}
}
