package main

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// eventTree copies the event corpora (JSON, logfmt, CRI with split parts,
// Docker, and the multiline presets' traces) into a temporary tree, with
// a gzipped rotation of a trace log and a trace cut off at the end of its
// file, without a final newline.
func eventTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	copyTree(t, "testdata/events", root)
	for _, name := range []string{"java", "python", "go", "ruby"} {
		b, err := os.ReadFile(filepath.Join("../../internal/multiline/testdata", name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(root, "traces"), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(root, "traces", name+".log"), b)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write([]byte("2026-11-30 23:59:59.000 ERROR [main] old - rotated\njava.lang.IllegalStateException: old\n\tat a.B.c(B.java:1)\n")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "traces", "java.log.1.gz"), gz.Bytes())
	writeFile(t, filepath.Join(root, "traces", "cut.log"), []byte("2026-12-01 10:00:00.000 ERROR [main] x - last\njava.lang.RuntimeException: cut\n\tat a.B.c(B.java:1)"))
	return root
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, strings.TrimPrefix(p, from))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// eventCases are the event stages' flags in every mode: multiline presets
// and a custom start, each format, field filters (global and with a rule),
// columns, and the grep output flags that work on events.
var eventCases = []modeCase{
	{args: []string{"--multiline", "java", "-e", "Exception", "--include", "java.log*"}},
	{args: []string{"--multiline", "java", "--json", "-e", "Caused by", "--include", "*.log*"}},
	{args: []string{"--multiline", "python", "-e", "Error", "--include", "python.log"}},
	{args: []string{"--multiline", "go", "-e", "panic", "--include", "go.log"}},
	{args: []string{"--multiline", "ruby", "-e", "from", "--include", "ruby.log"}},
	{args: []string{"--multiline", "java", "-v", "-e", "Exception", "--include", "*.log"}},
	{args: []string{"--multiline-start", `^[0-9]{4}-`, "-e", "ERROR", "--include", "*.log"}},
	{args: []string{"--multiline", "java", "-c", "-e", "Exception"}, refused: []string{"follow"}, flag: "--count"},
	{args: []string{"--multiline", "java", "-n", "-e", "Exception", "--include", "java.log"}, refused: []string{"follow"}, flag: "--line-number"},
	{args: []string{"--format", "json", "--where", "level=error", "--include", "*.json"}},
	{args: []string{"--format", "json", "--where", "latency_ms>500", "--json", "--include", "*.json"}},
	{args: []string{"--format", "json", "-i", "-e", "error", "--where", "user.plan=pro", "--include", "*.json"}},
	{args: []string{"--format", "json", "--fields", "ts,level,msg", "--where", "level~(?i)^error$", "--include", "*.json"}},
	{args: []string{"--format", "json", "-v", "--where", "level=info", "--include", "*.json"}},
	{args: []string{"--format", "logfmt", "--where", "status>=500", "--json", "--include", "*.logfmt"}},
	{args: []string{"--format", "cri+json", "--where", "level=error", "--json", "--include", "0.log"}},
	{args: []string{"--format", "cri+auto", "-e", "ERROR", "--fields", "k8s.pod.name,log.iostream,msg", "--include", "0.log"}},
	{args: []string{"--format", "docker+json", "--where", "latency_ms>=20", "--json", "--include", "*-json.log"}},
	{args: []string{"--format", "auto", "--where", "level=error", "--json"}},
}

// TestModesAgreeOnEvents is TestModesAgree for the event stages: one-shot,
// incremental and follow runs assemble, parse and filter events the same.
func TestModesAgreeOnEvents(t *testing.T) {
	root := eventTree(t)
	for _, c := range eventCases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) { checkModes(t, root, c) })
	}
}
