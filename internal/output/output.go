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
	// None prints nothing: the records only go to a Tap (output.stdout:
	// false, shipping over OTLP only), so no CPU goes to formatting.
	None
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
	Color       bool // ANSI colours, Colors or GNU grep's defaults (text format)

	// The options below are grep's and apply to the text format; JSON
	// always has the offset and, when a record has spans, submatches.

	// ByteOffset (-b) prints the 0-based byte offset of the line in the
	// file, or with OnlyMatching of the match, after the line number.
	ByteOffset bool
	// Null (-Z) prints a NUL instead of the ':' or '-' after the path, and
	// instead of the newline after a path alone (AppendPath).
	Null bool
	// OnlyMatching (-o) prints each span of a record on its own line,
	// with its own byte offset, and nothing for a record without spans.
	// Context records print nothing, as in grep, unless Invert: then the
	// selected lines are those without a match and the context lines the
	// ones with, and grep prints their matches with '-'. AppendSeparator
	// still prints "--" between context groups, as grep does.
	OnlyMatching bool
	// Invert (-v) says that selected records are the lines that did not
	// match, for OnlyMatching and for the Reverse colour flag.
	Invert bool
	// Colors, when Color is set; nil means DefaultColors.
	Colors *Colors
	// GroupSeparator is printed between context groups: "--" when nil,
	// nothing when it points to NoSeparator (--no-group-separator).
	GroupSeparator *string
}

// NoSeparator, as Options.GroupSeparator, prints no line between context
// groups; an empty string still prints an empty line, as grep does.
var NoSeparator = new(string)

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
	// Spans holds pairs of start,end byte offsets of the matches in Text,
	// in order and apart (match.Matcher.AppendSpans makes them), for
	// colour, OnlyMatching and JSON submatches; nil when not computed.
	Spans []int
	// Event is set when the event stages ran; Text is then the event's
	// body, all its lines (event.go).
	Event *Event
}

// Printer appends formatted records to a byte slice. A Printer holds no
// buffer of its own so one worker can own one output buffer.
type Printer struct {
	opts    Options
	sgr     sgr  // all "" unless opts.Color
	reverse bool // the colours' rv flag
}

// NewPrinter returns a Printer for opts.
func NewPrinter(opts Options) *Printer {
	p := &Printer{opts: opts}
	if opts.Color {
		c := DefaultColors()
		if opts.Colors != nil {
			c = *opts.Colors
		}
		p.sgr, p.reverse = newSGR(c), c.Reverse
	}
	return p
}

// Options returns the printer's options.
func (p *Printer) Options() Options { return p.opts }

// Append appends r, formatted, with a trailing newline.
func (p *Printer) Append(dst []byte, r *Record) []byte {
	if p.opts.Format == None {
		return dst
	}
	if p.opts.Format == JSON {
		if r.Event != nil {
			return appendEvent(dst, r)
		}
		return appendJSON(dst, r)
	}
	return p.appendText(dst, r)
}

// AppendSeparator appends grep's context group separator.
func (p *Printer) AppendSeparator(dst []byte) []byte {
	if p.opts.Format == JSON || p.opts.Format == None {
		return dst
	}
	sep := "--"
	if g := p.opts.GroupSeparator; g == NoSeparator {
		return dst
	} else if g != nil {
		sep = *g
	}
	dst = p.colored(dst, p.sgr.sep, sep)
	return append(dst, '\n')
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
		dst = p.appendFilename(dst, path, ':')
	}
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, '\n')
}

// AppendPath appends a -l or -L line: the path alone, ended by a newline,
// or by a NUL under Null.
func (p *Printer) AppendPath(dst []byte, path string) []byte {
	if p.opts.Format == JSON {
		dst = append(dst, `{"type":"file",`...)
		dst = appendPath(dst, path)
		return append(dst, "}\n"...)
	}
	dst = p.colored(dst, p.sgr.file, path)
	if p.opts.Null {
		return append(dst, 0)
	}
	return append(dst, '\n')
}

// colored appends s between the start sequence c and the end sequence,
// or alone when c is "".
func (p *Printer) colored(dst []byte, c, s string) []byte {
	if c == "" {
		return append(dst, s...)
	}
	dst = append(dst, c...)
	dst = append(dst, s...)
	return append(dst, p.sgr.end...)
}

// appendFilename appends the path and what follows it: the separator, or a
// NUL under Null (uncoloured, as in grep).
func (p *Printer) appendFilename(dst []byte, path string, sep byte) []byte {
	dst = p.colored(dst, p.sgr.file, path)
	if p.opts.Null {
		return append(dst, 0)
	}
	return p.appendSep(dst, sep)
}

func (p *Printer) appendSep(dst []byte, sep byte) []byte {
	if p.sgr.sep == "" {
		return append(dst, sep)
	}
	dst = append(dst, p.sgr.sep...)
	dst = append(dst, sep)
	return append(dst, p.sgr.end...)
}

// appendNumber appends n in colour c, then the separator.
func (p *Printer) appendNumber(dst []byte, c string, n int64, sep byte) []byte {
	if c != "" {
		dst = append(dst, c...)
	}
	dst = strconv.AppendInt(dst, n, 10)
	if c != "" {
		dst = append(dst, p.sgr.end...)
	}
	return p.appendSep(dst, sep)
}

// appendHead appends what grep prints before a line or an -o match: the
// path, the line number and the byte offset off, each with its separator.
func (p *Printer) appendHead(dst []byte, r *Record, sep byte, off int64) []byte {
	if p.opts.Filename {
		dst = p.appendFilename(dst, r.Path, sep)
	}
	if p.opts.LineNumbers {
		dst = p.appendNumber(dst, p.sgr.line, r.Line, sep)
	}
	if p.opts.ByteOffset {
		dst = p.appendNumber(dst, p.sgr.byteOff, off, sep)
	}
	return dst
}

func appendJSON(dst []byte, r *Record) []byte {
	if r.Context {
		dst = append(dst, `{"type":"context",`...)
	} else {
		dst = append(dst, `{"type":"match",`...)
	}
	dst = appendPlace(dst, r)
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
	dst = append(dst, ',')
	dst = appendText(dst, r.Text)
	if len(r.Spans) >= 2 {
		dst = appendSubmatches(dst, r)
	}
	return append(dst, "}\n"...)
}

// appendPlace appends where a record is: path, file identity, line and
// offset, as every JSON record shape has them.
func appendPlace(dst []byte, r *Record) []byte {
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
	return strconv.AppendInt(dst, r.Offset, 10)
}

// appendText appends "text":... for valid UTF-8, else "text_base64":....
func appendText(dst, text []byte) []byte {
	if utf8.Valid(text) {
		dst = append(dst, `"text":`...)
		return appendString(dst, text)
	}
	dst = append(dst, `"text_base64":"`...)
	dst = base64.StdEncoding.AppendEncode(dst, text)
	return append(dst, '"')
}

// appendSubmatches appends the spans as ripgrep's JSON has them,
// "submatches":[{"match":{"text":"…"},"start":N,"end":M}], with byte
// offsets in the line; a match that is not UTF-8 has "text_base64" where
// ripgrep has "bytes", as the line itself has here.
func appendSubmatches(dst []byte, r *Record) []byte {
	dst = append(dst, `,"submatches":[`...)
	at, first := 0, true
	for i := 0; i+1 < len(r.Spans); i += 2 {
		s, e, ok := validSpan(r, i, at)
		if !ok {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first, at = false, e
		dst = append(dst, `{"match":{`...)
		dst = appendText(dst, r.Text[s:e])
		dst = append(dst, `},"start":`...)
		dst = strconv.AppendInt(dst, int64(s), 10)
		dst = append(dst, `,"end":`...)
		dst = strconv.AppendInt(dst, int64(e), 10)
		dst = append(dst, '}')
	}
	return append(dst, ']')
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
