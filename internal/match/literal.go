package match

import (
	"bytes"
	"regexp/syntax"
	"slices"
	"unicode"
	"unicode/utf8"
)

// lit is a literal during extraction; fold means ASCII letters match either case.
type lit struct {
	b    []byte
	fold bool
}

// litSet is a set of literals such that every match of a regexp contains one
// of them; exact means the regexp matches exactly the strings of the set.
type litSet struct {
	lits  []lit
	exact bool
}

// maxCross bounds the size of a cross product of adjacent exact sets.
const maxCross = 16

// maxAlt bounds the size of a union of alternatives.
const maxAlt = 64

// requiredLiterals returns literals such that every match of re contains at
// least one of them, or nil when no such set is known.
func requiredLiterals(re *syntax.Regexp) []lit {
	s, ok := analyze(re)
	if !ok {
		return nil
	}
	return s.lits
}

// pureLiteral reports whether re matches exactly one literal string that the
// literal searcher finds exactly, so the regexp can be skipped.
func pureLiteral(re *syntax.Regexp) (literal, bool) {
	if re.Op != syntax.OpLiteral {
		return literal{}, false
	}
	s, ok := analyze(re)
	if !ok || !s.exact || len(s.lits) != 1 {
		return literal{}, false
	}
	return newLiteral(s.lits[0].b, s.lits[0].fold), true
}

// analyze computes the required literal set of re; ok is false when re can
// match without containing any literal we can search for.
func analyze(re *syntax.Regexp) (litSet, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		return literalSet(re.Rune, re.Flags&syntax.FoldCase != 0)
	case syntax.OpCharClass:
		return classSet(re.Rune)
	case syntax.OpCapture:
		return analyze(re.Sub[0])
	case syntax.OpPlus:
		s, ok := analyze(re.Sub[0])
		s.exact = false
		return s, ok
	case syntax.OpRepeat:
		if re.Min < 1 {
			return litSet{}, false
		}
		s, ok := analyze(re.Sub[0])
		s.exact = s.exact && re.Min == 1 && re.Max == 1
		return s, ok
	case syntax.OpAlternate:
		out := litSet{exact: true}
		for _, sub := range re.Sub {
			s, ok := analyze(sub)
			if !ok {
				return litSet{}, false
			}
			out.lits = append(out.lits, s.lits...)
			out.exact = out.exact && s.exact
		}
		if len(out.lits) > maxAlt {
			return litSet{}, false
		}
		return out, true
	case syntax.OpConcat:
		return concatSet(flatten(re, nil))
	}
	// Stars, quests, empty-width assertions, any-char and no-match require
	// no literal.
	return litSet{}, false
}

func flatten(re *syntax.Regexp, out []*syntax.Regexp) []*syntax.Regexp {
	for _, sub := range re.Sub {
		if sub.Op == syntax.OpConcat {
			out = flatten(sub, out)
		} else {
			out = append(out, sub)
		}
	}
	return out
}

// unit is the analysis of one element of a concatenation.
type unit struct {
	set litSet
	ok  bool
}

// concatSet picks the best literal set among the children of a concatenation.
func concatSet(subs []*syntax.Regexp) (litSet, bool) {
	units := make([]unit, len(subs))
	for i, sub := range subs {
		units[i].set, units[i].ok = analyze(sub)
	}
	return joinUnits(units)
}

// joinUnits joins runs of adjacent exact units by cross product and returns
// the best-scoring run or inexact unit; the result is exact only if a single
// run consumed every unit.
func joinUnits(units []unit) (litSet, bool) {
	var best litSet
	found := false
	consider := func(s litSet) {
		if !found || score(s) > score(best) {
			best, found = s, true
		}
	}
	var run litSet
	inRun := false
	allExact := true
	for _, u := range units {
		if !u.ok || !u.set.exact {
			allExact = false
			if inRun {
				consider(run)
				inRun = false
			}
			if u.ok {
				consider(u.set)
			}
			continue
		}
		if inRun {
			if j, ok := cross(run, u.set); ok {
				run = j
				continue
			}
			allExact = false
			consider(run)
		}
		run, inRun = u.set, true
	}
	if inRun {
		consider(run)
	}
	if found {
		best.exact = allExact
	}
	return best, found
}

// cross concatenates every literal of a with every literal of b (both exact)
// while the product stays small. When case folding differs, folded literals
// are first expanded into their case variants.
func cross(a, b litSet) (litSet, bool) {
	fold := a.lits[0].fold
	same := true
	for _, l := range slices.Concat(a.lits, b.lits) {
		same = same && l.fold == fold
	}
	if !same {
		var ok bool
		if a, ok = expandFold(a); !ok {
			return litSet{}, false
		}
		if b, ok = expandFold(b); !ok {
			return litSet{}, false
		}
		fold = false
	}
	if len(a.lits)*len(b.lits) > maxCross {
		return litSet{}, false
	}
	out := litSet{exact: true}
	for _, x := range a.lits {
		for _, y := range b.lits {
			out.lits = append(out.lits, lit{b: append(slices.Clip(x.b), y.b...), fold: fold})
		}
	}
	return out, true
}

// expandFold replaces folded literals by their case variants, if few.
func expandFold(s litSet) (litSet, bool) {
	out := litSet{exact: s.exact}
	for _, l := range s.lits {
		if !l.fold {
			out.lits = append(out.lits, l)
			continue
		}
		vars := [][]byte{nil}
		for _, c := range l.b {
			if !isLower(c) {
				for i := range vars {
					vars[i] = append(vars[i], c)
				}
				continue
			}
			if 2*len(vars)+len(out.lits) > maxCross {
				return litSet{}, false
			}
			n := len(vars)
			for i := range n {
				up := append(slices.Clone(vars[i]), c&^0x20)
				vars[i] = append(vars[i], c)
				vars = append(vars, up)
			}
		}
		for _, v := range vars {
			out.lits = append(out.lits, lit{b: v})
		}
	}
	return out, len(out.lits) <= maxCross
}

// literalSet analyses a literal node. Case-sensitive runes are matched by
// their UTF-8 bytes, except U+FFFD (the regexp's view of an invalid byte),
// invalid runes and '\n', which break the literal. Under case folding, runs
// of ASCII other than k and s become one folded literal, while any other rune
// (k, s, non-ASCII: they fold to U+212A, U+017F or other multi-byte runes)
// becomes the exact set of its fold orbit.
func literalSet(runes []rune, fold bool) (litSet, bool) {
	var units []unit
	var cur []byte
	flush := func() {
		if len(cur) > 0 {
			units = append(units, unit{set: litSet{lits: []lit{{b: cur, fold: fold && hasLetter(cur)}}, exact: true}, ok: true})
			cur = nil
		}
	}
	for _, r := range runes {
		if r == '\n' || r == utf8.RuneError || !utf8.ValidRune(r) {
			flush()
			units = append(units, unit{})
			continue
		}
		if !fold {
			cur = utf8.AppendRune(cur, r)
			continue
		}
		if lr := r | 0x20; r < utf8.RuneSelf && lr != 'k' && lr != 's' {
			if lr >= 'a' && lr <= 'z' {
				r = lr
			}
			cur = append(cur, byte(r))
			continue
		}
		flush()
		units = append(units, orbit(r))
	}
	flush()
	return joinUnits(units)
}

// orbit returns the runes that r matches under case folding as an exact set.
func orbit(r rune) unit {
	u := unit{set: litSet{exact: true}, ok: true}
	c := r
	for {
		if c == utf8.RuneError {
			return unit{}
		}
		u.set.lits = append(u.set.lits, lit{b: utf8.AppendRune(nil, c)})
		if c = unicode.SimpleFold(c); c == r {
			return u
		}
	}
}

func hasLetter(b []byte) bool {
	for _, c := range b {
		if lc := c | 0x20; lc >= 'a' && lc <= 'z' {
			return true
		}
	}
	return false
}

// classSet expands a small character class into single-rune literals; the
// runes are matched exactly, so a folded class like (?i)k = [Kk\x{212A}] is
// expanded faithfully.
func classSet(ranges []rune) (litSet, bool) {
	n := 0
	for i := 0; i < len(ranges); i += 2 {
		n += int(ranges[i+1]-ranges[i]) + 1
		if n > 4 {
			return litSet{}, false
		}
	}
	out := litSet{exact: true}
	for i := 0; i < len(ranges); i += 2 {
		for r := ranges[i]; r <= ranges[i+1]; r++ {
			if r == '\n' {
				// A line never holds '\n', so this alternative never matches.
				continue
			}
			if r == utf8.RuneError || !utf8.ValidRune(r) {
				return litSet{}, false
			}
			out.lits = append(out.lits, lit{b: utf8.AppendRune(nil, r)})
		}
	}
	if len(out.lits) == 0 {
		return litSet{}, false
	}
	return out, true
}

// score rates a set for use as a prefilter: higher is better. A set is as good
// as its worst literal, and each extra literal costs another search.
func score(s litSet) int {
	if len(s.lits) == 0 {
		return -1 << 30
	}
	worst := 1 << 30
	for _, l := range s.lits {
		v := 0
		for i, c := range l.b {
			if i >= 16 {
				break
			}
			f := int(freqRank(c, l.fold))
			v += 4 + (255-f)/32 // length counts most; rare bytes help
		}
		worst = min(worst, v)
	}
	return worst - 3*(len(s.lits)-1)
}

// mergeLiterals unions the literal sets of all match patterns, dropping
// duplicates and literals that contain another literal (a hit of the shorter
// one is a superset).
func mergeLiterals(sets [][]literal) []literal {
	var all []literal
	for _, s := range sets {
		all = append(all, s...)
	}
	var out []literal
	for i, a := range all {
		redundant := false
		for j, b := range all {
			if i == j || a.fold != b.fold {
				continue
			}
			// b makes a redundant if b is inside a (and, for equal literals,
			// b comes first).
			if bytes.Contains(a.s, b.s) && (len(b.s) < len(a.s) || j < i) {
				redundant = true
				break
			}
		}
		if !redundant {
			out = append(out, a)
		}
	}
	return out
}
