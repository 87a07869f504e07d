package output

// Colors are the SGR parameters ("01;31") that GNU grep's GREP_COLORS
// names, one per capability; an empty one prints that part uncoloured.
type Colors struct {
	SelectedMatch string // ms: matched text in a selected line
	ContextMatch  string // mc: matched text in a context line (matches there are shown only with -v)
	Filename      string // fn
	LineNumber    string // ln
	ByteOffset    string // bn
	Separator     string // se: ':', '-' and the "--" between context groups
	SelectedLine  string // sl: the rest of a selected line
	ContextLine   string // cx: the rest of a context line
	// Reverse (rv) swaps SelectedLine and ContextLine under Options.Invert.
	Reverse bool
	// NoErase (ne) leaves out the \x1b[K (erase to end of line) after each
	// SGR sequence, for terminals that do not know it.
	NoErase bool
}

// DefaultColors returns GNU grep's colours:
// "ms=01;31:mc=01;31:sl=:cx=:fn=35:ln=32:bn=32:se=36".
func DefaultColors() Colors {
	return Colors{
		SelectedMatch: "01;31",
		ContextMatch:  "01;31",
		Filename:      "35",
		LineNumber:    "32",
		ByteOffset:    "32",
		Separator:     "36",
	}
}

// ParseGrepColors returns the default colours changed by a GREP_COLORS
// value, read as GNU grep 3.8 reads it: ':'-separated capabilities, each a
// name, or a name, '=' and a value of digits and ';'; "mt" sets both ms
// and mc; "rv" and "ne" are flags (a value after them is ignored); unknown
// names are skipped. At the first malformed character (a value with other
// characters, a second '=', an empty name before '=') grep stops and keeps
// what it had read before, and so does this.
func ParseGrepColors(s string) Colors {
	c := DefaultColors()
	start, eq := 0, -1 // where the capability starts; its '=', -1 if none yet
	for i := 0; ; i++ {
		if i == len(s) || s[i] == ':' {
			if eq < 0 {
				c.set(s[start:i], "", false)
			} else {
				c.set(s[start:eq], s[eq+1:i], true)
			}
			if i == len(s) {
				return c
			}
			start, eq = i+1, -1
			continue
		}
		switch {
		case s[i] == '=':
			if i == start || eq >= 0 {
				return c
			}
			eq = i
		case eq < 0:
			// part of the name
		case s[i] == ';' || '0' <= s[i] && s[i] <= '9':
			// part of the value; grep allows nothing else to reach the terminal
		default:
			return c
		}
	}
}

// set applies one capability.
func (c *Colors) set(name, val string, hasVal bool) {
	var dst *string
	switch name {
	case "mt", "ms":
		dst = &c.SelectedMatch
	case "mc":
		dst = &c.ContextMatch
	case "fn":
		dst = &c.Filename
	case "ln":
		dst = &c.LineNumber
	case "bn":
		dst = &c.ByteOffset
	case "se":
		dst = &c.Separator
	case "sl":
		dst = &c.SelectedLine
	case "cx":
		dst = &c.ContextLine
	case "rv":
		c.Reverse = true
	case "ne":
		c.NoErase = true
	}
	if dst != nil && hasVal {
		*dst = val
	}
	if name == "mt" {
		// grep copies ms to mc even when mt has no value.
		c.ContextMatch = c.SelectedMatch
	}
}

// sgr holds a Printer's escape sequences: for each capability the start
// sequence, "" when it is empty (or colour is off), in which case nothing
// is printed around that part, not even the end sequence.
type sgr struct {
	selMatch, ctxMatch, file, line, byteOff, sep, selLine, ctxLine string
	end                                                            string
}

func newSGR(c Colors) sgr {
	el := "\x1b[K"
	if c.NoErase {
		el = ""
	}
	start := func(v string) string {
		if v == "" {
			return ""
		}
		return "\x1b[" + v + "m" + el
	}
	return sgr{
		selMatch: start(c.SelectedMatch),
		ctxMatch: start(c.ContextMatch),
		file:     start(c.Filename),
		line:     start(c.LineNumber),
		byteOff:  start(c.ByteOffset),
		sep:      start(c.Separator),
		selLine:  start(c.SelectedLine),
		ctxLine:  start(c.ContextLine),
		end:      "\x1b[m" + el,
	}
}
