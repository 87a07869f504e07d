package match

import (
	"errors"
	"fmt"
	"regexp/syntax"
	"strings"
)

// Patterns are RE2 syntax as Go implements it, while grep users type basic
// regular expressions (BRE), where some escapes mean what the bare
// character means in RE2 and the reverse. A pattern with those escapes
// still compiles, to something else, so the CLI warns; a backreference
// does not compile, and the error says why.

// escapeNotes says what RE2 makes of the grep escapes that mean something
// else there, by the escaped character.
var escapeNotes = map[byte]string{
	'|': `is a literal "|" in RE2 syntax, not alternation as in grep's basic regexps; write a|b`,
	'<': `is a literal "<" in RE2 syntax, not the start of a word as in grep; use -w, or \b for an ASCII word boundary`,
	'>': `is a literal ">" in RE2 syntax, not the end of a word as in grep; use -w, or \b for an ASCII word boundary`,
	'{': `is a literal "{" in RE2 syntax, not the start of an interval as in grep's basic regexps; write a{2,3}`,
	'}': `is a literal "}" in RE2 syntax, not the end of an interval as in grep's basic regexps; write a{2,3}`,
	'(': `is a literal "(" in RE2 syntax, not the start of a group as in grep's basic regexps; write (ab)+`,
	')': `is a literal ")" in RE2 syntax, not the end of a group as in grep's basic regexps; write (ab)+`,
	'?': `is a literal "?" in RE2 syntax, not "zero or one" as in GNU grep's basic regexps; write a?`,
	'+': `is a literal "+" in RE2 syntax, not "one or more" as in GNU grep's basic regexps; write a+`,
}

// PatternWarnings returns warnings, for the CLI to print, about a regexp
// pattern as the user gave it: each grep escape in it that RE2 reads
// otherwise (\| \< \> \{ \} \( \) \? \+, and \1 to \7 followed by an octal
// digit, which RE2 reads as an octal character code rather than a
// backreference and a digit), once each, in order. Escapes inside a
// bracket expression or a \Q...\E quote are not looked at: there
// backslashes differ in other ways. It returns nil for a pattern without
// such escapes; callers skip it for fixed strings.
func PatternWarnings(pattern string) []string {
	var out []string
	seen := map[string]bool{}
	note := func(esc, msg string) {
		if !seen[esc] {
			seen[esc] = true
			out = append(out, esc+" "+msg)
		}
	}
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '[':
			i = classEnd(pattern, i)
			continue
		case '\\':
		default:
			continue
		}
		if i+1 >= len(pattern) {
			break
		}
		c := pattern[i+1]
		switch {
		case c == 'Q':
			j := strings.Index(pattern[i+2:], `\E`)
			if j < 0 {
				return out
			}
			i += 2 + j + 1
			continue
		case escapeNotes[c] != "":
			note(pattern[i:i+2], escapeNotes[c])
		case '1' <= c && c <= '7' && i+2 < len(pattern) && isOctal(pattern[i+2]):
			n := 2
			if i+3 < len(pattern) && isOctal(pattern[i+3]) {
				n = 3
			}
			esc := pattern[i : i+1+n]
			code := 0
			for _, d := range esc[1:] {
				code = code*8 + int(d-'0')
			}
			note(esc, fmt.Sprintf(`is the octal code of U+%04X in RE2 syntax, not backreference \%c followed by %q as in grep; RE2 has no backreferences`, code, c, esc[2:]))
			i += n - 1
		}
		i++
	}
	return out
}

func isOctal(c byte) bool { return '0' <= c && c <= '7' }

// classEnd returns the index of the ']' that closes the bracket expression
// starting at i, or the last index if none does (the pattern then fails to
// compile anyway). As in RE2, a ']' right after "[" or "[^" is a member,
// "[:name:]" is a named class, and a backslash escapes the next byte.
func classEnd(p string, i int) int {
	j := i + 1
	if j < len(p) && p[j] == '^' {
		j++
	}
	if j < len(p) && p[j] == ']' {
		j++
	}
	for ; j < len(p); j++ {
		switch {
		case p[j] == '\\':
			j++
		case p[j] == '[' && j+1 < len(p) && p[j+1] == ':':
			if k := strings.Index(p[j+2:], ":]"); k >= 0 {
				j += 2 + k + 1
			}
		case p[j] == ']':
			return j
		}
	}
	return len(p) - 1
}

// backrefError is the compile error of a backreference, \1 to \9, which
// RE2 rejects as an invalid escape; its message says why.
type backrefError struct {
	err *syntax.Error
}

func (e *backrefError) Error() string {
	return e.err.Error() + ": RE2 syntax has no backreferences (grep's " + e.err.Expr + " repeats what a group matched)"
}

// Unwrap returns the *syntax.Error.
func (e *backrefError) Unwrap() error { return e.err }

// explainError adds to a regexp compile error what the user may have
// meant, when it is a backreference; other errors are returned as they are.
func explainError(err error) error {
	var se *syntax.Error
	if errors.As(err, &se) && se.Code == syntax.ErrInvalidEscape &&
		len(se.Expr) == 2 && se.Expr[0] == '\\' && '1' <= se.Expr[1] && se.Expr[1] <= '9' {
		return &backrefError{err: se}
	}
	return err
}
