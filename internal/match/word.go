package match

import (
	"fmt"
	"regexp/syntax"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Word characters for -w.
//
// A word character is one of \w in Unicode's regular expression guideline
// (UTS #18 annex C), which is what ripgrep's -w uses: Alphabetic (letters,
// letter numbers such as Ⅻ, and the other alphabetic characters such as Ⓐ
// and Devanagari vowel signs), every mark (\pM), decimal digits (\p{Nd}),
// connector punctuation (\p{Pc}: '_' and its relatives such as ‿) and the
// joiners U+200C and U+200D. Other numbers (\p{No}: ², ½, ①) are not word
// characters; neither GNU grep 3.8 under LC_ALL=C.UTF-8 nor rg 13 treats
// them as such.
//
// GNU grep's word characters (glibc's iswalnum, and '_') are the same but
// for three groups, where we side with rg:
//   - marks that are not Alphabetic, such as U+0301 COMBINING ACUTE ACCENT:
//     to grep they end a word, so `grep -w cole` matches "école" written
//     decomposed (e U+0301 cole) though not precomposed. A mark belongs to
//     the letter before it, and text from some sources (macOS file names)
//     is decomposed, so here both spellings are one word;
//   - connector punctuation other than '_' (‿, ＿);
//   - the zero-width joiners, which join the characters around them.
//
// An invalid UTF-8 byte is not a word character (to the regexp it is
// U+FFFD, a symbol; grep's mbrtowc fails on it likewise).
//
// grep_test.go checks this against rg for every character that rg 13's
// Unicode tables know (they are older than Go's Unicode 15.0), and against
// grep and rg on characters of each group above.

// asciiWord is the ASCII part of the word table.
var asciiWord = func() (t [utf8.RuneSelf]bool) {
	for c := range utf8.RuneSelf {
		t[c] = c == '_' || '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'z'
	}
	return t
}()

// wordTables are the non-ASCII word characters, checked in this order.
var wordTables = []*unicode.RangeTable{
	unicode.L, unicode.M, unicode.Nd, unicode.Nl, unicode.Pc,
	unicode.Other_Alphabetic, unicode.Other_Lowercase, unicode.Other_Uppercase,
	unicode.Join_Control,
}

// isWordRune reports whether r is a word character.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 0 && asciiWord[r]
	}
	return r != utf8.RuneError && unicode.IsOneOf(wordTables, r)
}

// notWordClass is a regexp character class matching one rune that is not
// a word character, for the patterns that -w wraps around the user's.
// U+FFFD, which an invalid byte is to the regexp, is a symbol, so the
// class matches it. It is written out as sorted ranges: parsing
// [^\pL\pM...] sorts some 3000 ranges, which made compiling a -w pattern
// take a millisecond. It is built on first use: it costs 2 ms, which a
// search without -w should not pay at start-up.
var notWordClass = sync.OnceValue(func() string {
	var b strings.Builder
	b.WriteString(`[^\pL\pM\p{Nd}\p{Nl}\p{Pc}`)
	for _, t := range wordTables[5:] {
		for _, r := range t.R16 {
			appendRanges(&b, rune(r.Lo), rune(r.Hi), rune(r.Stride))
		}
		for _, r := range t.R32 {
			appendRanges(&b, rune(r.Lo), rune(r.Hi), rune(r.Stride))
		}
	}
	b.WriteByte(']')
	re, err := syntax.Parse(b.String(), syntax.Perl)
	if err != nil || re.Op != syntax.OpCharClass {
		panic(fmt.Sprintf("notWordClass: %v", err))
	}
	b.Reset()
	b.WriteByte('[')
	for i := 0; i+1 < len(re.Rune); i += 2 {
		appendRanges(&b, re.Rune[i], re.Rune[i+1], 1)
	}
	b.WriteByte(']')
	return b.String()
})

func appendRanges(b *strings.Builder, lo, hi, stride rune) {
	if stride == 1 {
		fmt.Fprintf(b, `\x{%x}-\x{%x}`, lo, hi)
		return
	}
	for r := lo; r <= hi; r += stride {
		fmt.Fprintf(b, `\x{%x}`, r)
	}
}

// wordBefore reports whether the rune that ends just before i in line is a
// word character; at 0 there is none.
func wordBefore(line []byte, i int) bool {
	if i <= 0 {
		return false
	}
	if c := line[i-1]; c < utf8.RuneSelf {
		return asciiWord[c]
	}
	r, _ := utf8.DecodeLastRune(line[:i])
	return isWordRune(r)
}

// wordAt reports whether the rune that starts at i in line is a word
// character; at the end there is none.
func wordAt(line []byte, i int) bool {
	if i >= len(line) {
		return false
	}
	if c := line[i]; c < utf8.RuneSelf {
		return asciiWord[c]
	}
	r, _ := utf8.DecodeRune(line[i:])
	return isWordRune(r)
}

// bounded reports whether [s, e) of line is bounded as -w requires: no word
// character just before s nor just at e. As in grep, the span's own first
// and last characters do not matter, so `-w ' foo'` matches in "  foo".
func bounded(line []byte, s, e int) bool {
	return !wordBefore(line, s) && !wordAt(line, e)
}
