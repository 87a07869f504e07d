package where

import "testing"

func TestLiteral(t *testing.T) {
	tests := []struct {
		expr string
		lit  string // "" for ok=false
		key  string
	}{
		{"level=error", "error", "level"},
		{"level!=error", "", "level"},
		{"latency>900", "", "latency"},
		{"status=200", "", "status"}, // 200.0, 2e2
		{"ts=2026-03-01T10:00:00Z", "", "ts"},
		{`msg="say \"hi\" now"`, "say ", "msg"},
		{`path=/var/log/app.log`, "app.log", "path"},
		{`msg = café au lait`, " au lait", "msg"},
		{`msg = "<b>"`, "b", "msg"},
		{`msg = ""`, "", "msg"},
		{`msg = "\\"`, "", "msg"},
		{`a.b.request_id = x`, "x", "request_id"},
		{`a.b.c = x`, "x", "a"},
		{`kubernetes/pod = x`, "x", "kubernetes"},
		{`käse = x`, "x", "se"},
		{`msg ~ "timed? out"`, "time", "msg"},
		{`msg ~ "connection (refused|reset)"`, "connection re", "msg"},
		{`msg ~ foo|foobar`, "foo", "msg"},
		{`msg ~ foo|bar`, "", "msg"},
		{`msg ~ (?i)error`, "", "msg"},
		{`msg ~ (?i)404`, "404", "msg"},
		{`msg ~ abc(?i)def`, "abc", "msg"},
		{`msg ~ ^user=\w+ action=login$`, " action=login", "msg"},
		{`msg ~ "x+y{2,}z"`, "xyy", "msg"},
		{`msg ~ (ab)+cd`, "abcd", "msg"},
		{`msg ~ a.*bcd.*e`, "bcd", "msg"},
		{`msg ~ "[x]yz"`, "xyz", "msg"},
		{`msg ~ "a\"b"`, "a", "msg"},
		{`msg ~ (x)?`, "", "msg"},
		{`msg !~ error`, "", "msg"},
	}
	for _, tt := range tests {
		e, err := Parse(tt.expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.expr, err)
		}
		lit, ok := e.Literal()
		if ok != (tt.lit != "") || string(lit) != tt.lit {
			t.Errorf("%q.Literal() = %q, %v; want %q", tt.expr, lit, ok, tt.lit)
		}
		if got := e.KeyLiteral(); string(got) != tt.key {
			t.Errorf("%q.KeyLiteral() = %q, want %q", tt.expr, got, tt.key)
		}
	}
}

func TestLiterals(t *testing.T) {
	var exprs []*Expr
	for _, s := range []string{"level=error", "msg ~ (?i)x", "request_id=ab", "é=1", "a=verylongvalue"} {
		exprs = append(exprs, mustParse(t, s))
	}
	got := Literals(exprs)
	want := []string{"level", "msg", "request_id", "", "verylongvalue"}
	if len(got) != len(want) {
		t.Fatalf("Literals = %q, want %q", got, want)
	}
	for i := range want {
		if string(got[i]) != want[i] || (want[i] == "") != (got[i] == nil) {
			t.Errorf("Literals[%d] = %q, want %q", i, got[i], want[i])
		}
	}
	lit, _ := exprs[0].Literal()
	lit[0] = 'X'
	if again, _ := exprs[0].Literal(); string(again) != "error" {
		t.Error("Literal's result aliases the Expr")
	}
}

func mustParse(t testing.TB, s string) *Expr {
	t.Helper()
	e, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
