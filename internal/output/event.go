package output

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/logscan/logscan/internal/fields"
)

// Event is what a record carries when the event stages ran (a joined
// multiline event, parsed fields): JSON then prints the normalized shape
// that /matches and the exporters share.
type Event struct {
	EndOffset int64 // just past the event's last line
	Lines     int   // lines joined
	Truncated bool  // a multiline limit cut it
	// Time is the event's own timestamp (a parsed field, or the CRI or
	// Docker wrapper's), zero when it has none; Record.Time is when it was
	// read.
	Time           time.Time
	Severity       string // normalized level text (INFO, WARN, ...), "" when none
	SeverityNumber int    // OpenTelemetry's severity number, 0 when none
	Fields         *fields.Record
	// Resource describes the source: log.file.path, log.file.name and the
	// Kubernetes names found in the path.
	Resource []Attr
}

// Attr is one resource attribute.
type Attr struct {
	Key, Value string
}

// appendEvent prints a record that carries an event: one object per event,
// with its body, fields and resource.
func appendEvent(dst []byte, r *Record) []byte {
	e := r.Event
	dst = append(dst, `{"type":"match",`...)
	dst = appendPlace(dst, r)
	dst = append(dst, `,"end_offset":`...)
	dst = strconv.AppendInt(dst, e.EndOffset, 10)
	dst = append(dst, `,"lines":`...)
	dst = strconv.AppendInt(dst, int64(e.Lines), 10)
	dst = append(dst, `,"rule":`...)
	dst = appendString(dst, r.Rule)
	if r.Pattern != "" {
		dst = append(dst, `,"pattern":`...)
		dst = appendString(dst, r.Pattern)
	}
	if !e.Time.IsZero() {
		dst = append(dst, `,"time":"`...)
		dst = e.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
		dst = append(dst, '"')
	}
	if !r.Time.IsZero() {
		dst = append(dst, `,"observed_time":"`...)
		dst = r.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
		dst = append(dst, '"')
	}
	if e.Severity != "" {
		dst = append(dst, `,"severity":`...)
		dst = appendString(dst, e.Severity)
		dst = append(dst, `,"severity_number":`...)
		dst = strconv.AppendInt(dst, int64(e.SeverityNumber), 10)
	}
	if utf8.Valid(r.Text) {
		dst = append(dst, `,"body":`...)
		dst = appendString(dst, r.Text)
	} else {
		dst = append(dst, `,"body_base64":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, r.Text)
		dst = append(dst, '"')
	}
	if e.Fields != nil && len(e.Fields.Fields) > 0 {
		dst = appendFields(dst, e.Fields)
	}
	if len(e.Resource) > 0 {
		dst = append(dst, `,"resource":{`...)
		for i, a := range e.Resource {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, a.Key)
			dst = append(dst, ':')
			dst = appendString(dst, a.Value)
		}
		dst = append(dst, '}')
	}
	if e.Truncated {
		dst = append(dst, `,"truncated":true`...)
	}
	return append(dst, "}\n"...)
}

// appendFields prints the fields as one flat object, nested keys dotted,
// each value with its type: numbers, booleans and null as JSON has them,
// the rest as strings. A key or value that is not UTF-8 is printed with
// its invalid bytes as \ufffd: a field is a parse of the body, which is
// printed whole.
func appendFields(dst []byte, rec *fields.Record) []byte {
	dst = append(dst, `,"fields":{`...)
	for i := range rec.Fields {
		f := &rec.Fields[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendValid(dst, f.Key)
		dst = append(dst, ':')
		switch f.Kind {
		case fields.Number:
			dst = strconv.AppendFloat(dst, f.Num, 'g', -1, 64)
		case fields.Bool, fields.Null:
			dst = append(dst, f.Value...)
		default:
			dst = appendValid(dst, f.Value)
		}
	}
	return append(dst, '}')
}

// appendValid appends b as a JSON string, replacing invalid UTF-8.
func appendValid(dst, b []byte) []byte {
	if utf8.Valid(b) {
		return appendString(dst, b)
	}
	return appendString(dst, bytes.ToValidUTF8(b, []byte("\uFFFD")))
}
