package rotate_test

// Deterministic reproductions from the issue "Real rotators" (the first
// two) and of a loss this suite found (the third). They failed on the code
// this suite was written against (1,020 lines printed for 520; 150 of 260
// repeated; lines 101-150 lost) and are regression tests now.

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

// needRepro marks the reproductions of the issue "Real rotators": they
// failed before internal/watch was fixed and run in every suite since.
func needRepro(t *testing.T) { t.Helper() }

// checkOnce requires that lines 1..n of tag were each printed once, and
// nothing else was.
func checkOnce(t *testing.T, fs []*follower, tag string, n int) {
	t.Helper()
	tl := count(fs, map[string]int{tag: n})
	if len(tl.torn) > 0 {
		t.Errorf("%d printed lines are no complete writer line, e.g. %.300q", len(tl.torn), tl.torn[:min(3, len(tl.torn))])
	}
	printed, missing := 0, 0
	for seq := 1; seq <= n; seq++ {
		c := len(tl.emitted[key{tag, seq}])
		printed += c
		if c == 0 {
			missing++
		}
	}
	dup, ex := tl.dups(5)
	t.Logf("REPRO %s: %d lines printed (%d records), want %d each once: %d missing, %d repeated", t.Name(), printed, tl.records, n, missing, dup)
	if missing > 0 || dup > 0 {
		t.Errorf("printed %d lines for %d written: %d missing, %d repeated, e.g. %v", printed, n, missing, dup, ex)
		for i, f := range fs {
			t.Logf("logscan f%d diagnostics: %s", i+1, tail(f.Logs(), 4000))
		}
	}
}

func runCmd(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %q: %v: %s", name, args, err, out)
	}
}

// lastKeys are the keys of lines from..to of tag.
func lastKeys(tag string, from, to int) []key {
	var ks []key
	for i := from; i <= to; i++ {
		ks = append(ks, key{tag, i})
	}
	return ks
}

// A copy made before the truncation and moved into the tree after logscan
// has seen the truncation is content logscan already read, not a new file.
// Bug: its 500 lines are printed again (1,020 for 520).
func TestReproCopyMovedInAfterTruncate(t *testing.T) {
	needRepro(t)
	scratch := t.TempDir()
	tree, aside := filepath.Join(scratch, "tree"), filepath.Join(scratch, "aside")
	for _, d := range []string{tree, aside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	log, copied := filepath.Join(tree, "app.log"), filepath.Join(aside, "app.log.1")
	fs := []*follower{startLogscan(t, tree)}

	testutil.AppendFile(t, log, lines("app.log", 1, 500))
	waitPrinted(t, fs, 10*time.Second, key{"app.log", 500})
	runCmd(t, "cp", log, copied)
	testutil.AppendFile(t, log, lines("app.log", 501, 510))
	waitPrinted(t, fs, 10*time.Second, lastKeys("app.log", 501, 510)...)
	if err := os.Truncate(log, 0); err != nil {
		t.Fatal(err)
	}
	// Lines after the truncation, printed, prove that logscan has seen it
	// before the copy comes in: that order is the bug's.
	testutil.AppendFile(t, log, lines("app.log", 511, 515))
	waitPrinted(t, fs, 10*time.Second, lastKeys("app.log", 511, 515)...)
	if err := os.Rename(copied, log+".1"); err != nil {
		t.Fatal(err)
	}
	testutil.AppendFile(t, log, lines("app.log", 516, 520))
	waitPrinted(t, fs, 10*time.Second, lastKeys("app.log", 516, 520)...)
	quiesce(t, fs, nil, time.Now())
	stopClean(t, fs[0])
	checkOnce(t, fs, "app.log", 520)
}

// `cp app.log app.log.1` onto an app.log.1 that is already there (a copy of
// earlier content, already read) truncates and rewrites the same inode with
// content logscan read from app.log; none of it is new.
func TestReproCpOntoExistingCopy(t *testing.T) {
	needRepro(t)
	tree := t.TempDir()
	log := filepath.Join(tree, "app.log")
	fs := []*follower{startLogscan(t, tree)}
	cpTruncate := func() {
		runCmd(t, "cp", log, log+".1")
		runCmd(t, "truncate", "-s", "0", log)
	}

	testutil.AppendFile(t, log, lines("app.log", 1, 100))
	waitPrinted(t, fs, 10*time.Second, key{"app.log", 100})
	cpTruncate() // app.log.1 appears: a copy of lines 1..100
	testutil.AppendFile(t, log, lines("app.log", 101, 250))
	waitPrinted(t, fs, 10*time.Second, lastKeys("app.log", 101, 250)...)
	cpTruncate() // app.log.1, same inode, now holds lines 101..250
	testutil.AppendFile(t, log, lines("app.log", 251, 260))
	waitPrinted(t, fs, 10*time.Second, lastKeys("app.log", 251, 260)...)
	quiesce(t, fs, nil, time.Now())
	stopClean(t, fs[0])
	checkOnce(t, fs, "app.log", 260)
}

// Found by this suite (restart-kill), not in the issue: a logscan killed
// with -9 before its first save leaves no state file, so the next start is
// a first start and begins every existing file at its end: the lines
// written while it was down are lost. README: "after kill -9 nothing is
// lost".
func TestReproKillBeforeFirstSave(t *testing.T) {
	needRepro(t)
	scratch := t.TempDir()
	tree, st := filepath.Join(scratch, "tree"), filepath.Join(scratch, "state.json")
	if err := os.Mkdir(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(tree, "app.log")
	testutil.AppendFile(t, log, "")
	fs := []*follower{startLogscan(t, "--state-file", st, tree)}
	testutil.AppendFile(t, log, lines("app.log", 1, 100))
	waitPrinted(t, fs, 10*time.Second, key{"app.log", 100})
	fs[0].Stop(t, syscall.SIGKILL, 10*time.Second)
	fs[0].killed = true
	_, err := os.Stat(st)
	saved := err == nil
	testutil.AppendFile(t, log, lines("app.log", 101, 150)) // while logscan is down
	fs = append(fs, startLogscan(t, "--state-file", st, tree))
	testutil.AppendFile(t, log, lines("app.log", 151, 160))
	waitPrinted(t, fs, 10*time.Second, key{"app.log", 160})
	quiesce(t, fs, nil, time.Now())
	stopClean(t, fs[1])

	tl := count(fs, map[string]int{"app.log": 160})
	var missing []int
	for seq := 1; seq <= 160; seq++ {
		if len(tl.emitted[key{"app.log", seq}]) == 0 {
			missing = append(missing, seq)
		}
	}
	dup, _ := tl.dups(0)
	t.Logf("REPRO %s: state file there at the kill: %v; %d of 160 lines missing, %d repeated", t.Name(), saved, len(missing), dup)
	if len(missing) > 0 {
		t.Errorf("%d lines lost across the kill -9 (first %d, last %d)", len(missing), missing[0], missing[len(missing)-1])
	}
	if len(tl.torn) > 0 {
		t.Errorf("%d printed lines are no complete writer line, e.g. %.300q", len(tl.torn), tl.torn[:1])
	}
}
