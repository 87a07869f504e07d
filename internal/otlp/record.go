package otlp

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/cespare/xxhash/v2"
	"github.com/logscan/logscan/internal/fields"
	"github.com/logscan/logscan/internal/output"
)

// uidSeed is the second uid digest's seed: a constant other than the
// first's (0), fixed for good, since a record's uid must not change across
// versions of logscan.
const uidSeed = 0x9e3779b97f4a7c15

// recordOverhead is what a record costs beyond its body and attributes in
// the queue's estimate: timestamps, severity, the protobuf framing and
// pdata's structures.
const recordOverhead = 64

// Attribute names, semantic conventions' where there is one.
const (
	attrHost      = "host.name"
	attrService   = "service.name"
	attrFilePath  = "log.file.path"
	attrFileName  = "log.file.name"
	attrRule      = "logscan.rule"
	attrUID       = "log.record.uid"
	scopeName     = "logscan"
	filePrefix    = "log.file."
	uidAttrLength = len(attrUID) + 2*16
)

// batch is records on their way. The follower's goroutine builds it under
// Exporter.mu until it is sealed; then only the sender reads it.
type batch struct {
	seq   uint64
	logs  plog.Logs
	recs  plog.LogRecordSlice // the current resource's records
	res   pcommon.Map         // the current resource's attributes
	file  string              // the FileID of the last record added
	n     int
	bytes int64     // estimated, as the queue counts them
	first time.Time // when its first record was added
	files []*fileQ  // the FIFOs it has an entry in
}

// release drops what a done batch holds, for the garbage collector.
func (b *batch) release() {
	b.logs, b.recs, b.res, b.files = plog.Logs{}, plog.LogRecordSlice{}, pcommon.Map{}, nil
}

// builder maps records to log records. It is used under Exporter.mu and
// keeps the hash and its scratch so that Add allocates nothing of its own.
type builder struct {
	host, service string
	now           func() time.Time
	h1, h2        *xxhash.Digest
	scratch       []byte
	// path, full and name cache the last record's path as log.file.path
	// (absolute, as the semantic conventions have it, whatever root was
	// given) and log.file.name: a file's records come in runs.
	path, full, name string
	sum              [16]byte
	hex              [32]byte
}

func newBuilder(host, service string, now func() time.Time) builder {
	return builder{host: host, service: service, now: now, h1: xxhash.NewWithSeed(0), h2: xxhash.NewWithSeed(uidSeed)}
}

func (bl *builder) newBatch(seq uint64, now time.Time) *batch {
	return &batch{seq: seq, logs: plog.NewLogs(), first: now}
}

// add appends r to b and returns its estimated size.
func (bl *builder) add(b *batch, r *output.Record) int64 {
	size := int64(recordOverhead + len(r.Text))
	// Records of one file share a resource; comparing the FileID first
	// keeps the common case at one string comparison.
	if b.n == 0 || (r.FileID != b.file && !bl.sameResource(b.res, r.Event)) {
		size += bl.newResource(b, r.Event)
	}
	b.file = r.FileID
	lr := b.recs.AppendEmpty()
	obs := r.Time
	if obs.IsZero() {
		obs = bl.now()
	}
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(obs))
	if ev := r.Event; ev != nil {
		if !ev.Time.IsZero() {
			lr.SetTimestamp(pcommon.NewTimestampFromTime(ev.Time))
		}
		lr.SetSeverityText(ev.Severity)
		if n := ev.SeverityNumber; n > 0 && n <= int(plog.SeverityNumberFatal4) {
			lr.SetSeverityNumber(plog.SeverityNumber(n))
		}
		size += int64(len(ev.Severity))
	}
	// A body that is not UTF-8 goes as bytes: an OTLP string must be
	// UTF-8, and replacing bytes would lose them.
	if utf8.Valid(r.Text) {
		lr.Body().SetStr(string(r.Text))
	} else {
		lr.Body().SetEmptyBytes().FromRaw(r.Text)
	}
	attrs := lr.Attributes()
	// One allocation for the attributes rather than one per doubling.
	if r.Event != nil && r.Event.Fields != nil {
		attrs.EnsureCapacity(len(r.Event.Fields.Fields) + 4)
		size += putFields(attrs, r.Event.Fields)
	} else {
		attrs.EnsureCapacity(4)
	}
	// Ours come after the fields: a field of the same name from the line
	// must not replace the file's path or the uid.
	full, name := bl.paths(r.Path)
	attrs.PutStr(attrFilePath, full)
	attrs.PutStr(attrFileName, name)
	size += int64(len(attrFilePath) + len(attrFileName) + len(full) + len(name))
	if r.Rule != "" {
		attrs.PutStr(attrRule, validString(r.Rule))
		size += int64(len(attrRule) + len(r.Rule))
	}
	attrs.PutStr(attrUID, bl.uid(r))
	return size + int64(uidAttrLength)
}

// uid is log.record.uid: a hash of where the record came from and what it
// says, the same each time the same line is read again, so that a receiver
// can drop the duplicates that at-least-once delivery (a restart before an
// acknowledgement was committed) sends. The FileID and offset alone would
// repeat when a deleted file's inode is reused for a new file; the body
// tells those records apart. Two seeded xxHash64 digests make 128 bits,
// which leave collisions out of reach at any log volume; FNV-128a, the
// standard library's, took 13 % of the exporter's CPU.
func (bl *builder) uid(r *output.Record) string {
	s := append(bl.scratch[:0], bl.host...)
	s = append(s, 0)
	s = append(s, r.FileID...)
	s = append(s, 0)
	s = binary.BigEndian.AppendUint64(s, uint64(r.Offset))
	bl.scratch = s
	bl.h1.ResetWithSeed(0) // Reset would forget the seed
	bl.h2.ResetWithSeed(uidSeed)
	for _, h := range [2]*xxhash.Digest{bl.h1, bl.h2} {
		_, _ = h.Write(s) // a Digest's Write never fails
		_, _ = h.Write(r.Text)
	}
	binary.BigEndian.PutUint64(bl.sum[:8], bl.h1.Sum64())
	binary.BigEndian.PutUint64(bl.sum[8:], bl.h2.Sum64())
	hex.Encode(bl.hex[:], bl.sum[:])
	return string(bl.hex[:])
}

// newResource starts a ResourceLogs for ev's source in b and returns its
// estimated size.
func (bl *builder) newResource(b *batch, ev *output.Event) int64 {
	rl := b.logs.ResourceLogs().AppendEmpty()
	attrs := rl.Resource().Attributes()
	var size int
	if bl.host != "" {
		attrs.PutStr(attrHost, bl.host)
		size += len(attrHost) + len(bl.host)
	}
	attrs.PutStr(attrService, bl.service)
	size += len(attrService) + len(bl.service)
	if ev != nil {
		for _, a := range ev.Resource {
			if !strings.HasPrefix(a.Key, filePrefix) {
				attrs.PutStr(validString(a.Key), validString(a.Value))
				size += len(a.Key) + len(a.Value)
			}
		}
	}
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(scopeName)
	b.recs, b.res = sl.LogRecords(), attrs
	return int64(size)
}

// sameResource reports whether ev's source has the resource res, so that
// the records of the files of one pod, or of a host, share one.
func (bl *builder) sameResource(res pcommon.Map, ev *output.Event) bool {
	n := 1
	if bl.host != "" {
		n++
	}
	if ev != nil {
		for _, a := range ev.Resource {
			if strings.HasPrefix(a.Key, filePrefix) {
				continue
			}
			if v, ok := res.Get(a.Key); !ok || v.Str() != a.Value {
				return false
			}
			n++
		}
	}
	return res.Len() == n
}

// putFields adds the parsed fields with their types and returns their
// estimated size.
func putFields(attrs pcommon.Map, rec *fields.Record) int64 {
	var size int
	for i := range rec.Fields {
		f := &rec.Fields[i]
		k := validBytes(f.Key)
		size += len(f.Key) + len(f.Value)
		switch f.Kind {
		case fields.Number:
			// An integer stays exact as an int; the float would round
			// IDs past 2^53.
			if n, ok := integer(f.Value); ok {
				attrs.PutInt(k, n)
			} else if !math.IsInf(f.Num, 0) && !math.IsNaN(f.Num) {
				attrs.PutDouble(k, f.Num)
			} else {
				attrs.PutStr(k, validBytes(f.Value)) // JSON has no infinity
			}
		case fields.Bool:
			attrs.PutBool(k, string(f.Value) != "false")
		case fields.Null:
			attrs.PutEmpty(k)
		default:
			attrs.PutStr(k, validBytes(f.Value))
		}
	}
	return int64(size)
}

// integer parses a JSON number that is an integer within int64; false for
// a fraction, an exponent or a value out of range.
func integer(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 { // 19 digits cannot overflow a uint64
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	switch {
	case neg && n <= 1<<63:
		return int64(-n), true
	case !neg && n <= math.MaxInt64:
		return int64(n), true
	}
	return 0, false
}

// validBytes and validString replace what is not UTF-8, as the JSON
// output does for fields: OTLP strings must be UTF-8.
func validBytes(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func validString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// paths returns log.file.path and log.file.name for path.
func (bl *builder) paths(path string) (full, name string) {
	if path != bl.path || bl.full == "" {
		full, err := filepath.Abs(path)
		if err != nil {
			full = path // no working directory: the path as given
		}
		bl.path, bl.full, bl.name = path, validString(full), validString(filepath.Base(path))
	}
	return bl.full, bl.name
}
