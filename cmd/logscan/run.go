package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/logscan/logscan/internal/config"
	"github.com/logscan/logscan/internal/daemon"
	"github.com/logscan/logscan/internal/filter"
	"github.com/logscan/logscan/internal/match"
	"github.com/logscan/logscan/internal/pipeline"
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

const usageHead = `logscan: scan and follow log files.

Usage: logscan [flags] PATTERN [PATH ...]
       logscan [flags] -e PATTERN ... [PATH ...]     (or -f FILE, or rules in --config)

The first operand is the pattern unless -e, -f, the config or LOGSCAN_MATCH gives
one; then every operand is a PATH. PATH "-" is standard input; with no PATH,
logscan reads piped standard input, or searches ".".

Examples:
  logscan /var/log --match ERROR                 lines with ERROR, like grep -r (.gz and .zst included)
  logscan /var/log -i -e 'timeout' -e 'refused'  either pattern, ignoring case
  logscan /var/log -e ERROR --ignore healthcheck ERROR lines, except health checks
  logscan /var/log -F -e '[crit]' -n --include '*.log'
  logscan /var/log -e 'status=5\d\d' --json      one JSON object per match
  logscan /var/log -e 'ms=(?P<ms>\d+)' --summary ms
                                                 count, min, mean, p50, p90, p99 and max of ms=
  logscan --follow /var/log -e ERROR --state-file /var/lib/logscan/state.json
  logscan --config /etc/logscan/config.yaml      rules, roots and settings from YAML

Exit status: 0 a line was selected, 1 none was, 2 an error (bad flag, pattern or
config; a path that could not be read). Matches go to stdout, diagnostics to stderr.

Flags:
`

func (c *cli) usage(w io.Writer) {
	fmt.Fprint(w, usageHead)
	fmt.Fprint(w, c.flagUsages(100))
	fmt.Fprintf(w, "\nEvery config key can also be set as LOGSCAN_<KEY>, e.g. LOGSCAN_ROOTS=/var/log,/srv/logs.\n")
}

// load parses args and reads every config layer. The start and every SIGHUP
// reload call it, so that a reload builds exactly what the start built.
// stdin is read for -f -; a reload passes nil.
func load(args, environ []string, stdin io.Reader, stderr io.Writer) (*cli, *config.Config, error) {
	c := newCLI(stderr)
	c.fs.Usage = func() {}
	if err := c.fs.Parse(contextNumArgs(c.fs, args)); err != nil {
		return c, nil, c.explain(err)
	}
	if c.help || c.showVer {
		return c, nil, nil
	}
	filePatterns, err := readPatternFiles(c.patternFiles, stdin)
	if err != nil {
		return c, nil, err
	}
	cfg, err := c.loadLayers(c.fs.Args(), environ, filePatterns)
	if err == nil && slices.Equal(cfg.Match, []string{matchNothing}) && len(cfg.Rules) == 0 && !cfg.Invert {
		// Only empty -f files: grep then reads nothing and prints nothing,
		// not even -c's counts; -m 0 is exactly that.
		cfg.Output.MaxCount = 0
	}
	if err != nil || c.fs.Changed("match") || len(c.patternFiles) > 0 || len(cfg.Rules) > 0 || len(cfg.Match) > 0 || len(cfg.Events.Where) > 0 {
		return c, cfg, err
	}
	// No pattern from -e, -f, the config or the environment, and no
	// --where (a selection of its own): the first operand is the pattern,
	// as in grep and ripgrep.
	operands := c.fs.Args()
	if len(operands) == 0 {
		return c, nil, errNoPattern
	}
	cfg, err = c.loadLayers(operands[1:], environ, []string{operands[0]})
	return c, cfg, err
}

var errNoPattern = errors.New("no pattern: give PATTERN, -e PATTERN, -f FILE, or rules or match in the config (-e '' selects every line)")

// loadLayers reads the config layers with operands as the roots and
// patterns added to the flags' -e patterns.
func (c *cli) loadLayers(operands, environ, patterns []string) (*config.Config, error) {
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
	flags, flagOf, err := c.flagLayer(operands)
	if err != nil {
		return nil, err
	}
	if patterns != nil {
		e, _ := flags["match"].([]string)
		flags["match"] = append(e, patterns...)
		if _, ok := flagOf["match"]; !ok {
			flagOf["match"] = "file"
		}
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
		if pipeline.IsTerminal(stderr) {
			console = true
		}
	}
	if console {
		w = zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.TimeOnly, NoColor: os.Getenv("NO_COLOR") != ""}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
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
	c, cfg, err := load(args, environ, stdin, stderr)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "logscan: %v\nRun 'logscan --help' for usage.\n", err)
		return exitError
	case c.help:
		c.usage(stdout)
		return exitMatch
	case c.showVer:
		fmt.Fprintf(stdout, "logscan %s (%s %s/%s)\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitMatch
	}
	log := newLogger(cfg, stderr)
	for _, w := range cfg.Warnings {
		log.Warn().Msg(w)
	}
	if err := cfg.CheckMode(); err != nil {
		fmt.Fprintf(stderr, "logscan: %v\n", err)
		return exitError
	}
	warnPatterns(cfg, log)
	env := pipeline.Env{Stdout: stdout, Getenv: lookupEnv(environ)}
	pipeline.GrowPipe(stdout)
	if cfg.Mode() != config.OneShot {
		reload := func() (*config.Config, error) {
			_, next, err := load(args, environ, nil, io.Discard)
			return next, err
		}
		return runDaemon(ctx, cfg, env, reload, log, stdout, stderr)
	}
	trimDot := false
	if len(cfg.Roots) == 0 {
		cfg.Roots, trimDot = []string{"."}, true
		if stdinIsData(stdin) {
			cfg.Roots = []string{search.StdinPath}
		}
	}
	p, err := pipeline.Compile(cfg, env)
	if err != nil {
		fmt.Fprintf(stderr, "logscan: %v\n", err)
		return exitError
	}
	return runOnce(ctx, cfg, p, trimDot, log, stdin, stdout, stderr)
}

// lookupEnv reads a variable from environ, as os.Getenv does from the
// process's: run takes its environment as an argument.
func lookupEnv(environ []string) func(string) string {
	return func(name string) string {
		for i := len(environ) - 1; i >= 0; i-- {
			if v, ok := strings.CutPrefix(environ[i], name+"="); ok {
				return v
			}
		}
		return ""
	}
}

// warnPatterns logs, once per pattern, a grep-BRE escape that RE2 reads
// otherwise (\| is a literal |); -F patterns have none.
func warnPatterns(cfg *config.Config, log zerolog.Logger) {
	check := func(patterns []string, fixed bool) {
		if fixed || cfg.Fixed {
			return
		}
		for _, p := range patterns {
			for _, w := range match.PatternWarnings(p) {
				log.Warn().Str("pattern", p).Msg(w)
			}
		}
	}
	check(cfg.Match, false)
	check(cfg.Ignore, false)
	for _, r := range cfg.Rules {
		check(r.Match, r.Fixed)
		check(r.Ignore, r.Fixed)
	}
}

// outputFile is stdout when it is a regular file, which must not be read
// as input.
func outputFile(stdout io.Writer) os.FileInfo {
	f, ok := stdout.(*os.File)
	if !ok {
		return nil
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	return fi
}

// outputBuffer is how much output is buffered before it is written: 0 for
// the default, 1 (every line) with --line-buffered.
func outputBuffer(cfg *config.Config) int {
	if cfg.Output.LineBuffered {
		return 1
	}
	return 0
}

// coalesce is how much small output is gathered into one write: none on
// a terminal, where each file's lines show when it ends, or with
// --line-buffered.
func coalesce(cfg *config.Config, stdout io.Writer) int {
	if cfg.Output.LineBuffered || pipeline.IsTerminal(stdout) {
		return 0
	}
	return search.DefaultCoalesce
}

func runOnce(ctx context.Context, cfg *config.Config, p *pipeline.Pipeline, trimDot bool, log zerolog.Logger, stdin io.Reader, stdout, stderr io.Writer) int {
	res, err := search.Run(ctx, search.Options{
		Label:        cfg.Output.Label,
		TrimDot:      trimDot,
		Avoid:        outputFile(stdout),
		OutputBuffer: outputBuffer(cfg),
		Coalesce:     coalesce(cfg, stdout),
		Roots:        cfg.Roots,
		Pipeline:     p,
		Filter:       filter.New(cfg.Include, cfg.Exclude, cfg.ExcludeDir),
		Jobs:         cfg.Jobs,
		MaxLine:      cfg.MaxLine,
		Decompress:   cfg.Decompress,
		NoMessages:   cfg.Output.NoMessages,
		CountLines:   cfg.Output.Stats,
		Stdout:       stdout,
		Stdin:        stdin,
		Log:          log,
	})
	if cfg.Output.Stats {
		fmt.Fprintf(stderr, "files=%d bytes=%d lines=%d matches=%d errors=%d binary_skipped=%d compressed_skipped=%d cut_lines=%d parse_errors=%d elapsed=%s\n",
			res.Files, res.Bytes, res.Lines, res.Matches, res.Errors, res.Binary, res.Compressed, res.CutLines, res.ParseErrors, res.Elapsed.Round(time.Microsecond))
	}
	if err != nil {
		log.Error().Err(err).Msg("search failed")
		return exitError
	}
	return exitStatus(p.Mode == pipeline.Quiet, res.Matches, res.Errors, ctx.Err() != nil)
}

// exitStatus is grep's: a match is 0, none 1, an error 2; with -q a match
// wins over errors.
func exitStatus(quiet bool, matches, errs int64, interrupted bool) int {
	switch {
	case quiet && matches > 0:
		return exitMatch
	case errs > 0:
		return exitError
	case matches > 0:
		return exitMatch
	case interrupted:
		return exitError
	}
	return exitNoMatch
}

// runDaemon runs an incremental run or follow mode and maps the result to an
// exit status.
func runDaemon(ctx context.Context, cfg *config.Config, env pipeline.Env, reload func() (*config.Config, error), log zerolog.Logger, stdout, stderr io.Writer) int {
	follow := cfg.Mode() == config.Follow
	awaitSignals(ctx)
	var hup chan os.Signal
	if follow {
		if os.Getenv("GOMAXPROCS") == "" {
			// The follower is one event loop; more Ps only add cross-thread
			// wakeups between fsnotify's reader goroutine and the loop.
			// Measured with tailbench (1M lines, rename rotation): 0.37 s of
			// CPU with two Ps, 0.23 s with one. GOMAXPROCS still wins.
			runtime.GOMAXPROCS(1)
		}
		hup = make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
	start := time.Now()
	res, err := daemon.Run(ctx, daemon.Options{
		Config:       cfg,
		Avoid:        outputFile(stdout),
		OutputBuffer: outputBuffer(cfg),
		Reload:       reload,
		Env:          env,
		Stdout:       stdout,
		Log:          log,
		Hup:          hup,
		Version:      buildVersion(),
	})
	if cfg.Output.Stats {
		fmt.Fprintf(stderr, "files=%d bytes=%d lines=%d matches=%d errors=%d binary_skipped=%d cut_lines=%d parse_errors=%d elapsed=%s\n",
			res.Files, res.Bytes, res.Lines, res.Matches, res.ReadErrors, res.Binary, res.CutLines, res.ParseErrors, time.Since(start).Round(time.Microsecond))
	}
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			fmt.Fprintf(stderr, "logscan: %v\n", err)
		} else {
			log.Error().Err(err).Msg("run failed")
		}
		return exitError
	}
	quiet := cfg.Output.Quiet
	if follow && !(quiet && res.Matches > 0) {
		return exitMatch // a clean shutdown after SIGTERM/SIGINT
	}
	return exitStatus(quiet, res.Matches, res.ReadErrors, false)
}
