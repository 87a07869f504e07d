package otlp_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"
)

// otlpJSON is an OTLP/JSON export request holding writer lines seqs, as
// logscan would send them from tree/app.log, plus bodies that are no
// writer line.
func otlpJSON(host, tree string, seqs []int, junk ...string) []byte {
	str := func(s string) map[string]any { return map[string]any{"stringValue": s} }
	kv := func(k, v string) map[string]any { return map[string]any{"key": k, "value": str(v)} }
	var recs []any
	for _, seq := range seqs {
		recs = append(recs, map[string]any{
			"body": str(lineText(seq, 0)),
			"attributes": []any{
				kv("log.file.path", filepath.Join(tree, "app.log")),
				kv("log.file.name", "app.log"),
				kv("log.record.uid", fmt.Sprintf("uid-%d", seq)),
			},
		})
	}
	for _, j := range junk {
		recs = append(recs, map[string]any{"body": str(j)})
	}
	b, err := json.Marshal(map[string]any{"resourceLogs": []any{map[string]any{
		"resource":  map[string]any{"attributes": []any{kv("host.name", host), kv("service.name", "logscan")}},
		"scopeLogs": []any{map[string]any{"scope": map[string]any{"name": "logscan"}, "logRecords": recs}},
	}}})
	if err != nil {
		panic(err)
	}
	return b
}

func post(t *testing.T, c *collector, body []byte) {
	t.Helper()
	resp, err := http.Post(c.endpoint()+"/v1/logs", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/logs: %s: %s", resp.Status, b)
	}
}

// TestCollectorHarness checks the fixture, not logscan: the collector
// config starts, takes OTLP/JSON over HTTP, writes it where the count reads
// it, keeps the output across a restart on the same port (append), and the
// count sees repeats, repeated uids, junk and the missing line.
func TestCollectorHarness(t *testing.T) {
	c := newCollector(t, otelcolPath(t))
	tree := "/logs"
	c.start()
	post(t, c, otlpJSON("h", tree, []int{1, 2, 3}, "not a writer line"))
	post(t, c, otlpJSON("h", tree, []int{2, 3}))
	c.stop()
	c.start()
	post(t, c, otlpJSON("h", tree, []int{5}))
	c.stop()

	o := newOutput(c.out)
	if err := o.poll(); err != nil {
		t.Fatal(err)
	}
	if len(o.bad) > 0 || len(o.partial) > 0 {
		t.Fatalf("unreadable output: %v, partial %q", o.bad, o.partial)
	}
	tl := o.count(5, tree, "h", nil)
	t.Logf("requests=%d records=%d received=%d lost=%d dup_seq=%d dup_uid=%d torn=%d", o.requests, tl.records, tl.received, tl.lost, tl.dupSeq, tl.dupUID, tl.torn.n)
	if o.requests != 3 || tl.records != 7 || tl.received != 4 || tl.lost != 1 || tl.lostEx[0] != "4" ||
		tl.dupSeq != 2 || tl.dupUID != 2 || tl.torn.n != 1 || tl.uidConflicts.n != 0 || tl.attrErrs.n != 0 || tl.resErrs.n != 0 {
		t.Errorf("count = %+v, want 3 requests, 7 records, 4 lines received, line 4 lost, 2 repeats of seq and uid, 1 torn, no errors", tl)
	}
	if c.runs != 2 {
		t.Errorf("runs = %d", c.runs)
	}
}
