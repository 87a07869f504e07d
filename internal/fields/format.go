package fields

import (
	"bytes"
	"strconv"
)

// Format is how a file's lines are encoded.
type Format uint8

// The prefix keeps the names apart from the CRI and Docker line types and
// the String kind.
const (
	FormatText Format = iota
	FormatJSON
	FormatLogfmt
	FormatCRI
	FormatDocker
	FormatAuto // not a format: Detect it from the first line
)

var formatNames = [...]string{"text", "json", "logfmt", "cri", "docker", "auto"}

func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// ParseFormat is the Format named s, as String writes it.
func ParseFormat(s string) (Format, bool) {
	for i, n := range formatNames {
		if n == s {
			return Format(i), true
		}
	}
	return FormatText, false
}

// Detect guesses the format of a file from its first line: a JSON object
// (Docker's if its keys are log, stream and time, with attrs allowed),
// a CRI line, logfmt with at least two key=value pairs (one is too weak a
// sign: prose has "a=b" too), else text. It
// allocates, being meant for one line per file.
func Detect(line []byte) Format {
	trimmed := bytes.TrimLeft(line, " \t")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var r Record
		if ParseJSON(line, &r, nil) == nil {
			if isDocker(&r) {
				return FormatDocker
			}
			return FormatJSON
		}
	}
	if _, err := ParseCRI(line); err == nil {
		return FormatCRI
	}
	var r Record
	if n, err := parseLogfmt(line, &r, nil); err == nil && n >= 2 {
		return FormatLogfmt
	}
	return FormatText
}

func isDocker(r *Record) bool {
	seen := 0
	for _, f := range r.Fields {
		switch {
		case string(f.Key) == "log" && f.Kind == String:
			seen |= 1
		case string(f.Key) == "stream" && f.Kind == String:
			seen |= 2
		case string(f.Key) == "time" && f.Kind == Time:
			seen |= 4
		case bytes.HasPrefix(f.Key, []byte("attrs.")):
		default:
			return false
		}
	}
	return seen == 7
}
