package fields

import "time"

// Conventional keys, most common first. Logs disagree on names, so a caller
// looking for a line's time, level or message takes the first of these
// that the record has.
var (
	TimeKeys    = []string{"time", "ts", "timestamp", "@timestamp", "t"}
	LevelKeys   = []string{"level", "lvl", "severity", "loglevel", "log.level"}
	MessageKeys = []string{"msg", "message", "log"}
)

// ParseTime parses b as RFC 3339 (with or without fractional seconds), as
// "2006-01-02 15:04:05[.fff]" (UTC unless an offset or Z follows), or as a
// Unix epoch number with an optional fraction: seconds, or milliseconds
// above 1e12, microseconds above 1e15, nanoseconds above 1e18. The time is
// returned in UTC whatever offset b names: a FixedZone per line would
// allocate, and the instant is what comparisons need.
func ParseTime(b []byte) (time.Time, bool) {
	if len(b) >= 19 && b[4] == '-' {
		sec, nsec, ok := parseDateTime(b, b[10] == ' ')
		if !ok {
			return time.Time{}, false
		}
		return time.Unix(sec, int64(nsec)).UTC(), true
	}
	return parseEpoch(b)
}

// isRFC3339 reports whether b is a timestamp that time.Parse(time.RFC3339,
// ...) accepts, without calling it: time.Parse allocates a zone for each
// numeric offset.
func isRFC3339(b []byte) bool {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return false
	}
	_, _, ok := parseDateTime(b, false)
	return ok
}

// parseDateTime parses the RFC 3339 profile that Go's time package
// accepts: 'T' between date and time, any number of fraction digits, and
// a Z or ±hh:mm zone. spaced selects the "2006-01-02 15:04:05" form, whose
// zone is optional.
func parseDateTime(b []byte, spaced bool) (sec int64, nsec int32, ok bool) {
	sep := byte('T')
	if spaced {
		sep = ' '
	}
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || b[10] != sep || b[13] != ':' || b[16] != ':' {
		return 0, 0, false
	}
	ok = true
	num := func(s []byte, lo, hi int) int {
		x := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				ok = false
				return lo
			}
			x = x*10 + int(c-'0')
		}
		if x < lo || x > hi {
			ok = false
			return lo
		}
		return x
	}
	year := num(b[0:4], 0, 9999)
	month := num(b[5:7], 1, 12)
	day := num(b[8:10], 1, daysIn(month, year))
	hour := num(b[11:13], 0, 23)
	minute := num(b[14:16], 0, 59)
	second := num(b[17:19], 0, 59)
	if !ok {
		return 0, 0, false
	}
	s := b[19:]
	if len(s) >= 2 && s[0] == '.' && isDigit(s[1]) {
		n := 1
		scale := int32(100000000)
		for ; n < len(s) && isDigit(s[n]); n++ {
			nsec += int32(s[n]-'0') * scale
			scale /= 10
		}
		s = s[n:]
	}
	offset := 0
	switch {
	case len(s) == 0 && spaced:
	case len(s) == 1 && s[0] == 'Z':
	case len(s) == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':':
		offset = (num(s[1:3], 0, 23)*60 + num(s[4:6], 0, 59)) * 60
		if s[0] == '-' {
			offset = -offset
		}
	default:
		return 0, 0, false
	}
	if !ok {
		return 0, 0, false
	}
	days := daysSinceEpoch(year, month, day)
	sec = days*86400 + int64(hour*3600+minute*60+second-offset)
	return sec, nsec, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(month, year int) int {
	switch month {
	case 2:
		if isLeap(year) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysSinceEpoch is the proleptic Gregorian day number of y-m-d counted
// from 1970-01-01 (Howard Hinnant's days_from_civil).
func daysSinceEpoch(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// parseEpoch reads digits[.digits] as a Unix time whose unit follows from
// its size, since log producers pick seconds, ms, µs or ns freely.
func parseEpoch(b []byte) (time.Time, bool) {
	i, ip := 0, uint64(0)
	for ; i < len(b) && isDigit(b[i]); i++ {
		if i >= 19 {
			return time.Time{}, false
		}
		ip = ip*10 + uint64(b[i]-'0')
	}
	if i == 0 {
		return time.Time{}, false
	}
	frac := b[i:]
	if len(frac) > 0 {
		if frac[0] != '.' || len(frac) == 1 {
			return time.Time{}, false
		}
		frac = frac[1:]
		for _, c := range frac {
			if !isDigit(c) {
				return time.Time{}, false
			}
		}
	}
	// sub is how many of ip's digits are below a second.
	sub := 0
	switch {
	case ip > 1e18:
		sub = 9
	case ip > 1e15:
		sub = 6
	case ip > 1e12:
		sub = 3
	}
	div := uint64(1)
	for range sub {
		div *= 10
	}
	nsec := int64(ip % div)
	for range 9 - sub {
		nsec *= 10
	}
	scale := int64(1)
	for range 9 - sub {
		scale *= 10
	}
	for _, c := range frac {
		scale /= 10
		if scale == 0 {
			break
		}
		nsec += int64(c-'0') * scale
	}
	return time.Unix(int64(ip/div), nsec).UTC(), true
}
