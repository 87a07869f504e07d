// Package state persists the identity and read offset of every followed file,
// so that a restart neither loses nor repeats lines.
//
// The file is JSON with a version field. [Save] writes it atomically: a
// temporary file in the same directory is written, fsynced and renamed over
// the old one, and the directory is fsynced, so a crash at any moment leaves
// either the old or the new state, never a torn one. [Load] rejects anything
// it does not fully understand with an error wrapping [ErrCorrupt]; callers
// must then fall back to a safe start (the ends of the files), never to
// offset zero, which would repeat whole files.
//
// Between saves, a [Journal] beside the state file (PATH.journal) gets one
// record per file whose offset moved, after every output flush, without
// fsync: a killed process leaves its writes in the page cache, so a
// restart repeats at most the last flush. [Load] replays it onto the state
// it continues. Only power loss can take the journal, and then the state
// file, fsynced at each save, is at most one save interval behind.
package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
)

// Version is the format version written by [Save]. [Load] also reads
// version 1, which predates line numbers, declined and compressed files: its
// records load with those fields zero, which means "line unknown", "wanted"
// and "not compressed", and its State.Decompress is false; version 2,
// which predates marks: its records load with none, which only means that a
// copy ending before the offset is not recognised after the restart; and
// version 3, which predates aggregates.
const Version = 4

// minVersion is the oldest format [Load] still reads.
const minVersion = 1

// Kind is the value of the "kind" field, which tells a logscan state file
// apart from any other JSON document given by mistake.
const Kind = "logscan-state"

// ErrCorrupt is wrapped by [Load] when the file exists but is truncated, is not
// a logscan state file, has another version, or holds impossible values.
var ErrCorrupt = errors.New("state: corrupt or foreign state file")

// File is the saved identity and position of one followed file.
type File struct {
	// Path is where the file was last seen; identity is Dev and Ino, not Path.
	Path string `json:"path"`
	Dev  uint64 `json:"dev"`
	Ino  uint64 `json:"ino"`
	// Offset is the byte offset just after the last line flushed to the output.
	Offset int64 `json:"offset"`
	// HeadLen and HeadCRC fingerprint the first HeadLen (at most 1 KiB) bytes.
	HeadLen int    `json:"head_len"`
	HeadCRC uint32 `json:"head_crc32c"`
	// TailLen and TailCRC fingerprint the TailLen bytes just before Offset,
	// checked before resuming to catch inode reuse and truncate-and-refill.
	TailLen int    `json:"tail_len"`
	TailCRC uint32 `json:"tail_crc32c"`
	// Skipping is true when Offset lies inside an over-long line whose rest
	// must be skipped up to its newline.
	Skipping bool `json:"skipping,omitempty"`
	// Line is the 1-based number of the line that starts at Offset, or 0
	// when it is not known (the file was first read from its end). Version
	// 1 files have no line numbers, so their records load as unknown.
	Line int64 `json:"line,omitempty"`
	// Declined is true when the consumer wanted none of the file's content
	// (a binary file): its offset still advances, but nothing is passed on
	// until the file is rewritten from its start.
	Declined bool `json:"declined,omitempty"`
	// Compressed marks a .gz or .zst file, which is history and read once:
	// Offset, Line, and both fingerprints are of its decompressed content.
	Compressed bool `json:"compressed,omitempty"`
	// Marks are earlier read boundaries of the same content, each with the
	// CRC of the (up to 1 KiB) bytes before it, by increasing offset, all
	// at or before Offset. A copy that ends before Offset (copytruncate,
	// with lines appended and read between the copy and the truncation) is
	// recognised as content already read by the marks it holds.
	Marks []Mark `json:"marks,omitempty"`
	// Done is true for a compressed file that is never to be read again: it
	// was read to its end, declined, or skipped at a first start at the end
	// (then Offset is 0: its length was never learnt). A compressed record
	// that is not Done was cut short by a read error and is resumed at
	// Offset.
	Done bool `json:"done,omitempty"`
	// Size is the file's size when the record was saved, for a plain
	// file: if the file is gone at the next start, Size-Offset bytes were
	// never read (or never acknowledged), and that loss is counted.
	Size int64 `json:"size,omitempty"`
}

// Mark is a read boundary: an offset and the CRC-32C of the min(Offset,
// 1 KiB) bytes just before it.
type Mark struct {
	Offset int64  `json:"offset"`
	CRC    uint32 `json:"crc32c"`
}

// MaxMarks is the most marks [Load] accepts per file.
const MaxMarks = 64

// State is the whole content of a state file.
type State struct {
	Kind    string `json:"kind"`
	Version int    `json:"version"`
	// Decompress is true when the writer tracked compressed files. Without
	// it, a compressed file missing from Files may have been there all
	// along, so it cannot be taken for one that is new since the last run.
	Decompress bool `json:"decompress,omitempty"`
	// Generation names this save, so that a journal is replayed only onto
	// the state it continues (see [Journal]); 0 in files from before the
	// journal.
	Generation uint64 `json:"generation,omitempty"`
	Files      []File `json:"files"`
	// Retired is content already read that no file holds under that
	// identity any more (truncated, deleted), newest last, kept a while so
	// that a copy of it found after a restart (app.log.1 from a
	// copytruncate around a kill) is not read again. Only copies are
	// matched against it; nothing is resumed from it.
	Retired []File `json:"retired,omitempty"`
	// Aggregates is the consumer's own state (the metrics and alerts of
	// rules), whole as of this save, opaque to this package; Deltas are the
	// changes journaled after it, in order (not saved: Load fills them in
	// from the journal). Saved with the offsets they go with, so that a
	// restart neither counts a line twice nor forgets one.
	Aggregates json.RawMessage `json:"aggregates,omitempty"`
	Deltas     [][]byte        `json:"-"`
	// Replayed is how [Load] used the journal; it is not saved.
	Replayed Replay `json:"-"`
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum is the CRC-32C used for the head and tail fingerprints; it is
// exported so that the writer of fingerprints and their checkers agree.
func Checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// Load reads the state file at path. A missing file is not an error: it
// returns nil, nil, meaning "first start". Any other problem returns an error
// naming path; a file that exists but cannot be trusted wraps [ErrCorrupt].
func Load(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state: read %s: %w", path, err)
	}
	var st State
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: %s: trailing data after the JSON document", ErrCorrupt, path)
	}
	if st.Kind != Kind {
		return nil, fmt.Errorf("%w: %s: kind is %q, want %q", ErrCorrupt, path, st.Kind, Kind)
	}
	if st.Version < minVersion || st.Version > Version {
		return nil, fmt.Errorf("%w: %s: version %d, this logscan reads versions %d to %d", ErrCorrupt, path, st.Version, minVersion, Version)
	}
	for i, f := range st.Files {
		if err := checkFile(f); err != nil {
			return nil, fmt.Errorf("%w: %s: files[%d] (%s) %w", ErrCorrupt, path, i, f.Path, err)
		}
	}
	for i, f := range st.Retired {
		if err := checkFile(f); err != nil {
			return nil, fmt.Errorf("%w: %s: retired[%d] (%s) %w", ErrCorrupt, path, i, f.Path, err)
		}
	}
	if err := replay(path, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// checkFile says what is impossible about a record, if anything.
func checkFile(f File) error {
	if f.Offset < 0 || f.HeadLen < 0 || f.HeadLen > 1<<10 || f.TailLen < 0 || f.TailLen > 1<<10 || int64(f.TailLen) > f.Offset {
		return errors.New("has impossible offset or fingerprint lengths")
	}
	// Offset 0 is always line 1, and a line number past the offset would
	// need lines of no bytes.
	if f.Line < 0 || f.Line > f.Offset+1 || f.Offset == 0 && f.Line > 1 {
		return fmt.Errorf("has an impossible line number %d", f.Line)
	}
	if f.Done && !f.Compressed {
		return errors.New("is done but not compressed")
	}
	if !marksValid(f) {
		return errors.New("has marks out of order, past its offset, or too many")
	}
	return nil
}

// marksValid: marks lie in (0, Offset], by strictly increasing offset.
func marksValid(f File) bool {
	if len(f.Marks) > MaxMarks {
		return false
	}
	prev := int64(0)
	for _, m := range f.Marks {
		if m.Offset <= prev || m.Offset > f.Offset {
			return false
		}
		prev = m.Offset
	}
	return true
}

// Save writes st to path atomically and durably. Kind and Version are set by
// Save. On error the previous file at path is left as it was.
func Save(path string, st *State) error {
	st.Kind, st.Version = Kind, Version
	if st.Files == nil {
		st.Files = []File{}
	}
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("state: encode %s: %w", path, err)
	}
	data = append(data, '\n')
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("state: create temporary file in %s: %w", dir, err)
	}
	ok := false
	defer func() {
		if !ok {
			// The error that got us here is the one worth reporting; a
			// failed cleanup of the temporary file changes nothing for it.
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("state: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("state: chmod %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("state: fsync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("state: close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("state: rename %s to %s: %w", tmp.Name(), path, err)
	}
	ok = true
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("state: open directory %s to fsync it: %w", dir, err)
	}
	if err := d.Sync(); err != nil {
		_ = d.Close() // the fsync error is the one to report
		return fmt.Errorf("state: fsync directory %s: %w", dir, err)
	}
	if err := d.Close(); err != nil {
		return fmt.Errorf("state: close directory %s: %w", dir, err)
	}
	return nil
}
