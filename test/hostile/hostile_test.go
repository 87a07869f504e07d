// Package hostile_test runs the logscan binary against hostile inputs, in
// one-shot and in follow mode, each with a stated outcome that the test
// asserts. Every run has a deadline, so a hang fails instead of blocking CI.
//
// The 1 GiB single line is streamed through a FIFO root, so that it costs
// no disk; -short makes it 64 MiB. Its stated outcome is a cut line (counted
// in cut_lines) and a peak RSS (VmHWM of the child) under 128 MiB.
//
// A full disk is a size-limited tmpfs filled to the last block, which needs
// root (mount); without it that case is skipped. The read-only state
// directory is made unwritable by mode 0555 and, when the test runs as root
// (whom modes do not stop), by running logscan as nobody.
package hostile_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/logscan/logscan/internal/testutil"
)

var bin string

func TestMain(m *testing.M) {
	os.Exit(testutil.MainWithLogscan(leakChecked{m}, "hostile", "", true, func(b *testutil.Binary) { bin = b.Path }))
}

// leakChecked runs the tests, then fails them if a goroutine leaked.
type leakChecked struct{ m *testing.M }

func (l leakChecked) Run() int {
	code := l.m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "hostile: leaked goroutines:", err)
			code = 1
		}
	}
	return code
}

// outcome is what a one-shot run must give.
type outcome struct {
	code      int
	stdout    []string // substrings stdout must contain
	notStdout []string // substrings it must not contain
	stderr    []string // substrings stderr must contain
	maxRSSMiB int64    // 0: not checked
}

type result struct {
	code           int
	stdout, stderr string
	rssMiB         int64
}

// runOnce runs logscan with args and fails the test if it does not end
// within timeout.
func runOnce(t *testing.T, timeout time.Duration, cred *syscall.Credential, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = testutil.CleanEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start logscan %q: %v", args, err)
	}
	// getrusage's ru_maxrss of a child counts the parent's memory at the
	// fork (exec keeps the old hiwater mark), so peak RSS is VmHWM, read
	// every few milliseconds until the process exits.
	var hwm int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			if kb, ok := vmHWM(cmd.Process.Pid); ok {
				hwm = max(hwm, kb)
			}
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	close(stopSampling)
	<-sampled
	if ctx.Err() != nil {
		t.Fatalf("logscan %q hung: no exit within %s\nstderr:\n%s", args, timeout, stderr.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run logscan %q: %v", args, err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String(), rssMiB: hwm >> 10}
}

// vmHWM reads the peak resident set size of pid, in KiB.
func vmHWM(pid int) (int64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb, err == nil
			}
		}
	}
	return 0, false
}

func check(t *testing.T, r result, want outcome) {
	t.Helper()
	if r.code != want.code {
		t.Errorf("exit status %d, want %d\nstdout: %.2000s\nstderr: %.2000s", r.code, want.code, r.stdout, r.stderr)
	}
	for _, s := range want.stdout {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("stdout lacks %q\nstdout: %.2000s", s, r.stdout)
		}
	}
	for _, s := range want.notStdout {
		if strings.Contains(r.stdout, s) {
			t.Errorf("stdout has %q, which it must not\nstdout: %.2000s", s, r.stdout)
		}
	}
	for _, s := range want.stderr {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q\nstderr: %.2000s", s, r.stderr)
		}
	}
	t.Logf("exit %d, peak RSS %d MiB", r.code, r.rssMiB)
	if want.maxRSSMiB > 0 && r.rssMiB == 0 {
		t.Errorf("peak RSS could not be sampled (the run was too short to measure)")
	}
	if want.maxRSSMiB > 0 && r.rssMiB > want.maxRSSMiB {
		t.Errorf("peak RSS %d MiB, want at most %d MiB", r.rssMiB, want.maxRSSMiB)
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendTo(t *testing.T, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// fifoWriter makes a FIFO at path and writes what gen produces into it from
// a goroutine once a reader opens it. Cleanup unblocks and waits for it.
func fifoWriter(t *testing.T, path string, gen func(w io.Writer) error) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatalf("mkfifo %s: %v", path, err)
	}
	done := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0) // blocks until logscan opens it
		if err != nil {
			done <- err
			return
		}
		err = gen(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		done <- err
	}()
	t.Cleanup(func() {
		// If logscan never opened the FIFO, open the read end so that the
		// writer's open returns; its writes then fail or finish.
		if r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			_ = r.Close() // only there to release the writer
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("the FIFO writer of %s did not finish", path)
		}
	})
}

// deepChain makes depth nested directories "d" below root with *at calls
// (the full path is far over PATH_MAX) and a file at the bottom.
func deepChain(t *testing.T, root string, depth int, line string) {
	t.Helper()
	fd, err := syscall.Open(root, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for range depth {
		if err := syscall.Mkdirat(fd, "d", 0o755); err != nil {
			t.Fatal(err)
		}
		next, err := syscall.Openat(fd, "d", syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Close(fd); err != nil {
			t.Fatal(err)
		}
		fd = next
	}
	f, err := syscall.Openat(fd, "deep.log", syscall.O_CREAT|syscall.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := syscall.Write(f, []byte(line)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []int{f, fd} {
		if err := syscall.Close(c); err != nil {
			t.Fatal(err)
		}
	}
}

// fullDisk mounts a 64 KiB tmpfs at a new directory and fills it, so that
// every write fails with ENOSPC; it skips the test without root.
func fullDisk(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "full")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k,mode=0777", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			break
		}
	}
	if err := f.Close(); err != nil && !errors.Is(err, syscall.ENOSPC) {
		t.Fatal(err)
	}
	return dir
}

// readOnlyDir returns a directory logscan cannot write to, and the
// credentials to run logscan with (nobody when the test runs as root).
func readOnlyDir(t *testing.T) (string, *syscall.Credential) {
	t.Helper()
	base := t.TempDir()
	openToAll(t, base)
	dir := filepath.Join(base, "ro")
	if err := os.Mkdir(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil { // past the umask
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		return dir, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("running as root and there is no user nobody to drop to: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return dir, &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
}

// openToAll makes the temporary directories above and below dir readable
// by every user, for runs as nobody.
func openToAll(t *testing.T, dir string) {
	t.Helper()
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func bigLineSize() int64 {
	if testing.Short() {
		return 64 << 20
	}
	return 1 << 30
}

func TestOneShot(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		// setup builds the input below dir and returns the arguments and,
		// for runs as another user, the credentials.
		setup func(t *testing.T, dir string) ([]string, *syscall.Credential)
		want  outcome
	}{
		{
			// A single line of 1 GiB from a FIFO: cut at max_line (16 MiB by
			// default) and counted, in bounded memory.
			name: "1 GiB single line through a FIFO root", timeout: 120 * time.Second,
			setup: func(t *testing.T, dir string) ([]string, *syscall.Credential) {
				p := filepath.Join(dir, "huge")
				fifoWriter(t, p, func(w io.Writer) error {
					chunk := bytes.Repeat([]byte{'x'}, 1<<20)
					for n := bigLineSize() >> 20; n > 0; n-- {
						if _, err := w.Write(chunk); err != nil {
							return err
						}
					}
					_, err := w.Write([]byte("\nafter the huge line ERROR\n"))
					return err
				})
				return []string{"--stats", "-e", "^x|ERROR", "-c", p}, nil
			},
			want: outcome{code: 0, stdout: []string{"2"}, stderr: []string{"lines=2", "cut_lines=1"}, maxRSSMiB: 128},
		},
		{
			name: "40 MiB line in a regular file, then a line", timeout: 30 * time.Second,
			setup: func(t *testing.T, dir string) ([]string, *syscall.Credential) {
				write(t, filepath.Join(dir, "long.log"), strings.Repeat("x", 40<<20)+"\nafter ERROR\n")
				return []string{"--stats", "--max-line", "1MiB", "-e", "ERROR", dir}, nil
			},
			want: outcome{code: 0, stdout: []string{"long.log:after ERROR"}, stderr: []string{"cut_lines=1"}, maxRSSMiB: 64},
		},
		{
			name: "file of only NUL bytes: binary, skipped", timeout: 10 * time.Second,
			setup: func(t *testing.T, dir string) ([]string, *syscall.Credential) {
				if err := os.WriteFile(filepath.Join(dir, "nul.log"), make([]byte, 1<<20), 0o644); err != nil {
					t.Fatal(err)
				}
				write(t, filepath.Join(dir, "ok.log"), "a line\n")
				return []string{"--stats", "-e", ".", dir}, nil
			},
			want: outcome{code: 0, stdout: []string{"ok.log:a line"}, notStdout: []string{"nul.log"}, stderr: []string{"binary_skipped=1"}},
		},
		{
			// Opening a FIFO for reading blocks until a writer comes: a
			// hang here means it was opened.
			name: "FIFO in the tree: skipped, never opened", timeout: 10 * time.Second,
			setup: func(t *testing.T, dir string) ([]string, *syscall.Credential) {
				if err := syscall.Mkfifo(filepath.Join(dir, "pipe.log"), 0o644); err != nil {
					t.Fatal(err)
				}
				write(t, filepath.Join(dir, "ok.log"), "a ERROR\n")
				return []string{"-e", "ERROR", dir}, nil
			},
			want: outcome{code: 0, stdout: []string{"ok.log:a ERROR"}, notStdout: []string{"pipe.log"}},
		},
		{
			name: "socket in the tree: skipped", timeout: 10 * time.Second,
			setup: func(t *testing.T, dir string) ([]string, *syscall.Credential) {
				ln, err := net.Listen("unix", filepath.Join(dir, "sock.log"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = ln.Close() }) // the socket file goes with the TempDir
				write(t, filepath.Join(dir, "ok.log"), "a ERROR\n")
				return []string{"-e", "ERROR", dir}, nil
			},
			want: outcome{code: 0, stdout: []string{"ok.log:a ERROR"}, notStdout: []string{"sock.log"}},
		},
		{
			name: "FIFO named as a root: read like standard input", timeout: 10 * time.Second,
			setup: func(t *testing.T, dir string) ([]string, *syscall.Credential) {
				p := filepath.Join(dir, "in")
				fifoWriter(t, p, func(w io.Writer) error {
					_, err := io.WriteString(w, "one\ntwo ERROR\nthree\n")
					return err
				})
				return []string{"-e", "ERROR", p}, nil
			},
			want: outcome{code: 0, stdout: []string{"two ERROR"}, notStdout: []string{"one", "three"}},
		},
		{
			name: "/dev/zero as a root: binary, skipped at once", timeout: 5 * time.Second,
			setup: func(t *testing.T, dir string) ([]string, *syscall.Credential) {
				return []string{"--stats", "-e", "x", "/dev/zero"}, nil
			},
			want: outcome{code: 1, stderr: []string{"binary_skipped=1"}, maxRSSMiB: 64},
		},
		{
			// The bottom is beyond PATH_MAX: reported as an error (exit 2),
			// the rest of the tree is still searched, nothing crashes.
			name: "10,000-deep directory chain", timeout: 60 * time.Second,
			setup: func(t *testing.T, dir string) ([]string, *syscall.Credential) {
				write(t, filepath.Join(dir, "top.log"), "top ERROR\n")
				deepChain(t, dir, 10000, "deep ERROR\n")
				return []string{"--stats", "-e", "ERROR", dir}, nil
			},
			want: outcome{code: 2, stdout: []string{"top.log:top ERROR"}, stderr: []string{"file name too long", "errors=1"}},
		},
		{
			name: "names that are not UTF-8: printed as their bytes", timeout: 10 * time.Second,
			setup: func(t *testing.T, dir string) ([]string, *syscall.Credential) {
				write(t, filepath.Join(dir, "caf\xe9-\xff\xfe.log"), "latin1 ERROR\n")
				return []string{"-e", "ERROR", dir}, nil
			},
			want: outcome{code: 0, stdout: []string{"caf\xe9-\xff\xfe.log:latin1 ERROR"}},
		},
		{
			// Appends during the scan: every printed line is whole, and at
			// least the lines there at the start are printed.
			name: "file that grows while it is scanned", timeout: 30 * time.Second,
			setup: func(t *testing.T, dir string) ([]string, *syscall.Credential) {
				p := filepath.Join(dir, "grow.log")
				write(t, p, strings.Repeat("ERROR "+strings.Repeat("g", 90)+"\n", 200000))
				growDuring(t, p)
				return []string{"--stats", "-e", "ERROR", p}, nil
			},
			want: outcome{code: 0},
		},
		{
			name: "file that shrinks while it is scanned", timeout: 30 * time.Second,
			setup: func(t *testing.T, dir string) ([]string, *syscall.Credential) {
				p := filepath.Join(dir, "shrink.log")
				write(t, p, strings.Repeat("ERROR "+strings.Repeat("s", 90)+"\n", 400000))
				shrinkDuring(t, p)
				return []string{"--stats", "-e", "ERROR", p}, nil
			},
			want: outcome{code: 0},
		},
		{
			// The logtail pattern: a state that cannot be saved means the
			// next run repeats or skips lines, so the run must fail.
			name: "state file on a full disk (one-shot)", timeout: 10 * time.Second,
			setup: func(t *testing.T, dir string) ([]string, *syscall.Credential) {
				full := fullDisk(t)
				write(t, filepath.Join(dir, "a.log"), "a ERROR\n")
				return []string{"--start-at", "beginning", "--log-format", "json", "--state-file", filepath.Join(full, "state.json"), "-e", "ERROR", dir}, nil
			},
			want: outcome{code: 2, stdout: []string{"a.log:a ERROR"}, stderr: []string{"no space left on device"}},
		},
		{
			name: "read-only state directory (one-shot)", timeout: 10 * time.Second,
			setup: func(t *testing.T, dir string) ([]string, *syscall.Credential) {
				ro, cred := readOnlyDir(t)
				openToAll(t, dir)
				write(t, filepath.Join(dir, "a.log"), "a ERROR\n")
				return []string{"--start-at", "beginning", "--log-format", "json", "--state-file", filepath.Join(ro, "state.json"), "-e", "ERROR", dir}, cred
			},
			want: outcome{code: 2, stdout: []string{"a.log:a ERROR"}, stderr: []string{"permission denied"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			args, cred := tt.setup(t, dir)
			r := runOnce(t, tt.timeout, cred, args...)
			check(t, r, tt.want)
			if strings.Contains(tt.name, "while it is scanned") {
				checkWholeLines(t, r.stdout)
			}
		})
	}
}

// growDuring appends lines to path while the test's logscan runs.
func growDuring(t *testing.T, path string) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		line := []byte("ERROR " + strings.Repeat("g", 90) + "\n")
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := f.Write(line); err != nil {
				t.Error(err)
				return
			}
			if i > 200_000 {
				return // bounded, whatever the scheduling
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// shrinkDuring truncates path to half, then to a third, while logscan runs.
func shrinkDuring(t *testing.T, path string) {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, n := range []int64{fi.Size() / 2, fi.Size() / 3, 4096 + 17} {
			if err := os.Truncate(path, n); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	t.Cleanup(func() { <-done })
}

// checkWholeLines asserts that every printed line is one that was written,
// except that the last may be a prefix of one: the end of the file met in
// the middle of an append or cut by a truncation is a last line without
// newline, printed as it is. No NULs, nothing foreign.
func checkWholeLines(t *testing.T, stdout string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	n := 0
	for i, line := range lines {
		n++
		whole := line == "ERROR "+strings.Repeat("g", 90) || line == "ERROR "+strings.Repeat("s", 90)
		prefix := strings.HasPrefix("ERROR "+strings.Repeat("g", 90), line) || strings.HasPrefix("ERROR "+strings.Repeat("s", 90), line)
		if !whole && !(i == len(lines)-1 && prefix) {
			t.Errorf("torn or foreign line %d of %d: %.120q", i+1, len(lines), line)
			return
		}
	}
	if n == 0 {
		t.Errorf("no lines printed")
	}
}

// follower is a running `logscan --follow`.
type follower struct {
	*testutil.Proc
	t *testing.T
}

// startFollow starts logscan --follow with args and waits until it logs that
// it is following.
func startFollow(t *testing.T, cred *syscall.Credential, args ...string) *follower {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--follow", "--log-format", "json"}, args...)...)
	cmd.Env = testutil.CleanEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	return &follower{Proc: testutil.StartFollowing(t, cmd), t: t}
}

// waitFor waits until an output line contains each of subs.
func (f *follower) waitFor(timeout time.Duration, subs ...string) {
	f.t.Helper()
	deadline := time.After(timeout)
	for {
		out := strings.Join(f.Output(), "\n")
		missing := ""
		for _, s := range subs {
			if !strings.Contains(out, s) {
				missing = s
				break
			}
		}
		if missing == "" {
			return
		}
		select {
		case <-f.Lines():
		case <-f.Done():
			f.t.Fatalf("logscan exited while waiting for %q: %s", missing, f.Logs())
		case <-deadline:
			f.t.Fatalf("no output line with %q within %s\noutput: %.2000s\nlog: %.2000s", missing, timeout, out, f.Logs())
		}
	}
}

// stop sends SIGTERM and requires exit status 0 within 5 s.
func (f *follower) stop() {
	f.t.Helper()
	if code, _ := f.Stop(f.t, syscall.SIGTERM, 5*time.Second); code != 0 {
		f.t.Errorf("exit status %d after SIGTERM, want 0: %s", code, f.Logs())
	}
}

// peakRSSMiB reads VmHWM of the running logscan.
func (f *follower) peakRSSMiB() int64 {
	f.t.Helper()
	kb, ok := vmHWM(f.Cmd.Process.Pid)
	if !ok {
		f.t.Fatal("cannot read VmHWM of logscan")
	}
	return kb >> 10
}

func count(lines []string, sub string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

func TestFollow(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, dir string)
	}{
		{
			// Polling instead of inotify: appends, a new file and a rename
			// rotation are all seen, each line once.
			name: "root without inotify, polled (--poll)",
			run: func(t *testing.T, dir string) {
				p := filepath.Join(dir, "app.log")
				write(t, p, "old\n")
				f := startFollow(t, nil, "--poll", "100ms", "-e", "ERROR", dir)
				appendTo(t, p, "one ERROR\n")
				write(t, filepath.Join(dir, "sub", "new.log"), "two ERROR\n")
				f.waitFor(10*time.Second, "one ERROR", "two ERROR")
				if err := os.Rename(p, p+".1"); err != nil {
					t.Fatal(err)
				}
				appendTo(t, p+".1", "three ERROR\n")
				write(t, p, "four ERROR\n")
				f.waitFor(10*time.Second, "three ERROR", "four ERROR")
				f.stop()
				out := f.Output()
				for _, s := range []string{"one ERROR", "two ERROR", "three ERROR", "four ERROR"} {
					if n := count(out, s); n != 1 {
						t.Errorf("%q printed %d times, want once", s, n)
					}
				}
			},
		},
		{
			// None of them is opened (a FIFO would block the loop), the NUL
			// file has no newline so it is one held partial line, and the
			// regular file after them is still followed.
			name: "FIFO, socket and NUL file appearing in the tree",
			run: func(t *testing.T, dir string) {
				f := startFollow(t, nil, "-e", ".", dir)
				if err := syscall.Mkfifo(filepath.Join(dir, "pipe.log"), 0o644); err != nil {
					t.Fatal(err)
				}
				ln, err := net.Listen("unix", filepath.Join(dir, "sock.log"))
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				if err := os.WriteFile(filepath.Join(dir, "nul.log"), make([]byte, 1<<20), 0o644); err != nil {
					t.Fatal(err)
				}
				write(t, filepath.Join(dir, "ok.log"), "still followed\n")
				f.waitFor(10*time.Second, "still followed")
				appendTo(t, filepath.Join(dir, "ok.log"), "and after\n")
				f.waitFor(10*time.Second, "and after")
				f.stop()
				for _, l := range f.Output() {
					if strings.Contains(l, "pipe.log") || strings.Contains(l, "sock.log") || strings.Contains(l, "nul.log") {
						t.Errorf("unexpected output from a FIFO, socket or NUL file: %.200s", l)
					}
				}
			},
		},
		{
			// A 40 MiB line is cut at --max-line, the next line is whole,
			// and memory stays bounded.
			name: "40 MiB line while following",
			run: func(t *testing.T, dir string) {
				p := filepath.Join(dir, "long.log")
				write(t, p, "")
				f := startFollow(t, nil, "--max-line", "1MiB", "-e", "ERROR|^x", dir)
				appendTo(t, p, strings.Repeat("x", 40<<20)+"\nafter ERROR\n")
				f.waitFor(20*time.Second, "after ERROR")
				if rss := f.peakRSSMiB(); rss > 96 {
					t.Errorf("peak RSS %d MiB, want at most 96", rss)
				}
				f.stop()
				out := f.Output()
				if n := count(out, "xxxxxxxx"); n != 1 {
					t.Errorf("%d cut lines printed, want 1", n)
				}
				for _, l := range out {
					if len(l) > 1<<20+4096 {
						t.Errorf("a printed line is %d bytes, more than --max-line 1MiB", len(l))
					}
				}
			},
		},
		{
			name: "names that are not UTF-8",
			run: func(t *testing.T, dir string) {
				f := startFollow(t, nil, "-e", "ERROR", dir)
				write(t, filepath.Join(dir, "caf\xe9-\xff.log"), "latin1 ERROR\n")
				f.waitFor(10*time.Second, "latin1 ERROR")
				f.stop()
			},
		},
		{
			// Directories within PATH_MAX are watched; deeper ones are out
			// of reach. Start-up ends, and the rest of the tree is followed.
			name: "10,000-deep directory chain",
			run: func(t *testing.T, dir string) {
				deepChain(t, dir, 10000, "deep ERROR\n")
				f := startFollow(t, nil, "-e", "ERROR", dir)
				write(t, filepath.Join(dir, "top.log"), "top ERROR\n")
				f.waitFor(20*time.Second, "top ERROR")
				f.stop()
			},
		},
		{
			// Saving fails with ENOSPC: logged with the cause, following
			// and matching go on, SIGTERM still exits 0.
			name: "state file on a full disk",
			run: func(t *testing.T, dir string) {
				full := fullDisk(t)
				p := filepath.Join(dir, "a.log")
				write(t, p, "")
				f := startFollow(t, nil, "--save-interval", "100ms", "--state-file", filepath.Join(full, "state.json"), "-e", "ERROR", dir)
				appendTo(t, p, "one ERROR\n")
				f.waitFor(10*time.Second, "one ERROR")
				appendTo(t, p, "two ERROR\n")
				f.waitFor(10*time.Second, "two ERROR")
				f.stop()
				if !strings.Contains(f.Logs(), "no space left on device") {
					t.Errorf("the log does not name the cause (no space left on device): %s", f.Logs())
				}
			},
		},
		{
			name: "read-only state directory",
			run: func(t *testing.T, dir string) {
				ro, cred := readOnlyDir(t)
				openToAll(t, dir)
				p := filepath.Join(dir, "a.log")
				write(t, p, "")
				f := startFollow(t, cred, "--save-interval", "100ms", "--state-file", filepath.Join(ro, "state.json"), "-e", "ERROR", dir)
				appendTo(t, p, "one ERROR\n")
				f.waitFor(10*time.Second, "one ERROR")
				f.stop()
				if !strings.Contains(f.Logs(), "permission denied") {
					t.Errorf("the log does not name the cause (permission denied): %s", f.Logs())
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, t.TempDir())
		})
	}
}
