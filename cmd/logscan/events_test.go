package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
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

// TestPodsTree runs over a generated kubelet tree, /var/log/pods with
// several namespaces, pods, containers and restarts (and a rotated, gzipped
// log), and checks the k8s names each event's resource takes from its path.
func TestPodsTree(t *testing.T) {
	root := filepath.Join(t.TempDir(), "var", "log", "pods")
	type pod struct{ ns, name, uid, container, file string }
	pods := []pod{
		{"shop", "checkout-7d9f8b6c5-x2kq", "0b6e6f8e-1c2d-4e5f-9a0b-112233445566", "api", "0.log"},
		{"shop", "checkout-7d9f8b6c5-x2kq", "0b6e6f8e-1c2d-4e5f-9a0b-112233445566", "istio-proxy", "3.log"},
		{"kube-system", "coredns-5d78c9869d-abcde", "9f0e1d2c-3b4a-4c5d-8e7f-aabbccddeeff", "coredns", "12.log"},
	}
	for i, p := range pods {
		body := fmt.Sprintf("2026-12-01T10:00:0%d.000000001Z stderr F {\"level\":\"error\",\"msg\":\"boom %d\"}\n2026-12-01T10:00:0%d.000000002Z stdout F {\"level\":\"info\",\"msg\":\"fine\"}\n", i, i, i)
		writeFile(t, mkdirFor(t, filepath.Join(root, p.ns+"_"+p.name+"_"+p.uid, p.container, p.file)), []byte(body))
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write([]byte("2026-11-30T23:59:59.000000001Z stderr F {\"level\":\"error\",\"msg\":\"rotated\"}\n")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p0 := pods[0]
	writeFile(t, filepath.Join(root, p0.ns+"_"+p0.name+"_"+p0.uid, p0.container, "0.log.20261130-235959.gz"), gz.Bytes())

	r := runCLI(t, "", "--format", "cri+json", "--where", "level=error", "--json", root)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got := map[string]map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var ev struct {
			Fields   map[string]any
			Resource map[string]string
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		got[fmt.Sprint(ev.Fields["msg"])] = ev.Resource
		if ev.Fields["log.iostream"] != "stderr" {
			t.Errorf("%s: log.iostream = %v", l, ev.Fields["log.iostream"])
		}
	}
	want := map[string]pod{"boom 0": pods[0], "boom 1": pods[1], "boom 2": pods[2], "rotated": pods[0]}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %d", got, len(want))
	}
	for msg, p := range want {
		res := got[msg]
		restart := strings.TrimSuffix(p.file, ".log")
		for k, v := range map[string]string{
			"k8s.namespace.name": p.ns, "k8s.pod.name": p.name, "k8s.pod.uid": p.uid,
			"k8s.container.name": p.container, "k8s.container.restart_count": restart,
		} {
			if res[k] != v {
				t.Errorf("%q: %s = %q, want %q", msg, k, res[k], v)
			}
		}
	}
}

func mkdirFor(t *testing.T, p string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}
