package output

// The text format follows GNU grep 3.8's prline, print_line_middle and
// print_line_tail byte for byte, colours included, so that what a grep
// user's terminal or script sees does not change.

// validSpan returns span i/2 of r and whether it is usable: after at (the
// previous span's end), non-empty and within the text. Others are skipped
// rather than garble the line.
func validSpan(r *Record, i, at int) (s, e int, ok bool) {
	s, e = r.Spans[i], r.Spans[i+1]
	return s, e, s >= at && e <= len(r.Text) && s < e
}

// PlainPrefix appends to dst what the text format writes before every
// selected line of path when that is the same for each of them (no colour,
// -n, -b or -o), and reports whether it is; a caller may then print a run
// of lines as prefix and line, without a Record each.
func (p *Printer) PlainPrefix(dst []byte, path string) ([]byte, bool) {
	o := &p.opts
	if o.Format != Text || o.Color || o.LineNumbers || o.ByteOffset || o.OnlyMatching {
		return dst, false
	}
	if o.Filename {
		dst = p.appendFilename(dst, path, ':')
	}
	return dst, true
}

func (p *Printer) appendText(dst []byte, r *Record) []byte {
	sep := byte(':')
	if r.Context {
		sep = '-'
	}
	// A matching line is one the spans came from: a selected line, or
	// under -v a context line.
	matching := r.Context == p.opts.Invert
	if p.opts.OnlyMatching {
		if !matching {
			return dst
		}
		return p.appendOnly(dst, r)
	}
	dst = p.appendHead(dst, r, sep, r.Offset)
	if !p.opts.Color {
		dst = append(dst, r.Text...)
		return append(dst, '\n')
	}
	matchColor, lineColor := p.sgr.selMatch, p.sgr.selLine
	if r.Context {
		matchColor = p.sgr.ctxMatch
	}
	if r.Context != (p.opts.Invert && p.reverse) {
		lineColor = p.sgr.ctxLine
	}
	at := 0
	if matching && matchColor != "" {
		for i := 0; i+1 < len(r.Spans); i += 2 {
			s, e, ok := validSpan(r, i, at)
			if !ok {
				continue
			}
			// grep starts the line colour before each stretch between
			// matches, even an empty one, and lets the match's colour
			// end it.
			dst = append(dst, lineColor...)
			dst = append(dst, r.Text[at:s]...)
			dst = append(dst, matchColor...)
			dst = append(dst, r.Text[s:e]...)
			dst = append(dst, p.sgr.end...)
			at = e
		}
	}
	if lineColor != "" {
		// The tail is coloured up to a '\r' that ends the line, as grep
		// leaves the line end uncoloured.
		tail := len(r.Text)
		if tail > at && r.Text[tail-1] == '\r' {
			tail--
		}
		if tail > at {
			dst = append(dst, lineColor...)
			dst = append(dst, r.Text[at:tail]...)
			dst = append(dst, p.sgr.end...)
			at = tail
		}
	}
	dst = append(dst, r.Text[at:]...)
	return append(dst, '\n')
}

// appendOnly appends each span of r on a line of its own (-o), with the
// head grep prints: the path, the line number, and the byte offset of the
// match. grep uses '-' there under -v, where the matching lines are the
// context lines.
func (p *Printer) appendOnly(dst []byte, r *Record) []byte {
	sep := byte(':')
	if p.opts.Invert {
		sep = '-'
	}
	matchColor := p.sgr.selMatch
	if r.Context {
		matchColor = p.sgr.ctxMatch
	}
	at := 0
	for i := 0; i+1 < len(r.Spans); i += 2 {
		s, e, ok := validSpan(r, i, at)
		if !ok {
			continue
		}
		dst = p.appendHead(dst, r, sep, r.Offset+int64(s))
		if matchColor != "" {
			dst = append(dst, matchColor...)
		}
		dst = append(dst, r.Text[s:e]...)
		if matchColor != "" {
			dst = append(dst, p.sgr.end...)
		}
		dst = append(dst, '\n')
		at = e
	}
	return dst
}
