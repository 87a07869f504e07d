package testutil

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Binary is the logscan binary a test package's TestMain builds for its
// tests, which run it as a user would.
type Binary struct {
	Path string
	// Err is why it could not be built: each test that needs it fails
	// with it (a package's harness tests may need none).
	Err error
	dir string
}

// Listing reports whether go test only lists the tests (-test.list): then
// no binary is needed. It parses the flags.
func Listing() bool {
	flag.Parse()
	f := flag.Lookup("test.list")
	return f != nil && f.Value.String() != ""
}

// BuildLogscan builds ./cmd/logscan into a new temporary directory named
// after the package, or takes the binary $env names when it is set. The
// directory is readable by everyone (a suite runs logscan as nobody). The
// error is only the directory's; a build failure is in Binary.Err.
func BuildLogscan(name, env string) (*Binary, error) {
	dir, err := os.MkdirTemp("", "logscan-"+name+"-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	b := &Binary{dir: dir}
	if p := os.Getenv(env); env != "" && p != "" {
		b.Path = p
		return b, nil
	}
	b.Path = filepath.Join(dir, "logscan")
	build := exec.Command("go", "build", "-o", b.Path, "github.com/logscan/logscan/cmd/logscan")
	if out, err := build.CombinedOutput(); err != nil {
		b.Err = fmt.Errorf("go build ./cmd/logscan: %v\n%s", err, out)
	}
	return b, nil
}

// Remove removes the temporary directory.
func (b *Binary) Remove() error { return os.RemoveAll(b.dir) }

// MainWithLogscan is the body of a TestMain whose tests run logscan: it
// builds it (BuildLogscan), hands it to use, runs the tests and removes
// it, and returns the exit code. When required, a failed build fails the
// whole package at once; else each test that needs the binary fails with
// Binary.Err. Only listing the tests builds nothing.
func MainWithLogscan(m interface{ Run() int }, name, env string, required bool, use func(*Binary)) int {
	if Listing() {
		return m.Run()
	}
	b, err := BuildLogscan(name, env)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 2
	}
	defer func() {
		if err := b.Remove(); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		}
	}()
	if required && b.Err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, b.Err)
		return 2
	}
	use(b)
	return m.Run()
}
