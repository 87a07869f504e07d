package match

import (
	"bytes"
	"regexp/syntax"
	"slices"
	"unicode/utf8"
)

// dfa answers "does this line match" for a regexp without running RE2.
//
// Go's regexp runs an NFA (or a backtracker) that costs some hundred
// nanoseconds per line even when nothing matches, so a pattern without a
// prefilter literal ([A-Z]{3}[0-9]{4}, many -e literals) spent 17x ripgrep's
// time. ripgrep and RE2 itself use a lazy DFA. A lazy DFA mutates its cache
// while it runs, and a Matcher is shared by the search workers, so this one
// is built whole by Compile over the ASCII alphabet and is immutable: a line
// holding a byte of 0x80 or more is left to the regexp (match's ok is false),
// which keeps every Unicode and invalid-UTF-8 rule exactly Go's. Log lines
// are overwhelmingly ASCII.
//
// The automaton only decides membership, so the leftmost-first preference
// of the regexp is irrelevant: a line matches once any thread reaches
// InstMatch. ^ and $ (line and text forms alike, as a line holds no '\n')
// are supported; \b and \B need the previous character and are not, nor is a
// program whose automaton would exceed dfaMaxStates.
type dfa struct {
	class  [256]uint8 // byte → equivalence class; '\n' and non-ASCII have their own
	stride int        // number of classes
	// next[s+class] is the state after s on a byte of that class. A state
	// is the offset of its row (id*stride), so the hot loop's dependency
	// chain is a load and an add, without a multiplication.
	next []int32
	// States below firstPlain are special: stateEOL is entered on '\n',
	// stateUndecided on a non-ASCII byte, and the ones from stateAccept on
	// accept. Keeping them together makes the hot loop's test one
	// comparison.
	firstPlain int32
	atEnd      []bool // by state: the line matches if it ends here
	start      int32
	// idle is the state where no match is under way; stay[b] says that b
	// leaves it idle. The hot loop skips such bytes with a loop that has
	// no dependency from one byte to the next, several times faster than
	// stepping the automaton. idle is -1 when there is no such state.
	idle      int32
	stay      [256]bool
	undecided int32 // stateUndecided's offset
	accept    int32 // stateAccept's offset
}

const (
	stateEOL int32 = iota
	stateUndecided
	stateAccept
)

// dfaMaxStates bounds the automaton so that Compile stays fast and the
// table small (at most about 4 MiB); a larger pattern keeps the regexp.
const dfaMaxStates = 4096

// dfaMaxWork bounds the steps of the subset construction (instructions
// added to sets), so that a pattern whose sets are large gives up in a few
// milliseconds rather than after 4096 states of them: a -w wrapper around
// `.{0,20}x` took seconds, and the fuzzer timed out on such patterns.
const dfaMaxWork = 1 << 20

// match reports whether line has a match; ok is false when the automaton
// cannot tell (a non-ASCII byte), and the caller must ask the regexp.
func (d *dfa) match(line []byte) (matched, ok bool) {
	s := d.start
	if s < d.firstPlain {
		return true, true
	}
	for _, b := range line {
		t := d.next[int(s)+int(d.class[b])]
		if t < d.firstPlain {
			return t >= d.accept, t >= d.accept
		}
		s = t
	}
	return d.atEnd[s], true
}

// nextLine returns the first line of block at or after from that the
// automaton accepts, or the first it cannot decide (undecided is then true);
// ok is false when there is neither. block is as for Matcher.Next.
func (d *dfa) nextLine(block []byte, from int) (start, end int, undecided, ok bool) {
	// Locals keep the table in registers; the loop's dependency chain is
	// then one add and one load per byte.
	next, class, plain, idle, stay := d.next, &d.class, d.firstPlain, d.idle, &d.stay
	for from < len(block) {
		if d.start < plain {
			return from, lineEnd(block, from), false, true
		}
		s, i := d.start, from
		for ; i < len(block); i++ {
			if s == idle {
				for i < len(block) && stay[block[i]] {
					i++
				}
				if i == len(block) {
					break
				}
			}
			t := next[uint32(s)+uint32(class[block[i]])]
			if t >= plain {
				s = t
				continue
			}
			switch {
			case t >= d.accept:
				return from, lineEnd(block, i), false, true
			case t == d.undecided:
				return from, lineEnd(block, i), true, true
			}
			break // stateEOL
		}
		if d.atEnd[s] {
			return from, i, false, true
		}
		from = i + 1
	}
	return 0, 0, false, false
}

// lineEnd returns the index of the '\n' at or after i, or len(block).
func lineEnd(block []byte, i int) int {
	if j := bytes.IndexByte(block[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(block)
}

// newDFA builds the automaton for expr (Perl syntax, as regexp.Compile
// takes it), or returns nil when it cannot.
func newDFA(expr string) *dfa {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil
	}
	for i := range prog.Inst {
		in := &prog.Inst[i]
		if in.Op == syntax.InstEmptyWidth && syntax.EmptyOp(in.Arg)&(syntax.EmptyWordBoundary|syntax.EmptyNoWordBoundary) != 0 {
			return nil
		}
	}
	b := &dfaBuilder{prog: prog, ids: map[string]int32{}}
	b.classes()
	if !b.build() {
		return nil
	}
	return b.finish()
}

// dfaState is a set of program counters: the rune instructions waiting for
// the next character, empty-width instructions waiting for the line's end,
// and InstMatch. atStart is whether no character has been read yet.
type dfaState struct {
	pcs     []uint32
	atStart bool
	accept  bool
}

type dfaBuilder struct {
	prog   *syntax.Prog
	idle   int32 // 1-based id of the state of no match under way
	class  [256]uint8
	reps   []rune // one byte of each class
	states []dfaState
	ids    map[string]int32
	next   []int32
	set    []uint32 // reused for each transition's set
	// seen[pc] == gen marks pc as in the set being built; a new gen
	// starts a new set without clearing.
	seen []uint32
	gen  uint32
	key  []byte
	work int // steps of add, against dfaMaxWork
}

// classes groups the ASCII bytes that every rune instruction treats alike.
func (b *dfaBuilder) classes() {
	sig := map[string]uint8{}
	buf := make([]byte, 0, len(b.prog.Inst))
	for c := range 128 {
		buf = buf[:0]
		for i := range b.prog.Inst {
			in := &b.prog.Inst[i]
			switch in.Op {
			case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
				if runeMatches(in, rune(c)) {
					buf = append(buf, 1)
				} else {
					buf = append(buf, 0)
				}
			}
		}
		if c == '\n' {
			buf = append(buf, 2) // a line's end, whatever the pattern says of '\n'
		}
		id, ok := sig[string(buf)]
		if !ok {
			id = uint8(len(b.reps))
			sig[string(buf)] = id
			b.reps = append(b.reps, rune(c))
		}
		b.class[c] = id
	}
	// The non-ASCII bytes share one more class, which build never steps.
	for c := 128; c < 256; c++ {
		b.class[c] = uint8(len(b.reps))
	}
}

func runeMatches(in *syntax.Inst, r rune) bool {
	switch in.Op {
	case syntax.InstRuneAny:
		return true
	case syntax.InstRuneAnyNotNL:
		return r != '\n'
	}
	return in.MatchRune(r)
}

// build runs the subset construction breadth first; false when it grows
// past dfaMaxStates.
func (b *dfaBuilder) build() bool {
	b.seen = make([]uint32, len(b.prog.Inst))
	b.gen++
	start := b.add(nil, uint32(b.prog.Start), true)
	b.intern(start, true)
	b.gen++
	b.idle = b.intern(b.add(nil, uint32(b.prog.Start), false), false)
	stride := len(b.reps) + 1
	for s := 0; s < len(b.states); s++ {
		b.next = append(b.next, make([]int32, stride)...)
		st := b.states[s]
		if st.accept {
			continue // never left: the line has matched
		}
		for c, r := range b.reps {
			if r == '\n' {
				continue
			}
			b.gen++
			set := b.set[:0]
			for _, pc := range st.pcs {
				in := &b.prog.Inst[pc]
				if in.Op != syntax.InstEmptyWidth && in.Op != syntax.InstMatch && runeMatches(in, r) {
					set = b.add(set, in.Out, false)
				}
			}
			// Unanchored: a match may start at every position.
			set = b.add(set, uint32(b.prog.Start), false)
			b.set = set
			id := b.intern(set, false)
			if len(b.states) > dfaMaxStates || b.work > dfaMaxWork {
				return false
			}
			b.next[s*stride+c] = id
		}
	}
	return true
}

// add adds pc and what it reaches without reading a character to set (the
// epsilon closure). An empty-width instruction that needs the line's end is
// kept in the set and decided by endMatches.
func (b *dfaBuilder) add(set []uint32, pc uint32, atStart bool) []uint32 {
	b.work++
	if b.seen[pc] == b.gen {
		return set
	}
	b.seen[pc] = b.gen
	in := &b.prog.Inst[pc]
	switch in.Op {
	case syntax.InstFail:
		return set
	case syntax.InstAlt, syntax.InstAltMatch:
		set = b.add(set, in.Out, atStart)
		return b.add(set, in.Arg, atStart)
	case syntax.InstNop, syntax.InstCapture:
		return b.add(set, in.Out, atStart)
	case syntax.InstEmptyWidth:
		op := syntax.EmptyOp(in.Arg)
		if op&(syntax.EmptyBeginLine|syntax.EmptyBeginText) != 0 && !atStart {
			return set
		}
		if op&(syntax.EmptyEndLine|syntax.EmptyEndText) != 0 {
			return append(set, pc)
		}
		return b.add(set, in.Out, atStart)
	}
	return append(set, pc) // a rune instruction or InstMatch
}

// endMatches reports whether the set reaches InstMatch when the line ends
// right here.
func (b *dfaBuilder) endMatches(st dfaState) bool {
	for _, pc := range st.pcs {
		if b.prog.Inst[pc].Op == syntax.InstEmptyWidth && b.reachesAtEnd(b.prog.Inst[pc].Out, st.atStart, map[uint32]bool{}) {
			return true
		}
	}
	return false
}

func (b *dfaBuilder) reachesAtEnd(pc uint32, atStart bool, seen map[uint32]bool) bool {
	if seen[pc] {
		return false
	}
	seen[pc] = true
	in := &b.prog.Inst[pc]
	switch in.Op {
	case syntax.InstMatch:
		return true
	case syntax.InstAlt, syntax.InstAltMatch:
		return b.reachesAtEnd(in.Out, atStart, seen) || b.reachesAtEnd(in.Arg, atStart, seen)
	case syntax.InstNop, syntax.InstCapture:
		return b.reachesAtEnd(in.Out, atStart, seen)
	case syntax.InstEmptyWidth:
		if syntax.EmptyOp(in.Arg)&(syntax.EmptyBeginLine|syntax.EmptyBeginText) != 0 && !atStart {
			return false
		}
		return b.reachesAtEnd(in.Out, atStart, seen)
	}
	return false
}

// intern returns the id of the state with this set, adding it if new.
// Ids are 1-based while building; finish renumbers them.
func (b *dfaBuilder) intern(set []uint32, atStart bool) int32 {
	slices.Sort(set)
	b.key = b.key[:0]
	if atStart {
		b.key = append(b.key, 1)
	}
	accept := false
	for _, pc := range set {
		b.key = utf8.AppendRune(b.key, rune(pc)+1) // compact, and never 0 or 1
		accept = accept || b.prog.Inst[pc].Op == syntax.InstMatch
	}
	if accept {
		// Every accepting state is alike: the line has matched.
		b.key = append(b.key[:0], 0)
	}
	if id, ok := b.ids[string(b.key)]; ok {
		return id
	}
	b.states = append(b.states, dfaState{pcs: slices.Clone(set), atStart: atStart, accept: accept})
	id := int32(len(b.states)) // 1-based
	b.ids[string(b.key)] = id
	return id
}

// finish renumbers the states so that the accepting ones come first, after
// the reserved 0, and fills the table.
func (b *dfaBuilder) finish() *dfa {
	stride := len(b.reps) + 1
	n := len(b.states)
	order := make([]int32, n+1) // old 1-based id → new id
	next := stateAccept
	for pass := range 2 {
		for i, st := range b.states {
			if st.accept == (pass == 0) {
				order[i+1] = next
				next++
			}
		}
	}
	size := (n + int(stateAccept)) * stride
	d := &dfa{class: b.class, stride: stride, next: make([]int32, size), atEnd: make([]bool, size)}
	d.firstPlain = stateAccept
	for _, st := range b.states {
		if st.accept {
			d.firstPlain++
		}
	}
	s32 := int32(stride)
	d.firstPlain *= s32
	d.undecided, d.accept = stateUndecided*s32, stateAccept*s32
	nl, other := int(b.class['\n']), stride-1
	for i, st := range b.states {
		id := order[i+1] * s32
		d.atEnd[id] = st.accept || b.endMatches(st)
		row := d.next[id : id+s32]
		for c := range row {
			switch {
			case c == nl:
				row[c] = stateEOL * s32
			case c == other:
				row[c] = d.undecided
			case st.accept:
				row[c] = id // never used: an accepting state is not left
			default:
				row[c] = order[b.next[i*stride+c]] * s32
			}
		}
	}
	d.start = order[1] * s32
	d.idle = -1
	if !b.states[b.idle-1].accept {
		d.idle = order[b.idle] * s32
		for c := range 256 {
			d.stay[c] = d.next[d.idle+int32(d.class[c])] == d.idle
		}
	}
	return d
}
