package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// makeTree writes a small, fixed log tree covering the cases the CLI must
// handle: nested directories, CRLF, a missing final newline, a gzip
// rotation, a binary file, a long line and a symlink that must not be followed.
func makeTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"syslog":                 "Nov 1 host sshd[1]: Accepted key\nNov 1 host kernel: ERROR disk sda full\nNov 1 host cron[2]: job done\nNov 1 host app: error lowercase\nNov 1 host app: FATAL out of memory\n",
		"nginx/access.log":       "GET /healthz 200\nGET /api 500 upstream ERROR\nGET /healthz ERROR healthcheck\n",
		"nginx/crlf.log":         "line one\r\nERROR with CRLF\r\nlast\r\n",
		"app/worker/nofinal.log": "first\nERROR without final newline",
		"app/special [x].log":    "literal [crit] brackets\nplain\n",
		"app/a b.log":            "space name ERROR\n",
		"bin/core.bin":           "ERROR\x00binary",
		"ctx.log":                "c1\nc2\nERROR one\nc4\nc5\nc6\nc7\nERROR two\nc9\n",
	}
	writeTree(t, root, files)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("old ERROR rotated away\nold info\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "syslog.1.gz"), gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..", filepath.Join(root, "app/loop")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../syslog", filepath.Join(root, "nginx/link.log")); err != nil {
		t.Fatal(err)
	}
	return root
}

// writeTree writes files (path below root → content) under root.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type cliResult struct {
	stdout, stderr string
	code           int
}

func runCLI(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	return runCLIEnv(t, nil, stdin, args...)
}

func runCLIEnv(t *testing.T, environ []string, stdin string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, environ, strings.NewReader(stdin), &out, &errb)
	return cliResult{out.String(), errb.String(), code}
}

func TestCLIGolden(t *testing.T) {
	root := makeTree(t)
	tests := []struct {
		name string
		args []string
	}{
		{"literal", []string{"-j1", "ROOT", "--match", "ERROR"}},
		{"line-numbers", []string{"-j1", "-n", "ROOT", "-e", "ERROR"}},
		{"ignore-case", []string{"-j1", "-i", "ROOT", "-e", "error"}},
		{"several-patterns", []string{"-j1", "ROOT", "-e", "FATAL", "-e", "sshd", "-e", "CRLF"}},
		{"ignore", []string{"-j1", "ROOT", "-e", "ERROR", "--ignore", "healthcheck"}},
		{"fixed", []string{"-j1", "-F", "ROOT", "-e", "[crit]"}},
		{"count", []string{"-j1", "-c", "ROOT", "-e", "ERROR"}},
		{"files-with-matches", []string{"-j1", "-l", "ROOT", "-e", "ERROR"}},
		{"max-count", []string{"-j1", "-m1", "ROOT/ctx.log", "ROOT/syslog", "-e", "ERROR|FATAL"}},
		{"context", []string{"-j1", "-n", "-C1", "ROOT/ctx.log", "-e", "ERROR"}},
		{"after-context", []string{"-j1", "-A2", "ROOT/ctx.log", "-e", "ERROR"}},
		{"json", []string{"-j1", "--json", "ROOT/nginx", "-e", "ERROR"}},
		{"single-file-no-name", []string{"ROOT/syslog", "-e", "ERROR"}},
		{"with-filename", []string{"-H", "ROOT/syslog", "-e", "ERROR"}},
		{"include", []string{"-j1", "ROOT", "-e", "ERROR", "--include", "*.log"}},
		{"exclude-dir", []string{"-j1", "ROOT", "-e", "ERROR", "--exclude-dir", "nginx", "--exclude", "*.gz"}},
		{"path-glob", []string{"-j1", "ROOT", "-e", "ERROR", "--include", "app/**/*.log"}},
		{"no-decompress", []string{"-j1", "--no-decompress", "ROOT", "-e", "rotated"}},
		{"search-zip", []string{"-j1", "--search-zip", "ROOT", "-e", "rotated"}},
		{"color", []string{"-j1", "--color=always", "-n", "ROOT/syslog", "ROOT/ctx.log", "-e", "ERROR"}},
		{"no-match", []string{"-j1", "ROOT", "-e", "NOTHING-MATCHES-THIS"}},
		{"quiet", []string{"-q", "ROOT", "-e", "ERROR"}},
		{"stdin", []string{"-", "-e", "b"}},
		{"implicit-stdin", []string{"-n", "-e", "b"}},
		{"max-line", []string{"--max-line", "1KiB", "ROOT/long.log", "-e", "^x", "-c"}},
	}
	if err := os.WriteFile(filepath.Join(root, "long.log"), []byte(strings.Repeat("x", 3000)+"\nxshort\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "ROOT", root)
			}
			r := runCLI(t, "a\nb\nabc\n", args...)
			got := "exit " + strconv.Itoa(r.code) + "\n" + strings.ReplaceAll(r.stdout, root, "ROOT")
			want := goldenFile(t, filepath.Join("testdata", "golden", tt.name+".golden"), got)
			if got != want {
				t.Errorf("%v\n got: %q\nwant: %q\nstderr: %s", tt.args, got, want, r.stderr)
			}
		})
	}
}

func TestCLIErrors(t *testing.T) {
	root := makeTree(t)
	unreadable := filepath.Join(t.TempDir(), "missing")
	badCfg := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badCfg, []byte("rules:\n  - name: errs\n    match: [ok, \"a(b\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	typo := filepath.Join(t.TempDir(), "typo.yaml")
	if err := os.WriteFile(typo, []byte("rule:\n  - match: [x]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr []string
		wantStdout string
	}{
		{"bad pattern", []string{root, "-e", "a(b"}, 2, []string{"--match[0]", `"a(b"`}, ""},
		{"bad second pattern", []string{root, "-e", "ok", "-e", "x[", "--ignore", "y"}, 2, []string{"--match[1]", `"x["`}, ""},
		{"bad ignore", []string{root, "-e", "ok", "--ignore", "(("}, 2, []string{"--ignore[0]", `"(("`}, ""},
		{"bad rule in config", []string{"--config", badCfg, root}, 2, []string{"rules[0].match[1]", `"errs"`, `"a(b"`}, ""},
		{"unknown config key", []string{"--config", typo, root}, 2, []string{"config key rule", `did you mean "rules"`}, ""},
		{"unknown flag", []string{"--bogus", root}, 2, []string{"bogus"}, ""},
		{"bad color", []string{"--color=sometimes", root, "-e", "x"}, 2, []string{"--color", "sometimes"}, ""},
		{"bad start-at", []string{"--follow", "--start-at", "middle", "x", root}, 2, []string{"flag --start-at", "middle"}, ""},
		{"no pattern at all", []string{}, 2, []string{"no pattern", "-e ''"}, ""},
		{"refused -P", []string{"-P", "x", root}, 2, []string{"-P (--perl-regexp) is not supported", "RE2"}, ""},
		{"refused -R", []string{"-R", "x", root}, 2, []string{"-R (--dereference-recursive)", "symlink"}, ""},
		{"refused -z", []string{"-z", "x", root}, 2, []string{"-z (--null-data) is not supported", "--search-zip"}, ""},
		{"search-zip against no-decompress", []string{"--search-zip", "--no-decompress", "x", root}, 2, []string{"--search-zip and --no-decompress"}, ""},
		{"mistyped flag", []string{"--colr", "x", root}, 2, []string{"unknown flag --colr", "did you mean --color?"}, ""},
		{"unknown short flag", []string{"-K", "x", root}, 2, []string{"unknown flag -K"}, ""},
		{"missing pattern file", []string{"-f", unreadable, root}, 2, []string{"flag --file " + unreadable}, ""},
		{"count refused in follow mode", []string{"--follow", "-c", "x", root}, 2, []string{"flag --count", "follow mode"}, ""},
		{"jobs refused with a state file", []string{"--state-file", unreadable + ".state", "-j", "2", "x", root}, 2, []string{"flag --jobs", "incremental run"}, ""},
		{"start-at refused one-shot", []string{"--start-at", "end", "x", root}, 2, []string{"flag --start-at", "one-shot run"}, ""},
		{"stdin refused in follow mode", []string{"--follow", "x", "-"}, 2, []string{"standard input", "follow mode"}, ""},
		{"missing root, others still scanned", []string{"-j1", unreadable, root + "/syslog", "-e", "FATAL"}, 2, []string{unreadable}, root + "/syslog:Nov 1 host app: FATAL out of memory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", tt.args...)
			if r.code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr: %s", r.code, tt.wantCode, r.stderr)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q does not name %q", r.stderr, w)
				}
			}
			if tt.wantStdout == "" && strings.Count(r.stderr, tt.wantStderr[0]) != 1 {
				t.Errorf("stderr %q says %q more than once", r.stderr, tt.wantStderr[0])
			}
			if r.stdout != tt.wantStdout {
				t.Errorf("stdout %q, want %q", r.stdout, tt.wantStdout)
			}
		})
	}
}

func TestCLIUnreadableFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: permissions do not bite; the missing-root case covers the error path")
	}
	root := makeTree(t)
	p := filepath.Join(root, "secret.log")
	if err := os.WriteFile(p, []byte("ERROR hidden\n"), 0o000); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "", "-j1", root, "-e", "FATAL")
	if r.code != 2 || !strings.Contains(r.stderr, "secret.log") || !strings.Contains(r.stdout, "FATAL") {
		t.Errorf("code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestHelpAndVersion(t *testing.T) {
	r := runCLI(t, "", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "--match") {
		t.Errorf("help: %d %q", r.code, r.stdout)
	}
	r = runCLI(t, "", "--version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "logscan ") {
		t.Errorf("version: %d %q", r.code, r.stdout)
	}
}

// TestUsageErrorsGolden pins the whole message of each usage error: what a
// user reads when a grep habit does not apply, said once, exit status 2.
func TestUsageErrorsGolden(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		name string
		args []string
	}{
		{"no-pattern", nil},
		{"perl-regexp", []string{"-P", "x", "ROOT"}},
		{"dereference-recursive", []string{"-R", "x", "ROOT"}},
		{"basic-regexp", []string{"-G", "x", "ROOT"}},
		{"null-data", []string{"-z", "x", "ROOT"}},
		{"mistyped-flag", []string{"--colr", "x", "ROOT"}},
		{"unknown-short-flag", []string{"-nK", "x", "ROOT"}},
		{"count-in-follow-mode", []string{"--follow", "-c", "x", "ROOT"}},
		{"context-in-follow-mode", []string{"--follow", "-C", "2", "x", "ROOT"}},
		{"jobs-in-incremental-run", []string{"--state-file", "ROOT/s.json", "-j", "2", "x", "ROOT"}},
		{"start-at-one-shot", []string{"--start-at", "end", "x", "ROOT"}},
		{"listen-one-shot", []string{"--listen", "127.0.0.1:0", "x", "ROOT"}},
		{"stdin-in-follow-mode", []string{"--follow", "x", "-"}},
		{"backreference", []string{`\(a\)\1`, "ROOT"}},
		{"bad-color", []string{"--color=sometimes", "x", "ROOT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "ROOT", root)
			}
			r := runCLIEnv(t, []string{"LOGSCAN_LOG_FORMAT=console", "NO_COLOR=1"}, "", args...)
			// Warnings carry a timestamp; the error line is what is pinned.
			var lines []string
			for _, l := range strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n") {
				if strings.HasPrefix(l, "logscan: ") || strings.HasPrefix(l, "Run ") {
					lines = append(lines, strings.ReplaceAll(l, root, "ROOT"))
				}
			}
			got := "exit " + strconv.Itoa(r.code) + "\n" + strings.Join(lines, "\n") + "\n"
			want := goldenFile(t, filepath.Join("testdata", "golden", "usage-"+tt.name+".golden"), got)
			if got != want || r.code != 2 {
				t.Errorf("got %q\nwant %q\nstderr %s", got, want, r.stderr)
			}
		})
	}
}

// goldenFile returns the golden file's content, after writing got to it
// under -update.
func goldenFile(t *testing.T, path, got string) string {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(want)
}

// TestSearchZipOverridesConfig: decompress: false from the config or the
// environment skips the rotation, and --search-zip, a flag, wins over both.
func TestSearchZipOverridesConfig(t *testing.T) {
	root := makeTree(t)
	cfg := filepath.Join(t.TempDir(), "logscan.yaml")
	if err := os.WriteFile(cfg, []byte("decompress: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const rotated = "old ERROR rotated away"
	tests := []struct {
		name string
		env  []string
		args []string
		want bool // the rotated line is printed
	}{
		{"config off", nil, []string{"--config", cfg}, false},
		{"config off, flag on", nil, []string{"--config", cfg, "--search-zip"}, true},
		{"env off", []string{"LOGSCAN_DECOMPRESS=false"}, nil, false},
		{"env off, flag on", []string{"LOGSCAN_DECOMPRESS=false"}, []string{"--search-zip"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLIEnv(t, tt.env, "", append(tt.args, "-j1", "-e", "rotated", root)...)
			if got := strings.Contains(r.stdout, rotated); got != tt.want || r.code > 1 {
				t.Fatalf("exit %d, rotated line printed %v, want %v; stdout %q stderr %q", r.code, got, tt.want, r.stdout, r.stderr)
			}
		})
	}
}
