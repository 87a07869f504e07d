package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/fsnotify/fsnotify"
)

// addRoot starts following a root: a directory recursively, or a single file
// through a watch on its parent.
func (l *loop) addRoot(root string, initial bool) {
	fi, err := os.Stat(root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if !l.missing[root] {
				l.log.Warn().Str("root", root).Msg("root does not exist yet; waiting for it")
			}
			l.missing[root] = true
			return
		}
		l.log.Error().Err(err).Str("root", root).Msg("cannot stat root; waiting for it")
		l.missing[root] = true
		return
	}
	switch {
	case fi.IsDir():
		if !containsString(l.rootDirs, root) {
			l.rootDirs = append(l.rootDirs, root)
		}
		l.addTree(root, initial)
	case fi.Mode().IsRegular():
		l.rootFiles[root] = true
		parent := filepath.Dir(root)
		if _, ok := l.dirs[parent]; !ok {
			l.addWatch(parent)
		}
		if lfi, err := os.Lstat(root); err == nil && lfi.Mode().IsRegular() {
			l.discover(root, lfi, initial)
		} else {
			l.log.Warn().Str("root", root).Msg("root is a symlink to a file; follow its target instead")
		}
	default:
		l.log.Warn().Str("root", root).Msg("root is neither a directory nor a regular file; ignored")
	}
}

func containsString(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// inScopeDir reports whether dir is a root directory or below one.
func (l *loop) inScopeDir(dir string) bool {
	for _, r := range l.rootDirs {
		if dir == r || strings.HasPrefix(dir, r) && (r == "/" || dir[len(r)] == '/') {
			return true
		}
	}
	return false
}

// wantFile is the include decision for a regular file at path.
// Compressed files are never followed as plain ones (see wantCompressed).
func (l *loop) wantFile(path string) bool {
	if isCompressed(path) {
		return false
	}
	if !l.rootFiles[path] && !l.inScopeDir(filepath.Dir(path)) {
		return false
	}
	return l.cfg.Filter == nil || l.cfg.Filter(path)
}

// addTree watches dir first and scans it second, so that nothing created in
// between is missed, then does the same for every subdirectory. Symlinks are
// not followed.
func (l *loop) addTree(dir string, initial bool) {
	if !l.inScopeDir(dir) {
		return
	}
	if _, ok := l.dirs[dir]; !ok {
		if !l.addWatch(dir) {
			return
		}
	}
	l.scanDir(dir, initial)
}

func (l *loop) scanDir(dir string, initial bool) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			l.forgetDir(dir)
			return
		}
		l.st.ReadErrors.Add(1)
		l.log.Warn().Err(err).Str("dir", dir).Msg("cannot list directory")
		return
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.IsDir():
			l.addTree(p, initial)
		case e.Type().IsRegular():
			fi, err := e.Info()
			if err != nil {
				continue // gone since the listing; its event will say so
			}
			l.discover(p, fi, initial)
		}
	}
}

// addWatch puts an inotify watch on dir, or registers it for polling when
// there is no watcher or the watch limit is reached. It reports false when
// dir no longer exists.
func (l *loop) addWatch(dir string) bool {
	if l.watcher == nil {
		l.dirs[dir] = false
		l.st.DirsPolled.Add(1)
		return true
	}
	var err error
	if l.f.hooks.addWatch != nil {
		err = l.f.hooks.addWatch(dir)
		if err == nil {
			err = l.watcher.Add(dir)
		}
	} else {
		err = l.watcher.Add(dir)
	}
	switch {
	case err == nil:
		l.dirs[dir] = true
		l.st.DirsWatched.Add(1)
		return true
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return false
	case errors.Is(err, syscall.ENOSPC):
		l.limitNew++
	default:
		l.log.Error().Err(err).Str("dir", dir).Msg("cannot watch directory; polling it")
	}
	l.st.WatchErrors.Add(1)
	l.dirs[dir] = false
	l.st.DirsPolled.Add(1)
	return true
}

// logWatchLimit reports directories that hit the inotify watch limit, with
// the figure needed, once per batch of them.
func (l *loop) logWatchLimit() {
	if l.limitNew == 0 {
		return
	}
	l.limitNew = 0
	limit := -1
	if b, err := os.ReadFile("/proc/sys/fs/inotify/max_user_watches"); err == nil {
		fmt.Sscan(string(b), &limit)
	}
	polled := l.polled()
	poll := l.cfg.PollInterval
	if poll == 0 {
		poll = fallbackPoll
	}
	ev := l.log.Error().Int("dirs_polled", polled).Dur("poll_interval", poll)
	if limit > 0 {
		ev = ev.Int("max_user_watches", limit).Int("needed_at_least", limit+polled).
			Str("fix", fmt.Sprintf("sysctl -w fs.inotify.max_user_watches=%d", limit+polled))
	}
	ev.Msgf("inotify watch limit reached (fs.inotify.max_user_watches): %d directories have no watch and are polled instead; raise fs.inotify.max_user_watches by at least %d", polled, polled)
}

// forgetDir drops the watches of dir and everything below it; the files
// below are checked, since a renamed directory takes them along.
func (l *loop) forgetDir(dir string) {
	for d, watched := range l.dirs {
		if d != dir && !strings.HasPrefix(d, dir+"/") {
			continue
		}
		delete(l.dirs, d)
		if watched {
			l.st.DirsWatched.Add(-1)
			if err := l.watcher.Remove(d); err != nil && !errors.Is(err, fsnotify.ErrNonExistentWatch) && !errors.Is(err, fsnotify.ErrClosed) {
				l.log.Debug().Err(err).Str("dir", d).Msg("removing watch")
			}
		} else {
			l.st.DirsPolled.Add(-1)
		}
	}
	for p, t := range l.byPath {
		if strings.HasPrefix(p, dir+"/") {
			l.checkPath(t)
		}
	}
	for p, c := range l.cByPath {
		if strings.HasPrefix(p, dir+"/") {
			l.checkCompressed(c)
		}
	}
}

// rescan lists the directories again, all of them after an overflow or only
// the polled ones, discovering new files and marking changed ones; files no
// longer found under their name are checked.
func (l *loop) rescan(all bool) {
	l.gen++
	var scanned map[string]bool
	if all {
		for _, r := range l.cfg.Roots {
			if !l.missing[r] {
				l.addRoot(r, false)
			}
		}
	} else {
		scanned = map[string]bool{}
		for d, watched := range l.dirs {
			if !watched {
				scanned[d] = true
			}
		}
		for d := range scanned {
			if _, ok := l.dirs[d]; ok {
				l.scanDir(d, false)
			}
		}
	}
	for _, t := range l.byPath {
		if t.seen != l.gen && (all || scanned[filepath.Dir(t.path)]) {
			l.checkPath(t)
		}
	}
	for _, c := range l.cByPath {
		if c.seen != l.gen && (all || scanned[filepath.Dir(c.path)]) {
			l.checkCompressed(c)
		}
	}
}

// lookAt finds out what is at path now and acts on it.
func (l *loop) lookAt(path string, initial bool) {
	fi, err := os.Lstat(path)
	if err != nil {
		if t := l.byPath[path]; t != nil {
			l.checkPath(t)
		}
		return
	}
	switch {
	case fi.IsDir():
		l.addTree(path, initial)
	case fi.Mode().IsRegular():
		l.discover(path, fi, initial)
	default:
		if t := l.byPath[path]; t != nil {
			l.checkPath(t)
		}
	}
}

func keyOf(fi fs.FileInfo) fileKey {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileKey{}
	}
	return fileKey{dev: uint64(st.Dev), ino: st.Ino}
}

// checkPath detaches t when its name no longer leads to it. A detached file
// keeps its descriptor and is drained until quiet, unless an event shows its
// new name inside the tree first.
func (l *loop) checkPath(t *tracked) {
	if t.naming == detached {
		return
	}
	fi, err := os.Lstat(t.path)
	if err == nil && keyOf(fi) == t.key {
		return
	}
	l.detach(t)
	l.markDirty(t)
}

func (l *loop) detach(t *tracked) {
	if l.byPath[t.path] == t {
		delete(l.byPath, t.path)
	}
	t.detach()
	l.st.Rotations.Add(1)
	l.changed = true
}

// discover takes note of a regular file at path.
func (l *loop) discover(path string, fi fs.FileInfo, initial bool) {
	key := keyOf(fi)
	if t := l.byKey[key]; t != nil {
		t.seen = l.gen
		if t.naming != detached && t.path == path {
			if fi.Size() != t.size || !fi.ModTime().Equal(t.mtime) || t.file == nil && t.openFailed {
				l.markDirty(t)
			}
			return
		}
		if t.naming != detached {
			if ofi, err := os.Lstat(t.path); err == nil && keyOf(ofi) == key {
				return // a hard link to a file already followed under its other name
			}
			delete(l.byPath, t.path)
			l.st.Rotations.Add(1)
		}
		if old := l.byPath[path]; old != nil && old != t {
			l.detach(old)
			l.markDirty(old)
		}
		if !l.wantFile(path) {
			// Renamed to a name not followed (app.log.1.gz, or excluded):
			// drain what is left and let it go.
			t.path = path
			t.detach()
			l.markDirty(t)
			return
		}
		if t.file == nil {
			// No descriptor of ours pins the inode, so it may belong to
			// another file by now (t deleted, its inode reused): the key
			// alone proves nothing until the content is checked.
			l.recheck(t)
		}
		t.moveTo(path)
		l.byPath[path] = t
		l.changed = true
		l.markDirty(t)
		return
	}
	if isCompressed(path) {
		if l.wantCompressed(path) {
			l.discoverCompressed(path, fi, initial)
		}
		return
	}
	if !l.wantFile(path) {
		return
	}
	if old := l.byPath[path]; old != nil {
		l.detach(old)
		l.markDirty(old)
	}
	t := &tracked{path: path, key: key, tickSize: -1, seen: l.gen, mtime: fi.ModTime()}
	l.byPath[path] = t
	l.byKey[key] = t
	l.st.FilesWatched.Store(int64(len(l.byKey)))
	switch {
	case initial && !l.reloading && l.saved != nil:
		if rec, ok := l.saved[key]; ok {
			delete(l.saved, key)
			t.verify(&rec)
		} else {
			t.decide() // created while we were down: from the start, unless a copy
		}
	case initial && (l.cfg.StartAt == "end" || l.forceEnd):
		t.offset = fi.Size()
		t.placeNext(atEnd)
	case initial:
		// from the beginning
	default:
		t.decide()
	}
	l.changed = true
	l.markDirty(t)
}

// foundRenamed looks in t's directory for t, detached and with no
// descriptor to drain it through, under another name: the rename's other
// half, whose event a busy machine can deliver after this tick. Forgotten
// first, the file would be found as a new one and read again from its
// start (TestPacerStopsReading, 1 run in 500 under CPU load). Found, it is
// discovered there and read on from its offset. Only this rare case pays
// for the directory listing.
func (l *loop) foundRenamed(t *tracked) bool {
	dir := filepath.Dir(t.path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		fi, err := os.Lstat(p)
		if err != nil || keyOf(fi) != t.key {
			continue
		}
		l.discover(p, fi, false)
		return t.naming != detached && t.naming != forgotten
	}
	return false
}

func (l *loop) isFileRootParent(dir string) bool {
	for p := range l.rootFiles {
		if filepath.Dir(p) == dir {
			return true
		}
	}
	return false
}
