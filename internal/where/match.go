package where

import (
	"bytes"
	"math"
	"strconv"
	"unsafe"

	"github.com/logscan/logscan/internal/fields"
)

// Match reports whether r satisfies the expression. A missing field (or a
// nil r) is false for every operator. Match allocates nothing: it runs once
// per line.
func (e *Expr) Match(r *fields.Record) bool {
	if r == nil {
		return false
	}
	f := r.Get(e.field)
	if f == nil {
		return false
	}
	switch e.op {
	case opEq:
		return e.equal(f)
	case opNe:
		return !e.equal(f)
	case opRe:
		return e.re.Match(f.Value)
	case opNotRe:
		return !e.re.Match(f.Value)
	}
	c, ok := e.compare(f)
	if !ok {
		return false
	}
	switch e.op {
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	}
	return c >= 0
}

func (e *Expr) equal(f *fields.Field) bool {
	switch {
	case e.isNum:
		if n, ok := fieldNum(f); ok {
			return n == e.num
		}
	case e.isTime:
		if t, ok := parseTime(f.Value); ok {
			return t == e.t
		}
	}
	return string(f.Value) == e.value
}

// compare orders the field against the value; ok is false when they are not
// comparable: a number or time value against a field of another sort, or NaN.
func (e *Expr) compare(f *fields.Field) (c int, ok bool) {
	switch {
	case e.isNum:
		n, ok := fieldNum(f)
		switch {
		case !ok:
			return 0, false
		case n < e.num:
			return -1, true
		case n > e.num:
			return 1, true
		case n == e.num:
			return 0, true
		}
		return 0, false // NaN
	case e.isTime:
		t, ok := parseTime(f.Value)
		if !ok {
			return 0, false
		}
		return t.cmp(e.t), true
	}
	return bytes.Compare(f.Value, e.valb), true
}

func fieldNum(f *fields.Field) (float64, bool) {
	if f.Kind == fields.Number {
		return f.Num, true
	}
	return parseNum(f.Value)
}

// parseNum accepts decimal numbers, [+-]digits[.digits][e[+-]digits] with
// digits on at least one side of the point: JSON's numbers and the obvious
// loose forms (+5, .5, 5.). It leaves out what strconv also takes (Inf, NaN,
// hex, underscores), which in a log are words, not numbers.
//
// The text is handed to strconv.ParseFloat as an unsafe string instead of
// copied, which is sound because ParseFloat keeps no reference to it (its
// errors clone the input) and b is not modified during the call. The only
// error left after the syntax check is overflow, whose NumError would
// allocate; overflowsFloat64 answers that case first.
func parseNum(b []byte) (float64, bool) {
	i := 0
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	start := i
	i = skipDigits(b, i)
	intEnd := i
	fracStart := i
	if i < len(b) && b[i] == '.' {
		fracStart = i + 1
		i = skipDigits(b, i+1)
	}
	if intEnd == start && i == fracStart {
		return 0, false
	}
	mantEnd := i
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := skipDigits(b, i)
		if d == i {
			return 0, false
		}
		i = d
	}
	if i != len(b) {
		return 0, false
	}
	if overflowsFloat64(b[start:intEnd], b[fracStart:mantEnd], b[mantEnd:]) {
		if b[0] == '-' {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	}
	n, _ := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
	return n, true
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// overflowThreshold is the decimal digits of 2^1024 - 2^970, max float64
// plus half an ulp: the least magnitude that rounds to infinity. It is a
// 309-digit integer.
const overflowThreshold = "179769313486231580793728971405303415079934132710037826936173778980444968292764" +
	"750946649017977587207096330286416692887910946555547851940402630657488671505820" +
	"681908902000708383676273854845817711531764475730270069855571366959622842914819" +
	"860834936475292719074168444365510704342711559699508093042880177904174497792"

// overflowsFloat64 reports whether the magnitude intPart.fracPart×10^exp
// (exp is "" or e[+-]digits) is at least overflowThreshold.
func overflowsFloat64(intPart, fracPart, exp []byte) bool {
	// digits walks the significant digits of intPart then fracPart.
	digits := func(k int) byte {
		if k < len(intPart) {
			return intPart[k]
		}
		return fracPart[k-len(intPart)]
	}
	total := len(intPart) + len(fracPart)
	first := 0
	for first < total && digits(first) == '0' {
		first++
	}
	if first == total {
		return false
	}
	e := 0
	neg := false
	for _, c := range exp {
		switch {
		case c == '-':
			neg = true
		case '0' <= c && c <= '9' && e < 1e6:
			e = e*10 + int(c-'0')
		}
	}
	if neg {
		e = -e
	}
	// Number of digits before the point once the leading zeros are gone.
	whole := len(intPart) - first + e
	switch {
	case whole < len(overflowThreshold):
		return false
	case whole > len(overflowThreshold):
		return true
	}
	for k := 0; k < len(overflowThreshold); k++ {
		d := byte('0')
		if first+k < total {
			d = digits(first + k)
		}
		if d != overflowThreshold[k] {
			return d > overflowThreshold[k]
		}
	}
	return true
}

// instant is a point in time without a zone; time.Time would do, but
// time.Parse allocates a zone for every numeric offset.
type instant struct {
	sec  int64
	nsec int64
}

func (t instant) cmp(u instant) int {
	switch {
	case t.sec < u.sec, t.sec == u.sec && t.nsec < u.nsec:
		return -1
	case t == u:
		return 0
	}
	return 1
}

// parseTime reads RFC 3339, YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM), also with
// a lowercase t or z or a space for the T, as RFC 3339 permits. Leap seconds
// (:60) are rejected, as time.Parse does.
func parseTime(b []byte) (instant, bool) {
	if len(b) < len("2006-01-02T15:04:05Z") {
		return instant{}, false
	}
	year, ok1 := digitsAt(b, 0, 4)
	month, ok2 := digitsAt(b, 5, 2)
	day, ok3 := digitsAt(b, 8, 2)
	hour, ok4 := digitsAt(b, 11, 2)
	minute, ok5 := digitsAt(b, 14, 2)
	sec, ok6 := digitsAt(b, 17, 2)
	sep := b[10]
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || b[4] != '-' || b[7] != '-' ||
		(sep != 'T' && sep != 't' && sep != ' ') || b[13] != ':' || b[16] != ':' ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return instant{}, false
	}
	i := 19
	nsec := 0
	if b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return instant{}, false
		}
		for k, scale := i+1, 100000000; k < j && scale > 0; k, scale = k+1, scale/10 {
			nsec += int(b[k]-'0') * scale
		}
		i = j
	}
	off, ok := zoneOffset(b[i:])
	if !ok {
		return instant{}, false
	}
	secs := daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+sec-off)
	return instant{sec: secs, nsec: int64(nsec)}, true
}

// zoneOffset reads Z or ±HH:MM, in seconds east of UTC.
func zoneOffset(b []byte) (int, bool) {
	if len(b) == 1 && (b[0] == 'Z' || b[0] == 'z') {
		return 0, true
	}
	if len(b) != 6 || (b[0] != '+' && b[0] != '-') || b[3] != ':' {
		return 0, false
	}
	h, ok1 := digitsAt(b, 1, 2)
	m, ok2 := digitsAt(b, 4, 2)
	if !ok1 || !ok2 || h > 23 || m > 59 {
		return 0, false
	}
	off := h*3600 + m*60
	if b[0] == '-' {
		off = -off
	}
	return off, true
}

func digitsAt(b []byte, i, n int) (int, bool) {
	if i+n > len(b) {
		return 0, false
	}
	v := 0
	for _, c := range b[i : i+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// daysFromCivil is the days since 1970-01-01 of a proleptic Gregorian date
// (Howard Hinnant's algorithm); time.Date does the same at twice the
// cost, which shows on a filter run per line.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 { // only -1, from January and February of year 0
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097 + doe - 719468)
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
