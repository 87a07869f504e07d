package otlp_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// lineText is writer line seq, written into the file's generation gen (0
// before the rename rotation, 1 after), without its newline. The pad length
// depends on seq, so a line spliced from two halves does not parse.
func lineText(seq, gen int) string {
	return fmt.Sprintf("seq=%08d gen=%d pad=%s", seq, gen, strings.Repeat("x", padLen(seq)))
}

func padLen(seq int) int { return 16 + (seq*7)%48 }

var lineRE = regexp.MustCompile(`^seq=([0-9]{8}) gen=([0-9]) pad=(x*)$`)

// parseLine reads a complete, well-formed writer line.
func parseLine(s string) (seq, gen int, ok bool) {
	m := lineRE.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, false
	}
	seq, err := strconv.Atoi(m[1])
	if err != nil || seq < 1 || len(m[3]) != padLen(seq) {
		return 0, 0, false
	}
	return seq, int(m[2][0] - '0'), true
}

// The file exporter's JSON is OTLP/JSON (ExportLogsServiceRequest). These
// structs read what the count needs; encoding/json keeps pdata out of the
// test's imports.
type anyValue struct {
	StringValue *string `json:"stringValue"`
	BytesValue  *string `json:"bytesValue"` // base64
}

type keyValue struct {
	Key   string   `json:"key"`
	Value anyValue `json:"value"`
}

type exportRequest struct {
	ResourceLogs []struct {
		Resource struct {
			Attributes []keyValue `json:"attributes"`
		} `json:"resource"`
		ScopeLogs []struct {
			Scope struct {
				Name string `json:"name"`
			} `json:"scope"`
			LogRecords []struct {
				Body       anyValue   `json:"body"`
				Attributes []keyValue `json:"attributes"`
			} `json:"logRecords"`
		} `json:"scopeLogs"`
	} `json:"resourceLogs"`
}

func attr(kvs []keyValue, key string) (string, bool) {
	for _, kv := range kvs {
		if kv.Key == key && kv.Value.StringValue != nil {
			return *kv.Value.StringValue, true
		}
	}
	return "", false
}

// record is one log record the collector wrote.
type record struct {
	body          string
	seq, gen      int // seq 0: the body is no writer line
	uid           string
	path, name    string
	hasPath       bool
	hasName       bool
	host, service string
	hasHost       bool
	hasService    bool
	req           int // which export request (output line, 1-based) held it
}

// output reads the collector's output file as it grows.
type output struct {
	path     string
	off      int64
	partial  []byte // a last line not yet ended by its newline
	requests int
	recs     []record
	seen     map[int]int // seq → records
	bad      []string    // output lines that are no OTLP JSON
}

func newOutput(path string) *output { return &output{path: path, seen: map[int]int{}} }

// poll reads what was added to the file since the last poll. A last line
// without its newline is kept for the next poll: the exporter's buffered
// writer flushes whole buffers, not whole requests.
func (o *output) poll() error {
	f, err := os.Open(o.path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(o.off, io.SeekStart); err != nil {
		return err
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	o.off += int64(len(b))
	b = append(o.partial, b...)
	end := bytes.LastIndexByte(b, '\n')
	if end < 0 {
		o.partial = b
		return nil
	}
	o.partial = append([]byte(nil), b[end+1:]...)
	for line := range bytes.SplitSeq(b[:end], []byte("\n")) {
		o.requests++
		o.parse(line)
	}
	return nil
}

func (o *output) parse(line []byte) {
	var req exportRequest
	if err := json.Unmarshal(line, &req); err != nil {
		o.bad = append(o.bad, fmt.Sprintf("request %d: %v: %.200q", o.requests, err, line))
		return
	}
	for _, rl := range req.ResourceLogs {
		host, hasHost := attr(rl.Resource.Attributes, "host.name")
		service, hasService := attr(rl.Resource.Attributes, "service.name")
		for _, sl := range rl.ScopeLogs {
			for _, lr := range sl.LogRecords {
				r := record{host: host, hasHost: hasHost, service: service, hasService: hasService, req: o.requests}
				switch v := lr.Body; {
				case v.StringValue != nil:
					r.body = *v.StringValue
				case v.BytesValue != nil:
					b, err := base64.StdEncoding.DecodeString(*v.BytesValue)
					if err != nil {
						r.body = "bytesValue " + *v.BytesValue
					} else {
						r.body = string(b)
					}
				}
				if seq, gen, ok := parseLine(r.body); ok {
					r.seq, r.gen = seq, gen
					o.seen[seq]++
				}
				r.uid, _ = attr(lr.Attributes, "log.record.uid")
				r.path, r.hasPath = attr(lr.Attributes, "log.file.path")
				r.name, r.hasName = attr(lr.Attributes, "log.file.name")
				o.recs = append(o.recs, r)
			}
		}
	}
}

// has reports whether lines 1..n have all arrived.
// hasAll is has for the seqs present holds (all when present is nil).
func (o *output) hasAll(n int, present map[int]bool) bool {
	if present == nil {
		return o.has(n)
	}
	for seq := range present {
		if seq <= n && o.seen[seq] == 0 {
			return false
		}
	}
	return true
}

func (o *output) has(n int) bool {
	if len(o.seen) < n {
		return false
	}
	for seq := 1; seq <= n; seq++ {
		if o.seen[seq] == 0 {
			return false
		}
	}
	return true
}

// distinct is how many writer lines have arrived.
func (o *output) distinct() int { return len(o.seen) }

// tally is the count of one run's output against what the writer wrote.
type tally struct {
	written, records, received int // received: distinct writer lines
	lost, dupSeq, dupUID       int
	lostEx                     []string // runs of lost seqs, "a-b"
	dupEx                      []string
	dupSeqs                    []int    // every seq received more than once
	torn                       examples // bodies that are no writer line (or one never written)
	uidConflicts               examples // a seq with two uids, or a uid on two seqs
	noUID, attrErrs, resErrs   examples
	names                      map[string]int // records by log.file.name
}

// examples counts problems of one kind and keeps the first few.
type examples struct {
	n  int
	ex []string
}

func (e *examples) add(format string, args ...any) {
	e.n++
	if len(e.ex) < 5 {
		e.ex = append(e.ex, fmt.Sprintf(format, args...))
	}
}

func (e examples) String() string { return fmt.Sprintf("%d, e.g. %s", e.n, strings.Join(e.ex, "; ")) }

// count tallies o. tree is the directory logscan follows; host the host
// name its resource must carry.
func (o *output) count(written int, tree, host string, present map[int]bool) tally {
	tl := tally{written: written, records: len(o.recs), names: map[string]int{}}
	uidsOf := map[int][]string{}
	seqsOf := map[string][]int{}
	perSeq := map[int]int{}
	uids := map[string]int{}
	for _, r := range o.recs {
		if r.seq == 0 || r.seq > written {
			tl.torn.add("%.120q (request %d)", r.body, r.req)
			continue
		}
		perSeq[r.seq]++
		tl.names[r.name]++
		if r.uid == "" {
			tl.noUID.add("seq %d", r.seq)
		} else {
			uids[r.uid]++
			if !slices.Contains(uidsOf[r.seq], r.uid) {
				uidsOf[r.seq] = append(uidsOf[r.seq], r.uid)
			}
			if !slices.Contains(seqsOf[r.uid], r.seq) {
				seqsOf[r.uid] = append(seqsOf[r.uid], r.seq)
			}
		}
		if e := checkAttrs(r, tree); e != "" {
			tl.attrErrs.add("%s", e)
		}
		if !r.hasHost || r.host != host || !r.hasService || r.service != "logscan" {
			tl.resErrs.add("seq %d: resource host.name=%q (present %v, want %q) service.name=%q (present %v, want \"logscan\")", r.seq, r.host, r.hasHost, host, r.service, r.hasService)
		}
	}
	tl.received = len(perSeq)
	for seq := 1; seq <= written; seq++ {
		n := perSeq[seq]
		if n == 0 {
			if present == nil || present[seq] {
				tl.lost++
			}
			continue
		}
		if n > 1 {
			tl.dupSeq += n - 1
			tl.dupSeqs = append(tl.dupSeqs, seq)
			if len(tl.dupEx) < 5 {
				tl.dupEx = append(tl.dupEx, fmt.Sprintf("seq %d ×%d", seq, n))
			}
		}
		if len(uidsOf[seq]) > 1 {
			tl.uidConflicts.add("seq %d has %d uids %v", seq, len(uidsOf[seq]), uidsOf[seq])
		}
	}
	tl.lostEx = runs(func(seq int) bool { return perSeq[seq] == 0 && (present == nil || present[seq]) }, written, 8)
	for uid, n := range uids {
		tl.dupUID += n - 1
		if len(seqsOf[uid]) > 1 {
			tl.uidConflicts.add("uid %s is on seqs %v", uid, seqsOf[uid])
		}
	}
	return tl
}

// checkAttrs checks a record's file attributes: the path of a file in the
// tree, and its base name. A line written after the rename rotation (gen 1)
// is in the new app.log; one written before it may be read from either name.
func checkAttrs(r record, tree string) string {
	want := []string{"app.log"}
	if r.gen == 0 {
		want = append(want, "app.log.1", "app.log.2") // renamed, or copied twice by logrotate
	}
	switch {
	case !r.hasPath || !r.hasName:
		return fmt.Sprintf("seq %d: log.file.path %q (present %v), log.file.name %q (present %v)", r.seq, r.path, r.hasPath, r.name, r.hasName)
	case !slices.Contains(want, r.name) || r.path != filepath.Join(tree, r.name):
		return fmt.Sprintf("seq %d (gen %d): log.file.path %q, log.file.name %q, want the path %s/NAME, NAME one of %v", r.seq, r.gen, r.path, r.name, tree, want)
	}
	return ""
}

// runs lists up to n runs ("a-b", or "a") of the seqs 1..upTo for which in
// is true, and "..." when there are more.
func runs(in func(int) bool, upTo, n int) []string {
	var out []string
	for seq := 1; seq <= upTo; seq++ {
		if !in(seq) {
			continue
		}
		end := seq
		for end+1 <= upTo && in(end+1) {
			end++
		}
		if len(out) == n {
			return append(out, "...")
		}
		if end == seq {
			out = append(out, strconv.Itoa(seq))
		} else {
			out = append(out, fmt.Sprintf("%d-%d", seq, end))
		}
		seq = end
	}
	return out
}

// seqRuns formats a sorted list of seqs as runs.
func seqRuns(seqs []int, n int) []string {
	if len(seqs) == 0 {
		return nil
	}
	set := map[int]bool{}
	for _, s := range seqs {
		set[s] = true
	}
	return runs(func(s int) bool { return set[s] }, seqs[len(seqs)-1], n)
}
