package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/logscan/logscan/internal/config"
	"github.com/logscan/logscan/internal/filter"
	"github.com/logscan/logscan/internal/match"
	"github.com/logscan/logscan/internal/output"
	"github.com/logscan/logscan/internal/search"
)

// Exit statuses, as grep's.
const (
	exitMatch   = 0
	exitNoMatch = 1
	exitError   = 2
)

// version is set with -ldflags "-X main.version=…"; otherwise it comes from
// the module's build info.
var version = ""

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " " + s.Value[:12]
			}
		}
		return v
	}
	return "(devel)"
}

// usageError is a bad invocation: exit status 2 with the message.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// cli holds the parsed command line: the flags that feed koanf and those that
// only shape one-shot output.
type cli struct {
	fs *pflag.FlagSet

	configFile string
	help       bool
	showVer    bool

	invert      bool
	word        bool
	line        bool
	noMessages  bool
	lineNumbers bool
	count       bool
	filesWith   bool
	quiet       bool
	maxCount    int64
	after       int
	before      int
	contextN    int
	withName    bool
	noName      bool
	color       string
	stats       bool
	json        bool
}

// flagKeys maps flag names to config keys, for the flag layer of koanf.
var flagKeys = map[string]string{
	"match":         "match",
	"ignore":        "ignore",
	"fixed-strings": "fixed",
	"ignore-case":   "ignore_case",
	"include":       "include",
	"exclude":       "exclude",
	"exclude-dir":   "exclude_dir",
	"jobs":          "jobs",
	"max-line":      "max_line",
	"follow":        "follow",
	"start-at":      "start_at",
	"state-file":    "state_file",
	"poll":          "poll_interval",
	"save-interval": "save_interval",
	"listen":        "http.listen",
	"log-level":     "log.level",
	"log-format":    "log.format",
}

func newCLI(stderr io.Writer) *cli {
	c := &cli{fs: pflag.NewFlagSet("logscan", pflag.ContinueOnError)}
	fs := c.fs
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.StringArrayP("match", "e", nil, "select lines matching `PATTERN` (RE2 syntax); repeatable, any one selects")
	fs.StringArray("ignore", nil, "drop selected lines matching `PATTERN`; repeatable")
	fs.BoolP("fixed-strings", "F", false, "patterns are literal strings")
	fs.BoolP("ignore-case", "i", false, "ignore case in patterns")
	fs.BoolVarP(&c.invert, "invert-match", "v", false, "select the lines that do not match")
	fs.BoolVarP(&c.word, "word-regexp", "w", false, "match whole words only (the match is bounded by non-word characters or the line's ends)")
	fs.BoolVarP(&c.line, "line-regexp", "x", false, "match whole lines only")
	fs.BoolVarP(&c.noMessages, "no-messages", "s", false, "do not report unreadable files on stderr (they still make the exit status 2)")
	fs.BoolVarP(&c.lineNumbers, "line-number", "n", false, "print line numbers")
	fs.BoolVarP(&c.count, "count", "c", false, "print only a count of selected lines per file")
	fs.BoolVarP(&c.filesWith, "files-with-matches", "l", false, "print only the paths of files with a selected line")
	fs.Int64VarP(&c.maxCount, "max-count", "m", 0, "stop reading a file after `N` selected lines")
	fs.IntVarP(&c.after, "after-context", "A", 0, "print `N` lines after each match")
	fs.IntVarP(&c.before, "before-context", "B", 0, "print `N` lines before each match")
	fs.IntVarP(&c.contextN, "context", "C", 0, "print `N` lines before and after each match")
	fs.BoolVarP(&c.quiet, "quiet", "q", false, "print nothing; exit 0 at the first selected line")
	fs.BoolVarP(&c.withName, "with-filename", "H", false, "print the path with each line (default with a directory or several paths)")
	fs.BoolVarP(&c.noName, "no-filename", "h", false, "never print paths")
	fs.StringArray("include", nil, "search only files matching `GLOB` (base name, or a path glob with / and **); repeatable")
	fs.StringArray("exclude", nil, "skip files matching `GLOB`; repeatable")
	fs.StringArray("exclude-dir", nil, "skip directories matching `GLOB`; repeatable")
	fs.StringVar(&c.color, "color", "auto", "colour matches: `WHEN` is auto, always or never (auto: stdout is a terminal and NO_COLOR is unset)")
	fs.BoolVar(&c.json, "json", false, "print one JSON object per line (same as output.format: json)")
	fs.BoolVar(&c.stats, "stats", false, "print files, bytes, lines, matches and elapsed time on stderr")
	fs.IntP("jobs", "j", 0, "scan `N` files at once (default: number of CPUs)")
	fs.Bool("no-decompress", false, "skip .gz and .zst files instead of decompressing them")
	fs.String("max-line", "16MiB", "cut lines longer than `SIZE` (the cut is counted and logged)")
	fs.BoolP("follow", "f", false, "after the walk, follow new lines and new files")
	fs.String("start-at", "", "where to start files the state does not know: end or beginning (default: end when following, beginning for a one-shot run with --state-file)")
	fs.String("state-file", "", "persist offsets in `PATH`: resume there on restart (also in one-shot mode: scan only what is new)")
	fs.String("poll", "", "poll every `INTERVAL` instead of using inotify (NFS and friends)")
	fs.String("save-interval", "1s", "how often the state file is saved when it changed")
	fs.String("listen", "", "serve /metrics, /healthz, /readyz and /matches on `ADDR` (follow mode)")
	fs.String("log-level", "info", "diagnostics level: trace, debug, info, warn, error")
	fs.String("log-format", "auto", "diagnostics format: auto (console on a terminal, else JSON), json or console")
	fs.StringVar(&c.configFile, "config", "", "YAML config `FILE` (also LOGSCAN_CONFIG)")
	fs.BoolVar(&c.showVer, "version", false, "print the version and exit")
	fs.BoolVar(&c.help, "help", false, "show this help")
	return c
}

const usageHead = `logscan: scan and follow log files.

Usage: logscan [flags] [PATH ...]    (PATH "-" is standard input; default "." or piped stdin)

Examples:
  logscan /var/log --match ERROR                 lines with ERROR, like grep -r (.gz and .zst included)
  logscan /var/log -i -e 'timeout' -e 'refused'  either pattern, ignoring case
  logscan /var/log -e ERROR --ignore healthcheck ERROR lines, except health checks
  logscan /var/log -F -e '[crit]' -n --include '*.log'
  logscan /var/log -e 'status=5\d\d' --json      one JSON object per match
  logscan --follow /var/log -e ERROR --state-file /var/lib/logscan/state.json
  logscan --config /etc/logscan/config.yaml      rules, roots and settings from YAML

Exit status: 0 a line was selected, 1 none was, 2 an error (bad flag, pattern or
config; a path that could not be read). Matches go to stdout, diagnostics to stderr.

Flags:
`

func (c *cli) usage(w io.Writer) {
	fmt.Fprint(w, usageHead)
	fmt.Fprint(w, c.fs.FlagUsagesWrapped(100))
	fmt.Fprintf(w, "\nEvery config key can also be set as LOGSCAN_<KEY>, e.g. LOGSCAN_ROOTS=/var/log,/srv/logs.\n")
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
			v, e := c.fs.GetStringArray(f.Name)
			if e != nil && err == nil {
				err = e
			}
			m[key] = v
		case "bool":
			m[key] = f.Value.String() == "true"
		default:
			m[key] = f.Value.String()
		}
	})
	if c.fs.Changed("no-decompress") {
		nd, _ := c.fs.GetBool("no-decompress")
		m["decompress"] = !nd
		of["decompress"] = "no-decompress"
	}
	if c.json {
		m["output.format"] = "json"
		of["output.format"] = "json"
	}
	if len(args) > 0 {
		m["roots"] = args
	}
	return m, of, err
}

// loadConfig parses args and the other layers into a Config.
func loadConfig(c *cli, args, environ []string) (*config.Config, error) {
	file := c.configFile
	var env []string
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "LOGSCAN_CONFIG="); ok {
			if file == "" {
				file = v
			}
			continue
		}
		env = append(env, kv)
	}
	flags, flagOf, err := c.flagLayer(args)
	if err != nil {
		return nil, err
	}
	return config.Load(config.Sources{File: file, Environ: env, Flags: flags, FlagOf: flagOf})
}

func newLogger(cfg *config.Config, stderr io.Writer) zerolog.Logger {
	level, err := zerolog.ParseLevel(cfg.LogLevel)
	if err != nil {
		level = zerolog.InfoLevel
	}
	var w io.Writer = stderr
	console := cfg.LogFormat == "console"
	if cfg.LogFormat == "auto" {
		if isTerminal(stderr) {
			console = true
		}
	}
	if console {
		w = zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.TimeOnly, NoColor: os.Getenv("NO_COLOR") != ""}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
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
	m, err := match.Compile(rules, match.Options{Ignore: cfg.Ignore, IgnoreCase: cfg.IgnoreCase, Fixed: cfg.Fixed})
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
		return nil, fmt.Errorf("%s: bad pattern %q: %v", where, pe.Pattern, pe.Err)
	}
	return m, err
}

// stdinIsData reports whether standard input is a pipe or a file, so a bare
// `... | logscan -e X` reads it, as ripgrep does; a terminal or /dev/null
// means "search the current directory".
func stdinIsData(stdin io.Reader) bool {
	f, ok := stdin.(*os.File)
	if !ok {
		return stdin != nil
	}
	st, err := f.Stat()
	if err != nil {
		return false
	}
	mode := st.Mode()
	return mode.IsRegular() || mode&(os.ModeNamedPipe|os.ModeSocket) != 0
}

func run(ctx context.Context, args, environ []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := newCLI(stderr)
	c.fs.Usage = func() {}
	if err := c.fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "logscan: %v\nRun 'logscan --help' for usage.\n", err)
		return exitError
	}
	if c.help {
		c.usage(stdout)
		return exitMatch
	}
	if c.showVer {
		fmt.Fprintf(stdout, "logscan %s (%s %s/%s)\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitMatch
	}
	cfg, err := loadConfig(c, c.fs.Args(), environ)
	if err != nil {
		fmt.Fprintf(stderr, "logscan: %v\n", err)
		return exitError
	}
	log := newLogger(cfg, stderr)
	for _, w := range cfg.Warnings {
		log.Warn().Msg(w)
	}
	if err := c.validate(); err != nil {
		log.Error().Msg(err.Error())
		fmt.Fprintf(stderr, "logscan: %v\n", err)
		return exitError
	}
	c.wrapPatterns(cfg)
	m, err := compileRules(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "logscan: %v\n", err)
		return exitError
	}
	if cfg.Follow || cfg.StateFile != "" {
		reload := func() (*config.Config, error) {
			rc := newCLI(io.Discard)
			if err := rc.fs.Parse(args); err != nil {
				return nil, err
			}
			return loadConfig(rc, rc.fs.Args(), environ)
		}
		return runDaemon(ctx, cfg, reload, !cfg.Follow, log, stdout, stderr)
	}
	return runOnce(ctx, c, cfg, m, log, stdin, stdout, stderr)
}

// wrapPatterns applies -w and -x by rewriting the --match patterns, so the
// matcher keeps its literal prefilter: the wrapped pattern still contains
// the original's literals.
func (c *cli) wrapPatterns(cfg *config.Config) {
	if !c.word && !c.line {
		return
	}
	for i, p := range cfg.Match {
		if cfg.Fixed {
			p = regexp.QuoteMeta(p)
		}
		if c.line {
			p = `^(?:` + p + `)$`
		} else {
			p = `(?:^|\W)(?:` + p + `)(?:\W|$)`
		}
		cfg.Match[i] = p
	}
	if cfg.Fixed {
		// The --match patterns are quoted now; keep -F for everything else.
		cfg.Fixed = false
		for i, p := range cfg.Ignore {
			cfg.Ignore[i] = regexp.QuoteMeta(p)
		}
		for i := range cfg.Rules {
			cfg.Rules[i].Fixed = true
		}
	}
}

func (c *cli) validate() error {
	switch c.color {
	case "auto", "always", "never":
	default:
		return &usageError{fmt.Sprintf("flag --color: want auto, always or never: %q", c.color)}
	}
	for name, v := range map[string]int{"after-context": c.after, "before-context": c.before, "context": c.contextN} {
		if v < 0 {
			return &usageError{fmt.Sprintf("flag --%s: want 0 or more: %d", name, v)}
		}
	}
	if c.maxCount < 0 {
		return &usageError{fmt.Sprintf("flag --max-count: want 0 or more: %d", c.maxCount)}
	}
	return nil
}

func (c *cli) useColor(stdout io.Writer, format output.Format) bool {
	if format == output.JSON {
		return false
	}
	switch c.color {
	case "always":
		return true
	case "never":
		return false
	}
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	return isTerminal(stdout)
}

// isTerminal reports whether w is a terminal. A character-device check is
// not enough: /dev/null is one too, and colouring output nobody sees costs
// a regexp run per line.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// showFilenames follows grep: paths are printed when there is more than one
// operand or any operand is a directory, unless -H or -h says otherwise.
func (c *cli) showFilenames(roots []string) bool {
	switch {
	case c.noName:
		return false
	case c.withName:
		return true
	case len(roots) > 1:
		return true
	}
	if len(roots) == 1 && roots[0] != search.StdinPath {
		st, err := os.Stat(roots[0])
		return err == nil && st.IsDir()
	}
	return false
}

func runOnce(ctx context.Context, c *cli, cfg *config.Config, m *match.Matcher, log zerolog.Logger, stdin io.Reader, stdout, stderr io.Writer) int {
	roots := cfg.Roots
	if len(roots) == 0 {
		if stdinIsData(stdin) {
			roots = []string{search.StdinPath}
		} else {
			roots = []string{"."}
		}
	}
	format, _ := output.ParseFormat(cfg.OutputFormat)
	popts := output.Options{
		Format:      format,
		Filename:    c.showFilenames(roots),
		LineNumbers: c.lineNumbers,
		Color:       c.useColor(stdout, format),
	}
	mode := search.Lines
	switch {
	case c.quiet:
		mode = search.Quiet
	case c.filesWith:
		mode = search.FilesWithMatches
	case c.count:
		mode = search.Count
	}
	before, after := c.before, c.after
	if c.contextN > 0 {
		before, after = max(before, c.contextN), max(after, c.contextN)
	}
	res, err := search.Run(ctx, search.Options{
		Roots:      roots,
		Matcher:    m,
		Filter:     filter.New(cfg.Include, cfg.Exclude, cfg.ExcludeDir),
		Jobs:       cfg.Jobs,
		MaxLine:    cfg.MaxLine,
		Decompress: cfg.Decompress,
		Printer:    output.NewPrinter(popts),
		Mode:       mode,
		MaxCount:   c.maxCount,
		Before:     before,
		After:      after,
		Invert:     c.invert,
		NoMessages: c.noMessages,
		CountLines: c.stats,
		Stdout:     stdout,
		Stdin:      stdin,
		Log:        log,
	})
	if c.stats {
		fmt.Fprintf(stderr, "files=%d bytes=%d lines=%d matches=%d errors=%d binary_skipped=%d compressed_skipped=%d cut_lines=%d elapsed=%s\n",
			res.Files, res.Bytes, res.Lines, res.Matches, res.Errors, res.Binary, res.Compressed, res.CutLines, res.Elapsed.Round(time.Microsecond))
	}
	if err != nil {
		log.Error().Err(err).Msg("search failed")
		return exitError
	}
	if c.quiet && res.Matches > 0 {
		return exitMatch // grep -q: a match wins over errors
	}
	if res.Errors > 0 {
		return exitError
	}
	if res.Matches > 0 {
		return exitMatch
	}
	if ctx.Err() != nil {
		return exitError
	}
	return exitNoMatch
}
