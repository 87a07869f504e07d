package config

import (
	"fmt"
	"strings"
)

// Output holds the settings that shape what is printed for the selected
// lines: grep's output flags. They are configuration like any other, so that
// a reload and a start build the same pipeline from the same Config.
type Output struct {
	LineNumbers      bool   // -n
	Count            bool   // -c
	FilesWithMatches bool   // -l
	Quiet            bool   // -q
	MaxCount         int    // -m; Unset: no limit
	Before, After    int    // -B, -A; Unset: take Context
	Context          int    // -C; Unset: none
	Color            string // auto, always or never
	WithFilename     string // auto (a directory or several roots), always (-H) or never (-h)
	Stats            bool   // --stats
	NoMessages       bool   // -s
	OnlyMatching     bool   // -o
	FilesWithout     bool   // -L
	ByteOffset       bool   // -b
	Null             bool   // -Z
	LineBuffered     bool   // --line-buffered
	Label            string // --label: the name of standard input
	// GroupSeparator is printed between context groups; NoGroupSeparator
	// prints none (--no-group-separator).
	GroupSeparator   string
	NoGroupSeparator bool
}

// ContextLines resolves -A/-B/-C as grep does: an explicit -A or -B wins
// over -C, whatever their order.
func (o Output) ContextLines() (before, after int) {
	before, after = max(o.Before, 0), max(o.After, 0)
	if o.Context > 0 {
		if o.Before == Unset {
			before = o.Context
		}
		if o.After == Unset {
			after = o.Context
		}
	}
	return before, after
}

func (d *decoder) output() Output {
	o := Output{
		LineNumbers:      d.boolean("output.line_number"),
		Count:            d.boolean("output.count"),
		FilesWithMatches: d.boolean("output.files_with_matches"),
		Quiet:            d.boolean("output.quiet"),
		MaxCount:         d.integer("output.max_count"),
		Before:           d.integer("output.before_context"),
		After:            d.integer("output.after_context"),
		Context:          d.integer("output.context"),
		Color:            d.str("output.color"),
		WithFilename:     d.str("output.with_filename"),
		Stats:            d.boolean("output.stats"),
		NoMessages:       d.boolean("output.no_messages"),
		OnlyMatching:     d.boolean("output.only_matching"),
		FilesWithout:     d.boolean("output.files_without_match"),
		ByteOffset:       d.boolean("output.byte_offset"),
		Null:             d.boolean("output.null_after_name"),
		LineBuffered:     d.boolean("output.line_buffered"),
		Label:            d.str("output.label"),
		GroupSeparator:   d.str("output.group_separator"),
		NoGroupSeparator: d.boolean("output.no_group_separator"),
	}
	for key, v := range map[string]int{
		"output.max_count": o.MaxCount, "output.before_context": o.Before,
		"output.after_context": o.After, "output.context": o.Context,
	} {
		if v < Unset {
			d.fail(key, v, "want 0 or more")
		}
	}
	d.oneOf("output.color", o.Color, "auto", "always", "never")
	d.oneOf("output.with_filename", o.WithFilename, "auto", "always", "never")
	return o
}

func (d *decoder) oneOf(key, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	d.fail(key, v, "want "+strings.Join(allowed[:len(allowed)-1], ", ")+" or "+allowed[len(allowed)-1])
}

// Mode is how a run reads its roots.
type Mode int

const (
	// OneShot reads every file whole and exits.
	OneShot Mode = iota
	// Incremental reads what is new since the state file and exits.
	Incremental
	// Follow keeps following after the initial read.
	Follow
)

func (m Mode) String() string {
	switch m {
	case Incremental:
		return "an incremental run (--state-file without --follow)"
	case Follow:
		return "follow mode"
	}
	return "a one-shot run"
}

// Mode is the mode this configuration runs in.
func (c *Config) Mode() Mode {
	switch {
	case c.Follow:
		return Follow
	case c.StateFile != "":
		return Incremental
	}
	return OneShot
}

// modeRule refuses a setting in the modes where it cannot work as it does in
// a one-shot run, with the reason a user needs to see.
type modeRule struct {
	key   string
	set   func(c *Config) bool
	modes []Mode
	why   string
}

var modeRules = []modeRule{
	{"output.line_number", func(c *Config) bool { return c.Output.LineNumbers }, []Mode{Follow},
		"a file followed from its end has no known line number"},
	{"output.count", func(c *Config) bool { return c.Output.Count }, []Mode{Follow},
		"a followed file never ends, so there is no count to print"},
	{"output.files_with_matches", func(c *Config) bool { return c.Output.FilesWithMatches }, []Mode{Follow},
		"a followed file never ends; use -q to stop at the first match"},
	{"output.files_without_match", func(c *Config) bool { return c.Output.FilesWithout }, []Mode{Follow},
		"a followed file never ends, so it is never known to have no match"},
	{"output.max_count", func(c *Config) bool { return c.Output.MaxCount != Unset }, []Mode{Follow},
		"a per-file limit has no end of file to reset at; use -q to stop at the first match"},
	{"output.before_context", func(c *Config) bool { return c.Output.Before > 0 }, []Mode{Follow},
		"lines of many files interleave as they are written, so context groups would mix"},
	{"output.after_context", func(c *Config) bool { return c.Output.After > 0 }, []Mode{Follow},
		"lines of many files interleave as they are written, so context groups would mix"},
	{"output.context", func(c *Config) bool { return c.Output.Context > 0 }, []Mode{Follow},
		"lines of many files interleave as they are written, so context groups would mix"},
	{"jobs", func(c *Config) bool { return c.Jobs != 0 }, []Mode{Incremental, Follow},
		"the follower reads its files from one loop"},
	{"start_at", func(c *Config) bool { return c.StartAt != "" }, []Mode{OneShot},
		"a one-shot run reads every file whole; start_at needs --follow or --state-file"},
	{"poll_interval", func(c *Config) bool { return c.PollInterval != 0 }, []Mode{OneShot, Incremental},
		"only a follower polls; add --follow"},
	{"http.listen", func(c *Config) bool { return c.HTTPListen != "" }, []Mode{OneShot, Incremental},
		"the HTTP endpoints serve a running follower; add --follow"},
	{"save_interval", func(c *Config) bool { return c.given["save_interval"] }, []Mode{OneShot},
		"a one-shot run saves no state; add --state-file"},
	{"summary", func(c *Config) bool { return c.Summary.Enabled() }, []Mode{Follow},
		"a follower never ends, so there is no summary to print (an incremental run prints one over what is new)"},
	{"otlp.endpoint", func(c *Config) bool { return c.OTLP.Enabled() }, []Mode{OneShot},
		"what is shipped is checkpointed when the collector acknowledges it, in a state file; add --state-file (ship what is new, exit 0 once acknowledged) or --follow"},
}

// CheckMode refuses settings that do not work in the mode c runs in, naming
// the flag (or key) and the mode, so that no setting is ignored silently.
func (c *Config) CheckMode() error {
	m := c.Mode()
	for _, r := range modeRules {
		if !r.set(c) || !containsMode(r.modes, m) {
			continue
		}
		return &Error{Where: c.whereKey(r.key), Msg: fmt.Sprintf("does not work in %s: %s", m, r.why)}
	}
	if m != Follow {
		for i, r := range c.Rules {
			key, why := "", ""
			switch {
			case len(r.Metrics) > 0:
				key, why = fmt.Sprintf("rules[%d].metrics", i), "the metrics of rules are served on /metrics by a follower; add --follow (a one-shot run can print --summary)"
			case r.Alert != nil:
				key, why = fmt.Sprintf("rules[%d].alert", i), "an alert fires and resolves over time, which only a follower sees; add --follow"
			default:
				continue
			}
			return &Error{Where: "config key " + key, Msg: fmt.Sprintf("does not work in %s: %s", m, why)}
		}
	}
	if m != OneShot {
		for _, r := range c.Roots {
			if r == "-" {
				return &Error{Where: "config key roots", Value: r, Msg: fmt.Sprintf("standard input cannot be read in %s: it has no identity to checkpoint or follow", m)}
			}
		}
	}
	return nil
}

func containsMode(ms []Mode, m Mode) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

// whereKey names a key as the user gave it: the flag when a flag set it.
func (c *Config) whereKey(key string) string {
	if f, ok := c.flagOf[key]; ok {
		return "flag --" + f
	}
	return "config key " + key
}

// WhereKey names a key as the user gave it, "flag --where" or "config key
// where", for errors found after loading (a bad expression or pattern).
func (c *Config) WhereKey(key string) string { return c.whereKey(key) }
