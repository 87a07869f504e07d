package match

import (
	"bytes"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// FuzzNextMatchesRegexp checks that iterating Next over a block selects
// exactly the lines that plain regexp.Match selects on each line. patterns
// holds up to 6 '\n'-separated patterns; mode bit 0 gives each pattern its own
// rule (so the rule index is checked too), bit 1 turns the last of several
// patterns into a global ignore.
func FuzzNextMatchesRegexp(f *testing.F) {
	f.Add("k", true, false, uint8(0), []byte("\u212a\nK\nk\nx"))
	f.Add("disk", true, false, uint8(0), []byte("DI\u017fK\ndi\u017f\u212a\ndisk\nDISC\n"))
	f.Add("ſ", true, false, uint8(0), []byte("S\ns\n\u017f\n"))
	f.Add("ERROR\nFATAL\npanic", false, false, uint8(1), []byte("ok\nERROR x\nxpanic\nFATAL\r\n"))
	f.Add("ERROR\nFATAL\npanic", true, false, uint8(3), []byte("ok\nerror x\nPaNiC\nFATAL panic\n"))
	f.Add("err(or|no)", true, false, uint8(0), []byte("ERRNO\nerror\nErRoR\nerrxx"))
	f.Add("", false, false, uint8(0), []byte("a\n\nb"))
	f.Add("^$", false, false, uint8(0), []byte("\n\nx\n"))
	f.Add("a.b", false, true, uint8(0), []byte("a.b\naxb\n"))
	f.Add(`deadbeef-[0-9a-f]{8}`, false, false, uint8(0), []byte("x deadbeef-0123abcd y\ndeadbeef-\n"))
	f.Add("b\nc", false, false, uint8(0), []byte("ab\ncd\n"))  // literals straddling a line break
	f.Add("b\\nc", false, false, uint8(0), []byte("ab\ncd\n")) // a pattern needing '\n'
	f.Add("x\uFFFDy", false, false, uint8(0), []byte("x\xffy\nx\uFFFDy\n"))
	f.Add("é", true, false, uint8(0), []byte("É\né\ne\n"))
	f.Add("ab", true, false, uint8(0), []byte("xxxxxxxxxxxxxxxaB\x00AB\n"))
	// No prefilter: the automaton decides ASCII lines, the regexp the rest.
	f.Add(`[A-Z]{3}[0-9]{4}`, false, false, uint8(0), []byte("ABC1234\nAB123\né ABC1234\n\xffABC1234"))
	f.Add("[0-9]{3}\n^a$\nb+", true, false, uint8(0), []byte("12\nA\nxB\n123\n"))
	f.Add("[0-9]{3}\n^a$\nb+", false, false, uint8(2), []byte("12\na\nbbb\n123\n"))
	// Four or more literals take the Teddy search: shared prefixes, and
	// a block longer than a vector with candidates that fail to verify.
	f.Add("ERROR\nFATAL\npanic\ntimeout\nrefused", false, false, uint8(0), []byte(strings.Repeat("ERRO FATA pani timeou refuse ", 4)+"\nok refused\nxx panic\n"))
	f.Add("u0000|u0020|u0040|u0060|u0080|u0100|u0120|u0140|u0160", false, false, uint8(0), []byte(strings.Repeat("u0001 u0021 u0141 ", 5)+"\nid u0140 x\nu014\n"))
	f.Add("abc\nabd\nabe\nxyz", true, false, uint8(0), []byte(strings.Repeat("ab ", 20)+"ABE\nxy abd\n"))
	f.Fuzz(func(t *testing.T, patterns string, ignoreCase, fixed bool, mode uint8, block []byte) {
		pats := strings.Split(patterns, "\n")
		if len(pats) > 6 || len(patterns) > 256 {
			return
		}
		var global []string
		if mode&2 != 0 && len(pats) > 1 {
			global = pats[len(pats)-1:]
			pats = pats[:len(pats)-1]
		}
		compile := func(p string) (*regexp.Regexp, error) {
			if fixed {
				p = regexp.QuoteMeta(p)
			}
			if ignoreCase {
				p = "(?i)" + p
			}
			return regexp.Compile(p)
		}
		var res, gres []*regexp.Regexp
		var refErr error
		for _, p := range pats {
			re, err := compile(p)
			refErr = errors.Join(refErr, err)
			res = append(res, re)
		}
		for _, p := range global {
			re, err := compile(p)
			refErr = errors.Join(refErr, err)
			gres = append(gres, re)
		}
		var rules []Rule
		if mode&1 != 0 {
			for _, p := range pats {
				rules = append(rules, Rule{Match: []string{p}, IgnoreCase: ignoreCase, Fixed: fixed})
			}
		} else {
			rules = []Rule{{Match: pats, IgnoreCase: ignoreCase, Fixed: fixed}}
		}
		m, err := Compile(rules, Options{Ignore: global, IgnoreCase: ignoreCase, Fixed: fixed})
		if refErr != nil {
			var pe *PatternError
			if !errors.As(err, &pe) {
				t.Fatalf("regexp rejects the patterns (%v) but Compile returned %v", refErr, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Compile: %v", err)
		}

		var want []hit
		lines := bytes.Split(block, []byte("\n"))
		if len(block) == 0 || block[len(block)-1] == '\n' {
			lines = lines[:len(lines)-1]
		}
	line:
		for _, l := range lines {
			for _, g := range gres {
				if g.Match(l) {
					continue line
				}
			}
			for i, re := range res {
				if re.Match(l) {
					rule := 0
					if mode&1 != 0 {
						rule = i
					}
					want = append(want, hit{string(l), rule})
					continue line
				}
			}
		}
		if got := collect(t, m, block); !slices.Equal(got, want) {
			t.Errorf("Next selected %v\nregexp selected %v", got, want)
		}
		if got := reference(m, block); !slices.Equal(got, want) {
			t.Errorf("Select selected %v\nregexp selected %v", got, want)
		}
		if haveSIMD {
			withoutSIMD(func() {
				if got := collect(t, m, block); !slices.Equal(got, want) {
					t.Errorf("Next without SIMD selected %v\nregexp selected %v", got, want)
				}
			})
		}
	})
}
