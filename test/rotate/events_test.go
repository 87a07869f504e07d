package rotate_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

// TestLogrotateMidEvent runs the real logrotate between the two halves of
// Java traces that a follower joins (--multiline java): create (rename, the
// new file continues the trace), create with compress (the renamed file is
// gzipped and deleted at once), and copytruncate (the file goes on at
// offset 0). Every trace must be printed once and whole: the new file's
// first lines continue the event the old one began.
func TestLogrotateMidEvent(t *testing.T) {
	lr := testutil.Logrotate(t)
	for _, method := range []string{"create", "create\n\tcompress", "copytruncate"} {
		name := strings.ReplaceAll(strings.ReplaceAll(method, "\n\t", "+"), " ", "")
		t.Run(name, func(t *testing.T) {
			scratch := t.TempDir()
			tree := filepath.Join(scratch, "tree")
			if err := os.Mkdir(tree, 0o755); err != nil {
				t.Fatal(err)
			}
			logf := filepath.Join(tree, "app.log")
			testutil.AppendFile(t, logf, "")
			conf := filepath.Join(scratch, "logrotate.conf")
			body := fmt.Sprintf("%q {\n\trotate 50\n\tmissingok\n\t%s\n}\n", logf, method)
			if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			state := filepath.Join(scratch, "state.json")
			f := startLogscan(t, "--multiline", "java", "--state-file", state, "--save-interval", "50ms", tree)
			const events = 12
			want := map[int]int{}
			rotations := 0
			for k := range events {
				first, second, lines := trace(k)
				want[k] = lines
				testutil.AppendFile(t, logf, first)
				time.Sleep(100 * time.Millisecond) // the follower reads the first half
				if k%3 == 1 {
					out, err := exec.Command(lr, "-f", "-s", filepath.Join(scratch, "lr.status"), conf).CombinedOutput()
					if err != nil {
						t.Fatalf("logrotate: %v: %s", err, out)
					}
					rotations++
				}
				testutil.AppendFile(t, logf, second)
			}
			testutil.AppendFile(t, logf, "2026-12-01 10:00:01.000 INFO [main] svc - done\n")
			got := map[int][]int{}
			headless := 0
			testutil.Eventually(t, "every trace", 20*time.Second, func() bool {
				got, headless = traces(f.Output())
				return len(got) == events
			})
			time.Sleep(300 * time.Millisecond) // a repeat would come now
			f.Stop(t, syscall.SIGTERM, 10*time.Second)
			<-f.Done()
			got, headless = traces(f.Output())
			lost, split, dup := 0, headless, 0
			for k, n := range want {
				switch {
				case len(got[k]) == 0:
					lost++
				case len(got[k]) > 1:
					dup += len(got[k]) - 1
				}
				for _, l := range got[k] {
					if l != n {
						split++
					}
				}
			}
			t.Logf("%s: %d traces, %d rotations mid-trace: lost %d, split %d, duplicated %d", name, events, rotations, lost, split, dup)
			if lost+split+dup > 0 {
				t.Errorf("lost %d, split %d, duplicated %d:\n%s", lost, split, dup, strings.Join(f.Output(), "\n"))
			}
		})
	}
}

// trace is event k: a log line and a Java trace of 2 + k%4 frames, in two
// halves.
func trace(k int) (first, second string, lines int) {
	first = fmt.Sprintf("2026-12-01 10:00:00.000 ERROR [main] svc - failed seq=%d\njava.lang.IllegalStateException: seq=%d\n", k, k)
	var b strings.Builder
	frames := 2 + k%4
	for i := range frames {
		fmt.Fprintf(&b, "\tat a.B.m%d(B.java:%d)\n", i, k)
	}
	return first, b.String(), 2 + frames
}

// traces maps each printed trace's seq to the line counts it came with,
// and counts the events printed without their first line.
func traces(out []string) (map[int][]int, int) {
	m := map[int][]int{}
	headless := 0
	for _, l := range out {
		var ev struct {
			Body  string
			Lines int
		}
		if json.Unmarshal([]byte(l), &ev) != nil || strings.Contains(ev.Body, "INFO") {
			continue
		}
		var k int
		i := strings.Index(ev.Body, "seq=")
		if i < 0 || !strings.HasPrefix(ev.Body, "2026-") {
			headless++
			continue
		}
		if _, err := fmt.Sscanf(ev.Body[i+4:], "%d", &k); err != nil {
			headless++
			continue
		}
		m[k] = append(m[k], ev.Lines)
	}
	return m, headless
}
