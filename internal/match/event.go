package match

import "bytes"

// SelectEvent is Select for an event of several lines (text holds them
// joined by '\n'): the rules are the same and see the event line by line,
// as grep users think of them. Rule r, from rule from on, selects the event
// when one of its match patterns matches some line and none of its ignore
// patterns, nor a global one, matches any line. So `^Caused by` finds the
// trace that holds that line, and an ignore drops the whole trace. With no
// rules every event is selected (rule -1) unless a global ignore matches.
//
// from lets a caller that rejects rule r for reasons of its own (a field
// filter) ask for the next rule that selects the event.
func (m *Matcher) SelectEvent(text []byte, from int) (rule int, ok bool) {
	if bytes.IndexByte(text, '\n') < 0 {
		if from == 0 {
			return m.Select(text)
		}
	}
	for i := range m.global {
		if anyLine(text, m.global[i].match) {
			return -1, false
		}
	}
	if len(m.rules) == 0 {
		return -1, from == 0
	}
	for ri := from; ri < len(m.rules); ri++ {
		r := &m.rules[ri]
		if !anyLine(text, r.matches) {
			continue
		}
		ignored := false
		for i := range r.ignore {
			if anyLine(text, r.ignore[i].match) {
				ignored = true
				break
			}
		}
		if !ignored {
			return ri, true
		}
	}
	return -1, false
}

// anyLine reports whether f holds for some line of text (an empty text
// is one empty line).
func anyLine(text []byte, f func([]byte) bool) bool {
	for {
		i := bytes.IndexByte(text, '\n')
		if i < 0 {
			return f(text)
		}
		if f(text[:i]) {
			return true
		}
		text = text[i+1:]
	}
}
