package watch

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"

	"github.com/logscan/logscan/internal/input"
	"github.com/logscan/logscan/internal/scan"
	"github.com/logscan/logscan/internal/state"
)

// fileKey is a file's identity on this machine.
type fileKey struct{ dev, ino uint64 }

// loop is the state owned by the goroutine running Run or RunOnce; nothing
// in it is touched from any other goroutine.
//
// # Model
//
// The loop waits for something to happen (a batch of fsnotify events, a
// maintenance tick, a watcher error, a reload), records what it means
// (handle: which files are dirty, which names to look at), and then drains:
// it reads every dirty file to its end, calls the Consumer's Flush once,
// and commits (each file's committed position becomes what was read, and,
// in follow mode, is journaled). So one batch is one read of each file, one
// Flush and one checkpoint, however many events named a file.
//
// A tracked file goes through the lifecycle in lifecycle.go: its naming
// (attached, moved, detached, forgotten) follows renames and deletions; its
// stage (verifying a saved record, deciding whether new content is a copy,
// shadowing a live original, reading) says what its bytes are; its placing
// says how the next read puts the offset. position is what was passed to
// the Consumer, committed what a Flush covered, and only committed is
// saved.
//
// Identity is (device, inode), trusted only while a descriptor is held;
// otherwise, and across restarts, the head fingerprint and the tail CRC
// before the offset decide. Content already read whose file is gone or was
// truncated is kept as a retired fingerprint for a while (and saved), so
// that a copy of it (app.log.1) is recognised instead of read again.
//
// The tick is the slow path: polling, draining rotated files until they are
// quiet, passing held partial lines of quiet files, closing idle
// descriptors, expiring retired identities, retrying failures, saving the
// state file and starting its journal afresh.
type loop struct {
	// The burst detector (batch): the reads before the last drain, when it
	// ended, and whether a write came to a file that drain had just read.
	drainFrom uint64
	drainEnd  time.Time
	hot       bool

	f       *Follower
	cfg     Config // the current config (Reload replaces it)
	follow  bool   // Run (true) or RunOnce
	log     zerolog.Logger
	st      *Stats            // the Follower's counters, updated as things happen
	watcher *fsnotify.Watcher // nil when polling every directory

	held     []*tracked           // files a Holder kept content of at the last read or commit (hold.go)
	scratch  []byte               // positionAt's reads (holdat.go), not to disturb buf mid-read
	pacer    Pacer                // the Consumer, when it is one (pace.go)
	paused   bool                 // a read stopped because the Pacer was full, in this drain
	deferred []*tracked           // files whose read stopped so, read again when it wakes
	ctx      context.Context      // Run's or RunOnce's, for waits (pace.go)
	byPath   map[string]*tracked  // attached and moved files by their current name
	byKey    map[fileKey]*tracked // every tracked file, detached ones too, by identity
	dirs     map[string]bool      // directory → true: inotify watch, false: polled

	rootDirs  []string        // the roots that are directories, followed recursively
	rootFiles map[string]bool // the roots that are files, followed through their parent's watch
	missing   map[string]bool // roots that do not exist yet

	saved     map[fileKey]state.File // state records not yet matched to a file
	haveState bool                   // a state file was loaded (files not in it start at 0)
	forceEnd  bool                   // the state file was unusable: start at the ends
	reloading bool                   // discoveries follow StartAt, not the state rules
	initial   bool                   // draining after the initial walk: close files after reading
	retired   []fingerprint          // identities of content already read, for copy detection
	cTracked  bool                   // the state file tracked compressed files

	// Compressed files (compressed.go, cread.go): read once each, through
	// one decoder and one splitter reused for all of them.
	cfiles    map[fileKey]*cfile // compressed files by identity
	cByPath   map[string]*cfile  // and by current name
	cqueue    []*cfile           // to read in this drain
	cwaiting  []*cfile           // new while running: read once quiet for a tick
	cdetached []*cfile           // whose name went away: forgotten at the next tick unless found again
	ctouched  []*cfile           // positions moved since the last commit
	cheld     []*cfile           // of those, the ones a Holder still holds (commitCompressed)
	ccands    []ccand            // fingerprints a compressed file may continue, reused
	opener    *input.Opener      // opens and decompresses
	sp        *scan.Splitter     // splits decompressed content into lines
	cs        cstream            // the decompressed stream being read
	creplay   input.Replay       // replays the head already read in front of the stream
	cskip     input.Replay       // replays what followed the rest of a skipped line
	ccount    counter            // counts what the splitter consumed
	chead     []byte             // decompressed head of the compressed file being read
	ctail     []byte             // the bytes before its offset

	dirty   []*tracked // files to read in this drain, in the order they were marked
	touched []*tracked // files whose position moved since the last commit
	emitted bool       // the Consumer got something since the last Flush
	ends    []endRef   // RunOnce: files read, in order, for FileEnd

	buf     []byte // the read buffer: the tail before the offset, then dataCap bytes
	tbuf    []byte // the tail checked again after a read (tailStill)
	dataCap int    // min(256 KiB, MaxLine+1); a longer line goes to long
	// long gathers a line longer than buf (readLong); longOf is the file
	// whose held line it holds, longN bytes of it from longStart.
	long      []byte
	longOf    *tracked
	longStart int64
	longN     int
	stat      syscall.Stat_t // fstat's result, reused
	gen       uint64         // rescan generation, to find files that vanished

	open     int           // descriptors held
	readSeq  uint64        // counts reads, to close the least recently read on EMFILE
	changed  bool          // something to save since the last save
	ticks    int           // ticks so far
	lastSave int           // the tick of the last save
	lastPoll int           // the tick of the last poll of unwatched directories
	every    time.Duration // current tick interval (0 with injected ticks)
	ticker   *time.Ticker  // nil with injected ticks
	limitNew int           // directories that hit the watch limit since it was last logged
	saveErr  string        // last save error logged, to log each once

	journal  *state.Journal // offsets after each flush, between saves (follow mode)
	jrecs    []state.File   // the journal's records of one flush, reused
	jretired []state.File   // identities retired since the last flush, to journal with it
	jerr     string         // last journal error logged, to log each once
}

func newLoop(f *Follower, follow bool) *loop {
	pacer, _ := f.consumer.(Pacer)
	return &loop{
		pacer:     pacer,
		ctx:       context.Background(),
		f:         f,
		cfg:       f.cfg,
		follow:    follow,
		log:       f.log,
		st:        &f.stats,
		byPath:    map[string]*tracked{},
		byKey:     map[fileKey]*tracked{},
		dirs:      map[string]bool{},
		cfiles:    map[fileKey]*cfile{},
		cByPath:   map[string]*cfile{},
		rootFiles: map[string]bool{},
		missing:   map[string]bool{},
	}
}

const (
	headMax    = 1 << 10   // bytes in the head fingerprint
	tailMax    = 1 << 10   // bytes before the offset checked before each read
	bufData    = 256 << 10 // data capacity of the read buffer
	maxBatch   = 4096      // events handled before the files are read
	retireKeep = 4096      // retired identities kept for copy detection
	retireAge  = 60 * time.Second
	pendingAge = 2 * time.Second // how long a possible copy in progress may wait
)

// begin loads the state, watches and walks the roots and reads what is
// there (the initial read), then saves, and signals Ready.
func (l *loop) begin() error {
	l.loadState()
	if l.cfg.PollInterval == 0 {
		w, err := fsnotify.NewBufferedWatcher(maxBatch)
		if err != nil {
			// Usually fs.inotify.max_user_instances; polling still works.
			l.log.Error().Err(err).Msg("cannot create an inotify watcher (see fs.inotify.max_user_instances); polling every directory")
			l.st.WatchErrors.Add(1)
		} else {
			l.watcher = w
		}
	}
	for _, r := range l.cfg.Roots {
		l.addRoot(r, true)
	}
	l.logWatchLimit()
	l.initial = true
	err := l.drain()
	l.initial = false
	l.countMissing()
	if err == nil && l.cfg.StateFile != "" {
		// Saved at once, and the journal started: a kill -9 before the
		// first tick must not make the next start a first one, which
		// would start at the ends and lose what was written meanwhile.
		l.save()
	}
	l.f.readyOne.Do(func() { close(l.f.ready) })
	return err
}

func (l *loop) run(ctx context.Context) error {
	l.ctx = ctx
	if err := l.begin(); err != nil {
		return l.shutdown(err)
	}

	tick := l.f.hooks.tick
	if tick == nil {
		l.every = l.tickInterval()
		l.ticker = time.NewTicker(l.every)
		tick = l.ticker.C
	}
	var wake <-chan struct{}
	if l.pacer != nil {
		wake = l.pacer.Wake()
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	if l.watcher != nil {
		events, errs = l.watcher.Events, l.watcher.Errors
	}
	coalesce := time.NewTimer(time.Hour)
	coalesce.Stop()
	for {
		ticked := false
		select {
		case <-ctx.Done():
			return l.shutdown(nil)
		case ev, ok := <-events:
			if !ok {
				return l.shutdown(errors.New("watch: fsnotify closed its event channel"))
			}
			l.handle(ev)
			l.batch(events, coalesce)
		case err := <-errs:
			l.watchError(err)
		case err := <-l.f.hooks.errs:
			l.watchError(err)
		case <-tick:
			l.tick()
			ticked = true
		case req := <-l.f.reloadCh:
			req.reply <- l.reload(req.cfg)
		case <-wake:
			l.resumeReads()
		}
		if err := l.drain(); err != nil {
			return l.shutdown(err)
		}
		if ticked {
			if hb, ok := l.f.consumer.(Heartbeat); ok {
				hb.Beat()
			}
			if l.f.hooks.afterTick != nil {
				l.f.hooks.afterTick()
			}
		}
	}
}

// batch handles the rest of a burst of events before the drain: those
// queued already and, when a file is hot (written again right after the
// drain that read it), those that come within coalesceFor. Waiting pays only
// for a file that a writer outpaces: one read then serves many of its
// writes. Files written once each per burst gain nothing from it, only
// wake-ups: with tailbench's 40 files at 20k lines/s a 500 µs wait took
// 1.33-1.36 s of CPU against 1.12-1.17 s without, p50 1.9-2.2 ms against
// 0.7-0.8 ms; at full speed into one file it gave 1.34-1.40M lines/s
// against 1.0-1.2M.
func (l *loop) batch(events <-chan fsnotify.Event, coalesce *time.Timer) {
	var wait <-chan time.Time
	defer coalesce.Stop()
	for range maxBatch {
		if wait == nil && l.hot {
			coalesce.Reset(coalesceFor)
			wait = coalesce.C
		}
		if wait == nil {
			select {
			case ev, ok := <-events:
				if !ok {
					return // run sees the closed channel
				}
				l.handle(ev)
				continue
			default:
				return
			}
		}
		select {
		case ev, ok := <-events:
			if !ok {
				return
			}
			l.handle(ev)
		case <-wait:
			return
		}
	}
}

// coalesceFor bounds batch's wait: tailbench (1M lines, rename rotation)
// went from 0.85x to about parity with tail -F | grep in throughput, with
// p99 latency unchanged.
const coalesceFor = 500 * time.Microsecond

// hotWithin is how soon after a drain a write to a file it read makes the
// file hot. A writer outpacing the reads writes again at once; tailbench's
// steady 40 files are written every 5 ms.
const hotWithin = time.Millisecond

func (l *loop) once(ctx context.Context) error {
	l.ctx = ctx
	l.loadState()
	for _, r := range l.cfg.Roots {
		if ctx.Err() != nil {
			break
		}
		l.addRoot(r, true)
	}
	// A possible copy cannot wait for a later event: decide now.
	for _, t := range l.dirty {
		t.pendingSince = time.Time{}
		t.noWait = true
	}
	err := l.drain()
	for err == nil && l.paused && l.waitRoom() {
		l.resumeReads()
		err = l.drain()
	}
	return l.shutdown(err)
}

// shutdown flushes, saves the state and releases every descriptor and watch.
// cause is returned (joined with any flush error) so the caller sees why the
// loop stopped.
func (l *loop) shutdown(cause error) error {
	if l.ticker != nil {
		l.ticker.Stop()
	}
	for _, t := range l.held {
		l.release(t, Shutdown)
	}
	if l.emitted {
		if err := l.f.consumer.Flush(); err != nil {
			cause = errors.Join(cause, fmt.Errorf("watch: flush output: %w", err))
		} else {
			l.commit()
		}
	}
	if d, ok := l.f.consumer.(Drainer); ok {
		if err := d.Drain(); err != nil {
			cause = errors.Join(cause, err)
		}
		l.commit() // what was acknowledged while draining is done
	}
	l.countUnacked()
	if l.cfg.StateFile != "" {
		l.save()
	}
	l.closeJournal()
	for _, t := range l.byKey {
		l.closeFile(t)
	}
	if l.opener != nil {
		_ = l.opener.Close() // stops the zstd decoder's goroutines; it reports nothing
	}
	if l.watcher != nil {
		if err := l.watcher.Close(); err != nil {
			l.log.Warn().Err(err).Msg("closing the inotify watcher")
		}
	}
	l.st.FilesWatched.Store(0)
	l.st.DirsWatched.Store(0)
	l.st.DirsPolled.Store(0)
	return cause
}

func (l *loop) now() time.Time {
	if l.f.hooks.now != nil {
		return l.f.hooks.now()
	}
	return time.Now()
}

// handle records what an event means; the files are read later by drain, once
// per batch, however many events named them.
func (l *loop) handle(ev fsnotify.Event) {
	if l.f.hooks.dropEvents.Load() {
		return
	}
	if n := l.f.hooks.dropName.Load(); n != nil && *n == ev.Name {
		return
	}
	name := ev.Name
	if ev.Op == fsnotify.Write {
		if t := l.byPath[name]; t != nil {
			l.markWritten(t)
			return
		}
		if c := l.cByPath[name]; c != nil {
			// Done ones never grow, and the tick sees the writes to waiting
			// ones; one that failed is tried again once quiet.
			if !c.done && !c.waiting {
				l.waitCompressed(c)
			}
			return
		}
	}
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		if _, ok := l.dirs[name]; ok {
			l.forgetDir(name)
		}
		if t := l.byPath[name]; t != nil {
			l.checkPath(t)
		}
		if c := l.cByPath[name]; c != nil {
			l.checkCompressed(c)
		}
		if !ev.Has(fsnotify.Create) {
			return
		}
	}
	if ev.Op == fsnotify.Chmod {
		// A file that could not be opened may be readable now.
		if t := l.byPath[name]; t != nil && t.file == nil {
			l.markDirty(t)
		}
		return
	}
	l.lookAt(name, false)
}

func (l *loop) watchError(err error) {
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		l.st.Overflows.Add(1)
		l.log.Warn().Msg("inotify event queue overflowed; rescanning every directory (offsets are kept, so nothing is lost or repeated)")
		l.rescan(true)
		return
	}
	l.st.WatchErrors.Add(1)
	l.log.Error().Err(err).Msg("inotify watcher error")
}

func (l *loop) markDirty(t *tracked) {
	t.onlyWrites = false
	if !t.dirty && t.naming != forgotten {
		t.dirty = true
		l.dirty = append(l.dirty, t)
	}
}

// markWritten queues t for a write event. A file queued by writes alone may
// be read without an fstat (statless).
func (l *loop) markWritten(t *tracked) {
	if t.readSeq > l.drainFrom && !l.hot && l.now().Sub(l.drainEnd) < hotWithin {
		l.hot = true
	}
	if t.dirty {
		return // queued already, for a write or for a reason that needs the fstat
	}
	l.markDirty(t)
	t.onlyWrites = true
}

// drain reads every dirty file to its end, then flushes the Consumer once and
// checkpoints the offsets of what was flushed.
func (l *loop) drain() error {
	l.paused = false
	l.hot = false
	l.drainFrom = l.readSeq
	defer func() { l.drainEnd = l.now() }()
	for {
		if err := l.drainPlain(); err != nil {
			return err
		}
		if err := l.drainCompressed(); err != nil {
			return err
		}
		if len(l.dirty) == 0 || l.paused {
			break // reading compressed files found no plain one to read, or the Pacer is full
		}
	}
	l.fileEnds()
	if l.emitted {
		if err := l.f.consumer.Flush(); err != nil {
			return fmt.Errorf("watch: flush output: %w", err)
		}
		l.emitted = false
	}
	l.commit()
	return nil
}

func (l *loop) drainPlain() error {
	for i := 0; i < len(l.dirty); i++ {
		t := l.dirty[i]
		t.dirty = false
		if t.naming == forgotten {
			continue
		}
		// A tick's read of a held partial line must not keep open what
		// was closed (after the initial walk, or as idle).
		reclose := t.file == nil && t.tickRead
		if err := l.read(t); err != nil {
			clear(l.dirty)
			l.dirty = l.dirty[:0]
			return err
		}
		if t.deferred {
			// Unread content waits for the Pacer: keep the descriptor (a
			// rotated or deleted file is read through it), and decide on
			// quiet only once it is read.
			t.finalize = false
			continue
		}
		if l.initial || reclose {
			l.closeFile(t) // thousands of files may exist; reopen on their events
		}
		if t.finalize {
			t.finalize = false
			t.tickSize = -1
			if t.naming == detached || t.gone {
				l.forgetAcked(t)
			} else {
				t.settle()
			}
		}
	}
	clear(l.dirty)
	l.dirty = l.dirty[:0]
	return nil
}

// commit records that everything read so far has been flushed.
func (l *loop) commit() {
	l.refreshHolds()
	for _, t := range l.touched {
		t.touched = false
		t.committed = l.committable(t)
	}
	if len(l.touched) > 0 {
		l.changed = true
	}
	l.commitCompressed()
	l.journalCommit()
	clear(l.touched)
	l.touched = l.touched[:0]
	clear(l.ctouched)
	l.ctouched = append(l.ctouched[:0], l.cheld...) // still held: looked at again
	clear(l.cheld)
	l.cheld = l.cheld[:0]
	l.emitted = false
	if l.f.hooks.committed != nil {
		l.f.hooks.committed()
	}
}

// forget drops t; with retire its identity is kept a while so that a copy of
// it, or its reappearance under a new name, is not read twice.
func (l *loop) forget(t *tracked, retire bool) {
	if (t.gone || t.naming == detached) && t.size > t.offset {
		n := t.size - t.offset
		l.st.LostDeleted.Add(n)
		l.log.Warn().Str("path", t.path).Int64("offset", t.offset).Int64("size", t.size).Int64("lost_bytes", n).
			Msg("a file rotated away or deleted before it was read to its end; those bytes are lost (logscan_lost_bytes_total{reason=\"deleted\"})")
	}
	l.release(t, Forgotten)
	if retire {
		l.retire(t)
	}
	l.unlinkShadows(t, nil)
	l.closeFile(t)
	l.dropLong(t)
	if l.byKey[t.key] == t {
		delete(l.byKey, t.key)
	}
	if t.naming != detached && l.byPath[t.path] == t {
		delete(l.byPath, t.path)
	}
	t.drop()
	l.changed = true
	l.st.FilesWatched.Store(int64(len(l.byKey)))
}

func (l *loop) reload(cfg Config) error {
	old := l.cfg
	if cfg.PollInterval != old.PollInterval {
		l.log.Warn().Msg("poll_interval changes take effect at the next start")
		cfg.PollInterval = old.PollInterval
	}
	l.cfg = cfg
	l.log = cfg.Logger
	l.rootDirs = l.rootDirs[:0]
	clear(l.rootFiles)
	clear(l.missing)
	l.reloading = true
	l.gen++
	for _, r := range cfg.Roots {
		l.addRoot(r, true)
	}
	l.reloading = false
	for _, t := range l.byPath {
		if !l.wantFile(t.path) {
			l.forget(t, false)
		}
	}
	l.reloadCompressed()
	for d := range l.dirs {
		if _, ok := l.dirs[d]; ok && !l.inScopeDir(d) && !l.isFileRootParent(d) {
			l.forgetDir(d)
		}
	}
	l.logWatchLimit()
	return nil
}

// endRef is a file, plain or compressed, that RunOnce read.
type endRef struct {
	t *tracked
	c *cfile
}

// fileEnds tells a FileEnder that the files RunOnce read are done. It waits
// for the end of the drain because a file read early can still get lines
// from a later one (the copy that supplies what a truncation took), and it
// comes before the Flush, as FileEnd may produce output (-c), which needs
// that Flush even when no line was passed.
func (l *loop) fileEnds() {
	if len(l.ends) == 0 {
		return
	}
	if fe, ok := l.f.consumer.(FileEnder); ok {
		for _, e := range l.ends {
			if e.t != nil {
				fe.FileEnd(e.t.fileID())
			} else {
				fe.FileEnd(e.c.fileID())
			}
		}
		l.emitted = true
	}
	clear(l.ends)
	l.ends = l.ends[:0]
}
