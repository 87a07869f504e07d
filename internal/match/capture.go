package match

import "regexp"

// CaptureRegexps returns one regexp for each Match pattern of the rule, in
// order, whose leftmost match is the pattern's match as it selects a line:
// with (?i) for ignore_case, and bounded as -x or -w bound it. Each keeps
// the pattern's capture groups under their names (a bound wraps the pattern
// in groups of its own, so look groups up with SubexpIndex, not by
// number), for a caller that extracts submatches (--summary). A fixed or
// pure literal pattern has no groups. The bounded regexps are compiled on
// each call; nil for a rule out of range.
func (m *Matcher) CaptureRegexps(rule int) []*regexp.Regexp {
	if rule < 0 || rule >= len(m.rules) {
		return nil
	}
	var out []*regexp.Regexp
	for i := range m.rules[rule].match {
		p := &m.rules[rule].match[i]
		re := p.re
		switch {
		case p.bound == boundLine && p.whole != nil:
			re = p.whole
		case p.bound == boundWord && p.first != nil:
			re = p.first
		case p.bound != boundNone && p.lit == nil:
			// -w with the anchored strategy keeps no unanchored wrapper;
			// expr is it. Should it exceed a limit the anchored one did not,
			// the unbounded pattern's groups are the nearest thing.
			if w, err := regexp.Compile(p.expr); err == nil {
				re = w
			}
		}
		out = append(out, re)
	}
	return out
}
