// Package pipeline is logscan's one chain of stages and its printers, shared
// by every mode: a one-shot tree scan, an incremental run and a follower are
// sources that hand it blocks of whole lines; it selects lines (match,
// ignore, -i, -F, -w, -x, -v) and prints them (grep text or JSON, -n, -c,
// -l, -m, -q, context, colour) into a caller's buffer.
//
// [Compile] is the only place where a [config.Config] becomes a pipeline,
// and a SIGHUP reload goes through it exactly as the start does. It may read
// the config, stat the roots (for grep's file name rule) and look at the
// terminal; it does no I/O on the logs themselves.
//
// # Stages
//
// A [Scanner] runs the stages over one file at a time. The select stage
// keeps the matcher's block-level literal prefilter: it searches the whole
// block for the next candidate and touches only the lines around a hit, so
// a file costs one pass, not a call per line. Only -v and context, which
// must see every line, walk the block line by line. The seams for the
// stages to come (multiline joining, parsing, field filters) are between
// select and print, in Scanner.block and Scanner.blockLines.
package pipeline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/logscan/logscan/internal/capture"
	"github.com/logscan/logscan/internal/config"
	"github.com/logscan/logscan/internal/match"
	"github.com/logscan/logscan/internal/output"
	"github.com/logscan/logscan/internal/summary"
)

// StdinPath is the root that means standard input.
const StdinPath = "-"

// Mode is what a Scanner prints for each file.
type Mode int

const (
	// Lines prints selected lines (and context).
	Lines Mode = iota
	// Count prints the number of selected lines per file (-c).
	Count
	// FilesWithMatches prints the path of each file with a selected line (-l).
	FilesWithMatches
	// Quiet prints nothing and stops at the first selected line (-q).
	Quiet
	// FilesWithoutMatch prints the path of each file without a selected
	// line (-L).
	FilesWithoutMatch
	// Summary prints nothing per line or file: each selected line or event
	// goes to the Scanner's Observe, and the owner prints the summary at
	// the end (--summary).
	Summary
)

// Pipeline is a compiled configuration: immutable, and shared by every
// Scanner of a run. A reload compiles a new one.
type Pipeline struct {
	Matcher  *match.Matcher
	Printer  *output.Printer
	Invert   bool  // -v: select the lines the matcher does not
	Mode     Mode  // what is printed per file
	MaxCount int64 // -m; -1: no limit
	Before   int   // -B
	After    int   // -A
	// Context is set when -A, -B or -C was given, even as 0: grep then
	// prints a separator between groups that are not adjacent.
	Context bool
	// SearchBinary searches binary files as text (-a).
	SearchBinary bool
	// Numbers says whether line numbers are counted: -n, or JSON, which
	// carries them whenever they are known.
	Numbers bool
	// Spans says whether a selected line's match spans are found.
	Spans bool
	// Summary extracts the values --summary reports, in Summary mode;
	// each owner of a Scanner accumulates them in an Acc of its own.
	Summary *summary.Extractor
	// Capture extracts the labels and values of the rules' metrics and
	// the group_by names of their alerts (act.go); nil when no rule has
	// either.
	Capture *capture.Extractor
	// events are the event stages (multiline, formats, field filters),
	// nil when none runs.
	events *events
	// lineByLine forces the line-at-a-time path: tests compare the
	// block-level paths against it.
	lineByLine bool
}

// LeavesFilesEarly reports whether a file's search usually ends at its
// first selected lines (-q, -l, -L, -m), so that reading ahead of them is
// wasted.
func (p *Pipeline) LeavesFilesEarly() bool {
	switch p.Mode {
	case Quiet, FilesWithMatches, FilesWithoutMatch:
		return true
	}
	return p.MaxCount >= 0
}

// Env is what Compile needs besides the config: where the output goes.
type Env struct {
	Stdout io.Writer
	// Getenv reads NO_COLOR; nil means os.Getenv.
	Getenv func(string) string
}

// Compile builds the pipeline of cfg. A bad pattern is a *config.Error
// naming the flag or config key it came from.
func Compile(cfg *config.Config, env Env) (*Pipeline, error) {
	m, err := compileRules(cfg)
	if err != nil {
		return nil, err
	}
	format, ok := output.ParseFormat(cfg.OutputFormat)
	if !ok {
		return nil, &config.Error{Where: "config key output.format", Value: cfg.OutputFormat, Msg: "want text or json"}
	}
	o := cfg.Output
	p := &Pipeline{Matcher: m, Invert: cfg.Invert, MaxCount: int64(o.MaxCount), SearchBinary: cfg.Binary == "text"}
	p.Before, p.After = o.ContextLines()
	p.Context = o.Before != config.Unset || o.After != config.Unset || o.Context != config.Unset
	switch {
	case o.Quiet:
		p.Mode = Quiet
	case o.FilesWithMatches:
		p.Mode = FilesWithMatches
	case o.FilesWithout:
		p.Mode = FilesWithoutMatch
	case o.Count:
		p.Mode = Count
	case cfg.Summary.Enabled():
		p.Mode = Summary // config refuses -c, -l, -L and -q with it
	}
	if p.Mode != Lines {
		p.Before, p.After, p.Context = 0, 0, false // grep prints no context with -c, -l, -L or -q
	}
	if o.OnlyMatching {
		p.Before, p.After = 0, 0 // grep -o prints no context lines, only the separators
	}
	pformat := format
	if !cfg.Stdout {
		pformat = output.None
	}
	popts := output.Options{
		Format:       pformat,
		Filename:     showFilenames(o.WithFilename, cfg.Roots),
		LineNumbers:  o.LineNumbers,
		Color:        useColor(o.Color, format, env),
		ByteOffset:   o.ByteOffset,
		Null:         o.Null,
		OnlyMatching: o.OnlyMatching,
		Invert:       cfg.Invert,
	}
	if popts.Color {
		if gc := getenv(env)("GREP_COLORS"); gc != "" {
			c := output.ParseGrepColors(gc)
			popts.Colors = &c
		}
	}
	switch {
	case o.NoGroupSeparator:
		popts.GroupSeparator = output.NoSeparator
	case o.GroupSeparator != "--":
		sep := o.GroupSeparator
		popts.GroupSeparator = &sep
	}
	p.Printer = output.NewPrinter(popts)
	// A summary prints no record, so the parser need only extract the
	// fields it reads, even with --json.
	if p.events, err = compileEvents(cfg, format == output.JSON && p.Mode != Summary); err != nil {
		return nil, err
	}
	if p.Capture, err = compileCapture(cfg, m); err != nil {
		return nil, err
	}
	if p.Mode == Summary {
		if p.Summary, err = compileSummary(cfg, m, format == output.JSON); err != nil {
			return nil, err
		}
		return p, nil // no line is printed: no numbers, no spans
	}
	p.Numbers = popts.LineNumbers || format == output.JSON
	// Spans are the match positions within a line: colour, -o and JSON's
	// submatches print them.
	p.Spans = popts.Color || popts.OnlyMatching || format == output.JSON
	return p, nil
}

// compileSummary builds the --summary extractor over the rules' patterns
// as they select lines (-i, -w, -x), naming the flag or key of a name
// that nothing can hold.
func compileSummary(cfg *config.Config, m *match.Matcher, jsonOut bool) (*summary.Extractor, error) {
	spec := summary.Spec{Value: cfg.Summary.Value, By: cfg.Summary.By, JSON: jsonOut}
	x, err := summary.Compile(spec, captureRules(m), cfg.Events.ParsesFields())
	var ne *summary.NameError
	if errors.As(err, &ne) {
		key := "summary"
		if ne.By {
			key = "summary_by"
		}
		return nil, &config.Error{Where: cfg.WhereKey(key), Value: ne.Name, Msg: ne.Error()}
	}
	return x, err
}

// compileCapture builds the extractor of every name the rules' metrics and
// alerts read; nil when no rule has either. linemetrics.New checks that a
// rule's lines can hold its metrics' names; the alerts' group_by is
// checked here, as a reload builds no alert engine to check it.
func compileCapture(cfg *config.Config, m *match.Matcher) (*capture.Extractor, error) {
	if !cfg.HasMetrics() && !cfg.HasAlerts() {
		return nil, nil
	}
	var names []string
	add := func(ns ...string) {
		for _, n := range ns {
			if n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	for _, r := range cfg.Rules {
		for _, mt := range r.Metrics {
			add(mt.Value)
			add(mt.Labels...)
		}
		if r.Alert != nil {
			add(r.Alert.GroupBy...)
		}
	}
	x := capture.Compile(names, captureRules(m), cfg.Events.ParsesFields())
	for i, r := range cfg.Rules {
		if r.Alert == nil {
			continue
		}
		// host is the alert's host label: the line's own, if it can hold
		// one (a syslog collector's), else logscan's.
		by := slices.DeleteFunc(slices.Clone(r.Alert.GroupBy), func(n string) bool { return n == "host" })
		if err := x.CheckNames(i, by); err != nil {
			return nil, &config.Error{Where: fmt.Sprintf("config key rules[%d].alert.group_by", i), Msg: err.Error()}
		}
	}
	return x, nil
}

// captureRules are the matcher's rules with their patterns' regexps as
// they select a line (-i, -w, -x), for an extractor of named groups.
func captureRules(m *match.Matcher) []capture.Rule {
	rules := make([]capture.Rule, m.NumRules())
	for i := range rules {
		rules[i] = capture.Rule{Name: m.RuleName(i), Patterns: m.CaptureRegexps(i)}
	}
	return rules
}

// compileRules builds the matcher, naming the flag or key of a bad pattern.
func compileRules(cfg *config.Config) (*match.Matcher, error) {
	rules := make([]match.Rule, 0, len(cfg.Rules)+1)
	for _, r := range cfg.Rules {
		rules = append(rules, match.Rule{Name: r.Name, Match: r.Match, Ignore: r.Ignore, IgnoreCase: r.IgnoreCase, Fixed: r.Fixed})
	}
	flagRule := -1
	if len(cfg.Match) > 0 {
		flagRule = len(rules)
		rules = append(rules, match.Rule{Match: cfg.Match})
	}
	m, err := match.Compile(rules, match.Options{
		Ignore: cfg.Ignore, IgnoreCase: cfg.IgnoreCase, Fixed: cfg.Fixed,
		Word: cfg.Word, Line: cfg.Line,
	})
	var pe *match.PatternError
	if errors.As(err, &pe) {
		where := fmt.Sprintf("config key rules[%d].%s[%d]", pe.Rule, pe.Field, pe.Index)
		switch {
		case pe.Rule < 0 || pe.Rule >= len(rules):
			where = fmt.Sprintf("--ignore[%d] (config key ignore)", pe.Index)
		case pe.Rule == flagRule:
			where = fmt.Sprintf("--match[%d] (config key match)", pe.Index)
		case pe.RuleName != "":
			where += fmt.Sprintf(" (rule %q)", pe.RuleName)
		}
		return nil, &config.Error{Where: where, Msg: fmt.Sprintf("bad pattern %q: %v", pe.Pattern, pe.Err)}
	}
	return m, err
}

// RuleNames lists the matcher's rules for the metrics, with "" (unnamed)
// for rule -1 when there are no rules at all.
func (p *Pipeline) RuleNames() []string {
	m := p.Matcher
	names := make([]string, 0, m.NumRules()+1)
	for i := range m.NumRules() {
		names = append(names, m.RuleName(i))
	}
	if len(names) == 0 {
		names = append(names, "")
	}
	return names
}

// showFilenames follows grep: paths are printed when there is more than one
// root or any root is a directory, unless -H or -h says otherwise.
func showFilenames(when string, roots []string) bool {
	switch {
	case when == "never":
		return false
	case when == "always":
		return true
	case len(roots) != 1:
		return len(roots) > 1
	case roots[0] == StdinPath:
		return false
	}
	st, err := os.Stat(roots[0])
	return err == nil && st.IsDir()
}

func useColor(when string, format output.Format, env Env) bool {
	if format == output.JSON {
		return false
	}
	switch when {
	case "always":
		return true
	case "never":
		return false
	}
	if getenv(env)("NO_COLOR") != "" {
		return false
	}
	return IsTerminal(env.Stdout)
}

func getenv(env Env) func(string) string {
	if env.Getenv == nil {
		return os.Getenv
	}
	return env.Getenv
}

// IsTerminal reports whether w is a terminal. A character-device check is
// not enough: /dev/null is one too, and colouring output nobody sees costs
// a regexp run per line.
func IsTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// PipeSize is what GrowPipe asks for: Linux's default pipe-max-size.
const PipeSize = 1 << 20

// GrowPipe raises the buffer of w to PipeSize when w is a pipe, and leaves
// anything else as it is. With the default 64 KiB, each 4 MiB write of
// dense output woke the reader 64 times: at 1 MiB the 4 GiB tree's
// -e 2026 into wc -l took 8-13% less wall time, and less system time on
// both sides. A pipe the system will not grow (over pipe-max-size, or the
// user's pipe quota) keeps its size: the buffer is a speed-up, not needed.
func GrowPipe(w any) {
	f, ok := w.(*os.File)
	if !ok {
		return
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		return
	}
	if n, err := unix.FcntlInt(f.Fd(), unix.F_GETPIPE_SZ, 0); err == nil && n < PipeSize {
		_, _ = unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, PipeSize) // see above: refusal is fine
	}
}
