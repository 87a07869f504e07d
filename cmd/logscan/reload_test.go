package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

// reloadBody holds lines that each selection flag treats differently.
const reloadBody = "ERROR one\nerror two\nan err here\nerrors everywhere\nterror\n[x] bracket\nERROR healthcheck\nplain\nERROR\n"

// TestReloadSelectsTheSame starts a follower with each selection flag,
// writes a file, reloads with SIGHUP and unchanged inputs, and writes the
// same content again: the reloaded pipeline must select exactly the lines
// the starting one did. It catches a reload that builds its pipeline from
// anything but the start's path (as -w once did).
func TestReloadSelectsTheSame(t *testing.T) {
	cases := [][]string{
		{"-e", "ERROR"},
		{"-w", "-e", "err"},
		{"-x", "-e", "ERROR"},
		{"-v", "-e", "ERROR"},
		{"-i", "-e", "error"},
		{"-F", "-e", "[x]"},
		{"-e", "ERROR", "--ignore", "healthcheck"},
		{"-w", "-i", "-F", "-e", "ERROR", "-e", "err"},
		{"--include", "*.log", "-x", "-v", "-e", "plain"},
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			root := t.TempDir()
			want, _ := runMode(t, append(slices.Clone(args), "-h", writeBody(t, root, "probe.txt")))
			if err := os.Remove(filepath.Join(root, "probe.txt")); err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 {
				t.Fatal("the case selects nothing: it would prove nothing")
			}
			p := startLogscan(t, append([]string{"--follow", "-h", "--log-format", "json", root}, args...)...)
			writeBody(t, root, "before.log")
			waitLines(t, p, len(want))
			if err := p.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			testutil.Eventually(t, "reload", 10*time.Second, func() bool {
				return strings.Contains(p.Logs(), "configuration reloaded")
			})
			writeBody(t, root, "after.log")
			waitLines(t, p, 2*len(want))
			time.Sleep(50 * time.Millisecond) // let a wrong extra line show up
			out := p.Output()
			before, after := slices.Clone(out[:len(want)]), slices.Clone(out[len(want):])
			slices.Sort(before)
			slices.Sort(after)
			if len(out) != 2*len(want) || !slices.Equal(before, want) || !slices.Equal(after, want) {
				t.Errorf("want %q\nbefore reload %q\nafter reload  %q", want, before, after)
			}
			p.Stop(t, syscall.SIGTERM, 10*time.Second)
		})
	}
}

func writeBody(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	testutil.AppendFile(t, p, reloadBody)
	return p
}
