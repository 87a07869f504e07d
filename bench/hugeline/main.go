// Command hugeline measures logscan's peak RSS on a file holding one huge
// line between normal ones, in one-shot mode and in follow mode, to check
// that a runaway line costs about max_line of memory whatever its length.
//
// For each size it writes a file of 1000 normal lines, one line of that size
// and 1000 more normal lines (every tenth normal line matches), then runs
//
//	/usr/bin/time -v logscan FILE -e x
//	/usr/bin/time -v logscan --follow --start-at beginning FILE -e x
//
// and prints the "Maximum resident set size" GNU time reports for each, with
// the number of lines printed, which shows that the lines after the huge one
// survived. Follow mode never ends by itself: the run is stopped with SIGTERM
// once the last line of the file has been printed. The huge line holds no
// 'x' unless -match-long is given, so by default only the Splitter (or the
// follower's read buffer) holds it, not the output buffer.
//
//	go build -o bin/logscan ./cmd/logscan
//	go run ./bench/hugeline -logscan bin/logscan -sizes 100MiB,1GiB
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// normalLines is how many normal lines come before and after the huge one.
const normalLines = 1000

// endMarker is in the last line of the file; follow mode is stopped once it
// has been printed.
const endMarker = "x-hugeline-end"

func main() {
	bin := flag.String("logscan", "bin/logscan", "logscan binary")
	sizes := flag.String("sizes", "100MiB,1GiB", "comma-separated sizes of the huge line")
	dir := flag.String("dir", os.TempDir(), "where to write the test files")
	maxLine := flag.String("max-line", "16MiB", "--max-line passed to logscan")
	matchLong := flag.Bool("match-long", false, "put an 'x' at the start of the huge line, so that its cut is printed")
	keep := flag.Bool("keep", false, "keep the generated files")
	flag.Parse()
	if err := run(*bin, *sizes, *dir, *maxLine, *matchLong, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "hugeline:", err)
		os.Exit(1)
	}
}

func run(bin, sizes, dir, maxLine string, matchLong, keep bool) error {
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		return fmt.Errorf("GNU time is needed (apt-get install -y time): %w", err)
	}
	fmt.Printf("max_line %s, huge line matches: %v\n\n", maxLine, matchLong)
	fmt.Println("| huge line | mode | peak RSS | lines printed |")
	fmt.Println("|---|---|---|---|")
	for _, sz := range strings.Split(sizes, ",") {
		n, err := parseSize(sz)
		if err != nil {
			return err
		}
		path := filepath.Join(dir, fmt.Sprintf("hugeline-%s.log", sz))
		if err := writeFile(path, n, matchLong); err != nil {
			return err
		}
		for _, mode := range []struct {
			name   string
			follow bool
		}{{"one-shot", false}, {"follow", true}} {
			args := []string{"--max-line", maxLine, "--log-level", "error", path, "-e", "x"}
			if mode.follow {
				args = append([]string{"--follow", "--start-at", "beginning"}, args...)
			}
			rss, lines, err := measure(bin, args, mode.follow)
			if err != nil {
				return fmt.Errorf("%s on %s: %w", mode.name, sz, err)
			}
			fmt.Printf("| %s | %s | %.1f MiB | %d |\n", sz, mode.name, float64(rss)/1024, lines)
		}
		if !keep {
			if err := os.Remove(path); err != nil {
				return err
			}
		}
	}
	return nil
}

func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if t, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = t, u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

// writeFile writes the normal lines, the huge line of n bytes and the
// normal lines again, ending with the end marker.
func writeFile(path string, n int64, matchLong bool) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	normal := func(from int) {
		for i := from; i < from+normalLines; i++ {
			word := "ok"
			if i%10 == 0 {
				word = "xx"
			}
			fmt.Fprintf(w, "2024-05-01T12:00:00Z host app: line %d %s\n", i, word)
		}
	}
	normal(0)
	chunk := bytes.Repeat([]byte("abcdefghijklmnopqrstuvw "), 1<<16/24+1)[:1<<16]
	if matchLong {
		if _, err := w.WriteString("x"); err != nil {
			return err
		}
		n--
	}
	for left := n; left > 0; {
		c := chunk[:min(int64(len(chunk)), left)]
		if _, err := w.Write(c); err != nil {
			return err
		}
		left -= int64(len(c))
	}
	if err := w.WriteByte('\n'); err != nil {
		return err
	}
	normal(normalLines)
	if _, err := fmt.Fprintf(w, "%s\n", endMarker); err != nil {
		return err
	}
	return w.Flush()
}

var maxRSS = regexp.MustCompile(`Maximum resident set size \(kbytes\): (\d+)`)

// measure runs logscan under GNU time and returns its peak RSS in KiB and
// the number of lines it printed. A follow run is stopped with SIGTERM to
// logscan itself (GNU time would die of it without reporting) once the end
// marker is printed.
func measure(bin string, args []string, follow bool) (rssKiB int64, lines int, err error) {
	cmd := exec.Command("/usr/bin/time", append([]string{"-v", bin}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	sawEnd := false
	r := bufio.NewReaderSize(out, 1<<20)
	for {
		b, rerr := r.ReadSlice('\n')
		if len(b) > 0 && b[len(b)-1] == '\n' {
			lines++
			if !sawEnd && bytes.Contains(b, []byte(endMarker)) {
				sawEnd = true
				if follow {
					if err := stopChild(cmd.Process.Pid); err != nil {
						return 0, 0, err
					}
				}
			}
		}
		if errors.Is(rerr, bufio.ErrBufferFull) {
			continue
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, 0, rerr
		}
	}
	// One-shot exits 0 with matches and follow mode 0 on SIGTERM; GNU time
	// exits with the child's status, so anything else is a failure.
	if err := cmd.Wait(); err != nil {
		return 0, lines, fmt.Errorf("%w: %s", err, stderr.String())
	}
	if !sawEnd {
		return 0, lines, fmt.Errorf("the last line was never printed: %s", stderr.String())
	}
	m := maxRSS.FindSubmatch(stderr.Bytes())
	if m == nil {
		return 0, lines, fmt.Errorf("no peak RSS in GNU time's output: %s", stderr.String())
	}
	rss, err := strconv.ParseInt(string(m[1]), 10, 64)
	return rss, lines, err
}

// stopChild sends SIGTERM to the only child of GNU time, logscan.
func stopChild(timePID int) error {
	var children []byte
	for range 100 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", timePID, timePID))
		if err != nil {
			return err
		}
		if children = bytes.TrimSpace(b); len(children) > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(children) == 0 {
		return fmt.Errorf("GNU time (pid %d) has no child to stop", timePID)
	}
	pid, err := strconv.Atoi(string(bytes.Fields(children)[0]))
	if err != nil {
		return fmt.Errorf("child of %d: %q: %w", timePID, children, err)
	}
	return syscall.Kill(pid, syscall.SIGTERM)
}
