package pipeline

import "bytes"

// blockContext is the select stage with -A/-B/-C on the block-level
// prefilter: the matcher finds the next selected line in the whole block,
// and only the lines around it are walked: the B lines before it (found
// backwards from the hit, or kept from the previous block) and the A lines
// after it. Before, context walked and matched every line, ten times
// ripgrep's time on a rare match.
func (s *Scanner) blockContext(block []byte, base int64) bool {
	p := s.p
	pos := 0 // block[pos:] is not accounted for; its first line is number s.lines+1
	for pos < len(block) {
		var ok bool
		if pos, ok = s.trailing(block, base, pos); !ok {
			return false
		}
		if pos >= len(block) {
			break
		}
		if p.MaxCount >= 0 && s.selected >= p.MaxCount {
			return false // after -m, grep prints the trailing context and stops
		}
		start, end, rule, found := p.Matcher.Next(block, pos)
		if !found {
			s.keepBefore(block, base, pos, len(block))
			return true
		}
		n := int64(bytes.Count(block[pos:start], nl))
		s.printBefore(block, base, pos, start, n)
		s.lines += n + 1
		if !s.count() {
			return false
		}
		s.print(block[start:end], s.lines, base+int64(start), rule, false)
		s.afterLeft = p.After
		pos = end + 1
	}
	return true
}

// trailing prints the lines after a match, up to A of them, from pos; a
// selected line among them is a match of its own and restarts the count.
// It returns where the walk stopped.
func (s *Scanner) trailing(block []byte, base int64, pos int) (int, bool) {
	p := s.p
	for s.afterLeft > 0 && pos < len(block) {
		end, next := lineAt(block, pos)
		line := block[pos:end]
		s.lines++
		rule, sel := -1, false
		if p.MaxCount < 0 || s.selected < p.MaxCount {
			rule, sel = p.Matcher.Select(line)
		}
		if sel {
			if !s.count() {
				return pos, false
			}
			s.print(line, s.lines, base+int64(pos), rule, false)
			s.afterLeft = p.After
		} else {
			s.afterLeft--
			s.print(line, s.lines, base+int64(pos), -1, true)
		}
		pos = next
	}
	return pos, true
}

// printBefore prints the up to B lines before a match at start: the last
// of the n lines in block[pos:start], then, if there are fewer than B, the
// last lines kept from earlier blocks. Lines already printed are never in
// either: pos is past them, and the kept lines are dropped at each match.
func (s *Scanner) printBefore(block []byte, base int64, pos, start int, n int64) {
	b := s.p.Before
	if b == 0 {
		return
	}
	inBlock := int(min(n, int64(b)))
	if fromKept := min(b-inBlock, s.keptN); fromKept > 0 {
		for _, c := range s.kept[s.keptN-fromKept : s.keptN] {
			s.print(c.text, c.num, c.off, -1, true)
		}
	}
	s.keptN = 0
	s.starts = s.starts[:0]
	ls := start
	for range inBlock {
		j := bytes.LastIndexByte(block[pos:ls-1], '\n')
		ls = pos + j + 1 // j is -1 at pos: the span's first line
		s.starts = append(s.starts, ls)
	}
	num := s.lines + n - int64(inBlock)
	for i := len(s.starts) - 1; i >= 0; i-- {
		a := s.starts[i]
		e := a + bytes.IndexByte(block[a:], '\n')
		num++
		s.print(block[a:e], num, base+int64(a), -1, true)
	}
}

// keepBefore accounts for the lines of block[pos:end], none selected, and
// keeps the last B of them (with those kept before, B in all) for a match
// at the start of the next block.
func (s *Scanner) keepBefore(block []byte, base int64, pos, end int) {
	span := block[pos:end]
	k := int64(bytes.Count(span, nl))
	if len(span) > 0 && span[len(span)-1] != '\n' {
		k++
	}
	first := s.lines + 1
	s.lines += k
	b := s.p.Before
	if b == 0 || k == 0 {
		return
	}
	take := int(min(k, int64(b)))
	if drop := s.keptN + take - b; drop > 0 {
		// Swap, not copy: each entry keeps a backing array of its own,
		// which the appends below reuse.
		for i := 0; i+drop < s.keptN; i++ {
			s.kept[i], s.kept[i+drop] = s.kept[i+drop], s.kept[i]
		}
		s.keptN -= drop
	}
	// The last take lines of span, found backwards.
	s.starts = s.starts[:0]
	ls := len(span)
	if span[len(span)-1] == '\n' {
		ls--
	}
	for range take {
		j := bytes.LastIndexByte(span[:ls], '\n')
		s.starts = append(s.starts, j+1)
		ls = max(j, 0)
	}
	num := first + k - int64(take)
	for i := len(s.starts) - 1; i >= 0; i-- {
		a := s.starts[i]
		e := bytes.IndexByte(span[a:], '\n')
		if e < 0 {
			e = len(span) - a
		}
		c := &s.kept[s.keptN]
		c.text = append(c.text[:0], span[a:a+e]...)
		c.num, c.off = num, base+int64(pos+a)
		s.keptN++
		num++
	}
}
