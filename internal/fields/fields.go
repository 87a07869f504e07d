// Package fields holds the typed fields parsed from one log line or event
// (JSON, logfmt, the CRI and Docker wrappers) and the parsers that fill
// them. It touches nothing but the bytes it is given: no files, no clock,
// no globals but read-only tables.
//
// A [Record] is reused line after line: its fields point into the parsed
// line or into the record's own arena, so parsing a line allocates nothing
// once the record has grown to the widest line's size. A Record's contents
// are valid until its next Reset or parse.
package fields

import "bytes"

// Kind is the type of a field's value.
type Kind uint8

const (
	// String is any value that is not one of the others; JSON strings are
	// unescaped.
	String Kind = iota
	// Number is a JSON number, or a logfmt value that parses as one.
	Number
	// Bool is true or false; a logfmt key without a value is true.
	Bool
	// Time is a string that parses as an RFC 3339 timestamp; ParseTime
	// reads it and other forms.
	Time
	// Null is JSON's null.
	Null
)

func (k Kind) String() string {
	switch k {
	case Number:
		return "number"
	case Bool:
		return "bool"
	case Time:
		return "time"
	case Null:
		return "null"
	}
	return "string"
}

// Field is one key and its value. Nested JSON objects are flattened: the
// key of {"a":{"b":1}}'s inner field is "a.b". An array is one field whose
// Value is its JSON text, of Kind String.
type Field struct {
	Key   []byte
	Value []byte // unescaped text of the value ("true", "12.5", "2026-12-01T10:00:00Z")
	Kind  Kind
	Num   float64 // the value, when Kind is Number
}

// Record is the fields of one line, in the order they appear.
type Record struct {
	Fields []Field
	arena  []byte
}

// Reset empties r, keeping its storage.
func (r *Record) Reset() {
	r.Fields = r.Fields[:0]
	r.arena = r.arena[:0]
}

// Get returns the field named key, or nil. Keys are few per line, so a
// linear scan beats a map that would have to be cleared per line.
func (r *Record) Get(key string) *Field {
	for i := range r.Fields {
		if string(r.Fields[i].Key) == key {
			return &r.Fields[i]
		}
	}
	return nil
}

// Add appends a field whose key and value are valid as long as the parsed
// line is.
func (r *Record) Add(key, value []byte, kind Kind, num float64) {
	r.Fields = append(r.Fields, Field{Key: key, Value: value, Kind: kind, Num: num})
}

// Own copies b into r's arena and returns the copy, for text the line does
// not hold as such: an unescaped string, a flattened key.
func (r *Record) Own(b ...[]byte) []byte {
	start := len(r.arena)
	for _, p := range b {
		r.arena = append(r.arena, p...)
	}
	return r.arena[start:len(r.arena):len(r.arena)]
}

// Equal reports whether f's value, as text, is v.
func (f *Field) Equal(v []byte) bool { return bytes.Equal(f.Value, v) }
