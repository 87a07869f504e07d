package where

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		expr, field string
		op          op
		value       string
		canon       string
	}{
		{"level=error", "level", opEq, "error", "level = error"},
		{"latency_ms > 900", "latency_ms", opGt, "900", "latency_ms > 900"},
		{`msg ~ "timed? out"`, "msg", opRe, "timed? out", "msg ~ timed? out"},
		{"  a.b.c  !=  x y  ", "a.b.c", opNe, "x y", "a.b.c != x y"},
		{"a<=1", "a", opLe, "1", "a <= 1"},
		{"a>=-1.5e3", "a", opGe, "-1.5e3", "a >= -1.5e3"},
		{"a<b", "a", opLt, "b", "a < b"},
		{"a!~^x", "a", opNotRe, "^x", "a !~ ^x"},
		{`k = " padded "`, "k", opEq, " padded ", `k = " padded "`},
		{`k = "say \"hi\" \\ \d"`, "k", opEq, `say "hi" \ \d`, `k = say "hi" \ \d`},
		{`k = 'it is \ raw'`, "k", opEq, `it is \ raw`, `k = it is \ raw`},
		{`k = ""`, "k", opEq, "", `k = ""`},
		{`k = "=x"`, "k", opEq, "=x", `k = "=x"`},
		{`k = it's`, "k", opEq, "it's", `k = it's`},
		{"@timestamp>2026-01-01T00:00:00Z", "@timestamp", opGt, "2026-01-01T00:00:00Z", "@timestamp > 2026-01-01T00:00:00Z"},
		{"kubernetes/pod-name=web-1", "kubernetes/pod-name", opEq, "web-1", "kubernetes/pod-name = web-1"},
		{"usuário=zé", "usuário", opEq, "zé", "usuário = zé"},
	}
	for _, tt := range tests {
		e, err := Parse(tt.expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.expr, err)
			continue
		}
		if e.Field() != tt.field || e.op != tt.op || e.value != tt.value {
			t.Errorf("Parse(%q) = %q %v %q, want %q %v %q", tt.expr, e.field, e.op, e.value, tt.field, tt.op, tt.value)
		}
		if got := e.String(); got != tt.canon {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.expr, got, tt.canon)
		}
		checkReparse(t, e)
	}
}

// checkReparse is the round-trip promise of String.
func checkReparse(t *testing.T, e *Expr) {
	t.Helper()
	e2, err := Parse(e.String())
	if err != nil {
		t.Fatalf("Parse(%q) (String of %q %v %q): %v", e.String(), e.field, e.op, e.value, err)
	}
	if e2.field != e.field || e2.op != e.op || e2.value != e.value {
		t.Fatalf("Parse(%q) = %q %v %q, want %q %v %q", e.String(), e2.field, e2.op, e2.value, e.field, e.op, e.value)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		expr string
		pos  int
		msg  string // a substring of Msg
	}{
		{"latency_ms >> 9", 12, "unexpected '>'"},
		{"a == b", 3, "unexpected '='"},
		{"", 0, "empty expression"},
		{"   ", 3, "empty expression"},
		{"=x", 0, "expected a field name, found '='"},
		{"level", 5, "missing operator (one of = != < <= > >= ~ !~)"},
		{"level error", 6, "expected an operator (one of = != < <= > >= ~ !~), found 'e'"},
		{"a$b=1", 1, "unexpected '$' in field name"},
		{"a ! b", 2, "'!' must be followed by = or ~"},
		{"a=", 2, `missing value (write "" for the empty string)`},
		{"a =   ", 6, "missing value"},
		{`msg = "open`, 6, "unterminated double-quoted value"},
		{`msg = "open\"`, 6, "unterminated double-quoted value"},
		{`msg = 'open`, 6, "unterminated single-quoted value"},
		{`msg = "a" b`, 10, "unexpected 'b' after the closing quote"},
		{`msg ~ (a`, 6, "bad regexp: missing closing ): `(a`"},
		{`msg !~ a**`, 7, "bad regexp: invalid nested repetition operator: `**`"},
		{"a\x00=1", 1, `unexpected '\x00' in field name`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.expr)
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, want an *Error", tt.expr, err)
			continue
		}
		if pe.Expr != tt.expr || pe.Pos != tt.pos || !strings.Contains(pe.Msg, tt.msg) {
			t.Errorf("Parse(%q) = %+v, want Pos %d and Msg containing %q", tt.expr, pe, tt.pos, tt.msg)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	_, err := Parse("latency_ms >> 9")
	const want = `"latency_ms >> 9": unexpected '>' at 12`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %s", err, want)
	}
}
