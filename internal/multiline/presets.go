package multiline

import (
	"bytes"
	"regexp"
)

// classifier decides, line by line, whether a line continues the event
// before it. The presets keep a little state (inside a traceback, inside a
// goroutine dump), which is why this is a method and not a regexp: cont
// must see every line, pending event or not, and moves the state past it.
type classifier interface {
	cont(line []byte) bool
	reset()
	fresh() classifier // the same rules with a fresh state, for Clone
}

var presets = map[string]func() classifier{
	"java":   func() classifier { return javaRules{} },
	"python": func() classifier { return &pythonRules{} },
	"go":     func() classifier { return &goRules{} },
	"ruby":   func() classifier { return &rubyRules{} },
}

func indented(l []byte) bool { return len(l) > 0 && (l[0] == ' ' || l[0] == '\t') }

func hasPrefix(l []byte, p string) bool {
	return len(l) >= len(p) && string(l[:len(p)]) == p
}

// custom is the Start/Continue regexp pair; both run on every line they are
// set for, so their cost is the user's.
type custom struct{ start, next *regexp.Regexp }

func (c *custom) cont(l []byte) bool {
	if c.start != nil && c.start.Match(l) {
		return false
	}
	if c.next != nil {
		return c.next.Match(l)
	}
	return true
}

func (c *custom) reset()            {}
func (c *custom) fresh() classifier { return c }

// javaRules is stateless: every Java continuation has a shape of its own.
type javaRules struct{}

func (javaRules) reset()            {}
func (javaRules) fresh() classifier { return javaRules{} }

func (javaRules) cont(l []byte) bool {
	if len(l) == 0 {
		return false
	}
	switch l[0] {
	case ' ', '\t':
		return true
	case 'C':
		if hasPrefix(l, "Caused by: ") {
			return true
		}
	case 'S':
		if hasPrefix(l, "Suppressed: ") {
			return true
		}
	case 'W':
		if hasPrefix(l, "Wrapped by: ") { // logback's rootCauseFirst
			return true
		}
	}
	return javaException(l)
}

// javaException reports whether l is a Throwable's toString line, such as
// "java.lang.IllegalStateException: boom" or "NullPointerException": a
// name ending in Exception/Error/Throwable, or a package-qualified name
// whose last part is capitalised, then ": " or the end of the line. It is a
// byte scan that stops at the first byte a class name cannot hold, which on
// a timestamped log line is within the first few bytes.
func javaException(l []byte) bool {
	i, last := 0, 0 // last: start of the name's last dotted part
	for i < len(l) && javaNameByte(l[i]) {
		if l[i] == '.' {
			last = i + 1
		}
		i++
	}
	if i == 0 || last == i {
		return false
	}
	if i < len(l) && !(l[i] == ':' && (i+1 == len(l) || l[i+1] == ' ')) {
		return false
	}
	name := l[:i]
	for _, s := range [...]string{"Exception", "Error", "Throwable"} {
		if len(name) > len(s) && string(name[len(name)-len(s):]) == s {
			return true
		}
	}
	// Only with a message: a bare "com.foo.Bar" line is too likely to be
	// something else.
	return i < len(l) && last > 0 && 'a' <= l[0] && l[0] <= 'z' && 'A' <= l[last] && l[last] <= 'Z'
}

func javaNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '$' || c == '.'
}

// Python states: where the last line left the traceback.
const (
	pyNone   = iota // ordinary lines
	pyFrames        // after "Traceback ...:", in the indented frames
	pyAfter         // after the exception line: a chain may follow
)

type pythonRules struct{ st uint8 }

func (p *pythonRules) reset()            { p.st = pyNone }
func (p *pythonRules) fresh() classifier { return &pythonRules{} }

func (p *pythonRules) cont(l []byte) bool {
	if len(l) == 0 {
		// Blank lines separate chained tracebacks; outside one they are
		// ordinary lines.
		if p.st == pyNone {
			return false
		}
		p.st = pyAfter
		return true
	}
	switch l[0] {
	case ' ', '\t':
		return true
	case 'T':
		if hasPrefix(l, "Traceback (most recent call last):") {
			p.st = pyFrames
			return true
		}
	case 'S':
		// logging's stack_info: frames but no exception line after them.
		if hasPrefix(l, "Stack (most recent call last):") {
			p.st = pyAfter
			return true
		}
	}
	switch p.st {
	case pyFrames:
		// The first unindented line after the frames is the exception.
		p.st = pyAfter
		return true
	case pyAfter:
		if hasPrefix(l, "During handling of the above exception, another exception occurred:") ||
			hasPrefix(l, "The above exception was the direct cause of the following exception:") {
			return true
		}
	}
	p.st = pyNone
	return false
}

// Go states.
const (
	goNone  = iota // ordinary lines
	goPanic        // after "panic: ..." or "fatal error: ...", before the dump
	goDump         // in the goroutine dumps
)

type goRules struct{ st uint8 }

func (g *goRules) reset()            { g.st = goNone }
func (g *goRules) fresh() classifier { return &goRules{} }

func (g *goRules) cont(l []byte) bool {
	if len(l) == 0 {
		if g.st == goNone {
			return false
		}
		g.st = goDump // the blank line before and between goroutines
		return true
	}
	if indented(l) {
		return true
	}
	if goCrash(l) {
		if g.st == goPanic { // a second panic line before the dump
			return true
		}
		g.st = goPanic
		return false
	}
	if l[len(l)-1] == ':' && hasPrefix(l, "goroutine ") {
		// Also after a log line: debug.PrintStack and SIGQUIT dumps.
		g.st = goDump
		return true
	}
	if g.st == goNone {
		return false
	}
	switch {
	case hasPrefix(l, "exit status "): // go run's last word
		g.st = goNone
		return true
	case l[0] == '[', // [signal SIGSEGV ...], [recovered]
		hasPrefix(l, "created by "),
		hasPrefix(l, "runtime stack:"),
		hasPrefix(l, "PC="),
		hasPrefix(l, "...additional frames elided..."),
		goFunc(l):
		return true
	}
	g.st = goNone
	return false
}

// goCrash reports the first line of a Go crash. Checking the first byte
// first keeps ordinary lines to one comparison.
func goCrash(l []byte) bool {
	switch l[0] {
	case 'p':
		return hasPrefix(l, "panic: ")
	case 'f':
		return hasPrefix(l, "fatal error: ")
	case 'S':
		return hasPrefix(l, "SIGQUIT: ") || hasPrefix(l, "SIGSEGV: ") ||
			hasPrefix(l, "SIGABRT: ") || hasPrefix(l, "SIGBUS: ")
	}
	return false
}

// goFunc reports a traceback function line: "main.(*T).f(0xc0, ...)",
// "panic({0x45e040?, 0x4b8d38?})": a call with no space before its '(' and
// a ')' at the end, which a log line with a parenthesis rarely is.
func goFunc(l []byte) bool {
	i := bytes.IndexByte(l, '(')
	return i > 0 && l[len(l)-1] == ')' && bytes.IndexByte(l[:i], ' ') < 0
}

// Ruby states.
const (
	rbNone  = iota
	rbFirst // after "file.rb:12:in 'meth': message (Class)"
	rbTrace // in its backtrace
)

type rubyRules struct{ st uint8 }

func (r *rubyRules) reset()            { r.st = rbNone }
func (r *rubyRules) fresh() classifier { return &rubyRules{} }

func (r *rubyRules) cont(l []byte) bool {
	if indented(l) { // "\tfrom /app/x.rb:3:in 'foo'"
		if r.st != rbNone {
			r.st = rbTrace
		}
		return true
	}
	switch rubyLine(l) {
	case rbFrameLine: // Logger prints backtraces unindented
		r.st = rbTrace
		return true
	case rbFirstLine:
		// Ruby prints an exception's cause the way it prints the exception,
		// right after its backtrace: inside one, it is part of the event.
		if r.st == rbTrace {
			return true
		}
		r.st = rbFirst
		return false
	}
	r.st = rbNone
	return false
}

const (
	rbOther = iota
	rbFrameLine
	rbFirstLine
)

// rubyLine classifies "path:N:in 'meth'" (a frame) and "path:N:in 'meth':
// message (Class)" (an exception's first line) by looking at the bytes
// before the first space, which ends any ordinary line's scan early.
func rubyLine(l []byte) int {
	sp := bytes.IndexByte(l, ' ')
	if sp < 0 {
		return rbOther
	}
	head := l[:sp]
	if !bytes.HasSuffix(head, []byte(":in")) {
		return rbOther
	}
	head = head[:len(head)-3]
	d := len(head)
	for d > 0 && '0' <= head[d-1] && head[d-1] <= '9' {
		d--
	}
	if d == len(head) || d < 2 || head[d-1] != ':' {
		return rbOther
	}
	rest := l[sp+1:]
	if bytes.Contains(rest, []byte("': ")) {
		return rbFirstLine
	}
	if len(rest) > 0 && rest[len(rest)-1] == '\'' {
		return rbFrameLine
	}
	return rbOther
}
