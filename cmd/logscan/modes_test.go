package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/logscan/logscan/internal/testutil"
)

// modeTree writes a tree with every kind of content the modes must agree
// on: plain lines, a .gz and a .zst rotation, CRLF, invalid UTF-8, a missing
// final newline, a binary file and a subdirectory.
func modeTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"app.log":          "start\nERROR one\ninfo two\nerror three\nERROR two\nwarn five\n",
		"crlf.log":         "line one\r\nERROR with CRLF\r\nlast\r\n",
		"nofinal.log":      "first\nERROR without final newline",
		"bad-utf8.log":     "caf\xe9 ERROR latin1\nok \xff\xfe\n",
		"words.log":        "errors everywhere\nan err here\nerr\nterror\n",
		"sub/nested.log":   "nested ERROR\n[x] bracket\nplain\n",
		"sub/core.bin":     "ERROR\x00binary\n",
		"sub/empty.log":    "",
		"brackets [x].txt": "literal [x] here\nERROR bracketed name\n",
	}
	writeTree(t, root, files)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write([]byte("old ERROR rotated\nold info\nERROR two old\n")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "app.log.2.gz"), gz.Bytes())
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "sub/nested.log.1.zst"), enc.EncodeAll([]byte("zst ERROR line\nzst plain\n"), nil))
	return root
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// modeCase is one flag combination; refused lists the modes that must
// refuse it with exit status 2 and a message naming flag.
type modeCase struct {
	args    []string
	refused []string // "incremental", "follow"
	flag    string   // named in the refusal
}

var modeCases = []modeCase{
	{args: []string{"-e", "ERROR"}},
	{args: []string{"-i", "-e", "error"}},
	{args: []string{"-F", "-e", "[x]"}},
	{args: []string{"-v", "-e", "ERROR"}},
	{args: []string{"-w", "-e", "err"}},
	{args: []string{"-x", "-e", "ERROR two"}},
	{args: []string{"-e", "ERROR", "--ignore", "two"}},
	{args: []string{"-e", "ERROR", "-e", "warn"}},
	{args: []string{"--include", "*.log", "-e", "ERROR"}},
	{args: []string{"--exclude-dir", "sub", "-e", "ERROR"}},
	{args: []string{"--exclude", "*.gz", "-i", "-e", "error"}},
	{args: []string{"--json", "-e", "ERROR"}},
	{args: []string{"--json", "-v", "-i", "-e", "error"}},
	{args: []string{"-h", "-e", "ERROR"}},
	{args: []string{"-H", "-h", "-e", "ERROR"}},
	{args: []string{"--color=always", "-e", "ERROR"}},
	{args: []string{"--color=always", "-w", "-i", "-e", "err"}},
	{args: []string{"-e", ""}},
	{args: []string{"-s", "-e", "ERROR"}},
	{args: []string{"--no-decompress", "-e", "ERROR"}},
	{args: []string{"--search-zip", "-e", "ERROR"}},
	{args: []string{"-e", "ERROR", "-q"}},
	{args: []string{"-n", "-e", "ERROR"}, refused: []string{"follow"}, flag: "--line-number"},
	{args: []string{"-n", "-v", "-e", "ERROR"}, refused: []string{"follow"}, flag: "--line-number"},
	{args: []string{"-c", "-e", "ERROR"}, refused: []string{"follow"}, flag: "--count"},
	{args: []string{"-v", "-c", "-e", "ERROR"}, refused: []string{"follow"}, flag: "--count"},
	{args: []string{"-l", "-e", "ERROR"}, refused: []string{"follow"}, flag: "--files-with-matches"},
	{args: []string{"-m", "1", "-e", "ERROR"}, refused: []string{"follow"}, flag: "--max-count"},
	{args: []string{"-C", "1", "-e", "ERROR"}, refused: []string{"follow"}, flag: "--context"},
	{args: []string{"-A", "1", "-n", "-e", "two"}, refused: []string{"follow"}, flag: "--line-number"},
	{args: []string{"-A", "1", "-e", "two"}, refused: []string{"follow"}, flag: "--after-context"},
	{args: []string{"-j", "1", "-e", "ERROR"}, refused: []string{"incremental", "follow"}, flag: "--jobs"},
	{args: []string{"-o", "-i", "-e", "err[a-z]*"}},
	{args: []string{"-b", "-e", "ERROR"}},
	{args: []string{"-o", "-b", "-e", "ERROR"}},
	{args: []string{"-Z", "-e", "ERROR"}},
	{args: []string{"-a", "-e", "binary"}},
	{args: []string{"--color=always", "-o", "-e", "ERROR"}},
	{args: []string{"-w", "-x", "-e", "err"}},
	{args: []string{"-L", "-e", "ERROR"}, refused: []string{"follow"}, flag: "--files-without-match"},
	{args: []string{"-C", "1", "--group-separator=XX", "-e", "ERROR"}, refused: []string{"follow"}, flag: "--context"},
	{args: []string{"--summary", "w", "-e", `ERROR (?P<w>\w+)`}, refused: []string{"follow"}, flag: "--summary"},
	{args: []string{"--json", "--summary", "n", "--by", "w", "-i", "-e", `(?P<w>error|err)(?:or)? (?P<n>\S+)`}, refused: []string{"follow"}, flag: "--summary"},
}

// TestModesAgree runs every flag combination one-shot, as the first
// incremental run and as --follow --start-at beginning (until its initial
// read is done), through the real binary, and requires the same lines
// wherever the flag works in that mode, and exit status 2 naming the flag
// where it is refused.
func TestModesAgree(t *testing.T) {
	root := modeTree(t)
	for _, c := range modeCases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) { checkModes(t, root, c) })
	}
}

// checkModes runs one case in every mode against root.
func checkModes(t *testing.T, root string, c modeCase) {
	t.Helper()
	oneshot, code := runMode(t, append(slices.Clone(c.args), root))
	if code == 2 {
		t.Fatalf("one-shot: exit 2")
	}
	state := filepath.Join(t.TempDir(), "state.json")
	for _, mode := range []string{"incremental", "follow"} {
		if mode == "follow" {
			state = filepath.Join(t.TempDir(), "state.json") // a first start, as the incremental run's was
		}
		args := append(slices.Clone(c.args), "--state-file", state, root)
		var got []string
		var code2 int
		if mode == "follow" {
			args = append([]string{"--follow", "--start-at", "beginning", "--save-interval", "100ms"}, args...)
			got, code2 = runFollow(t, args, oneshot)
		} else {
			got, code2 = runMode(t, args)
		}
		if slices.Contains(c.refused, mode) {
			if code2 != 2 {
				t.Errorf("%s: exit %d, want 2 (refused)", mode, code2)
			}
			// The refusal comes before any file is read, so the
			// message is taken in-process.
			r := runCLI(t, "", args...)
			modeName := map[string]string{"incremental": "incremental run", "follow": "follow mode"}[mode]
			if r.code != 2 || !strings.Contains(r.stderr, "flag "+c.flag) || !strings.Contains(r.stderr, modeName) {
				t.Errorf("%s: refusal %q does not name flag %s and %s", mode, r.stderr, c.flag, modeName)
			}
			continue
		}
		if mode == "incremental" && code2 != code {
			t.Errorf("%s: exit %d, one-shot exit %d", mode, code2, code)
		}
		if !slices.Equal(got, oneshot) {
			t.Errorf("%s differs from one-shot:\n%s", mode, diffLines(oneshot, got))
		}
	}
}

// runMode runs the binary to its end and returns its sorted, normalised
// stdout lines and exit status.
func runMode(t *testing.T, args []string) ([]string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "BE_LOGSCAN_MAIN=1", "LOGSCAN_LOG_FORMAT=json")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code == 2 {
		t.Logf("stderr: %s", errb.String())
	}
	return normalise(out.String()), code
}

// runFollow runs a follower until it has read what exists (it logs
// "following" after the initial read is flushed) and, since a last line
// without its newline is passed only once its file was quiet for a tick,
// until its output is want or two seconds passed; then it stops it.
func runFollow(t *testing.T, args []string, want []string) ([]string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "BE_LOGSCAN_MAIN=1", "LOGSCAN_LOG_FORMAT=json")
	out := &testutil.SyncBuffer{}
	errb := &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(20 * time.Second)
	for !strings.Contains(errb.String(), `"message":"following"`) {
		select {
		case err := <-done:
			return normalise(out.String()), exitCode(t, err)
		case <-deadline:
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("follower did not finish its initial read: %s", errb.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	for quiet := time.After(2 * time.Second); !slices.Equal(normalise(out.String()), want); {
		select {
		case <-quiet:
		case <-time.After(10 * time.Millisecond):
			continue
		}
		break
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	err := <-done
	return normalise(out.String()), exitCode(t, err)
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// normalise sorts the lines (with -j above 1, and in a follower, the
// order of files is not fixed) and drops the JSON fields only a follower
// knows: the file identity and the read time.
func normalise(s string) []string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if s == "" {
		lines = nil
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, "{") {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) != nil {
			continue
		}
		delete(m, "file_id")
		delete(m, "time")
		delete(m, "observed_time")
		b, _ := json.Marshal(m)
		lines[i] = string(b)
	}
	slices.Sort(lines)
	return lines
}

func diffLines(want, got []string) string {
	var b strings.Builder
	for _, l := range want {
		if !slices.Contains(got, l) {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range got {
		if !slices.Contains(want, l) {
			b.WriteString("+ " + l + "\n")
		}
	}
	if b.Len() == 0 {
		return "(same lines, different counts)"
	}
	return b.String()
}
