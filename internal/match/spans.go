package match

import (
	"iter"
	"unicode/utf8"
)

// Spans returns an iterator over the match spans of the rule's Match
// patterns in line, for --color, -o and JSON submatches: start and end
// byte offsets, left to right, non-overlapping and non-empty (grep -o
// never prints an empty match). Under Word and Line a span is the
// pattern's match alone, without the non-word characters that bound it.
//
// With several patterns the search goes on from the end of each span with
// the leftmost match of any pattern, as if they were one alternation:
// where two start at the same place the earlier pattern wins, and an empty
// match gives way to a non-empty one. Each match is the one Go's regexp
// prefers (leftmost-first, as in RE2 and ripgrep); grep prefers the
// longest, which differs only for patterns such as `a|ab`.
//
// A span of a pure literal costs no allocation; regexps allocate, since
// Go's regexp has no way to find a match into a caller's slice.
func (m *Matcher) Spans(line []byte, rule int) iter.Seq2[int, int] {
	return func(yield func(start, end int) bool) { m.eachSpan(line, rule, yield) }
}

// AppendSpans appends the start,end pairs of Spans to dst and returns it;
// this is the form of output.Record.Spans.
func (m *Matcher) AppendSpans(dst []int, line []byte, rule int) []int {
	m.eachSpan(line, rule, func(s, e int) bool {
		dst = append(dst, s, e)
		return true
	})
	return dst
}

// spanCache is how many patterns of a rule keep their next match between
// steps of eachSpan; more patterns are searched again at every step.
const spanCache = 8

func (m *Matcher) eachSpan(line []byte, rule int, yield func(start, end int) bool) {
	if rule < 0 || rule >= len(m.rules) {
		return
	}
	pats := m.rules[rule].match
	// next[i] is pattern i's leftmost match at or after the position it
	// was searched from; it stays the leftmost from k while it starts at
	// or after k. A start of -1 means not searched, -2 no match.
	var next [spanCache][2]int
	for i := range next {
		next[i][0] = -1
	}
	for k := 0; k <= len(line); {
		bs, be := -1, -1
		for i := range pats {
			var s, e int
			if i < spanCache && next[i][0] >= k {
				s, e = next[i][0], next[i][1]
			} else if i < spanCache && next[i][0] == -2 {
				continue
			} else {
				var ok bool
				if s, e, ok = pats[i].findAt(line, k); !ok {
					s = -2
				}
				if i < spanCache {
					next[i] = [2]int{s, e}
				}
				if !ok {
					continue
				}
			}
			if bs < 0 || s < bs || s == bs && be == bs && e > s {
				bs, be = s, e
			}
		}
		switch {
		case bs < 0:
			return
		case be == bs:
			// Step over an empty match, as grep -o and Go's FindAll do.
			k = bs + runeLen(line, bs)
		default:
			if !yield(bs, be) {
				return
			}
			k = be
		}
	}
}

// runeLen returns the length of the rune at i, 1 at the end of line.
func runeLen(line []byte, i int) int {
	if i >= len(line) {
		return 1
	}
	_, n := utf8.DecodeRune(line[i:])
	return n
}
