package config

import (
	"slices"
	"strings"

	"github.com/logscan/logscan/internal/summary"
)

// Summary is --summary: instead of the selected lines, print once at the
// end, per rule and per --by group, the count, min, mean, p50, p90, p99 and
// max of the numbers in a capture group or field. Value "" turns it off.
type Summary struct {
	Value string   // summary: the capture group or field with the numbers
	By    []string // summary_by: the captures or fields that group them
}

// Enabled reports whether a summary is printed instead of the lines.
func (s *Summary) Enabled() bool { return s.Value != "" }

var summaryKeys = map[string]kind{
	"summary":    kString,
	"summary_by": kStrings,
}

func init() {
	for k, v := range summaryKeys {
		keys[k] = v
	}
}

func (d *decoder) summary() Summary {
	return Summary{Value: strings.TrimSpace(d.str("summary")), By: d.strs("summary_by")}
}

// checkSummary refuses what cannot go with a summary: the output flags
// that print something else per file or per line, and names that cannot
// be columns.
func (c *Config) checkSummary() error {
	s := &c.Summary
	if !s.Enabled() {
		if len(s.By) > 0 {
			return &Error{Where: c.whereKey("summary_by"), Value: strings.Join(s.By, ","), Msg: "needs summary (--summary NAME): there is nothing to group"}
		}
		return nil
	}
	instead := "does not work with --summary, which prints one summary at the end instead of the lines"
	for _, r := range []struct {
		key, msg string
		set      bool
	}{
		{"output.count", instead, c.Output.Count},
		{"output.files_with_matches", instead, c.Output.FilesWithMatches},
		{"output.files_without_match", instead, c.Output.FilesWithout},
		{"output.quiet", instead, c.Output.Quiet},
		{"output.only_matching", instead, c.Output.OnlyMatching},
		{"output.before_context", instead, c.Output.Before != Unset},
		{"output.after_context", instead, c.Output.After != Unset},
		{"output.context", instead, c.Output.Context != Unset},
		{"output.fields", instead, len(c.Events.Fields) > 0},
		{"otlp.endpoint", "does not work with --summary: it prints one summary, not the lines, so nothing would be shipped", c.OTLP.Enabled()},
	} {
		if r.set {
			return &Error{Where: c.whereKey(r.key), Msg: r.msg}
		}
	}
	if c.Invert && !c.Events.ParsesFields() {
		return &Error{Where: c.whereKey("invert"), Msg: "does not work with --summary on text lines: the lines -v selects match no pattern, so they have no capture groups (with --format json, logfmt... their fields can be summarized)"}
	}
	names := append([]string{s.Value}, s.By...)
	for i, name := range names {
		key := "summary"
		if i > 0 {
			key = "summary_by"
		}
		switch {
		case name == "" || strings.ContainsAny(name, " \t\r\n=\""):
			return &Error{Where: c.whereKey(key), Value: name, Msg: "want a capture group or field name, without blanks, '=' or '\"'"}
		case i > 0 && slices.Contains(summary.Reserved, name):
			return &Error{Where: c.whereKey(key), Value: name, Msg: "is the name of a column of the summary (" + strings.Join(summary.Reserved, ", ") + ")"}
		case slices.Contains(names[:i], name):
			return &Error{Where: c.whereKey(key), Value: name, Msg: "named twice (summary and summary_by must differ)"}
		}
	}
	return nil
}
