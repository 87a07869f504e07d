package pipeline

import (
	"bytes"
	"time"

	"github.com/logscan/logscan/internal/fields"
	"github.com/logscan/logscan/internal/output"
	"github.com/logscan/logscan/internal/where"
)

// event runs parse, filter and print over one whole event: text is its
// lines joined by '\n' (one line for most), from byte offset off to end,
// whose first line is number num (0 when unknown).
func (s *Scanner) event(text []byte, off, end, num int64, lines int, truncated bool, wrap wrapInfo) bool {
	p, e, ef := s.p, s.p.events, s.ef
	rule, sel := -1, true
	for _, l := range e.lits {
		if !bytes.Contains(text, l) {
			sel = false // no filter can hold: the line need not be parsed
			break
		}
	}
	rec := &ef.rec
	rec.Reset()
	parsed := sel
	if sel {
		if !s.parse(text, wrap) {
			return true // on_parse_error: drop
		}
		rule, sel = s.selectEvent(text, rec)
	}
	if p.Invert {
		rule, sel = -1, !sel
	}
	if !sel {
		return true
	}
	if !s.count() {
		return false
	}
	switch p.Mode {
	case Lines:
		if !parsed {
			s.parse(text, wrap) // an inverted event the literals ruled out still prints its fields
		}
		s.printEvent(text, off, end, num, lines, truncated, rule, wrap)
	case Summary:
		if !parsed {
			s.parse(text, wrap) // its fields are what is summarized
		}
		s.observe(text, &ef.rec, rule)
	}
	return p.MaxCount < 0 || s.selected < p.MaxCount
}

// selectEvent is the select stage over a parsed event: the first rule that
// selects it and whose filters hold, and the global filters.
func (s *Scanner) selectEvent(text []byte, rec *fields.Record) (int, bool) {
	e := s.p.events
	if !allHold(e.where, rec) {
		return -1, false
	}
	m := s.p.Matcher
	for from := 0; ; {
		rule, ok := m.SelectEvent(text, from)
		if !ok || rule < 0 || rule >= len(e.ruleWhere) || allHold(e.ruleWhere[rule], rec) {
			return rule, ok
		}
		from = rule + 1
	}
}

func allHold(exprs []*where.Expr, rec *fields.Record) bool {
	for _, x := range exprs {
		if !x.Match(rec) {
			return false
		}
	}
	return true
}

// parse fills the event's record from its first line, in its file's
// format; a wrapper's stream is a field too. It reports false for a line
// that does not parse when on_parse_error is drop; a kept one has no
// fields.
func (s *Scanner) parse(text []byte, wrap wrapInfo) bool {
	e, ef := s.p.events, s.ef
	rec := &ef.rec
	f := ef.f.outer
	if f == fields.FormatCRI || f == fields.FormatDocker {
		f = ef.f.inner
		if len(wrap.stream) > 0 {
			rec.Add(iostream, wrap.stream, fields.String, 0)
		}
	}
	first := text
	if i := bytes.IndexByte(text, '\n'); i >= 0 {
		first = text[:i]
	}
	if f == fields.FormatAuto {
		f = sniff(first)
	}
	want := e.want
	if s.Tap != nil && s.p.Mode == Lines {
		want = nil // /matches shows every field
	}
	var err error
	kept := len(rec.Fields)
	switch f {
	case fields.FormatJSON:
		err = fields.ParseJSON(first, rec, want)
	case fields.FormatLogfmt:
		err = fields.ParseLogfmt(first, rec, want)
	default:
		return true
	}
	if err != nil {
		s.ParseErrors++
		rec.Fields = rec.Fields[:kept] // the wrapper's fields stay
		return !e.drop
	}
	return true
}

// sniff decides the format of a message a runtime wraps (+auto), message
// by message, since a pod's container may mix JSON logs with plain lines
// from a library: a JSON object, logfmt (a key=value first), or text,
// which is not parsed and is no parse error. It looks at a few bytes and
// allocates nothing, unlike fields.Detect, which a file's first line
// takes.
func sniff(msg []byte) fields.Format {
	msg = bytes.TrimLeft(msg, " \t")
	if len(msg) > 0 && msg[0] == '{' {
		return fields.FormatJSON
	}
	for i, c := range msg {
		switch {
		case c == '=' && i > 0:
			return fields.FormatLogfmt
		case c <= ' ' || c == '"':
			return fields.FormatText
		}
	}
	return fields.FormatText
}

var iostream = []byte("log.iostream")

// printEvent prints a selected event: JSON as one object, text as its
// lines (or as the --fields columns), and hands it to the Tap.
func (s *Scanner) printEvent(text []byte, off, end, num int64, lines int, truncated bool, rule int, wrap wrapInfo) {
	p, ef := s.p, s.ef
	r := &s.rec
	ev := &ef.ev
	*r = output.Record{Path: s.name, FileID: s.fileID, Line: num, Offset: off, Text: text, Event: ev}
	if s.Now != nil {
		r.Time = s.Now()
	}
	if rule >= 0 {
		r.Rule = p.Matcher.RuleName(rule)
	}
	fill(ev, &ef.rec, end, lines, truncated, wrap)
	switch {
	case s.json:
		r.Pattern = s.pattern(text, rule)
		s.Buf = p.Printer.Append(s.Buf, r)
	case len(p.events.columns) > 0:
		s.printColumns(r)
	default:
		s.printLines(r, rule)
	}
	s.printed = true
	if s.Tap != nil {
		if r.Pattern == "" {
			r.Pattern = s.pattern(text, rule)
		}
		r.Text, r.Line, r.Offset, r.Spans, r.Event = text, num, off, nil, ev
		s.Tap(r, rule)
	}
	s.maybeFlush()
}

// fill sets the normalized parts of an event: its own time and severity,
// from the conventional fields or the runtime wrapper.
func fill(ev *output.Event, rec *fields.Record, end int64, lines int, truncated bool, wrap wrapInfo) {
	ev.EndOffset, ev.Lines, ev.Truncated, ev.Fields = end, lines, truncated, rec
	ev.Severity, ev.SeverityNumber = "", 0
	ev.Time = timeOf(rec, wrap)
	for _, k := range fields.LevelKeys {
		if f := rec.Get(k); f != nil {
			ev.Severity, ev.SeverityNumber = fields.Severity(f.Value)
			break
		}
	}
}

// timeOf is an event's own time: the first conventional time field that
// parses, else the runtime wrapper's; zero when there is none.
func timeOf(rec *fields.Record, wrap wrapInfo) time.Time {
	for _, k := range fields.TimeKeys {
		if f := rec.Get(k); f != nil {
			if t, ok := fields.ParseTime(f.Value); ok {
				return t
			}
		}
	}
	if t, ok := fields.ParseTime(wrap.time); ok && len(wrap.time) > 0 {
		return t
	}
	return time.Time{}
}

func (s *Scanner) pattern(text []byte, rule int) string {
	for len(text) > 0 {
		end, next := lineAt(text, 0)
		if pat := s.p.Matcher.Pattern(text[:end], rule); pat != "" {
			return pat
		}
		text = text[next:]
	}
	return ""
}

// printLines prints an event's lines as grep prints lines, each with its
// path and number; colour marks the matches line by line.
func (s *Scanner) printLines(r *output.Record, rule int) {
	p := s.p
	text, num, off := r.Text, r.Line, r.Offset
	// Offsets of the lines after the first are known only when a line of
	// the event is a line of the file, not a runtime's message.
	exact := s.ef.f.outer != fields.FormatCRI && s.ef.f.outer != fields.FormatDocker
	r.Event = nil
	for {
		end, next := lineAt(text, 0)
		r.Text, r.Line, r.Offset, r.Spans = text[:end], num, off, nil
		if p.Spans && !p.Invert {
			s.spans = p.Matcher.AppendSpans(s.spans[:0], r.Text, rule)
			r.Spans = s.spans
		}
		s.Buf = p.Printer.Append(s.Buf, r)
		if next >= len(text) {
			return
		}
		if num > 0 {
			num++
		}
		if exact {
			off += int64(next)
		}
		text = text[next:]
	}
}

// printColumns prints the --fields columns of an event, tab-separated, in
// place of its text: an empty column for a missing field. A resource
// attribute (k8s.pod.name) may be a column too.
func (s *Scanner) printColumns(r *output.Record) {
	rec := &s.ef.rec
	b := s.colBuf[:0]
	for i, name := range s.p.events.columns {
		if i > 0 {
			b = append(b, '\t')
		}
		if f := rec.Get(name); f != nil {
			b = append(b, f.Value...)
			continue
		}
		for _, a := range s.ef.res {
			if a.Key == name {
				b = append(b, a.Value...)
				break
			}
		}
	}
	s.colBuf = b
	r.Text, r.Event = b, nil
	s.Buf = s.p.Printer.Append(s.Buf, r)
}
