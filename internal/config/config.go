// Package config loads logscan's settings with koanf, in this order, later
// layers winning: built-in defaults, the YAML file named by --config, LOGSCAN_*
// environment variables, then command-line flags. Every value is validated and
// an error names the key (or flag, or variable) and the value at fault.
//
// Unknown keys are errors, not warnings: a typo such as `rule:` for `rules:`
// would otherwise silently run with no rules at all. (Unknown LOGSCAN_*
// variables are warnings: Kubernetes injects some into every pod.)
//
// Config carries every setting that shapes a run, grep's output flags
// included, and CheckMode refuses those that cannot work in the run's mode;
// so the one pipeline is built from a Config alone, at a start and at a
// reload alike. The package reads the config file it is named and the
// environment and flags it is given; it opens no log file and no other path.
package config

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/knadh/koanf/maps"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"

	"github.com/logscan/logscan/internal/filter"
	"github.com/logscan/logscan/internal/scan"
	"github.com/logscan/logscan/internal/watch"
)

// Rule is one named selection rule.
type Rule struct {
	Name       string
	Match      []string
	Ignore     []string
	IgnoreCase bool
	Fixed      bool
	// Where holds field filters that an event selected by this rule must
	// also pass (events.go).
	Where []string
	// Metrics and Alert act on what the rule selects (act.go).
	Metrics []RuleMetric
	Alert   *RuleAlert
}

// Config is the validated configuration.
type Config struct {
	Roots        []string
	Follow       bool
	StartAt      string // "end", "beginning", or "" for the mode's default (follow: end; one-shot with a state file: beginning)
	StateFile    string
	Include      []string
	Exclude      []string
	ExcludeDir   []string
	PollInterval time.Duration
	SaveInterval time.Duration
	Rules        []Rule
	// Match and Ignore come from --match/--ignore (or LOGSCAN_MATCH/LOGSCAN_IGNORE):
	// Match adds an unnamed rule, Ignore applies to every rule.
	Match      []string
	Ignore     []string
	IgnoreCase bool
	Fixed      bool
	// Invert selects the lines no rule selects (-v); Word and Line make
	// every match pattern match whole words (-w) or whole lines (-x).
	Invert     bool
	Word       bool
	Line       bool
	MaxLine    int
	Jobs       int
	Decompress bool
	// Binary is "skip" (a file whose first block holds a NUL byte is not
	// searched) or "text" (-a: search it like any file).
	Binary string

	OutputFormat string // "text" or "json"
	Output       Output
	Events       Events  // multiline, formats, fields, field filters (events.go)
	Summary      Summary // --summary, --by (summary.go)
	LogLevel     string
	LogFormat    string // "auto", "json" or "console"
	HTTPListen   string
	HTTP         HTTP // http.auth.*, http.tls.*, http.matches_public (http.go)
	OTLP         OTLP // otlp.* (otlp.go)
	// Stdout is false when the selected lines go to the exporter only.
	Stdout bool
	// MetricPrefix starts the name of every metric of a rule; Alerting
	// holds the destinations of the rules' alerts (act.go).
	MetricPrefix string
	Alerting     Alerting

	// Source is the config file that was read, "" if none.
	Source string
	// Warnings are problems that did not stop loading (unknown LOGSCAN_*
	// variables), for the caller to log.
	Warnings []string

	flagOf map[string]string // key → flag name, for the keys flags set
	given  map[string]bool   // keys set by a layer other than the defaults
}

// Error is a configuration error that names what is at fault.
type Error struct {
	Where string // "config key rules[0].match", "flag --poll", "env LOGSCAN_ROOTS", ...
	Value string
	Msg   string
}

func (e *Error) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Where, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %q", e.Where, e.Msg, e.Value)
}

// kind is the type of a known key.
type kind int

const (
	kString kind = iota
	kStrings
	kPatterns // list of patterns: from env, not split on commas (patterns may contain them)
	kBool
	kDuration
	kInt
	kSize
	kRules
	kMap // a map of strings (otlp.headers); its entries are keys below it
)

// keys lists every known key with its type; it is also the source of the
// env var names (LOGSCAN_ + upper-cased key with dots as underscores).
var keys = map[string]kind{
	"roots":                      kStrings,
	"follow":                     kBool,
	"start_at":                   kString,
	"state_file":                 kString,
	"include":                    kStrings,
	"exclude":                    kStrings,
	"exclude_dir":                kStrings,
	"poll_interval":              kDuration,
	"save_interval":              kDuration,
	"rules":                      kRules,
	"match":                      kPatterns,
	"ignore":                     kPatterns,
	"ignore_case":                kBool,
	"fixed":                      kBool,
	"invert":                     kBool,
	"word":                       kBool,
	"line":                       kBool,
	"max_line":                   kSize,
	"jobs":                       kInt,
	"decompress":                 kBool,
	"output.format":              kString,
	"output.line_number":         kBool,
	"output.count":               kBool,
	"output.files_with_matches":  kBool,
	"output.quiet":               kBool,
	"output.max_count":           kInt,
	"output.before_context":      kInt,
	"output.after_context":       kInt,
	"output.context":             kInt,
	"output.color":               kString,
	"output.with_filename":       kString,
	"output.stats":               kBool,
	"output.no_messages":         kBool,
	"output.only_matching":       kBool,
	"output.files_without_match": kBool,
	"output.byte_offset":         kBool,
	"output.null_after_name":     kBool,
	"output.line_buffered":       kBool,
	"output.label":               kString,
	"output.group_separator":     kString,
	"output.no_group_separator":  kBool,
	"binary":                     kString,
	"log.level":                  kString,
	"log.format":                 kString,
	"http.listen":                kString,
	// The access keys of the HTTP endpoints (http.go).
	"http.auth.bearer_token_file": kString,
	"http.auth.metrics":           kBool,
	"http.tls.cert_file":          kString,
	"http.tls.key_file":           kString,
	"http.matches_public":         kBool,
}

var ruleKeys = []string{"name", "match", "ignore", "ignore_case", "fixed", "where", "metrics", "alert"}

// Defaults are the built-in values, the first layer. Each refers to the
// constant of the package that owns the setting, so that it is declared once.
func Defaults() map[string]any {
	m := map[string]any{
		"save_interval":          watch.DefaultSaveInterval.String(),
		"max_line":               scan.DefaultMaxLine,
		"jobs":                   0,
		"decompress":             true,
		"output.format":          "text",
		"output.max_count":       Unset,
		"output.before_context":  Unset,
		"output.after_context":   Unset,
		"output.context":         Unset,
		"output.color":           "auto",
		"output.with_filename":   "auto",
		"output.label":           "(standard input)",
		"output.group_separator": "--",
		"binary":                 "skip",
		"log.level":              "info",
		"log.format":             "auto",
	}
	eventDefaults(m)
	otlpDefaults(m)
	actDefaults(m)
	return m
}

// Unset is the value of an integer setting that was not given, where 0 has
// a meaning of its own (grep's -m 0 selects nothing).
const Unset = -1

// Sources are the inputs of Load besides the defaults.
type Sources struct {
	File    string            // YAML config file, "" for none
	Environ []string          // os.Environ(); only LOGSCAN_* entries are read
	Flags   map[string]any    // key → value from command-line flags that were set
	FlagOf  map[string]string // key → flag name, for error messages
}

// Load builds and validates a Config from the layers.
func Load(src Sources) (*Config, error) {
	given := map[string]bool{}
	var fk *koanf.Koanf
	if src.File != "" {
		fk = koanf.New(".")
		if err := fk.Load(file.Provider(src.File), yaml.Parser()); err != nil {
			return nil, &Error{Where: "config file " + src.File, Msg: cleanErr(err)}
		}
		if err := checkKnown(fk, "config key "); err != nil {
			return nil, fmt.Errorf("config file %s: %w", src.File, err)
		}
		for key := range fk.All() {
			given[key] = true
		}
	}
	var warnings []string
	em, err := envLayer(src.Environ, &warnings)
	if err != nil {
		return nil, err
	}
	for _, m := range []map[string]any{em, src.Flags} {
		flat, _ := maps.Flatten(m, nil, ".")
		for key := range flat {
			given[key] = true
		}
	}
	// The layers, each over the one before: the defaults, the file, the
	// environment, the flags. All but the file are flat maps of this
	// package's own, so those that are next to each other are overlaid
	// into one koanf Load: each Load flattens the whole config again and
	// rebuilds its key map.
	k := koanf.New(".")
	layer := Defaults()
	if fk != nil {
		if err := k.Load(ownedMap{layer, "."}, nil); err != nil {
			return nil, fmt.Errorf("defaults: %w", err)
		}
		if err := k.Merge(fk); err != nil {
			return nil, fmt.Errorf("config file %s: %w", src.File, err)
		}
		layer = map[string]any{}
	}
	overlay(layer, em)
	overlay(layer, src.Flags)
	if err := k.Load(ownedMap{layer, "."}, nil); err != nil {
		return nil, fmt.Errorf("environment and flags: %w", err)
	}
	c, err := decode(k, src)
	if err != nil {
		return nil, err
	}
	c.Source = src.File
	c.Warnings = warnings
	c.given = given
	c.flagOf = map[string]string{}
	for key, name := range src.FlagOf {
		if _, set := src.Flags[key]; set {
			c.flagOf[key] = name
		}
	}
	if err := c.checkEvents(); err != nil {
		return nil, err
	}
	if err := c.checkOTLP(); err != nil {
		return nil, err
	}
	if err := c.checkSummary(); err != nil {
		return nil, err
	}
	if err := c.checkAct(); err != nil {
		return nil, err
	}
	return c, nil
}

// overlay sets each of src's flat keys in dst, as koanf's merge of the
// two layers would: a map over a map is merged into it, key by key, and
// any other value replaces what dst had.
func overlay(dst, src map[string]any) {
	for key, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[key].(map[string]any); ok {
				maps.Merge(sm, dm)
				continue
			}
		}
		dst[key] = v
	}
}

func cleanErr(err error) string {
	return strings.TrimSpace(err.Error())
}

// checkKnown rejects keys that logscan does not know, with a suggestion.
func checkKnown(k *koanf.Koanf, prefix string) error {
	all := k.All()
	names := make([]string, 0, len(all))
	for key := range all {
		names = append(names, key)
	}
	sort.Strings(names)
	for _, key := range names {
		if _, ok := keys[key]; ok {
			continue
		}
		if isMapEntry(key) {
			continue
		}
		msg := "unknown key"
		if s := suggest(key); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return &Error{Where: prefix + key, Msg: msg}
	}
	return nil
}

// isMapEntry reports whether key is an entry of a kMap key.
func isMapEntry(key string) bool {
	for i := strings.LastIndexByte(key, '.'); i > 0; i = strings.LastIndexByte(key[:i], '.') {
		if keys[key[:i]] == kMap {
			return true
		}
	}
	return false
}

// suggest returns the known key closest to key, if it is close.
func suggest(key string) string {
	names := make([]string, 0, len(keys))
	for known := range keys {
		names = append(names, known)
	}
	return Closest(key, names)
}

// Closest returns the candidate closest to word by edit distance, if it is
// within two edits, for "did you mean" messages of keys and flags.
func Closest(word string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := distance(word, c); d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the Levenshtein distance.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// envName is the environment variable for a key.
func envName(key string) string {
	return "LOGSCAN_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// envLayer reads LOGSCAN_* variables. Lists are comma-separated (roots,
// include, exclude), or a JSON array; pattern lists are one pattern unless
// given as a JSON array, since a regexp may contain commas; rules is JSON.
func envLayer(environ []string, warnings *[]string) (map[string]any, error) {
	m := map[string]any{}
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, "LOGSCAN_") {
			continue
		}
		// envKeys is built here, not before the loop: it takes about 35 µs
		// of every grep run's start, and most runs set no LOGSCAN_*.
		key, known := envKeys()[name]
		if !known {
			// A warning, not an error: Kubernetes injects LOGSCAN_SERVICE_HOST,
			// LOGSCAN_PORT and friends into every pod of a namespace with a
			// Service named logscan, and that must not stop the sidecar.
			*warnings = append(*warnings, fmt.Sprintf("env %s: unknown variable, ignored (known: %s)", name, strings.Join(envNames(), ", ")))
			continue
		}
		where := "env " + name
		switch keys[key] {
		case kStrings, kPatterns:
			if strings.HasPrefix(strings.TrimSpace(val), "[") {
				var list []string
				if err := json.Unmarshal([]byte(val), &list); err != nil {
					return nil, &Error{Where: where, Value: val, Msg: "bad JSON list of strings"}
				}
				m[key] = list
			} else if keys[key] == kPatterns {
				m[key] = []string{val}
			} else {
				m[key] = splitList(val)
			}
		case kMap:
			hm, err := envHeaders(where, val)
			if err != nil {
				return nil, err
			}
			m[key] = hm
		case kRules:
			var rules []any
			if err := json.Unmarshal([]byte(val), &rules); err != nil {
				return nil, &Error{Where: where, Value: val, Msg: "rules must be a JSON list of objects"}
			}
			m[key] = rules
		default:
			m[key] = val
		}
	}
	return m, nil
}

func envNames() []string {
	var names []string
	for key := range keys {
		names = append(names, envName(key))
	}
	sort.Strings(names)
	return names
}

// splitLines makes a pattern with newlines several patterns, as grep reads
// -e $'a\nb'.
func splitLines(patterns []string) []string {
	for _, p := range patterns {
		if strings.Contains(p, "\n") {
			var out []string
			for _, q := range patterns {
				out = append(out, strings.Split(q, "\n")...)
			}
			return out
		}
	}
	return patterns
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func decode(k *koanf.Koanf, src Sources) (*Config, error) {
	d := &decoder{k: k, src: src}
	c := &Config{
		Roots:        d.strs("roots"),
		Follow:       d.boolean("follow"),
		StartAt:      d.str("start_at"),
		StateFile:    d.str("state_file"),
		Include:      d.strs("include"),
		Exclude:      d.strs("exclude"),
		ExcludeDir:   d.strs("exclude_dir"),
		PollInterval: d.duration("poll_interval"),
		SaveInterval: d.duration("save_interval"),
		Rules:        d.rules(),
		Match:        splitLines(d.strs("match")),
		Ignore:       splitLines(d.strs("ignore")),
		IgnoreCase:   d.boolean("ignore_case"),
		Fixed:        d.boolean("fixed"),
		Invert:       d.boolean("invert"),
		Word:         d.boolean("word"),
		Line:         d.boolean("line"),
		MaxLine:      d.size("max_line"),
		Jobs:         d.integer("jobs"),
		Decompress:   d.boolean("decompress"),
		Binary:       d.str("binary"),
		OutputFormat: d.str("output.format"),
		Output:       d.output(),
		Events:       d.events(),
		Summary:      d.summary(),
		LogLevel:     d.str("log.level"),
		LogFormat:    d.str("log.format"),
		HTTPListen:   d.str("http.listen"),
		HTTP:         d.http(),
		OTLP:         d.otlp(),
		Stdout:       d.boolean("output.stdout"),
		MetricPrefix: d.str("metric_prefix"),
		Alerting:     d.alerting(),
	}
	if d.err != nil {
		return nil, d.err
	}
	switch c.StartAt {
	case "", "end", "beginning":
	default:
		d.fail("start_at", c.StartAt, "want end or beginning")
	}
	d.oneOf("binary", c.Binary, "skip", "text")
	switch c.OutputFormat {
	case "text", "json":
	default:
		d.fail("output.format", c.OutputFormat, "want text or json")
	}
	switch c.LogFormat {
	case "auto", "json", "console":
	default:
		d.fail("log.format", c.LogFormat, "want auto, json or console")
	}
	switch c.LogLevel {
	case "trace", "debug", "info", "warn", "error":
	default:
		d.fail("log.level", c.LogLevel, "want trace, debug, info, warn or error")
	}
	if c.Jobs < 0 {
		d.fail("jobs", c.Jobs, "want 0 (one per CPU) or more")
	}
	if c.SaveInterval == 0 {
		c.SaveInterval = watch.DefaultSaveInterval
	}
	if c.MaxLine < 1024 {
		d.fail("max_line", c.MaxLine, "want at least 1KiB")
	}
	for _, glob := range append(append(slices.Clone(c.Include), c.Exclude...), c.ExcludeDir...) {
		if err := filter.Check(glob); err != nil {
			d.fail("include/exclude", glob, "bad glob: "+err.Error())
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	return c, nil
}
