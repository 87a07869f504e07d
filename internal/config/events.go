package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/logscan/logscan/internal/filter"
	"github.com/logscan/logscan/internal/multiline"
)

// Events holds the settings of the stages between reading and selecting:
// multiline joining, parsing into fields, and field filters. Their zero
// value (text lines, no joining, no filter) leaves the grep paths as they
// are.
type Events struct {
	// Format is how lines are parsed: text, json, logfmt, cri, docker or
	// auto, and cri or docker may be followed by +json, +logfmt or +auto
	// for the message they wrap. Files gives formats per path glob; the
	// first glob that matches wins over Format.
	Format string
	Files  []FileFormat
	// Multiline joins lines into events (multiline.go of the multiline
	// package says how).
	Multiline multiline.Config
	// Where holds the field filters (--where) that every event must pass;
	// a rule's own are in Rule.Where.
	Where []string
	// OnParseError is keep (a line that does not parse is kept as text,
	// with no fields) or drop; either way it is counted.
	OnParseError string
	// Fields, when set, prints these fields tab-separated instead of the
	// line (--fields).
	Fields []string
}

// FileFormat is the format of the files whose path matches Glob.
type FileFormat struct {
	Glob   string
	Format string
}

// Enabled reports whether any event stage runs: otherwise lines go down
// the grep paths untouched.
func (e *Events) Enabled() bool {
	return e.ParsesFields() || e.Multiline.Enabled() || len(e.Where) > 0 || len(e.Fields) > 0
}

// ParsesFields reports whether some lines are parsed into fields (a
// format, or a format per glob): filters, summaries, metrics and alerts
// may then read a name no pattern captures.
func (e *Events) ParsesFields() bool {
	return e.Format != "text" || len(e.Files) > 0
}

// eventKeys are the keys of the event stages, with their types.
var eventKeys = map[string]kind{
	"format":               kString,
	"files":                kRules,
	"multiline.preset":     kString,
	"multiline.start":      kPatterns,
	"multiline.continue":   kPatterns,
	"multiline.max_lines":  kInt,
	"multiline.max_bytes":  kSize,
	"multiline.idle_flush": kDuration,
	"where":                kPatterns,
	"on_parse_error":       kString,
	"output.fields":        kStrings,
}

func init() {
	for k, v := range eventKeys {
		keys[k] = v
	}
}

// eventDefaults are the event stages' built-in values.
func eventDefaults(m map[string]any) {
	m["format"] = "text"
	m["multiline.max_lines"] = multiline.DefaultMaxLines
	m["multiline.max_bytes"] = multiline.DefaultMaxBytes
	m["multiline.idle_flush"] = multiline.DefaultIdleFlush.String()
	m["on_parse_error"] = "keep"
}

// formatNames are the formats a file may have; cri and docker wrap a
// message that may itself be json or logfmt.
var (
	formatNames  = []string{"text", "json", "logfmt", "cri", "docker", "auto"}
	wrapperNames = []string{"cri", "docker"}
	innerNames   = []string{"text", "json", "logfmt", "auto"}
)

// CheckFormat validates a format name: text, json, logfmt, cri, docker,
// auto, or cri/docker+json, +logfmt, +auto.
func CheckFormat(s string) error {
	outer, inner, wrapped := strings.Cut(s, "+")
	switch {
	case !slices.Contains(formatNames, outer):
		return fmt.Errorf("want %s (cri and docker may add +json, +logfmt or +auto)", strings.Join(formatNames, ", "))
	case wrapped && !slices.Contains(wrapperNames, outer):
		return fmt.Errorf("only cri and docker wrap a message that has a format of its own")
	case wrapped && !slices.Contains(innerNames, inner):
		return fmt.Errorf("want %s+json, +logfmt or +auto", outer)
	}
	return nil
}

func (d *decoder) events() Events {
	e := Events{
		Format: d.str("format"),
		Files:  d.fileFormats(),
		Multiline: multiline.Config{
			Preset:    d.str("multiline.preset"),
			Start:     d.pattern("multiline.start"),
			Continue:  d.pattern("multiline.continue"),
			MaxLines:  d.integer("multiline.max_lines"),
			MaxBytes:  d.size("multiline.max_bytes"),
			IdleFlush: d.duration("multiline.idle_flush"),
		},
		Where:        d.strs("where"),
		OnParseError: d.str("on_parse_error"),
		Fields:       d.strs("output.fields"),
	}
	if err := CheckFormat(e.Format); err != nil {
		d.fail("format", e.Format, err.Error())
	}
	d.oneOf("on_parse_error", e.OnParseError, "keep", "drop")
	if e.Multiline.MaxLines < 1 {
		d.fail("multiline.max_lines", e.Multiline.MaxLines, "want 1 or more")
	}
	if e.Multiline.IdleFlush == 0 {
		e.Multiline.IdleFlush = multiline.DefaultIdleFlush
	}
	if e.Multiline.Start != "" && e.Multiline.Continue != "" {
		d.fail("multiline.continue", e.Multiline.Continue, "give multiline.start or multiline.continue, not both")
	}
	return e
}

// pattern reads a key that holds one regexp.
func (d *decoder) pattern(key string) string {
	list := d.strs(key)
	if len(list) > 1 {
		d.fail(key, strings.Join(list, ", "), "want one pattern")
		return ""
	}
	if len(list) == 0 {
		return ""
	}
	return list[0]
}

// fileFormats reads files: [{glob, format}].
func (d *decoder) fileFormats() []FileFormat {
	var out []FileFormat
	d.objects("files", "file", []string{"glob", "format"}, func(at string, sd *decoder) bool {
		ff := FileFormat{Glob: sd.str("glob"), Format: sd.str("format")}
		switch {
		case sd.err != nil:
			d.fail(at, "", sd.err.Error())
		case ff.Glob == "":
			d.fail(at+".glob", "", "missing glob")
		case filter.Check(ff.Glob) != nil:
			d.fail(at+".glob", ff.Glob, "bad glob: "+filter.Check(ff.Glob).Error())
		case CheckFormat(ff.Format) != nil:
			d.fail(at+".format", ff.Format, CheckFormat(ff.Format).Error())
		}
		out = append(out, ff)
		return d.err == nil
	})
	return out
}

// The event stages' checks across settings: a filter needs fields to read,
// and some grep output flags have no meaning for a multi-line event.
func (c *Config) checkEvents() error {
	e := &c.Events
	if len(e.Where) > 0 && !e.ParsesFields() {
		return &Error{Where: c.whereKey("where"), Value: e.Where[0], Msg: "text lines have no fields: add --format json, logfmt, cri+json, docker+json or auto"}
	}
	for i, r := range c.Rules {
		if len(r.Where) > 0 && !e.ParsesFields() {
			return &Error{Where: fmt.Sprintf("config key rules[%d].where", i), Value: r.Where[0], Msg: "text lines have no fields: set format (json, logfmt, cri+json, docker+json or auto)"}
		}
	}
	if len(e.Fields) > 0 && c.OutputFormat == "json" {
		return &Error{Where: c.whereKey("output.fields"), Msg: "prints fields as text columns; --json already prints every field"}
	}
	if !e.Enabled() {
		return nil
	}
	refuse := []struct {
		key string
		set bool
	}{
		{"output.only_matching", c.Output.OnlyMatching},
		{"output.before_context", c.Output.Before > 0},
		{"output.after_context", c.Output.After > 0},
		{"output.context", c.Output.Context > 0},
	}
	for _, r := range refuse {
		if r.set {
			return &Error{Where: c.whereKey(r.key), Msg: "does not work with events (--format, --multiline, --where, --fields): an event is printed whole"}
		}
	}
	return nil
}
