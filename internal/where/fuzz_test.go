package where

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/logscan/logscan/internal/fields"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"level=error", "latency_ms > 900", `msg ~ "timed? out"`, `k = " x "`, `k='a"b'`,
		"a>>1", `k = "\\\""`, "a !~ (?i)x", "", "=", "a.b.c<=2026-01-01T00:00:00Z",
	} {
		f.Add(s)
	}
	r := record(kv{"a", "1", false}, kv{"level", "error", true}, kv{"msg", "timed out", true})
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Expr != s || pe.Pos < 0 || pe.Pos > len(s) || pe.Msg == "" {
				t.Fatalf("Parse(%q) error %#v", s, err)
			}
			return
		}
		checkReparse(t, e)
		e.Match(r)
		if e.Field() == "" {
			t.Fatalf("Parse(%q) has an empty field", s)
		}
	})
}

func FuzzLiteral(f *testing.F) {
	f.Add("msg", uint8(0), "a/b<c>", uint8(1), "a/b<c>", uint8(0), "x")
	f.Add("a.b", uint8(6), `t(im)+e"d`, uint8(1), `t-imime"d`, uint8(1), "")
	f.Add("k", uint8(0), "café", uint8(0), "café", uint8(1), "y")
	f.Add("k", uint8(6), "(?i)é|x", uint8(2), "É", uint8(1), "y")
	f.Add("x.y", uint8(0), "it's", uint8(0), "z", uint8(0), "it's")
	f.Add("n", uint8(0), "200", uint8(0), "2e2", uint8(0), "")
	f.Fuzz(func(t *testing.T, field string, opi uint8, value string, quote uint8, val string, flags uint8, other string) {
		e, err := Parse(field + " " + opText[int(opi)%len(opText)] + " " + quoteAs(value, quote))
		if err != nil {
			return
		}
		kvs := []kv{{field, val, flags&1 != 0}, {"x.y", other, flags&2 != 0}}
		for _, f := range kvs {
			if !utf8.ValidString(f.key) || !utf8.ValidString(f.value) {
				return // a parser would not hand these bytes back as the value
			}
		}
		if !e.Match(record(kvs...)) {
			return
		}
		lits := Literals([]*Expr{e})
		lit, _ := e.Literal()
		for _, raw := range renderings(kvs) {
			for _, l := range [][]byte{lit, e.KeyLiteral(), lits[0]} {
				if !bytes.Contains(raw, l) {
					t.Fatalf("%q matches the record of %s but its literal %q is not in it", e, raw, l)
				}
			}
		}
	})
}

func quoteAs(v string, how uint8) string {
	switch how % 3 {
	case 1:
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
	case 2:
		return "'" + v + "'"
	}
	return v
}

// renderings writes the record's fields as raw lines in the ways the
// literals must survive: JSON with nested objects for dotted keys, escaped
// by each encoder's habits, and logfmt.
func renderings(kvs []kv) [][]byte {
	var out [][]byte
	for mode := range jsonModes {
		var b bytes.Buffer
		b.WriteByte('{')
		for i, f := range kvs {
			if i > 0 {
				b.WriteByte(',')
			}
			parts := strings.Split(f.key, ".")
			for j, p := range parts {
				if j > 0 {
					b.WriteByte('{')
				}
				b.WriteString(jsonQuote(p, mode) + ":")
			}
			if kind, _ := kindOf(f.value, f.str); kind == fields.String || kind == fields.Time {
				b.WriteString(jsonQuote(f.value, mode))
			} else {
				b.WriteString(f.value)
			}
			b.WriteString(strings.Repeat("}", len(parts)-1))
		}
		b.WriteByte('}')
		out = append(out, b.Bytes())
	}
	for _, quote := range []func(string) string{strconv.Quote, strconv.QuoteToASCII} {
		var b bytes.Buffer
		for i, f := range kvs {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(f.key + "=" + logfmtValue(f.value, quote))
		}
		out = append(out, b.Bytes())
	}
	return out
}

const (
	jsonMinimal = iota // only what JSON requires
	jsonHTML           // and <, >, & as Go's encoding/json does
	jsonASCII          // and everything beyond ASCII, as Python does
	jsonSlash          // and / and ', as PHP and some HTML-safe encoders do
	jsonModes
)

func jsonQuote(s string, mode int) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r < 0x20,
			mode >= jsonHTML && strings.ContainsRune("<>&", r),
			mode >= jsonSlash && strings.ContainsRune("/'", r):
			fmt.Fprintf(&b, `\u%04x`, r)
		case mode >= jsonASCII && r >= utf8.RuneSelf:
			for _, u := range utf16(r) {
				fmt.Fprintf(&b, `\u%04x`, u)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func utf16(r rune) []rune {
	if r < 0x10000 {
		return []rune{r}
	}
	r -= 0x10000
	return []rune{0xd800 + r>>10, 0xdc00 + r&0x3ff}
}

func logfmtValue(v string, quote func(string) string) string {
	if v == "" || strings.ContainsAny(v, " \"=\\") || strings.ContainsFunc(v, func(r rune) bool {
		return r < 0x20 || r == 0x7f || r >= utf8.RuneSelf
	}) {
		return quote(v)
	}
	return v
}
