package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

// TestOutputFileIsNotRead redirects stdout into the searched tree, one-shot
// and following: logscan must not read its own output (grep: "input file is
// also the output"), which following would otherwise feed on for ever.
func TestOutputFileIsNotRead(t *testing.T) {
	for _, follow := range []bool{false, true} {
		name := "one-shot"
		if follow {
			name = "follow"
		}
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			testutil.AppendFile(t, filepath.Join(root, "a.log"), "ERROR one\n")
			outPath := filepath.Join(root, "out.txt")
			out, err := os.Create(outPath)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			args := []string{"-e", "ERROR", root}
			if follow {
				args = append([]string{"--follow", "--start-at", "beginning"}, args...)
			}
			cmd := exec.Command(os.Args[0], args...)
			cmd.Env = append(os.Environ(), "BE_LOGSCAN_MAIN=1", "LOGSCAN_LOG_FORMAT=json")
			errb := &testutil.SyncBuffer{}
			cmd.Stdout, cmd.Stderr = out, errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			if follow {
				testutil.Eventually(t, "following", 20*time.Second, func() bool { return strings.Contains(errb.String(), `"following"`) })
				testutil.AppendFile(t, filepath.Join(root, "a.log"), "ERROR two\n")
				testutil.Eventually(t, "ERROR two", 10*time.Second, func() bool {
					b, _ := os.ReadFile(outPath)
					return strings.Contains(string(b), "ERROR two")
				})
				time.Sleep(200 * time.Millisecond) // a feedback loop would grow the file now
				if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
			}
			if err := <-done; err != nil {
				t.Fatalf("exit: %v; stderr %s", err, errb.String())
			}
			b, err := os.ReadFile(outPath)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(b), "\n"); strings.Contains(string(b), "out.txt") || n != 1+btoi(follow) {
				t.Errorf("output read itself (%d lines):\n%s", n, b)
			}
			if !strings.Contains(errb.String(), "input file is also the output") || strings.Count(errb.String(), "input file is also the output") != 1 {
				t.Errorf("the skip is not reported once: %s", errb.String())
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
