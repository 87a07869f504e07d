package otlp

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/logscan/logscan/internal/fields"
	"github.com/logscan/logscan/internal/output"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func fieldsOf(fs ...fields.Field) *fields.Record {
	r := &fields.Record{}
	for _, f := range fs {
		r.Add(f.Key, f.Value, f.Kind, f.Num)
	}
	return r
}

func field(k, v string, kind fields.Kind, num float64) fields.Field {
	return fields.Field{Key: []byte(k), Value: []byte(v), Kind: kind, Num: num}
}

// goldenRecords cover the mapping: a plain line, an event with every kind
// of field, a second file of the same host (same resource), a Kubernetes
// file (its own resource), a body that is not UTF-8 and a record without a
// read time.
func goldenRecords() []*output.Record {
	k8s := []output.Attr{
		{Key: "log.file.path", Value: "/var/log/pods/prod_web-1_u1/app/0.log"},
		{Key: "log.file.name", Value: "0.log"},
		{Key: "k8s.namespace.name", Value: "prod"},
		{Key: "k8s.pod.name", Value: "web-1"},
		{Key: "k8s.container.name", Value: "app"},
	}
	return []*output.Record{
		{Path: "/var/log/app.log", FileID: "8:1", Offset: 0, Text: []byte("hello world"), Rule: "errors", Time: t0},
		{Path: "/var/log/app.log", FileID: "8:1", Offset: 12, Text: []byte(`{"level":"error","msg":"boom"}`), Time: t0.Add(time.Millisecond),
			Event: &output.Event{
				EndOffset: 43, Lines: 1,
				Time:     t0.Add(-time.Second),
				Severity: "ERROR", SeverityNumber: 17,
				Fields: fieldsOf(
					field("level", "error", fields.String, 0),
					field("msg", "boom", fields.String, 0),
					field("n", "42", fields.Number, 42),
					field("neg", "-7", fields.Number, -7),
					field("f", "1.5", fields.Number, 1.5),
					field("one", "1.0", fields.Number, 1),
					field("big", "12345678901234567890", fields.Number, 12345678901234567890),
					field("ok", "true", fields.Bool, 0),
					field("at", "2026-11-02T09:59:59Z", fields.Time, 0),
					field("none", "null", fields.Null, 0),
					field("a.b", "nested", fields.String, 0),
					field("log.file.path", "spoofed", fields.String, 0),
				),
			}},
		{Path: "/var/log/other.log", FileID: "8:2", Offset: 100, Text: []byte("second file"), Rule: "errors", Time: t0},
		{Path: "/var/log/pods/prod_web-1_u1/app/0.log", FileID: "8:3", Offset: 0, Text: []byte("pod line"), Time: t0,
			Event: &output.Event{Resource: k8s, Severity: "INFO", SeverityNumber: 9}},
		{Path: "/var/log/pods/prod_web-1_u1/app/0.log", FileID: "8:3", Offset: 9, Text: []byte("bad \xff\xfe bytes"),
			Event: &output.Event{Resource: k8s}},
	}
}

// TestMapping sends the golden records in every encoding and compression
// and compares what the collector decoded with the golden OTLP/JSON.
func TestMapping(t *testing.T) {
	golden := filepath.Join("testdata", "batch.golden.json")
	for _, tc := range []struct{ encoding, compression string }{
		{"proto", "gzip"}, {"proto", "none"}, {"json", "gzip"}, {"json", "none"},
	} {
		t.Run(tc.encoding+"-"+tc.compression, func(t *testing.T) {
			f := newFixture(t, nil, func(o *Options) {
				o.Encoding, o.Compression = tc.encoding, tc.compression
				o.Headers = map[string]string{"Authorization": "Bearer t", "Content-Type": "text/plain"}
			})
			f.e.Start(t.Context())
			for _, r := range goldenRecords() {
				f.e.Add(r)
			}
			f.drain(t)
			got := f.c.accepted()
			if len(got) != 1 {
				t.Fatalf("%d requests accepted, want 1", len(got))
			}
			js := indentedJSON(t, got[0])
			if *update && tc.encoding == "proto" && tc.compression == "gzip" {
				if err := os.WriteFile(golden, js, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(js, want) {
				t.Errorf("got\n%s\nwant (%s)\n%s", js, golden, want)
			}
			h := f.c.headers[0]
			wantCT := map[string]string{"proto": "application/x-protobuf", "json": "application/json"}[tc.encoding]
			if ct := h.Get("Content-Type"); ct != wantCT {
				t.Errorf("Content-Type %q, want %q", ct, wantCT)
			}
			if ce, want := h.Get("Content-Encoding"), map[string]string{"gzip": "gzip", "none": ""}[tc.compression]; ce != want {
				t.Errorf("Content-Encoding %q, want %q", ce, want)
			}
			if a := h.Get("Authorization"); a != "Bearer t" {
				t.Errorf("Authorization %q", a)
			}
		})
	}
}

func indentedJSON(t *testing.T, l plog.Logs) []byte {
	t.Helper()
	raw, err := plogotlp.NewExportRequestFromLogs(l).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// TestUID checks that log.record.uid changes with each part it hashes and
// only with them.
func TestUID(t *testing.T) {
	base := output.Record{Path: "/a", FileID: "1:2", Offset: 10, Text: []byte("x"), Rule: "r", Time: t0}
	uid := func(host string, r output.Record) string {
		bl := newBuilder(host, "logscan", func() time.Time { return t0 })
		return bl.uid(&r)
	}
	ref := uid("h", base)
	if ref[:16] == ref[16:] {
		t.Errorf("uid %s: both halves are one digest", ref)
	}
	// Pinned: a uid must not change across versions, or a receiver
	// deduplicating across an upgrade would keep both copies.
	if want := "cbd03a602e47cea6746c1e574283e185"; ref != want {
		t.Errorf("uid of the reference record is %s, was %s", ref, want)
	}
	same := base
	same.Path, same.Rule, same.Time = "/b", "other", t0.Add(time.Hour)
	if got := uid("h", same); got != ref {
		t.Errorf("uid changed with the path, rule or read time: %s != %s", got, ref)
	}
	for name, tc := range map[string]struct {
		host string
		mod  func(*output.Record)
	}{
		"host":   {"h2", func(*output.Record) {}},
		"fileID": {"h", func(r *output.Record) { r.FileID = "1:3" }},
		"offset": {"h", func(r *output.Record) { r.Offset = 11 }},
		"body":   {"h", func(r *output.Record) { r.Text = []byte("y") }},
		// The separators keep "h"+"1:2" apart from "h1"+":2".
		"split": {"h1", func(r *output.Record) { r.FileID = ":2" }},
	} {
		r := base
		tc.mod(&r)
		if got := uid(tc.host, r); got == ref || len(got) != 32 {
			t.Errorf("%s: uid %q (reference %q)", name, got, ref)
		}
	}
}

func TestInteger(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"42", 42, true},
		{"-42", -42, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"-9223372036854775808", -9223372036854775808, true},
		{"9223372036854775808", 0, false},
		{"12345678901234567890", 0, false},
		{"1.5", 0, false},
		{"1e3", 0, false},
		{"-", 0, false},
		{"", 0, false},
	} {
		got, ok := integer([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("integer(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestResourceGrouping checks that consecutive records of the same source
// share a ResourceLogs and that a change of source starts one.
func TestResourceGrouping(t *testing.T) {
	pod := func(name string) *output.Event {
		return &output.Event{Resource: []output.Attr{{Key: "log.file.path", Value: "/p"}, {Key: "k8s.pod.name", Value: name}}}
	}
	rec := func(id string, ev *output.Event) *output.Record {
		return &output.Record{Path: "/p", FileID: id, Text: []byte("x"), Time: t0, Event: ev}
	}
	for _, tc := range []struct {
		name string
		recs []*output.Record
		want []int // records per ResourceLogs
	}{
		{"one file", []*output.Record{rec("1", nil), rec("1", nil)}, []int{2}},
		{"two host files", []*output.Record{rec("1", nil), rec("2", nil), rec("1", nil)}, []int{3}},
		{"one pod, two files", []*output.Record{rec("1", pod("a")), rec("2", pod("a"))}, []int{2}},
		{"two pods", []*output.Record{rec("1", pod("a")), rec("2", pod("b")), rec("1", pod("a"))}, []int{1, 1, 1}},
		{"host then pod", []*output.Record{rec("1", nil), rec("2", pod("a"))}, []int{1, 1}},
		{"pod then host", []*output.Record{rec("2", pod("a")), rec("1", nil)}, []int{1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bl := newBuilder("h", "logscan", func() time.Time { return t0 })
			b := bl.newBatch(1, t0)
			for _, r := range tc.recs {
				bl.add(b, r)
				b.n++
			}
			rls := b.logs.ResourceLogs()
			var got []int
			for i := range rls.Len() {
				got = append(got, rls.At(i).ScopeLogs().At(0).LogRecords().Len())
			}
			if !equalInts(got, tc.want) {
				t.Errorf("records per resource %v, want %v", got, tc.want)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestAddAllocs checks that Add allocates nothing of its own beyond what
// pdata does per record: the bound is what a plain line costs in pdata and
// its few strings, measured on a warm batch.
func TestAddAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation allocates")
	}
	e, err := New(Options{Endpoint: "http://127.0.0.1:1", HostName: "h", MaxRecords: 1 << 30, MaxBytes: 1 << 30, MaxWait: time.Hour, QueueBytes: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	r := line("8:1", 0, "some line of text")
	for range 100 {
		e.Add(r)
	}
	// pdata's: the LogRecord, its attributes' slice, a value per string
	// (body, path, name, uid); ours: the body and uid strings themselves.
	if n := testing.AllocsPerRun(1000, func() { e.Add(r) }); n > 8 {
		t.Errorf("Add allocates %v times per record, want 8", n)
	}
}

// TestFilePathAbsolute: log.file.path is the full path, as the semantic
// conventions define it, also when the root was given relative.
func TestFilePathAbsolute(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	bl := newBuilder("h", "logscan", func() time.Time { return t0 })
	for _, tc := range []struct{ path, full, name string }{
		{"logs/app.log", filepath.Join(wd, "logs/app.log"), "app.log"},
		{"/var/log/x.log", "/var/log/x.log", "x.log"},
		{"./a/../b.log", filepath.Join(wd, "b.log"), "b.log"},
	} {
		full, name := bl.paths(tc.path)
		if full != tc.full || name != tc.name {
			t.Errorf("%s: got %s, %s; want %s, %s", tc.path, full, name, tc.full, tc.name)
		}
	}
}
