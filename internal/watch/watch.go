// Package watch follows every log file below a set of roots, through
// rotation, truncation, copies and deletion, and hands new whole lines to a
// [Consumer].
//
// # Model
//
// One goroutine, the one running [Follower.Run], owns all per-file state, reads
// the files and calls the Consumer; there are no locks on the hot path. It
// waits on fsnotify events (one inotify watch per directory, symlinks below a
// root are never followed), reads the files those events name to their end,
// then calls [Consumer.Flush] once for the whole batch. A new directory is
// watched first and scanned second, so files created in between are caught.
//
// # Identity
//
// A file is its device and inode, checked against a fingerprint of its head
// (the first 1 KiB, or the whole file while smaller, compared by prefix) and
// a CRC of the bytes just before the read offset, which is verified before
// every read. So inode reuse, truncate-and-refill past the old offset and
// copytruncate across a restart are all detected, and two files that share a
// head (syslog and messages) are still two files. Device and inode prove
// identity only while a descriptor is held; an inode seen again under a new
// name after its descriptor was closed is checked like a state record, so a
// reused inode is a new file. A renamed file is saved under its last known
// name until it is found again or forgotten, so a restart in between resumes
// it, whatever its new name. A file that appears while running and whose
// head and pre-offset bytes match a file already read (a rotated copy such
// as app.log.1) continues from that file's offset instead of being read
// again. Each position also keeps a few earlier read boundaries (marks),
// so that a copy ending before that offset (lines appended, and read,
// between copytruncate's copy and its truncation) is known as content
// already read too. New content under a followed inode (truncate and
// refill, cp onto an existing app.log.1) is decided on as a new file is.
// Content whose file was truncated or forgotten is remembered for a minute,
// and saved, so that a copy of it found later, after a restart too, is not
// read again.
//
// # Lines
//
// Each block comes with the number of its first line, counted as one-shot
// counts (a cut line is one line), when every line before it was seen in the
// file's current identity, and 0 when not (the file was started at its end).
// A Consumer that returns [ErrSkipFile] gets nothing more of that file until
// it is rewritten from its start.
//
// # Partial last lines
//
// One pipeline: the first incremental run, and a follower's initial read,
// report what a one-shot run of the same files reports, and one-shot prints
// a last line that has no newline. So a partial last line is passed, as a
// block without the final '\n', and counted as one line:
//
//   - by [Follower.RunOnce] at once;
//   - in follow mode once its file has been quiet (not grown) for one full
//     maintenance tick after the read that found it, and for a rotated or
//     deleted file once that is drained and quiet for a tick. A line
//     completed before then is passed whole, once.
//
// Once it is passed, the rest of that line, should it come (the writer was
// only slow), is skipped up to and including its newline, and adds no line:
// it is never passed as a fragment. That is saved in the state (the
// position's skipping), so a later run skips it too. The one exception is a
// first start at the end: the partial last line found there is where
// reading starts, so a RunOnce leaves it for the next run, which passes it
// whole or still partial, and a follower treats it as any other.
//
// # Restarts
//
// With [Config.StateFile], offsets are checkpointed only for lines the
// Consumer flushed. The state file is saved (fsynced and renamed) at the
// start and every SaveInterval; in between, after every flush, a record per
// file the flush moved is appended to its journal, without fsync. So a kill
// -9 repeats at most the one flush whose output was written but not yet
// journaled, and loses nothing; a power loss, which can take the journal,
// repeats at most one save interval. A clean stop repeats nothing.
//
// # Compressed files
//
// With [Config.Decompress], .gz and .zst files are history: each is read
// once, decompressed (offsets and line numbers are of the decompressed
// stream), and never again, nor watched for growth. One that is the
// compressed rotation of content already read (its decompressed head, and the
// bytes before a known offset, match a file followed, retired, saved, or
// compressed) passes only what follows that offset, usually nothing; under
// 1 KiB, the names must also agree (app.log.1.gz for app.log). Otherwise it
// is read whole, except at a first start at the end, where existing ones are
// marked done unread, as they are after a state file that did not track
// compressed files. One that appears while running is read once it has been
// quiet for a tick, as gzip may still be writing it. A decompression error
// is a read error; what was passed before it is kept, and the rest is tried
// again when the file changes, or at the next start.
//
// # Limits
//
//   - inotify watches are limited by fs.inotify.max_user_watches. When adding
//     a watch fails with ENOSPC the Follower logs the figure needed and polls
//     the directories left without a watch.
//   - On fsnotify.ErrEventOverflow every directory is rescanned; offsets are
//     known, so nothing is lost or emitted twice.
//   - NFS and other filesystems without inotify need [Config.PollInterval].
//   - Descriptors of idle files are closed after [Config.IdleClose] and
//     reopened, with an identity check, on their next event; on EMFILE the
//     least recently read half is closed. Memory per file is about 1.5 KiB.
//   - Lines longer than [Config.MaxLine] are cut to MaxLine bytes, counted in
//     [Stats.LongLines], and the rest of the line is skipped. A line longer
//     than the 256 KiB read buffer is gathered in one buffer of MaxLine,
//     allocated the first time one is met and kept, so memory stays within
//     MaxLine and the read buffer whatever the line's length.
//   - Bytes written to a rotated-away or deleted file are read until it has
//     been quiet for one maintenance tick; its partial last line is then
//     passed. Compressed files (.gz, .zst) are never followed.
package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logscan/logscan/internal/state"
	"github.com/rs/zerolog"
)

// File identifies a followed file: where it was when the lines were read, and
// its device and inode, which stay the same across renames.
type File struct {
	Path string
	Dev  uint64
	Ino  uint64
}

// ID returns the identity as "dev:ino", stable across renames, for JSON output
// and for deduplication after a crash.
func (f File) ID() string {
	b := make([]byte, 0, 24)
	b = strconv.AppendUint(b, f.Dev, 10)
	b = append(b, ':')
	b = strconv.AppendUint(b, f.Ino, 10)
	return string(b)
}

// Consumer receives the lines read by a [Follower]. All calls come from the
// goroutine running [Follower.Run] or [Follower.RunOnce], one at a time, so
// a Consumer needs no locking of its own.
type Consumer interface {
	// Lines receives a block of whole lines of f (each ending in '\n', except
	// a passed partial last line, see "Partial last lines" in the package
	// doc, or the first MaxLine bytes of a cut over-long line), starting at byte
	// offset off in f. line is the 1-based number of the block's first line
	// when every line of f before it has been read in this identity (f was
	// read from offset 0), and 0 when it is not known (f was started at its
	// end). For a compressed file ([Config.Decompress]) block, off and line
	// are of its decompressed content, and f names the compressed file.
	// The block is only valid during the call. Returning [ErrSkipFile]
	// says that no more of f is wanted (a binary file).
	Lines(f File, block []byte, off, line int64) error
	// Flush writes everything received so far to the output. Offsets are
	// checkpointed only for lines received before a Flush that returned nil.
	Flush() error
}

// ErrSkipFile may be returned by [Consumer.Lines]: the Follower then passes
// none of that file's content any more, while still advancing (and saving)
// its offset, so that neither this run nor a restart reads it again. A
// truncation or rewrite of the file (new content at offset 0) clears it.
var ErrSkipFile = errors.New("watch: skip the rest of this file")

// FileEnder is implemented by a Consumer that wants to know when a file has
// been read to its end in [Follower.RunOnce]: FileEnd is called once for
// every file RunOnce considered, in the order they were read, after its last
// Lines call and before the final Flush; also for a file with nothing new,
// one declined, and a compressed one already done. All of them come after
// the last Lines call of the run, plain files first, then compressed ones;
// a file that could not be opened gets none. The one-shot printers need it
// for -c and -L.
type FileEnder interface {
	FileEnd(f File)
}

// Holder is implemented by a Consumer whose stages keep back the end of
// what they were passed: a multiline event that is not yet whole, the
// parts of a line a container runtime split. For such a file the Follower
// checkpoints the offset where the held content begins, not the end of
// what was read, so that a restart, after a kill -9 too, reads the held
// content again whole and nothing half-emitted is taken as done.
type Holder interface {
	// Held reports where the content of f that the Consumer still holds
	// begins; ok is false when it holds none. The offset is a line start
	// within what was passed since the last time it was reported, or the
	// same offset as then.
	Held(f File) (off int64, ok bool)
	// Release is called when the content of f passed so far is done, for
	// the reason given. The Consumer emits what it holds of f, or keeps it
	// (at a truncation, to join it to the new content; at shutdown, to
	// have it read again), and the next Flush writes what it emitted.
	Release(f File, why ReleaseReason)
}

// ReleaseReason says why a [Holder] is told that content is done.
type ReleaseReason uint8

const (
	// Forgotten: f is followed no more (rotated away and drained, or
	// deleted).
	Forgotten ReleaseReason = iota
	// Truncated: f was truncated or rewritten; what follows is new content
	// from offset 0, and a held position in the old content means nothing.
	Truncated
	// Shutdown: the Follower is stopping; what is held is saved as held.
	Shutdown
)

// Pacer is implemented by a Consumer whose output has a bounded queue (the
// OTLP exporter, while its receiver is slow or down). While Full, the
// Follower reads nothing more: ticks, rotations and commits go on, and the
// files on disk, not memory, hold what is not yet shipped. Reading resumes
// when Wake receives. A compressed file, which cannot stop mid-stream, waits
// for Wake where it stands.
type Pacer interface {
	Full() bool
	Wake() <-chan struct{}
}

// Acker is implemented by a Consumer that ships what it is passed and
// holds it until a receiver acknowledges it (the OTLP exporter). A file
// deleted, or rotated out of reach, while it still holds lines of it is
// not forgotten at once: the Follower keeps it (and its descriptor, so the
// disk space too) until they are acknowledged, and what is still not at
// shutdown is counted as lost ([Stats.LostUnacked]): no restart can read a
// deleted file again.
type Acker interface {
	Unacked(f File) bool
}

// Drainer is implemented by a Consumer whose output completes after Flush
// returns (an acknowledgement from a receiver). At shutdown, and at the end
// of a RunOnce, Drain is called after the last Flush and before the last
// commit, so that what it completes meanwhile is saved as done. It bounds
// its own wait; its error is returned by Run or RunOnce.
type Drainer interface {
	Drain() error
}

// Checkpointer is implemented by a Consumer with state of its own that
// counts what it was passed (the metrics and alerts of rules): it is saved
// with the offsets, in the state file and in each journal write, so that a
// restart neither counts a line twice nor forgets one. Its methods are
// called from the Follower's goroutine.
type Checkpointer interface {
	// Checkpoint returns the Consumer's state: whole when full (for a
	// save), else what changed since the previous call (for the journal;
	// nil when nothing did). A delta holds absolute values, so that one
	// applied twice changes nothing.
	Checkpoint(full bool) ([]byte, error)
	// Restore applies, in order, the whole state of the last save and the
	// deltas journaled after it (either may be missing); it is called once,
	// before the first Lines, when there is a state file to load.
	Restore(parts [][]byte) error
	// Dirty tells whether the state changed without a read (an alert
	// resolved, a notification delivered), so that a tick journals it.
	Dirty() bool
}

// Heartbeat is implemented by a Consumer that wants to know the loop is alive
// even when no line arrives: Beat is called after every maintenance tick
// (each SaveInterval), once the tick's work is done. The daemon feeds the
// systemd watchdog from it, so a loop that is stuck stops the pings.
type Heartbeat interface {
	Beat()
}

// Config says what to follow and how. The zero value of every field except
// Roots has a usable default.
type Config struct {
	// Roots are the directories (followed recursively) or files to follow.
	// A root that does not exist yet is waited for.
	Roots []string
	// Filter decides whether a file path is followed; nil follows all. It
	// is asked about compressed paths (.gz, .zst, in any case) only when
	// Decompress is set.
	Filter func(path string) bool
	// Decompress reads compressed files (.gz, .zst) as history: each once,
	// decompressed, from where its content is new (all of it, or nothing
	// when it is a compressed rotation of content already read), and never
	// again. Without it they are ignored.
	Decompress bool
	// StartAt is "end" (the default) or "beginning": where files that exist
	// at the first start, and are not in the state file, are read from.
	StartAt string
	// StateFile is where identities and offsets persist; "" keeps none.
	// In follow mode its journal, StateFile + ".journal", gets the offsets
	// of every flush between two saves.
	StateFile string
	// PollInterval > 0 polls every directory at that interval instead of
	// using inotify (NFS and other filesystems without inotify).
	PollInterval time.Duration
	// MaxLine is the longest line passed on whole; longer ones are cut.
	// Default 16 MiB.
	MaxLine int
	// SaveInterval is how often a changed state is saved; default 1s. It is
	// also the maintenance tick (quiet rotated files, idle descriptors,
	// missing roots, unreadable files).
	SaveInterval time.Duration
	// IdleClose closes the descriptor of a file not read for this long;
	// default 1m.
	IdleClose time.Duration
	// Logger receives diagnostics; the zero Logger discards them.
	Logger zerolog.Logger
}

// Defaults applied by [New] to zero fields of [Config].
const (
	DefaultMaxLine      = 16 << 20
	DefaultSaveInterval = time.Second
	DefaultIdleClose    = time.Minute
	// fallbackPoll is the poll interval of directories that got no inotify
	// watch because of the watch limit, unless PollInterval is set.
	fallbackPoll = time.Second
)

// Stats are counters and gauges of a Follower, updated atomically so that a
// metrics endpoint can read them at any time.
type Stats struct {
	FilesWatched     atomic.Int64 // gauge: files currently tracked
	DirsWatched      atomic.Int64 // gauge: directories with an inotify watch
	DirsPolled       atomic.Int64 // gauge: directories polled instead
	LinesRead        atomic.Int64 // newline-terminated lines handed to the Consumer
	BytesRead        atomic.Int64 // bytes handed to the Consumer
	Rotations        atomic.Int64 // a followed name moved to another file
	Truncations      atomic.Int64 // a file shrank below, or was rewritten before, its offset
	TruncatedBytes   atomic.Int64 // bytes between the new size and the old offset at truncations
	CopiesSkipped    atomic.Int64 // new files (compressed ones too) recognised as copies of content already read
	LongLines        atomic.Int64 // lines cut at MaxLine
	LagBytes         atomic.Int64 // gauge: bytes written but not yet read, at the last tick
	DeletedOpenBytes atomic.Int64 // gauge: bytes of deleted files still held open
	ReadErrors       atomic.Int64 // failed opens, stats and reads of files, decompression errors
	WatchErrors      atomic.Int64 // failed watch additions and watcher errors
	Overflows        atomic.Int64 // event queue overflows, each followed by a rescan
	StateSaveErrors  atomic.Int64 // failed state file writes
	LostDeleted      atomic.Int64 // bytes of files deleted, or rotated out of reach, before they were read
	LostMissing      atomic.Int64 // bytes not done when the state was saved, of files gone at the next start
	LostUnacked      atomic.Int64 // bytes of deleted files an Acker had not had acknowledged at shutdown
}

// ErrStartAt is wrapped by [New] and [Follower.Reload] for a bad StartAt.
var ErrStartAt = errors.New("start_at must be \"end\" or \"beginning\"")

// Follower follows the files below [Config.Roots]. Create it with [New]; run
// it once with either [Follower.Run] or [Follower.RunOnce].
type Follower struct {
	cfg      Config
	consumer Consumer
	log      zerolog.Logger
	stats    Stats
	ready    chan struct{}
	readyOne sync.Once

	mu       sync.Mutex // guards running and pending, for Reload
	running  bool
	reloadCh chan reloadReq
	done     chan struct{}

	hooks hooks
	loop  *loop
}

// hooks let tests inject time, errors and faults; all are nil in production.
type hooks struct {
	tick       <-chan time.Time                               // replaces the maintenance ticker
	errs       chan error                                     // extra watcher errors (ErrEventOverflow)
	open       func(path string) (*os.File, error)            // replaces the open(2) of files
	addWatch   func(path string) error                        // replaces fsnotify's Add
	save       func(path string, st *state.State) error       // replaces state.Save
	dropEvents atomic.Bool                                    // discard fsnotify events (to test rescans)
	dropName   atomic.Pointer[string]                         // discard fsnotify events of this path (to delay one name's events)
	statted    func(path string)                              // called in read after the fstat, before the head and data are read
	afterTick  func()                                         // called after each tick and the drain after it
	now        func() time.Time                               // replaces time.Now for the copy decision's wait
	pread      func(fd int, b []byte, off int64) (int, error) // replaces the preads of data and tails (to tear them)
	committed  func()                                         // called after each commit: the journal holds the flushes before it
}

type reloadReq struct {
	cfg   Config
	reply chan error
}

// New validates cfg, fills in defaults and returns a Follower that reports to c.
// A bad StartAt returns an error wrapping [ErrStartAt] that names "start_at".
func New(cfg Config, c Consumer) (*Follower, error) {
	if c == nil {
		return nil, errors.New("watch: nil Consumer")
	}
	cfg, err := normalise(cfg)
	if err != nil {
		return nil, err
	}
	return &Follower{
		cfg:      cfg,
		consumer: c,
		log:      cfg.Logger,
		ready:    make(chan struct{}),
		reloadCh: make(chan reloadReq),
		done:     make(chan struct{}),
	}, nil
}

func normalise(cfg Config) (Config, error) {
	switch cfg.StartAt {
	case "":
		cfg.StartAt = "end"
	case "end", "beginning":
	default:
		return cfg, fmt.Errorf("watch: start_at %q: %w", cfg.StartAt, ErrStartAt)
	}
	if len(cfg.Roots) == 0 {
		return cfg, errors.New("watch: roots: at least one root is needed")
	}
	if cfg.PollInterval < 0 {
		return cfg, fmt.Errorf("watch: poll_interval %s is negative", cfg.PollInterval)
	}
	if cfg.MaxLine <= 0 {
		cfg.MaxLine = DefaultMaxLine
	}
	if cfg.SaveInterval <= 0 {
		cfg.SaveInterval = DefaultSaveInterval
	}
	if cfg.IdleClose <= 0 {
		cfg.IdleClose = DefaultIdleClose
	}
	cfg.Roots = append([]string(nil), cfg.Roots...)
	return cfg, nil
}

// Stats returns the live counters of f.
func (f *Follower) Stats() *Stats { return &f.stats }

// Ready returns a channel closed once the initial walk is done and every
// directory has its watch (or is polled).
func (f *Follower) Ready() <-chan struct{} { return f.ready }

// Reload makes new roots, filter and start position take effect in a running
// Follower without re-reading or skipping lines of the files already
// followed; files found only because of the new config are treated as if
// they existed at the first start. An invalid cfg is refused with an error
// and the old one stays. If f is not running, cfg is used by the next Run.
func (f *Follower) Reload(cfg Config) error {
	cfg, err := normalise(cfg)
	if err != nil {
		return err
	}
	f.mu.Lock()
	running := f.running
	if !running {
		f.cfg = cfg
		f.log = cfg.Logger
	}
	f.mu.Unlock()
	if !running {
		return nil
	}
	req := reloadReq{cfg: cfg, reply: make(chan error, 1)}
	select {
	case f.reloadCh <- req:
		select {
		case err := <-req.reply:
			return err
		case <-f.done:
			return errors.New("watch: reload: follower stopped")
		}
	case <-f.done:
		return errors.New("watch: reload: follower stopped")
	}
}

// Run walks the roots, then follows until ctx is done. On the way out it
// reads nothing more, flushes the Consumer, saves the state and closes every
// descriptor and watch; it returns nil after a clean shutdown, or the first
// error of the Consumer. Run may be called only once.
func (f *Follower) Run(ctx context.Context) error {
	l, err := f.start(true)
	if err != nil {
		return err
	}
	defer f.stop()
	return l.run(ctx)
}

// RunOnce reads what is new since the state file (the logtail pattern: each
// file from its saved offset; files not in the state from their start, or per
// StartAt when there is no state yet), flushes the Consumer, saves the state
// and returns. Partial last lines are passed, and the rest of such a line is
// skipped by the next run (see "Partial last lines" in the package doc).
func (f *Follower) RunOnce(ctx context.Context) error {
	l, err := f.start(false)
	if err != nil {
		return err
	}
	defer f.stop()
	return l.once(ctx)
}

func (f *Follower) start(follow bool) (*loop, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running || f.loop != nil {
		return nil, errors.New("watch: Follower already ran; create a new one")
	}
	f.running = true
	f.loop = newLoop(f, follow)
	return f.loop, nil
}

func (f *Follower) stop() {
	f.mu.Lock()
	f.running = false
	f.mu.Unlock()
	close(f.done)
	f.readyOne.Do(func() { close(f.ready) })
}
