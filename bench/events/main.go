// Command events benchmarks the event stages against the tools an
// operator would reach for: `--format json --where ...` against jq and
// against rg | jq on the same JSON tree, and reports how fast the CRI and
// multiline paths run. It writes its trees once (deterministically, from
// a seed) and reuses them, runs ROUNDS interleaved rounds, and prints one
// Markdown table of medians, ratios and peak RSS, with the selected line
// counts, which must agree.
//
//	go run ./bench/events -logscan bin/logscan -size 1GiB -rounds 5
//
// Needs jq, rg and GNU time (apt-get install -y jq ripgrep time).
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	logscan := flag.String("logscan", "bin/logscan", "the logscan binary")
	dir := flag.String("dir", "/tmp/logscan-events", "where the trees are written and kept")
	sizeFlag := flag.String("size", "1GiB", "size of the JSON tree (the CRI and trace trees are a quarter of it)")
	rounds := flag.Int("rounds", 5, "interleaved rounds; the table has medians")
	flag.Parse()
	size, err := parseSize(*sizeFlag)
	if err != nil {
		fail(err)
	}
	trees, err := makeTrees(*dir, size)
	if err != nil {
		fail(err)
	}
	cells := cellsFor(*logscan, trees)
	results := make([][]run, len(cells))
	for r := 0; r < *rounds; r++ {
		for i, c := range cells {
			for j, cmd := range c.cmds {
				res, err := measure(cmd)
				if err != nil {
					fail(fmt.Errorf("%s: %s: %w", c.name, cmd.tool, err))
				}
				if r == 0 {
					results[i] = append(results[i], run{})
				}
				results[i][j].add(res)
			}
		}
		fmt.Fprintf(os.Stderr, "round %d/%d done\n", r+1, *rounds)
	}
	report(cells, results, size, *rounds)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "events:", err)
	os.Exit(2)
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suffix, m := range map[string]int64{"GiB": 1 << 30, "MiB": 1 << 20} {
		if strings.HasSuffix(s, suffix) {
			s, mult = strings.TrimSuffix(s, suffix), m
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad -size %q", s)
	}
	return n * mult, nil
}

// trees are the generated inputs.
type trees struct {
	json, pods, traces string
	jsonFiles          []string
	bytes              map[string]int64
}

const version = "events/1" // change when the generator writes other bytes

func makeTrees(dir string, size int64) (*trees, error) {
	root := filepath.Join(dir, strconv.FormatInt(size, 10))
	t := &trees{json: filepath.Join(root, "json"), pods: filepath.Join(root, "pods"), traces: filepath.Join(root, "traces"), bytes: map[string]int64{}}
	stamp := filepath.Join(root, "stamp")
	if b, err := os.ReadFile(stamp); err != nil || string(b) != version {
		if err := os.RemoveAll(root); err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "writing the trees under %s\n", root)
		if err := writeTrees(t, size); err != nil {
			return nil, err
		}
		if err := os.WriteFile(stamp, []byte(version), 0o644); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{t.json, t.pods, t.traces} {
		err := filepath.Walk(d, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				t.bytes[d] += fi.Size()
				if d == t.json {
					t.jsonFiles = append(t.jsonFiles, p)
				}
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(t.jsonFiles)
	return t, nil
}

func writeTrees(t *trees, size int64) error {
	r := rand.New(rand.NewPCG(11, 42))
	for i := range 8 {
		if err := writeFile(filepath.Join(t.json, fmt.Sprintf("app-%02d.log", i)), size/8, func(b []byte) []byte { return jsonLine(b, r) }); err != nil {
			return err
		}
	}
	for i := range 64 {
		p := filepath.Join(t.pods, fmt.Sprintf("shop_web-%04x_%08x-0000-4000-8000-%012x", i, r.Uint32(), i), "app", "0.log")
		if err := writeFile(p, size/4/64, func(b []byte) []byte { return criLine(b, r) }); err != nil {
			return err
		}
	}
	for i := range 4 {
		if err := writeFile(filepath.Join(t.traces, fmt.Sprintf("java-%d.log", i)), size/4/4, func(b []byte) []byte { return javaLines(b, r) }); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(p string, size int64, next func([]byte) []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var b []byte
	for n := int64(0); n < size; {
		b = next(b[:0])
		n += int64(len(b))
		if _, err := w.Write(b); err != nil {
			return errors.Join(err, f.Close())
		}
	}
	return errors.Join(w.Flush(), f.Close())
}

var (
	ts     = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	routes = []string{"/api/v1/items", "/api/v1/users", "/api/v1/pay", "/login", "/healthz"}
	msgs   = []string{"request served", "cache miss", "upstream retry", "slow query", "token refreshed"}
)

// jsonLine is an application's JSON log line: 1% error, 5% warn, 10%
// debug; latency_ms is uniform in [0, 1000), so > 900 holds for a tenth.
func jsonLine(b []byte, r *rand.Rand) []byte {
	ts = ts.Add(time.Duration(r.IntN(2000)) * time.Microsecond)
	level := "info"
	switch n := r.IntN(100); {
	case n < 1:
		level = "error"
	case n < 6:
		level = "warn"
	case n < 16:
		level = "debug"
	}
	status := 200
	if level == "error" {
		status = 500 + r.IntN(4)
	}
	b = append(b, `{"ts":"`...)
	b = ts.AppendFormat(b, time.RFC3339Nano)
	b = fmt.Appendf(b, `","level":"%s","msg":"%s","route":"%s","status":%d,"latency_ms":%d,"user":{"id":"u%d","plan":"%s"},"trace_id":"%016x"}`+"\n",
		level, msgs[r.IntN(len(msgs))], routes[r.IntN(len(routes))], status, r.IntN(1000), r.IntN(1e5), [...]string{"free", "pro"}[r.IntN(2)], r.Uint64())
	return b
}

// criLine is a kubelet log line wrapping a JSON line; one in fifty is
// split into two parts, as the runtime splits a long line.
func criLine(b []byte, r *rand.Rand) []byte {
	msg := jsonLine(nil, r)
	msg = msg[:len(msg)-1]
	stream := "stdout"
	if bytes.Contains(msg, []byte(`"error"`)) {
		stream = "stderr"
	}
	stamp := ts.Format(time.RFC3339Nano)
	if r.IntN(50) == 0 {
		cut := len(msg) / 2
		b = fmt.Appendf(b, "%s %s P %s\n", stamp, stream, msg[:cut])
		return fmt.Appendf(b, "%s %s F %s\n", stamp, stream, msg[cut:])
	}
	return fmt.Appendf(b, "%s %s F %s\n", stamp, stream, msg)
}

// javaLines is a Java service's log: one line in a hundred is an ERROR
// with a stack trace of 8 to 30 frames and, half the time, a cause.
func javaLines(b []byte, r *rand.Rand) []byte {
	ts = ts.Add(time.Duration(r.IntN(5000)) * time.Microsecond)
	stamp := ts.Format("2006-01-02 15:04:05.000")
	if r.IntN(100) != 0 {
		return fmt.Appendf(b, "%s INFO  [http-nio-8080-exec-%d] com.acme.web.Controller - %s %s in %d ms\n", stamp, r.IntN(20), msgs[r.IntN(len(msgs))], routes[r.IntN(len(routes))], r.IntN(1000))
	}
	b = fmt.Appendf(b, "%s ERROR [http-nio-8080-exec-%d] com.acme.web.Controller - request failed\n", stamp, r.IntN(20))
	b = append(b, "java.lang.IllegalStateException: order is locked\n"...)
	for i, n := 0, 8+r.IntN(23); i < n; i++ {
		b = fmt.Appendf(b, "\tat com.acme.service.Layer%d.call(Layer%d.java:%d)\n", i, i, 10+r.IntN(400))
	}
	if r.IntN(2) == 0 {
		b = append(b, "Caused by: java.net.SocketTimeoutException: Read timed out\n\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:278)\n\t... 12 more\n"...)
	}
	return b
}

// cmdSpec is one tool's command line; count, when set, counts the events
// it selected from its output (otherwise its output lines).
type cmdSpec struct {
	tool  string
	shell string
}

type cell struct {
	name  string
	bytes int64
	cmds  []cmdSpec
}

func q(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func cellsFor(logscan string, t *trees) []cell {
	files := strings.Join(t.jsonFiles, " ")
	sel := `select(.level=="error" and .latency_ms>900)`
	ls := q(logscan)
	return []cell{
		{name: "`--format json --where level=error --where 'latency_ms>900'`", bytes: t.bytes[t.json], cmds: []cmdSpec{
			{"logscan", ls + " -h --format json --where level=error --where 'latency_ms>900' " + q(t.json)},
			{"jq", "jq -c " + q(sel) + " " + files},
			{`rg \| jq`, "rg -N --no-filename -F error " + q(t.json) + " | jq -c " + q(sel)},
			{"rg (the literal alone)", "rg -N --no-filename -F error " + q(t.json)},
		}},
		{name: "the same, `--json` events", bytes: t.bytes[t.json], cmds: []cmdSpec{
			{"logscan", ls + " -h --json --format json --where level=error --where 'latency_ms>900' " + q(t.json)},
			{"jq", "jq -c " + q(sel) + " " + files},
		}},
		{name: "`--format json --where 'user.plan=pro' --where 'latency_ms<5'` (no rare literal)", bytes: t.bytes[t.json], cmds: []cmdSpec{
			{"logscan", ls + " -h --format json --where user.plan=pro --where 'latency_ms<5' " + q(t.json)},
			{"jq", "jq -c " + q(`select(.user.plan=="pro" and .latency_ms<5)`) + " " + files},
		}},
		{name: "`--format cri+json --where level=error` over 64 pods", bytes: t.bytes[t.pods], cmds: []cmdSpec{
			{"logscan", ls + " -h --format cri+json --where level=error " + q(t.pods)},
			{"rg (the literal alone)", "rg -N --no-filename -F error " + q(t.pods)},
		}},
		{name: "`--multiline java -e SocketTimeout` (traces)", bytes: t.bytes[t.traces], cmds: []cmdSpec{
			{"logscan", ls + " -h -c --multiline java -e SocketTimeout " + q(t.traces) + " | awk '{s+=$1} END {print s}'"},
			{"rg -c (lines, not events)", "rg -c --no-filename SocketTimeout " + q(t.traces) + " | awk '{s+=$1} END {print s}'"},
		}},
	}
}

// result is one run: wall time, peak RSS of the largest process of the
// pipeline, and the selected count.
type result struct {
	wall  time.Duration
	rssKB int64
	count int64
}

type run struct{ rs []result }

func (r *run) add(x result) { r.rs = append(r.rs, x) }

func (r *run) median() result {
	rs := slices.Clone(r.rs)
	slices.SortFunc(rs, func(a, b result) int { return int(a.wall - b.wall) })
	m := rs[len(rs)/2]
	for _, x := range rs {
		m.rssKB = max(m.rssKB, x.rssKB)
	}
	return m
}

// measure runs a shell pipeline, counting its output lines (or taking the
// number it prints, for -c cells), and reads the peak RSS of its children.
func measure(c cmdSpec) (result, error) {
	// GNU time forks from a small process: the rusage of a child of this
	// one would count this process's memory at the fork.
	rss, err := os.CreateTemp("", "events-rss")
	if err != nil {
		return result{}, err
	}
	defer os.Remove(rss.Name())
	if err := rss.Close(); err != nil {
		return result{}, err
	}
	cmd := exec.Command("/usr/bin/time", "-f", "%M", "-o", rss.Name(), "bash", "-o", "pipefail", "-c", c.shell)
	var out bytes.Buffer
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) { // 1: nothing selected
		return result{}, fmt.Errorf("%v: %s", err, errb.String())
	}
	res := result{wall: wall}
	if b, err := os.ReadFile(rss.Name()); err == nil {
		f := strings.Fields(string(b))
		if len(f) > 0 {
			res.rssKB, _ = strconv.ParseInt(f[len(f)-1], 10, 64)
		}
	}
	if strings.HasSuffix(c.shell, "END {print s}'") {
		res.count, _ = strconv.ParseInt(strings.TrimSpace(out.String()), 10, 64)
	} else {
		res.count = int64(bytes.Count(out.Bytes(), []byte{'\n'}))
	}
	return res, nil
}

func report(cells []cell, results [][]run, size int64, rounds int) {
	host, _ := os.Hostname()
	fmt.Printf("Event stages against jq and rg: %d GiB JSON tree, medians of %d interleaved rounds, host %s, %s\n\n", size>>30, rounds, host, time.Now().UTC().Format("2006-01-02 15:04"))
	fmt.Printf("| cell | tool | median s | MB/s | ratio to logscan | peak RSS MiB | selected |\n|---|---|---|---|---|---|---|\n")
	for i, c := range cells {
		base := results[i][0].median()
		for j, spec := range c.cmds {
			m := results[i][j].median()
			mbs := float64(c.bytes) / (1 << 20) / m.wall.Seconds()
			fmt.Printf("| %s | %s | %.3f | %.0f | %.2f | %.1f | %d |\n", c.name, spec.tool, m.wall.Seconds(), mbs, m.wall.Seconds()/base.wall.Seconds(), float64(m.rssKB)/1024, m.count)
		}
	}
}
