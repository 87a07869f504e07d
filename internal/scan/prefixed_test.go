package scan

import (
	"bytes"
	"strings"
	"testing"
)

// prefixedRef is AppendPrefixed written the obvious way.
func prefixedRef(prefix, src []byte) ([]byte, int) {
	if len(src) == 0 {
		return nil, 0
	}
	var out []byte
	lines := bytes.SplitAfter(src, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	for _, l := range lines {
		out = append(append(out, prefix...), l...)
		if l[len(l)-1] != '\n' {
			out = append(out, '\n')
		}
	}
	return out, len(lines)
}

// checkPrefixed compares both implementations with the reference.
func checkPrefixed(t *testing.T, prefix, src []byte) {
	t.Helper()
	want, wantN := prefixedRef(prefix, src)
	for _, simd := range []bool{true, false} {
		if simd && !haveMasks {
			continue
		}
		saved := haveMasks
		haveMasks = simd
		got, n := AppendPrefixed([]byte("keep:"), prefix, src)
		haveMasks = saved
		if n != wantN || !bytes.Equal(got, append([]byte("keep:"), want...)) {
			t.Fatalf("simd=%v prefix %q src %q: got %d lines %q, want %d %q", simd, prefix, src, n, got, wantN, want)
		}
	}
}

func TestAppendPrefixed(t *testing.T) {
	long := strings.Repeat("x", 200)
	cases := []struct {
		name, prefix, src string
	}{
		{"empty", "f:", ""},
		{"one line", "f:", "a\n"},
		{"no newline", "f:", "abc"},
		{"empty lines", "f:", "\n\n\n"},
		{"no prefix", "", "a\nb\n"},
		{"63 bytes", "p:", strings.Repeat("a", 62) + "\n"},
		{"64 bytes", "p:", strings.Repeat("a", 63) + "\n"},
		{"65 bytes, last partial", "p:", strings.Repeat("a", 63) + "\nb"},
		{"newline at 63 and 64", "p:", strings.Repeat("a", 63) + "\n\n" + "c\n"},
		{"lines across blocks", "dir/file.log:", strings.Repeat(long+"\n", 50)},
		{"more than one mask round", "f:", strings.Repeat("line of some length\n", 1000)},
		{"long tail without newline", "f:", strings.Repeat("ab\n", 40) + long},
		{"NUL and CR", "f:", "a\x00b\r\n\xff\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkPrefixed(t, []byte(c.prefix), []byte(c.src)) })
	}
}

func FuzzAppendPrefixed(f *testing.F) {
	f.Add([]byte("f:"), []byte("a\nb\n"))
	f.Add([]byte(""), []byte(strings.Repeat("x\n", 100)))
	f.Add([]byte("p:"), []byte(strings.Repeat("a", 130)))
	f.Fuzz(func(t *testing.T, prefix, src []byte) {
		if len(prefix) > 64 {
			prefix = prefix[:64]
		}
		checkPrefixed(t, prefix, src)
	})
}
