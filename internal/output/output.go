// Package output formats selected lines as grep-style text or as JSON
// objects, appending to a caller-owned buffer so the hot path does not
// allocate per line.
//
// Text output is what `grep -r` prints: `path:text`, `path:line:text` with
// line numbers, `-` instead of `:` for context lines, and `--` between
// context groups. JSON output is one object per line (NDJSON). Fields that
// may hold bytes that are not UTF-8 (the line and the path) are written as
// strings when they are valid UTF-8 and otherwise as base64 under a
// `_base64` key (`text_base64`, `path_base64`), so no byte is ever lost or
// replaced.
package output

import (
	"encoding/base64"
	"strconv"
	"time"
	"unicode/utf8"
)

// Format selects text or JSON output.
type Format int

const (
	// Text is grep's format.
	Text Format = iota
	// JSON is one JSON object per line.
	JSON
)

// ParseFormat maps a config value to a Format.
func ParseFormat(s string) (Format, bool) {
	switch s {
	case "", "text":
		return Text, true
	case "json":
		return JSON, true
	}
	return Text, false
}

// Options controls how records are printed.
type Options struct {
	Format      Format
	Filename    bool // print the path before each line (text format)
	LineNumbers bool // print line numbers (text format; JSON always has them when known)
	Color       bool // ANSI colours as GNU grep's defaults (text format)
}

// Record is one line to print. Only the fields the format needs are read.
type Record struct {
	Path    string
	FileID  string    // "dev:ino" in follow mode, else ""
	Line    int64     // 1-based line number, 0 when unknown (follow mode)
	Offset  int64     // byte offset of the line's first byte in the (decompressed) file
	Text    []byte    // the line without its '\n'
	Rule    string    // the selecting rule's name, "" when unnamed
	Pattern string    // the pattern that matched, "" when unknown
	Time    time.Time // when the line was read (follow mode), zero to omit
	Context bool      // a context line (-A/-B/-C), not a match
	Spans   []int     // pairs of start,end of matches in Text, for colour
}

// GNU grep's default colours (GREP_COLORS "ms=01;31:fn=35:ln=32:se=36").
const (
	colorMatch = "\x1b[01;31m\x1b[K"
	colorFile  = "\x1b[35m\x1b[K"
	colorLine  = "\x1b[32m\x1b[K"
	colorSep   = "\x1b[36m\x1b[K"
	colorEnd   = "\x1b[m\x1b[K"
)

// Printer appends formatted records to a byte slice. A Printer holds no
// buffer of its own so one worker can own one output buffer.
type Printer struct {
	opts Options
}

// NewPrinter returns a Printer for opts.
func NewPrinter(opts Options) *Printer { return &Printer{opts: opts} }

// Options returns the printer's options.
func (p *Printer) Options() Options { return p.opts }

// Append appends r, formatted, with a trailing newline.
func (p *Printer) Append(dst []byte, r *Record) []byte {
	if p.opts.Format == JSON {
		return appendJSON(dst, r)
	}
	return p.appendText(dst, r)
}

// AppendSeparator appends grep's context group separator.
func (p *Printer) AppendSeparator(dst []byte) []byte {
	if p.opts.Format == JSON {
		return dst
	}
	if p.opts.Color {
		dst = append(dst, colorSep...)
		dst = append(dst, "--"...)
		return append(dst, colorEnd+"\n"...)
	}
	return append(dst, "--\n"...)
}

// AppendCount appends a -c line: `path:count`, or just the count.
func (p *Printer) AppendCount(dst []byte, path string, n int64) []byte {
	if p.opts.Format == JSON {
		dst = append(dst, `{"type":"count",`...)
		dst = appendPath(dst, path)
		dst = append(dst, `,"count":`...)
		dst = strconv.AppendInt(dst, n, 10)
		return append(dst, "}\n"...)
	}
	if p.opts.Filename {
		dst = p.appendFilename(dst, path)
		dst = p.appendSep(dst, ':')
	}
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, '\n')
}

// AppendPath appends a -l line: the path alone.
func (p *Printer) AppendPath(dst []byte, path string) []byte {
	if p.opts.Format == JSON {
		dst = append(dst, `{"type":"file",`...)
		dst = appendPath(dst, path)
		return append(dst, "}\n"...)
	}
	dst = p.appendFilename(dst, path)
	return append(dst, '\n')
}

func (p *Printer) appendFilename(dst []byte, path string) []byte {
	if p.opts.Color {
		dst = append(dst, colorFile...)
		dst = append(dst, path...)
		return append(dst, colorEnd...)
	}
	return append(dst, path...)
}

func (p *Printer) appendSep(dst []byte, sep byte) []byte {
	if p.opts.Color {
		dst = append(dst, colorSep...)
		dst = append(dst, sep)
		return append(dst, colorEnd...)
	}
	return append(dst, sep)
}

func (p *Printer) appendText(dst []byte, r *Record) []byte {
	sep := byte(':')
	if r.Context {
		sep = '-'
	}
	if p.opts.Filename {
		dst = p.appendFilename(dst, r.Path)
		dst = p.appendSep(dst, sep)
	}
	if p.opts.LineNumbers {
		if p.opts.Color {
			dst = append(dst, colorLine...)
			dst = strconv.AppendInt(dst, r.Line, 10)
			dst = append(dst, colorEnd...)
		} else {
			dst = strconv.AppendInt(dst, r.Line, 10)
		}
		dst = p.appendSep(dst, sep)
	}
	if !p.opts.Color || len(r.Spans) == 0 {
		dst = append(dst, r.Text...)
		return append(dst, '\n')
	}
	at := 0
	for i := 0; i+1 < len(r.Spans); i += 2 {
		s, e := r.Spans[i], r.Spans[i+1]
		if s < at || e > len(r.Text) || s >= e {
			continue
		}
		dst = append(dst, r.Text[at:s]...)
		dst = append(dst, colorMatch...)
		dst = append(dst, r.Text[s:e]...)
		dst = append(dst, colorEnd...)
		at = e
	}
	dst = append(dst, r.Text[at:]...)
	return append(dst, '\n')
}

func appendJSON(dst []byte, r *Record) []byte {
	if r.Context {
		dst = append(dst, `{"type":"context",`...)
	} else {
		dst = append(dst, `{"type":"match",`...)
	}
	dst = appendPath(dst, r.Path)
	if r.FileID != "" {
		dst = append(dst, `,"file_id":`...)
		dst = appendString(dst, r.FileID)
	}
	if r.Line > 0 {
		dst = append(dst, `,"line":`...)
		dst = strconv.AppendInt(dst, r.Line, 10)
	}
	dst = append(dst, `,"offset":`...)
	dst = strconv.AppendInt(dst, r.Offset, 10)
	if !r.Context {
		dst = append(dst, `,"rule":`...)
		dst = appendString(dst, r.Rule)
		if r.Pattern != "" {
			dst = append(dst, `,"pattern":`...)
			dst = appendString(dst, r.Pattern)
		}
	}
	if !r.Time.IsZero() {
		dst = append(dst, `,"time":"`...)
		dst = r.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
		dst = append(dst, '"')
	}
	if utf8.Valid(r.Text) {
		dst = append(dst, `,"text":`...)
		dst = appendString(dst, r.Text)
	} else {
		dst = append(dst, `,"text_base64":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, r.Text)
		dst = append(dst, '"')
	}
	return append(dst, "}\n"...)
}

func appendPath(dst []byte, path string) []byte {
	if utf8.ValidString(path) {
		dst = append(dst, `"path":`...)
		return appendString(dst, path)
	}
	dst = append(dst, `"path_base64":"`...)
	dst = base64.StdEncoding.AppendEncode(dst, []byte(path))
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. s must be valid UTF-8.
func appendString[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
