package rotate_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

// key names one writer line: the file tag it was written for and its
// sequence number there (1, 2, ... per tag).
type key struct {
	tag string
	seq int
}

func (k key) String() string { return fmt.Sprintf("%s#%d", k.tag, k.seq) }

// lineText is writer line seq of tag, without its newline. The pad length
// depends on both, so a line spliced from two halves does not parse.
func lineText(tag string, seq int) string {
	return fmt.Sprintf("seq=%08d file=%s pad=%s", seq, tag, strings.Repeat("x", padLen(tag, seq)))
}

func padLen(tag string, seq int) int { return 16 + (seq*7+len(tag)*3)%48 }

var lineRE = regexp.MustCompile(`^seq=([0-9]{8}) file=([a-z0-9/._-]+) pad=(x*)$`)

// parseLine reads a complete, well-formed writer line.
func parseLine(s string) (key, bool) {
	m := lineRE.FindStringSubmatch(s)
	if m == nil {
		return key{}, false
	}
	seq, err := strconv.Atoi(m[1])
	if err != nil || seq < 1 || len(m[3]) != padLen(m[2], seq) {
		return key{}, false
	}
	return key{m[2], seq}, true
}

// lines returns the text of writer lines from..to of tag, newline-ended.
func lines(tag string, from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		b.WriteString(lineText(tag, i))
		b.WriteByte('\n')
	}
	return b.String()
}

// follower is one logscan process of a run.
type follower struct {
	*testutil.Proc
	started time.Time
	killed  bool // ended by SIGKILL: its last output line may be cut
}

// startLogscan starts `logscan --follow` with JSON matches on stdout and
// JSON diagnostics on stderr, and waits until it follows.
func startLogscan(t *testing.T, args ...string) *follower {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--follow", "--json", "--log-format", "json", "-e", ""}, args...)...)
	cmd.Env = testutil.CleanEnv()
	started := time.Now()
	return &follower{Proc: testutil.StartFollowing(t, cmd), started: started}
}

// waitSaved waits up to limit until f has written the state file at path
// at least once.
func waitSaved(t *testing.T, f *follower, path string, limit time.Duration) {
	t.Helper()
	deadline := time.After(limit)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if fi, err := os.Stat(path); err == nil && fi.ModTime().After(f.started) {
			return
		}
		select {
		case <-tick.C:
		case <-f.Done():
			t.Fatalf("logscan exited while waiting for it to save the state: %s", tail(f.Logs(), 2000))
		case <-deadline:
			t.Fatalf("logscan did not save the state file within %s of its start: %s", limit, tail(f.Logs(), 2000))
		}
	}
}

// match is the part of a --json match that the count needs.
type match struct {
	Type       string `json:"type"`
	Path       string `json:"path"`
	Offset     int64  `json:"offset"`
	Text       string `json:"text"`
	TextBase64 string `json:"text_base64"`
}

// tally is what the followers printed, line by line.
type tally struct {
	emitted map[key][]string // key → where each print came from: "fN:path@offset" (follower N, path from the tree down)
	torn    []string         // printed lines that are no complete writer line
	cut     int              // an unparseable last record of a killed logscan
	records int
}

// count parses every stdout record of fs. written bounds each tag's
// sequence numbers (a number past it is no writer line); nil skips that.
func count(fs []*follower, written map[string]int) tally {
	tl := tally{emitted: map[key][]string{}}
	for fi, f := range fs {
		out := f.Output()
		for i, rec := range out {
			tl.records++
			var m match
			if err := json.Unmarshal([]byte(rec), &m); err != nil {
				if f.killed && i == len(out)-1 {
					tl.cut++
				} else {
					tl.torn = append(tl.torn, rec)
				}
				continue
			}
			text := m.Text
			if m.TextBase64 != "" {
				b, err := base64.StdEncoding.DecodeString(m.TextBase64)
				if err != nil {
					tl.torn = append(tl.torn, rec)
					continue
				}
				text = string(b)
			}
			k, ok := parseLine(text)
			if m.Type != "match" || !ok || (written != nil && k.seq > written[k.tag]) {
				tl.torn = append(tl.torn, rec)
				continue
			}
			p := m.Path
			if i := strings.LastIndex(p, "/tree/"); i >= 0 {
				p = p[i+1:]
			}
			tl.emitted[k] = append(tl.emitted[k], fmt.Sprintf("f%d:%s@%d", fi+1, p, m.Offset))
		}
	}
	return tl
}

// dups returns how many prints were repeats, and up to n examples.
func (tl tally) dups(n int) (int, []string) {
	total := 0
	var ex []string
	for k, ps := range tl.emitted {
		if len(ps) > 1 {
			total += len(ps) - 1
			if len(ex) < n {
				ex = append(ex, fmt.Sprintf("%v printed %d times, from %v", k, len(ps), ps))
			}
		}
	}
	return total, ex
}

// repeatsAfterRestart counts, for each follower, the repeats it printed of
// a line an earlier follower had printed (the window a kill -9 may repeat).
// It returns the most any follower printed, which one (1-based), and the sum
// over all followers. A line printed twice by one follower is not counted.
func (tl tally) repeatsAfterRestart() (most, by, sum int) {
	per := map[int]int{}
	for _, ps := range tl.emitted {
		for i := 1; i < len(ps); i++ {
			if a, b := printedBy(ps[i-1]), printedBy(ps[i]); a != b {
				per[b]++
				sum++
			}
		}
	}
	for f, n := range per {
		if n > most || n == most && f < by {
			most, by = n, f
		}
	}
	return most, by, sum
}

// printedBy reads N from a print's "fN:path@offset".
func printedBy(print string) int {
	n, _ := strconv.Atoi(print[1:strings.IndexByte(print, ':')])
	return n
}

// Where a line was found on disk.
const (
	absent  = iota
	outside // only in a file outside the tree
	inTree  // in a file in the tree (a .gz there too)
)

type place struct {
	class int
	path  string // one file that holds it, for failure messages
}

// disk is every writer line found in files, with the best place found.
type disk map[key]place

func (d disk) add(k key, p place) {
	if old, ok := d[k]; !ok || p.class > old.class {
		d[k] = p
	}
}

// scan reads every regular file below root (decompressing .gz) and records
// its complete writer lines with class. followed, when not nil, also gets the
// lines of plain files in the tree: those logscan follows.
func (d disk) scan(t *testing.T, root string, class int, followed disk) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) { // rotated away while walking
				return nil
			}
			return err
		}
		if !e.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		gz := strings.HasSuffix(path, ".gz")
		if gz {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
		rel, _ := filepath.Rel(filepath.Dir(root), path)
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			// A last line without its newline is still being written.
			if k, ok := parseLine(sc.Text()); ok {
				d.add(k, place{class, rel})
				if followed != nil && !gz {
					followed.add(k, place{class, rel})
				}
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Errorf("reading %s: %v", root, err)
	}
}

// quiesce waits, after the writer stopped, until the last follower has
// printed nothing for quietFor, settleFor has passed since settled (the last
// change in the tree: a rotation, a copy, a restart), and the followers have
// printed every line of want; or until it has been quiet for giveUpAfter
// (nothing more is coming), or 30 s in all. It reports whether want was
// complete.
//
// settleFor must outlast logscan's own delays, or a late repeat is missed: it
// holds a new file that may be a copy still being written for up to 2 s
// (and decides it at its next 1 s tick) before reading it as new.
const (
	quietFor    = 1500 * time.Millisecond
	settleFor   = 3500 * time.Millisecond
	giveUpAfter = 6 * time.Second
)

func quiesce(t *testing.T, fs []*follower, want disk, settled time.Time) bool {
	t.Helper()
	f := fs[len(fs)-1]
	start, last := time.Now(), time.Now()
	var checked time.Time
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-f.Lines():
			last = time.Now()
			continue
		case <-f.Done():
			t.Errorf("logscan exited before the final count: %s", tail(f.Logs(), 2000))
			return false
		case <-tick.C:
		}
		quiet := time.Since(last)
		if time.Since(start) > 30*time.Second {
			return false
		}
		if quiet < quietFor || time.Since(settled) < settleFor || time.Since(checked) < 500*time.Millisecond {
			continue
		}
		checked = time.Now()
		tl := count(fs, nil)
		complete := true
		for k := range want {
			if len(tl.emitted[k]) == 0 {
				complete = false
				break
			}
		}
		if complete {
			return true
		}
		if quiet >= giveUpAfter {
			return false
		}
	}
}

// waitPrinted waits up to limit until every key of ks has been printed.
func waitPrinted(t *testing.T, fs []*follower, limit time.Duration, ks ...key) {
	t.Helper()
	f := fs[len(fs)-1]
	deadline := time.After(limit)
	for {
		tl := count(fs, nil)
		missing := -1
		for i, k := range ks {
			if len(tl.emitted[k]) == 0 {
				missing = i
				break
			}
		}
		if missing < 0 {
			return
		}
		select {
		case <-f.Lines():
		case <-f.Done():
			t.Fatalf("logscan exited while waiting for %v: %s", ks[missing], tail(f.Logs(), 2000))
		case <-deadline:
			t.Fatalf("%v not printed within %s; log: %s", ks[missing], limit, tail(f.Logs(), 2000))
		}
	}
}

// stopClean sends SIGTERM and requires exit status 0.
func stopClean(t *testing.T, f *follower) {
	t.Helper()
	if code, took := f.Stop(t, syscall.SIGTERM, 10*time.Second); code != 0 {
		t.Errorf("exit status %d after SIGTERM (took %s), want 0: %s", code, took, tail(f.Logs(), 2000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// The torn count rests on parseLine refusing anything but a whole writer
// line: a cut line, two halves spliced, a NUL hole from a writer without
// O_APPEND.
func TestParseLine(t *testing.T) {
	for seq := 1; seq <= 200; seq++ {
		for _, tag := range []string{"app.log", "d07/app.log"} {
			l := lineText(tag, seq)
			if k, ok := parseLine(l); !ok || k != (key{tag, seq}) {
				t.Fatalf("parseLine(%q) = %v, %v", l, k, ok)
			}
			next := lineText(tag, seq+1)
			for _, bad := range []string{
				l[:len(l)-1],
				l + "x",
				l[:len(l)/2] + next[len(next)/2:],
				next[:20] + l[20:],
				"\x00\x00" + l,
				l + "\n",
			} {
				if k, ok := parseLine(bad); ok && bad != next {
					t.Fatalf("parseLine(%q) = %v, want no writer line", bad, k)
				}
			}
		}
	}
}

// keep saves, when LOGSCAN_ROTATE_KEEP names a directory, each follower's
// stdout and stderr and the scratch directory there, for a failed run.
func keep(t *testing.T, scratch string, fs []*follower) {
	t.Helper()
	dir := os.Getenv("LOGSCAN_ROTATE_KEEP")
	if dir == "" {
		return
	}
	dst := filepath.Join(dir, strings.NewReplacer("/", "_", "=", "").Replace(t.Name()))
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Error(err)
		return
	}
	for i, f := range fs {
		out := strings.Join(f.Output(), "\n") + "\n"
		for name, data := range map[string]string{fmt.Sprintf("f%d.stdout", i+1): out, fmt.Sprintf("f%d.stderr", i+1): f.Logs()} {
			if err := os.WriteFile(filepath.Join(dst, name), []byte(data), 0o644); err != nil {
				t.Error(err)
			}
		}
	}
	if out, err := exec.Command("cp", "-a", scratch, filepath.Join(dst, "scratch")).CombinedOutput(); err != nil {
		t.Errorf("keeping %s: %v: %s", scratch, err, out)
	}
	t.Logf("kept the outputs and the scratch directory in %s", dst)
}
