package pipeline

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/logscan/logscan/internal/config"
	"github.com/logscan/logscan/internal/fields"
	"github.com/logscan/logscan/internal/filter"
	"github.com/logscan/logscan/internal/match"
	"github.com/logscan/logscan/internal/multiline"
	"github.com/logscan/logscan/internal/output"
	"github.com/logscan/logscan/internal/where"
)

// events is the compiled event stages of a pipeline: how a file's lines
// are unwrapped (CRI, Docker), joined (multiline), parsed into fields and
// filtered (--where). nil in a Pipeline when none of them runs, so the
// grep paths stay as they are.
type events struct {
	// cfg and ruleWhere0 are what the stages were compiled from, for
	// SameEvents.
	cfg        config.Events
	ruleWhere0 [][]string
	def        format
	files      []globFormat
	multi      multiline.Config  // Enabled() or not
	proto      *multiline.Joiner // compiled once; each file gets a Clone
	// where must all hold for every event; ruleWhere[r] also for rule r.
	where     []*where.Expr
	ruleWhere [][]*where.Expr
	// want is the fields the filters and columns read, for a parser that
	// can skip the rest; nil when every field is wanted (JSON output).
	want    []string
	drop    bool // on_parse_error: drop
	columns []string
	// lits are bytes every selected line holds (from the filters): a line
	// without one of them is not parsed at all. seek finds the rarest
	// likely of them in a whole block (literals).
	lits [][]byte
	seek *match.Matcher
	// metrics: parse errors and multiline flushes, by cause, counted by
	// the Scanner and read by the daemon.
}

// format is how one file is parsed: outer is text, json, logfmt, cri,
// docker or auto; inner is the format of the message that cri and docker
// wrap (text unless +json, +logfmt or +auto).
type format struct {
	outer, inner fields.Format
}

type globFormat struct {
	glob string
	f    format
}

func parseFormatSpec(s string) format {
	outer, inner, _ := strings.Cut(s, "+")
	f := format{inner: fields.FormatText}
	f.outer, _ = fields.ParseFormat(outer)
	if inner != "" {
		f.inner, _ = fields.ParseFormat(inner)
	}
	return f
}

// compileEvents builds the event stages of cfg, or nil when none runs. An
// expression or pattern at fault is a *config.Error naming its flag or key.
func compileEvents(cfg *config.Config, jsonOut bool) (*events, error) {
	ec := &cfg.Events
	if !ec.Enabled() {
		return nil, nil
	}
	e := &events{cfg: *ec, ruleWhere0: ruleWheres(cfg), def: parseFormatSpec(ec.Format), multi: ec.Multiline, drop: ec.OnParseError == "drop", columns: ec.Fields}
	for _, ff := range ec.Files {
		e.files = append(e.files, globFormat{glob: ff.Glob, f: parseFormatSpec(ff.Format)})
	}
	if e.multi.Enabled() {
		j, err := multiline.New(e.multi)
		if err != nil {
			return nil, multilineError(cfg, err)
		}
		e.proto = j
	}
	var err error
	if e.where, err = parseWhere(ec.Where, func(i int) string { return fmt.Sprintf("%s[%d]", whereFlag(cfg), i) }); err != nil {
		return nil, err
	}
	for ri, r := range cfg.Rules {
		exprs, err := parseWhere(r.Where, func(i int) string { return fmt.Sprintf("config key rules[%d].where[%d]", ri, i) })
		if err != nil {
			return nil, err
		}
		e.ruleWhere = append(e.ruleWhere, exprs)
	}
	if len(cfg.Match) > 0 {
		e.ruleWhere = append(e.ruleWhere, nil) // the flag rule
	}
	var seek []byte
	e.lits, seek = literals(e.where)
	if e.seek, err = seeker(seek); err != nil {
		return nil, err
	}
	if !jsonOut {
		e.want = wanted(e)
		if sm := cfg.Summary; sm.Enabled() {
			e.want = append(append(e.want, sm.Value), sm.By...)
		}
	}
	return e, nil
}

// literals are the filters' required bytes, but for the fields a wrapper
// makes up (the CRI stream), which the event's text does not hold: every
// one must be in a line for the filters to hold. seek is the one to search
// the blocks for: a value's text rather than a key's, which most lines of
// a structured log carry, and the longest of those.
func literals(exprs []*where.Expr) (all [][]byte, seek []byte) {
	var keys []byte
	for _, x := range exprs {
		if x.Field() == string(iostream) {
			continue
		}
		if l, ok := x.Literal(); ok && len(l) > 0 {
			all = append(all, l)
			if len(l) > len(seek) {
				seek = l
			}
		}
		if k := x.KeyLiteral(); len(k) > 0 {
			all = append(all, k)
			if len(k) > len(keys) {
				keys = k
			}
		}
	}
	if seek == nil {
		seek = keys
	}
	return all, seek
}

// seeker compiles the literal the blocks are searched for with the
// matcher's literal search (rare bytes first, vectorised), or nil.
func seeker(lit []byte) (*match.Matcher, error) {
	if len(lit) == 0 {
		return nil, nil
	}
	return match.Compile([]match.Rule{{Match: []string{string(lit)}, Fixed: true}}, match.Options{})
}

// wanted lists the fields that filters and columns read, and those that
// give an event its time and severity.
func wanted(e *events) []string {
	want := append([]string{}, e.columns...)
	for _, x := range e.where {
		want = append(want, x.Field())
	}
	for _, rw := range e.ruleWhere {
		for _, x := range rw {
			want = append(want, x.Field())
		}
	}
	return want
}

func whereFlag(cfg *config.Config) string {
	if w := cfg.WhereKey("where"); strings.HasPrefix(w, "flag ") {
		return "flag --where"
	}
	return "config key where"
}

func parseWhere(list []string, name func(int) string) ([]*where.Expr, error) {
	var out []*where.Expr
	for i, s := range list {
		x, err := where.Parse(s)
		if err != nil {
			return nil, &config.Error{Where: name(i), Msg: err.Error()}
		}
		out = append(out, x)
	}
	return out, nil
}

func multilineError(cfg *config.Config, err error) error {
	if me, ok := err.(*multiline.Error); ok {
		return &config.Error{Where: cfg.WhereKey(me.Key), Value: me.Value, Msg: me.Msg}
	}
	return &config.Error{Where: "config key multiline", Msg: err.Error()}
}

func ruleWheres(cfg *config.Config) [][]string {
	var out [][]string
	for _, r := range cfg.Rules {
		out = append(out, r.Where)
	}
	return out
}

// SameEvents reports whether a and b run the same event stages, so that a
// reload from one to the other may keep each file's pending event.
func SameEvents(a, b *Pipeline) bool {
	if a.events == nil || b.events == nil {
		return a.events == b.events
	}
	return reflect.DeepEqual(a.events.cfg, b.events.cfg) && reflect.DeepEqual(a.events.ruleWhere0, b.events.ruleWhere0) &&
		a.Invert == b.Invert && a.Matcher.NumRules() == b.Matcher.NumRules()
}

// formatOf returns the format of the file at path: the first files glob
// that matches some tail of the path wins, so that `pods/**/*.log` works
// whatever the root it was found under.
func (e *events) formatOf(path string) format {
	for _, g := range e.files {
		if matchTail(g.glob, path) {
			return g.f
		}
	}
	return e.def
}

func matchTail(glob, path string) bool {
	p := strings.TrimPrefix(path, "/")
	for {
		if filter.Match(glob, p) {
			return true
		}
		i := strings.IndexByte(p, '/')
		if i < 0 || !strings.Contains(glob, "/") {
			return false
		}
		p = p[i+1:]
	}
}

// eventFile is the event stages' state for one file: what a follower
// interleaving files saves and restores with the rest of FileState. Each
// stage holds one buffer: the runtime's partial parts, the pending
// multiline event.
type eventFile struct {
	f        format
	detect   bool // auto: decide on the first line
	parts    fields.Joiner
	partOff  int64 // where the pending parts began
	partLine int64
	wrapRec  fields.Record // unescaped Docker log text
	join     *multiline.Joiner
	// wrap is the runtime wrapper's time and stream of the pending event's
	// first line, which a multiline event takes as its own.
	wrap wrapInfo
	rec  fields.Record
	ev   output.Event
	res  []output.Attr
	// adopted is set while this file's joiner holds an event that began in
	// the file it replaced (rotation.go); lent, in that file, points here.
	adopted *adoption
	lent    *eventFile
}

type wrapInfo struct {
	time, stream []byte
}

func newEventFile(e *events, path string) *eventFile {
	ef := &eventFile{}
	ef.reset(e, path)
	return ef
}

// reset makes ef ready for the file at path, keeping its buffers.
func (ef *eventFile) reset(e *events, path string) {
	ef.f = e.formatOf(path)
	ef.detect = ef.f.outer == fields.FormatAuto
	ef.parts = fields.Joiner{MaxBytes: e.multi.MaxBytes}
	ef.partOff, ef.partLine = -1, 0
	ef.wrapRec.Reset()
	switch {
	case e.proto == nil:
		ef.join = nil
	case ef.join == nil:
		ef.join = e.proto.Clone()
	default:
		ef.join.Reset()
	}
	ef.res = resourceOf(path, ef.res[:0])
	ef.ev.Resource = ef.res
}
