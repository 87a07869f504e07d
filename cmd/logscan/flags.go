package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/logscan/logscan/internal/config"
	"github.com/logscan/logscan/internal/scan"
	"github.com/logscan/logscan/internal/summary"
	"github.com/logscan/logscan/internal/watch"
)

// cli is the parsed command line. Every flag that shapes a run is a config
// key (flagKeys), so that flags, env and YAML make one config.Config and a
// reload builds the pipeline the way the start did; only --config,
// --version and --help live here.
type cli struct {
	fs *pflag.FlagSet

	configFile   string
	help         bool
	showVer      bool
	withFilename string // "always" (-H), "never" (-h) or "" (neither given)
	patternFiles []string
	refused      error // the error of a refused grep flag, said once and plainly
	y            bool
}

// flagKeys maps flag names to config keys, for the flag layer of koanf.
var flagKeys = map[string]string{
	"match":               "match",
	"ignore":              "ignore",
	"fixed-strings":       "fixed",
	"ignore-case":         "ignore_case",
	"invert-match":        "invert",
	"word-regexp":         "word",
	"line-regexp":         "line",
	"no-messages":         "output.no_messages",
	"line-number":         "output.line_number",
	"count":               "output.count",
	"files-with-matches":  "output.files_with_matches",
	"max-count":           "output.max_count",
	"after-context":       "output.after_context",
	"before-context":      "output.before_context",
	"context":             "output.context",
	"quiet":               "output.quiet",
	"color":               "output.color",
	"stats":               "output.stats",
	"include":             "include",
	"exclude":             "exclude",
	"exclude-dir":         "exclude_dir",
	"jobs":                "jobs",
	"max-line":            "max_line",
	"follow":              "follow",
	"start-at":            "start_at",
	"state-file":          "state_file",
	"poll":                "poll_interval",
	"save-interval":       "save_interval",
	"listen":              "http.listen",
	"log-level":           "log.level",
	"log-format":          "log.format",
	"only-matching":       "output.only_matching",
	"files-without-match": "output.files_without_match",
	"byte-offset":         "output.byte_offset",
	"null":                "output.null_after_name",
	"line-buffered":       "output.line_buffered",
	"label":               "output.label",
	"group-separator":     "output.group_separator",
	"no-group-separator":  "output.no_group_separator",
	"format":              "format",
	"multiline":           "multiline.preset",
	"multiline-start":     "multiline.start",
	"where":               "where",
	"fields":              "output.fields",
	"summary":             "summary",
	"by":                  "summary_by",
	"otlp-endpoint":       "otlp.endpoint",
}

func newCLI(stderr io.Writer) *cli {
	c := &cli{fs: pflag.NewFlagSet("logscan", pflag.ContinueOnError)}
	fs := c.fs
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.VarP(newStrings(nil), "match", "e", "select lines matching `PATTERN` (RE2 syntax); repeatable, any one selects")
	fs.VarP(newStrings(&c.patternFiles), "file", "f", "read patterns from `FILE`, one per line (- is standard input); repeatable")
	fs.Var(newStrings(nil), "ignore", "drop selected lines matching `PATTERN`; repeatable")
	fs.BoolP("fixed-strings", "F", false, "patterns are literal strings")
	fs.BoolP("ignore-case", "i", false, "ignore case in patterns")
	fs.BoolP("invert-match", "v", false, "select the lines that do not match")
	fs.BoolP("word-regexp", "w", false, "match whole words only (the match is bounded by non-word characters or the line's ends)")
	fs.BoolP("line-regexp", "x", false, "match whole lines only")
	fs.BoolP("no-messages", "s", false, "do not report unreadable files on stderr (they still make the exit status 2)")
	fs.BoolP("line-number", "n", false, "print line numbers")
	fs.BoolP("count", "c", false, "print only a count of selected lines per file")
	fs.BoolP("files-with-matches", "l", false, "print only the paths of files with a selected line")
	fs.IntP("max-count", "m", config.Unset, "stop reading a file after `N` selected lines")
	fs.IntP("after-context", "A", config.Unset, "print `N` lines after each match")
	fs.IntP("before-context", "B", config.Unset, "print `N` lines before each match")
	fs.IntP("context", "C", config.Unset, "print `N` lines before and after each match (-A and -B win over it)")
	fs.BoolP("quiet", "q", false, "print nothing; exit 0 at the first selected line")
	fs.BoolP("only-matching", "o", false, "print only the matched parts of a line, each on its own line")
	fs.BoolP("files-without-match", "L", false, "print only the paths of files without a selected line")
	fs.BoolP("byte-offset", "b", false, "print the byte offset of each line (with -o, of each match) before it")
	fs.BoolP("null", "Z", false, "print a NUL byte instead of the character after a path")
	fs.Bool("line-buffered", false, "write each output line at once, not in blocks")
	fs.String("label", "(standard input)", "name standard input `LABEL` in the output")
	fs.String("group-separator", "--", "print `SEP` between context groups")
	fs.Bool("no-group-separator", false, "print nothing between context groups")
	// -H and -h set one key, so the last of them wins, as in grep.
	fs.VarPF(filenameFlag{c, "always"}, "with-filename", "H", "print the path with each line (default with a directory or several paths)").NoOptDefVal = "true"
	fs.VarPF(filenameFlag{c, "never"}, "no-filename", "h", "never print paths").NoOptDefVal = "true"
	fs.Var(newStrings(nil), "include", "search only files matching `GLOB` (base name, or a path glob with / and **); repeatable")
	fs.Var(newStrings(nil), "exclude", "skip files matching `GLOB`; repeatable")
	fs.Var(newStrings(nil), "exclude-dir", "skip directories matching `GLOB`; repeatable")
	fs.String("color", "auto", "colour matches: `WHEN` is auto, always or never (auto: stdout is a terminal and NO_COLOR is unset)")
	fs.Lookup("color").NoOptDefVal = "auto" // grep: --color alone means auto, and takes no next argument
	fs.Bool("json", false, "print one JSON object per line (same as output.format: json)")
	fs.String("format", "text", "parse lines as `FORMAT`: text, json, logfmt, cri, docker or auto; cri+json, docker+logfmt and so on parse the wrapped message too")
	fs.String("multiline", "", "join lines into events with a `PRESET`: java, python, go or ruby (stack traces, panics)")
	fs.String("multiline-start", "", "join lines into events: a line matching `REGEX` starts one, any other continues it")
	fs.Var(newStrings(nil), "where", "select only events whose fields pass `EXPR` (field OP value, OP one of = != < <= > >= ~ !~); repeatable, all must hold")
	fs.String("fields", "", "print only these fields, tab-separated: `LIST` is comma-separated (ts,level,msg)")
	fs.String("summary", "", "instead of the lines, print per rule the count, min, mean, p50, p90, p99 and max of the numbers in capture group or field `NAME` (one-shot and incremental runs)")
	fs.String("by", "", fmt.Sprintf("group --summary by these capture groups or fields: `LIST` is comma-separated (at most %d groups per rule, then \"other\")", summary.DefaultMaxGroups))
	fs.String("otlp-endpoint", "", "ship the selected lines or events over OTLP/HTTP to `URL` (http://collector:4318; /v1/logs is added), checkpointed when acknowledged (needs --follow or --state-file)")
	fs.Bool("stats", false, "print files, bytes, lines, matches and elapsed time on stderr")
	fs.IntP("jobs", "j", 0, "scan `N` files at once (default: number of CPUs; one-shot runs only)")
	fs.Bool("no-decompress", false, "skip .gz and .zst files instead of decompressing them")
	fs.Bool("search-zip", false, "decompress .gz and .zst files (the default; ripgrep's flag, undoes decompress: false in the config)")
	fs.String("max-line", config.FormatSize(scan.DefaultMaxLine), "cut lines longer than `SIZE` (the cut is counted and logged)")
	fs.Bool("follow", false, "after the walk, follow new lines and new files (no short form: -f is grep's --file)")
	fs.String("start-at", "", "where to start files the state does not know: `WHERE` is end or beginning (default: end when following, beginning for a run with --state-file)")
	fs.String("state-file", "", "persist offsets in `PATH`: resume there on restart (also without --follow: read only what is new)")
	fs.String("poll", "", "poll every `INTERVAL` instead of using inotify (NFS and friends)")
	fs.String("save-interval", watch.DefaultSaveInterval.String(), "how often the state file is saved when it changed (`INTERVAL`)")
	fs.String("listen", "", "serve /metrics, /healthz, /readyz and /matches on `ADDR` (follow mode)")
	fs.String("log-level", "info", "diagnostics `LEVEL`: trace, debug, info, warn, error")
	fs.String("log-format", "auto", "diagnostics `FORMAT`: auto (console on a terminal, else JSON), json or console")
	fs.StringVar(&c.configFile, "config", "", "YAML config `FILE` (also LOGSCAN_CONFIG)")
	fs.BoolVar(&c.showVer, "version", false, "print the version and exit")
	fs.BoolVar(&c.help, "help", false, "show this help")
	c.grepCompat()
	return c
}

// grepCompat accepts grep's flags that change nothing here, and refuses
// those logscan cannot honour with the reason, rather than "unknown flag".
func (c *cli) grepCompat() {
	fs := c.fs
	fs.BoolP("recursive", "r", false, "search directories recursively (always on)")
	fs.BoolP("extended-regexp", "E", false, "patterns are extended regexps (always: RE2 is ERE-like)")
	fs.BoolP("skip-binary", "I", false, "skip binary files (the default below a root)")
	fs.BoolP("text", "a", false, "also search binary files, as text")
	fs.BoolVarP(&c.y, "y", "y", false, "same as -i")
	fs.Bool("no-ignore-case", false, "do not ignore case (undoes -i and ignore_case)")
	refuse := map[string]struct{ short, why string }{
		"dereference-recursive": {"R", "logscan never follows a symlink below a root; use -r (the default)"},
		"perl-regexp":           {"P", "patterns are RE2 (Go regexp), which has no backreferences or lookaround"},
		"basic-regexp":          {"G", "patterns are RE2, like grep -E (write a|b, not a\\|b)"},
		// grep's -z and ripgrep's -z mean different things; neither
		// silently.
		"null-data": {"z", "lines end in a newline, not NUL; ripgrep's -z (--search-zip) is the default here: .gz and .zst files are decompressed unless --no-decompress"},
	}
	for name, r := range refuse {
		fs.VarPF(refusedFlag{c, name, r.short, r.why}, name, r.short, "refused: "+r.why).NoOptDefVal = "true"
	}
	fs.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "colour" {
			name = "color"
		}
		return pflag.NormalizedName(name)
	})
	for _, name := range []string{"recursive", "extended-regexp", "skip-binary", "y"} {
		fs.Lookup(name).Hidden = true
	}
}

// stringsValue is pflag's stringArray: each use appends, and the first
// replaces the default. pflag's own formats its String() through
// encoding/csv, with a 4 KiB writer per flag when the flag is defined:
// perf put 0.7% of a short grep run's CPU, 44% of building the flag set,
// in the seven list flags.
type stringsValue struct {
	value   *[]string
	changed bool
}

func newStrings(p *[]string) *stringsValue {
	if p == nil {
		p = new([]string)
	}
	return &stringsValue{value: p}
}

func (s *stringsValue) Set(v string) error {
	if !s.changed {
		*s.value = []string{v}
		s.changed = true
		return nil
	}
	*s.value = append(*s.value, v)
	return nil
}

func (s *stringsValue) Append(v string) error {
	*s.value = append(*s.value, v)
	return nil
}

func (s *stringsValue) Replace(v []string) error {
	*s.value = slices.Clone(v)
	return nil
}

func (s *stringsValue) GetSlice() []string { return *s.value }
func (s *stringsValue) Type() string       { return "stringArray" }
func (s *stringsValue) String() string     { return "[" + strings.Join(*s.value, ",") + "]" }

// refusedFlag is a grep flag logscan does not support: setting it is an
// error that says why.
type refusedFlag struct {
	c                *cli
	name, short, why string
}

func (f refusedFlag) String() string { return "false" }
func (f refusedFlag) Type() string   { return "bool" }
func (f refusedFlag) Set(string) error {
	f.c.refused = fmt.Errorf("flag -%s (--%s) is not supported: %s", f.short, f.name, f.why)
	return f.c.refused
}

// filenameFlag is -H or -h: both write output.with_filename, so the last
// one given wins.
type filenameFlag struct {
	c    *cli
	when string
}

func (f filenameFlag) String() string { return "false" }
func (f filenameFlag) Type() string   { return "bool" }
func (f filenameFlag) Set(v string) error {
	if v != "true" {
		return fmt.Errorf("takes no value")
	}
	f.c.withFilename = f.when
	return nil
}

// flagLayer turns the flags that were set into the koanf flag layer.
func (c *cli) flagLayer(args []string) (map[string]any, map[string]string, error) {
	m := map[string]any{}
	of := map[string]string{}
	var err error
	c.fs.Visit(func(f *pflag.Flag) {
		key, ok := flagKeys[f.Name]
		if !ok {
			return
		}
		of[key] = f.Name
		switch f.Value.Type() {
		case "stringArray":
			// GetStringArray round-trips through String()'s CSV, which
			// loses an empty value: -e '' must stay one empty pattern.
			sv, ok := f.Value.(pflag.SliceValue)
			if !ok && err == nil {
				err = fmt.Errorf("flag --%s: not a list", f.Name)
				return
			}
			m[key] = sv.GetSlice()
		case "bool":
			m[key] = f.Value.String() == "true"
		default:
			m[key] = f.Value.String()
		}
	})
	if c.withFilename != "" {
		m["output.with_filename"] = c.withFilename
		of["output.with_filename"] = map[string]string{"always": "with-filename", "never": "no-filename"}[c.withFilename]
	}
	if c.y {
		m["ignore_case"] = true
		of["ignore_case"] = "ignore-case"
	}
	if c.fs.Changed("no-ignore-case") {
		m["ignore_case"] = false
		of["ignore_case"] = "no-ignore-case"
	}
	if a, _ := c.fs.GetBool("text"); a {
		m["binary"] = "text"
		of["binary"] = "text"
	}
	if c.fs.Changed("no-decompress") {
		nd, _ := c.fs.GetBool("no-decompress")
		m["decompress"] = !nd
		of["decompress"] = "no-decompress"
	}
	if z, _ := c.fs.GetBool("search-zip"); z {
		if nd, _ := c.fs.GetBool("no-decompress"); nd {
			return nil, nil, fmt.Errorf("flags --search-zip and --no-decompress contradict each other")
		}
		m["decompress"] = true
		of["decompress"] = "search-zip"
	}
	if j, _ := c.fs.GetBool("json"); j {
		m["output.format"] = "json"
		of["output.format"] = "json"
	}
	if len(args) > 0 {
		m["roots"] = args
	}
	return m, of, err
}
