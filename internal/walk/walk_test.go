package walk

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// record is what one walk reported, with root stripped from the paths.
type record struct {
	files  []string
	skips  []string
	errs   []error
	events []string // files, skips and errors in the order they happened
}

func walkAll(root string, opts ...Option) *record {
	r := &record{}
	rel := func(p string) string {
		if s, ok := strings.CutPrefix(p, root); ok && s != "" {
			return strings.TrimPrefix(s, "/")
		}
		return p
	}
	opts = append([]Option{
		OnError(func(p string, err error) {
			r.errs = append(r.errs, err)
			r.events = append(r.events, fmt.Sprintf("error %q", rel(p)))
		}),
		OnSkip(func(p, reason string) {
			r.skips = append(r.skips, reason+" "+rel(p))
			r.events = append(r.events, fmt.Sprintf("skip  %q %s", rel(p), reason))
		}),
	}, opts...)
	for p := range Files(root, opts...) {
		r.files = append(r.files, rel(p))
		r.events = append(r.events, fmt.Sprintf("file  %q", rel(p)))
	}
	return r
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path string) {
	t.Helper()
	mustDo(t, os.MkdirAll(filepath.Dir(path), 0o755))
	mustDo(t, os.WriteFile(path, []byte("line\n"), 0o644))
}

// buildTree makes a tree with every kind of entry the walk must handle.
func buildTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range []string{"a.log", "b dir/c.log", "bad\xff.log", "new\nline.log",
		"sub/deep/x.log", "sub/y.log", "with space.log"} {
		writeFile(t, filepath.Join(root, f))
	}
	mustDo(t, os.Mkdir(filepath.Join(root, "z"), 0o755))
	for link, target := range map[string]string{
		"dangling": "nowhere",
		"link.log": "a.log",
		"linkdir":  "sub",
		"loop":     ".",
		"sub/up":   "..",
		"sub/abs":  root,
	} {
		mustDo(t, os.Symlink(target, filepath.Join(root, link)))
	}
	mustDo(t, syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644))
	mustDo(t, syscall.Mknod(filepath.Join(root, "sock"), syscall.S_IFSOCK|0o644, 0))
	return root
}

func TestFilesTreeGolden(t *testing.T) {
	root := buildTree(t)
	// A device node needs CAP_MKNOD; without it the tree and the golden
	// file go without it.
	const deviceLine = `skip  "null" device` + "\n"
	noDevice := syscall.Mknod(filepath.Join(root, "null"), syscall.S_IFCHR|0o666, 1<<8|3) != nil
	done := make(chan *record)
	go func() { done <- walkAll(root) }()
	var r *record
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("walk did not finish: did it open the FIFO?")
	}
	got := strings.Join(r.events, "\n") + "\n"
	golden := filepath.Join("testdata", "tree.golden")
	if *update && !noDevice {
		mustDo(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	mustDo(t, err)
	if noDevice {
		t.Log("cannot create a device node: checking the tree without it")
		want = bytes.Replace(want, []byte(deviceLine), nil, 1)
	}
	if got != string(want) {
		t.Fatalf("walk events differ from %s:\n got:\n%s\nwant:\n%s", golden, got, want)
	}
}

func TestFilesRoots(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(t *testing.T, dir string) string // returns the root to walk
		wantFiles []string                              // relative to the root, or the root itself
		wantSkips []string
		wantErr   error
	}{
		{
			name: "regular file root",
			setup: func(t *testing.T, dir string) string {
				writeFile(t, filepath.Join(dir, "f.log"))
				return filepath.Join(dir, "f.log")
			},
			wantFiles: []string{"ROOT"},
		},
		{
			name: "symlink to file root",
			setup: func(t *testing.T, dir string) string {
				writeFile(t, filepath.Join(dir, "f.log"))
				mustDo(t, os.Symlink("f.log", filepath.Join(dir, "l.log")))
				return filepath.Join(dir, "l.log")
			},
			wantFiles: []string{"ROOT"},
		},
		{
			name: "fifo root is yielded, not opened",
			setup: func(t *testing.T, dir string) string {
				mustDo(t, syscall.Mkfifo(filepath.Join(dir, "p"), 0o644))
				return filepath.Join(dir, "p")
			},
			wantFiles: []string{"ROOT"},
		},
		{
			name: "socket root is skipped",
			setup: func(t *testing.T, dir string) string {
				mustDo(t, syscall.Mknod(filepath.Join(dir, "s"), syscall.S_IFSOCK|0o644, 0))
				return filepath.Join(dir, "s")
			},
			wantSkips: []string{"socket ROOT"},
		},
		{
			name: "symlinked directory root is resolved",
			setup: func(t *testing.T, dir string) string {
				writeFile(t, filepath.Join(dir, "real/a.log"))
				writeFile(t, filepath.Join(dir, "real/s/b.log"))
				mustDo(t, os.Symlink("real", filepath.Join(dir, "link")))
				return filepath.Join(dir, "link")
			},
			wantFiles: []string{"a.log", "s/b.log"},
		},
		{
			name: "trailing slash kept",
			setup: func(t *testing.T, dir string) string {
				writeFile(t, filepath.Join(dir, "a.log"))
				return dir + "/"
			},
			wantFiles: []string{"a.log"},
		},
		{
			name: "missing root",
			setup: func(t *testing.T, dir string) string {
				return filepath.Join(dir, "absent")
			},
			wantErr: fs.ErrNotExist,
		},
		{
			name: "dangling symlink root",
			setup: func(t *testing.T, dir string) string {
				mustDo(t, os.Symlink("absent", filepath.Join(dir, "l")))
				return filepath.Join(dir, "l")
			},
			wantErr: fs.ErrNotExist,
		},
		{
			name: "60 levels deep",
			setup: func(t *testing.T, dir string) string {
				writeFile(t, filepath.Join(dir, strings.Repeat("d/", 60)+"deep.log"))
				writeFile(t, filepath.Join(dir, "e.log"))
				return dir
			},
			wantFiles: []string{strings.Repeat("d/", 60) + "deep.log", "e.log"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tt.setup(t, t.TempDir())
			r := walkAll(root)
			fix := func(s []string) []string {
				out := make([]string, len(s))
				for i, v := range s {
					out[i] = strings.ReplaceAll(v, root, "ROOT")
				}
				return out
			}
			if !slices.Equal(fix(r.files), tt.wantFiles) || !slices.Equal(fix(r.skips), tt.wantSkips) {
				t.Fatalf("files %q skips %q; want %q, %q", fix(r.files), fix(r.skips), tt.wantFiles, tt.wantSkips)
			}
			if tt.wantErr == nil && len(r.errs) > 0 || tt.wantErr != nil && (len(r.errs) != 1 || !errors.Is(r.errs[0], tt.wantErr)) {
				t.Fatalf("errors %v, want %v", r.errs, tt.wantErr)
			}
		})
	}
}

func TestFilesUnreadableDirectory(t *testing.T) {
	t.Run("chmod 000", func(t *testing.T) {
		root := t.TempDir()
		writeFile(t, filepath.Join(root, "a/in.log"))
		writeFile(t, filepath.Join(root, "b.log"))
		locked := filepath.Join(root, "a")
		mustDo(t, os.Chmod(locked, 0))
		t.Cleanup(func() { _ = os.Chmod(locked, 0o755) })
		if _, err := os.ReadDir(locked); err == nil {
			// Root (CAP_DAC_OVERRIDE) reads it anyway: walk as
			// an unprivileged user in a child process instead.
			walkAsNobody(t, root)
			return
		}
		checkUnreadable(t, root)
	})
	t.Run("vanished", func(t *testing.T) {
		// A directory removed between being listed and being read
		// fails to open whatever the privileges of the test.
		root := t.TempDir()
		writeFile(t, filepath.Join(root, "a/in.log"))
		writeFile(t, filepath.Join(root, "b.log"))
		r := walkAll(root, Exclude(func(path string, d fs.DirEntry) bool {
			if d.Name() == "a" {
				mustDo(t, os.RemoveAll(path))
			}
			return false
		}))
		want := []string{`error "a"`, `file  "b.log"`}
		if !slices.Equal(r.events, want) || !errors.Is(r.errs[0], fs.ErrNotExist) {
			t.Fatalf("events %q errors %v; want %q", r.events, r.errs, want)
		}
	})
}

// checkUnreadable walks a tree made by TestFilesUnreadableDirectory, where
// directory "a" cannot be read.
func checkUnreadable(t *testing.T, root string) {
	t.Helper()
	r := walkAll(root)
	if !slices.Equal(r.files, []string{"b.log"}) || len(r.errs) != 1 || !errors.Is(r.errs[0], fs.ErrPermission) {
		t.Fatalf("files %q errors %v; want [b.log] and one permission error", r.files, r.errs)
	}
}

const helperEnv = "WALK_TEST_UNREADABLE_ROOT"

// TestHelperUnreadable runs checkUnreadable in the child process started by
// walkAsNobody.
func TestHelperUnreadable(t *testing.T) {
	root := os.Getenv(helperEnv)
	if root == "" {
		t.Skip("helper of TestFilesUnreadableDirectory, run only as its child")
	}
	checkUnreadable(t, root)
	fmt.Println("helper checked", root)
}

// walkAsNobody re-runs the test binary as uid/gid 65534 on root, so that
// the permission error is real even when the tests run as root.
func walkAsNobody(t *testing.T, root string) {
	t.Helper()
	exe, err := os.Executable()
	mustDo(t, err)
	bin, err := os.ReadFile(exe)
	mustDo(t, err)
	// The child must reach the binary and the tree: open up the
	// temporary directories, which are created 0700.
	binDir := t.TempDir()
	for _, dir := range []string{root, binDir} {
		for d := dir; strings.HasPrefix(d, os.TempDir()+"/"); d = filepath.Dir(d) {
			mustDo(t, os.Chmod(d, 0o755))
		}
	}
	child := filepath.Join(binDir, "walk.test")
	mustDo(t, os.WriteFile(child, bin, 0o755))
	cmd := exec.Command(child, "-test.run=^TestHelperUnreadable$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+root)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if errors.Is(err, syscall.EPERM) {
		t.Skipf("cannot switch to an unprivileged user: %v", err)
	}
	if err != nil || !strings.Contains(string(out), "helper checked") {
		t.Fatalf("child walk as uid 65534: %v\n%s", err, out)
	}
}

func TestFilesExclude(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"a.log", "skip.tmp", "vendor/x.log", "keep/y.log"} {
		writeFile(t, filepath.Join(root, f))
	}
	var seen []string
	r := walkAll(root, Exclude(func(path string, d fs.DirEntry) bool {
		seen = append(seen, d.Name())
		return d.Name() == "vendor" || strings.HasSuffix(path, ".tmp")
	}))
	if want := []string{"a.log", "keep/y.log"}; !slices.Equal(r.files, want) {
		t.Fatalf("files %q, want %q", r.files, want)
	}
	if want := []string{"a.log", "keep", "y.log", "skip.tmp", "vendor"}; !slices.Equal(seen, want) {
		t.Fatalf("Exclude saw %q, want %q (pruned directories are not entered)", seen, want)
	}
}

func TestFilesEarlyBreak(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"a/1.log", "a/2.log", "b/3.log", "c.log"} {
		writeFile(t, filepath.Join(root, f))
	}
	visited := 0
	var got []string
	for p := range Files(root, OnError(func(p string, err error) { t.Errorf("%s: %v", p, err) }),
		Exclude(func(string, fs.DirEntry) bool { visited++; return false })) {
		got = append(got, p)
		if len(got) == 2 {
			break
		}
	}
	if len(got) != 2 || visited != 3 {
		t.Fatalf("got %q after visiting %d entries; want 2 files after 3 entries", got, visited)
	}
}

func TestFilesDefaultSinkIsStderr(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	mustDo(t, err)
	defer f.Close()
	saved := os.Stderr
	os.Stderr = f
	missing := filepath.Join(t.TempDir(), "absent")
	for range Files(missing) {
	}
	os.Stderr = saved
	out, err := os.ReadFile(f.Name())
	mustDo(t, err)
	if !strings.Contains(string(out), missing) || !strings.Contains(string(out), "no such file") {
		t.Fatalf("stderr = %q, want the missing root named", out)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors: %v", err)
	}
	return len(fds)
}

// makeChain creates root/d/d/.../d, depth levels, with one fd at a time
// (openat), since the deepest paths are too long for path-based calls. It
// puts mid.log at depth mid and bottom.log at the bottom.
func makeChain(t *testing.T, root string, depth, mid int) {
	t.Helper()
	const dirFlags = syscall.O_RDONLY | syscall.O_DIRECTORY | syscall.O_CLOEXEC | syscall.O_NOFOLLOW
	fd, err := syscall.Open(root, dirFlags, 0)
	mustDo(t, err)
	touch := func(name string) {
		f, err := syscall.Openat(fd, name, syscall.O_CREAT|syscall.O_WRONLY|syscall.O_CLOEXEC, 0o644)
		mustDo(t, err)
		mustDo(t, syscall.Close(f))
	}
	for i := range depth {
		if i == mid {
			touch("mid.log")
		}
		mustDo(t, syscall.Mkdirat(fd, "d", 0o755))
		next, err := syscall.Openat(fd, "d", dirFlags, 0)
		mustDo(t, err)
		mustDo(t, syscall.Close(fd))
		fd = next
	}
	touch("bottom.log")
	mustDo(t, syscall.Close(fd))
}

// removeChain undoes makeChain with short paths only, pulling each level up
// to the root, because os.RemoveAll holds one fd per level.
func removeChain(root string) error {
	top := filepath.Join(root, "d")
	tmp := filepath.Join(root, "t")
	for {
		err := os.Rename(filepath.Join(top, "d"), tmp)
		if errors.Is(err, fs.ErrNotExist) {
			return os.RemoveAll(top)
		}
		if err != nil {
			return err
		}
		if err := os.RemoveAll(top); err != nil {
			return err
		}
		if err := os.Rename(tmp, top); err != nil {
			return err
		}
	}
}

func TestFilesDeepChain(t *testing.T) {
	const depth, mid = 10_000, 50
	root := t.TempDir()
	makeChain(t, root, depth, mid)
	t.Cleanup(func() {
		if err := removeChain(root); err != nil {
			t.Errorf("removing the chain: %v", err)
		}
	})
	base := openFDs(t)
	maxFDs := 0
	var files []string
	var errs []error
	for p := range Files(root, OnError(func(p string, err error) {
		maxFDs = max(maxFDs, openFDs(t))
		errs = append(errs, err)
	})) {
		maxFDs = max(maxFDs, openFDs(t))
		files = append(files, p)
	}
	want := filepath.Join(root, strings.Repeat("d/", mid)+"mid.log")
	if !slices.Equal(files, []string{want}) {
		t.Fatalf("files %q, want [%q]", files, want)
	}
	// The walk goes down until the path reaches PATH_MAX, then reports it.
	if len(errs) != 1 || !errors.Is(errs[0], syscall.ENAMETOOLONG) {
		t.Fatalf("errors %v, want one ENAMETOOLONG", errs)
	}
	if maxFDs > base+1 {
		t.Fatalf("%d file descriptors open during the walk, %d before", maxFDs, base)
	}
}
