package linemetrics_test

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestReproTruncatedWhileDown is the deterministic case of the
// *-copytruncate-while-down scenarios: 1,000 lines counted, logscan
// stopped, logrotate's copytruncate while none runs (app.log, the same
// inode, now empty; app.log.1 the copy), logscan started again and 10
// lines appended to app.log. They are new lines: 1,010 requests, with
// SIGTERM as with kill -9.
func TestReproTruncatedWhileDown(t *testing.T) {
	lr := tool(t, "logrotate", "apt-get install -y logrotate")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		name := map[syscall.Signal]string{syscall.SIGTERM: "sigterm", syscall.SIGKILL: "kill-9"}[sig]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.writeConfig(baseRule(bounds))
			if err := os.WriteFile(e.lrConf, []byte(fmt.Sprintf("%q {\n\trotate 5\n\tcopytruncate\n}\n", e.app)), 0o644); err != nil {
				t.Fatal(err)
			}
			appendLines(t, e.app, 0, 1000, mixLine)
			e.startLogscan()
			key := key(prefix + "http_bytes_count")
			if _, ok := e.waitEqual(series{key: 1000}, settle); !ok {
				t.Fatalf("the first 1000 lines are not counted: %g", e.scrape()[key])
			}
			time.Sleep(400 * time.Millisecond) // two saves
			if sig == syscall.SIGKILL {
				e.kill9()
			} else {
				e.stop()
			}
			e.logrotate(lr)
			e.startLogscan()
			appendLines(t, e.app, 1000, 1010, mixLine)
			got, _ := e.waitEqual(series{key: 1010}, 5*time.Second)
			disk, _ := onDisk(t, e.logs)
			want := newExpectation(prefix).base(disk, bounds)
			e.check(got, want.series, baseFamilies[:3]...)
			e.summary("repro-truncated-while-down-"+name, 1010, requests(want.series, prefix), requests(got, prefix),
				fmt.Sprintf("printed_after_restart=%d", len(e.procs[1].Output())))
			e.stop()
		})
	}
}
