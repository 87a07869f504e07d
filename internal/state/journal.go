package state

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// The journal is binary, as it is written after every output flush and
// must cost next to nothing: a 16-byte header, "LSJ2", the generation of
// the state file it continues (little-endian uint64) and the CRC-32C of
// those 12 bytes; then records, each a little-endian uint32 payload length,
// the CRC-32C of the payload, and the payload: a type byte, then either one
// File as varints (dev, ino, offset, head length and CRC, tail length and
// CRC, line, flags, marks, path; a flag marks a record of State.Retired), or
// a delta of the consumer's aggregates (State.Aggregates), opaque bytes. A
// record cut short or damaged (a crash in the middle of a write, a power
// loss) ends the replay there; the records before it stand. Journals of
// format 1 ("LSJ1", no type byte, only files) are still replayed.

const (
	journalMagic   = "LSJ2"
	journalMagicV1 = "LSJ1"
	headerLen      = 16
	// maxRecord bounds a record: a file's fits many times over in 64 KiB,
	// but an aggregates delta holds every series a flush touched.
	maxRecord = 64 << 20
)

// The type byte of a record (format 2).
const (
	recFile       = 'F'
	recAggregates = 'A'
)

const (
	flagSkipping = 1 << iota
	flagDeclined
	flagCompressed
	flagDone
	flagRetired
)

// JournalPath is where the journal of the state file at path is kept.
func JournalPath(path string) string { return path + ".journal" }

// Replay says how [Load] used the journal.
type Replay struct {
	Records int  // records applied
	Torn    bool // it ended in a record cut short or damaged, which was ignored with the rest
	Foreign bool // it continues another save of the state file (or none), so it was ignored
}

// Journal appends records to the journal of a state file. It is not safe
// for concurrent use.
type Journal struct {
	f   *os.File
	buf []byte
}

// CreateJournal starts the journal of the state file at path, just saved
// as generation gen: empty but for its header. Whatever was in it before
// is part of that save.
func CreateJournal(path string, gen uint64) (*Journal, error) {
	f, err := os.OpenFile(JournalPath(path), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state: open journal: %w", err)
	}
	j := &Journal{f: f}
	if err := j.Reset(gen); err != nil {
		_ = f.Close() // the reset error is the one to report
		return nil, err
	}
	return j, nil
}

// Reset empties j for the state file just saved as generation gen. A crash
// before it leaves the old records under the old generation, which Load
// then ignores, as the new state file holds them.
func (j *Journal) Reset(gen uint64) error {
	if err := j.f.Truncate(0); err != nil {
		return fmt.Errorf("state: truncate journal: %w", err)
	}
	h := append(j.buf[:0], journalMagic...)
	h = binary.LittleEndian.AppendUint64(h, gen)
	h = binary.LittleEndian.AppendUint32(h, Checksum(h))
	j.buf = h
	if _, err := j.f.Write(h); err != nil {
		return fmt.Errorf("state: write journal: %w", err)
	}
	return nil
}

// Append writes a record of the aggregates delta, if any, then one for
// each of files, and of retired (for State.Retired), in one write(2) and
// without fsync: what a killed process wrote stays in the page cache. The
// delta comes first: should the write be cut short after it, the files
// read again from their older offsets are those whose lines the delta has
// already counted, and the consumer knows that from the delta itself.
func (j *Journal) Append(files, retired []File, aggregates []byte) error {
	b := j.buf[:0]
	if len(aggregates) > 0 {
		if len(aggregates)+1 > maxRecord {
			return fmt.Errorf("state: journal: an aggregates delta of %d bytes is over the %d-byte record limit", len(aggregates), maxRecord)
		}
		start := len(b)
		b = append(b, 0, 0, 0, 0, 0, 0, 0, 0, recAggregates)
		b = append(b, aggregates...)
		b = sealRecord(b, start)
	}
	for k, list := range [2][]File{files, retired} {
		for i := range list {
			start := len(b)
			b = append(b, 0, 0, 0, 0, 0, 0, 0, 0, recFile) // length and CRC, filled in by sealRecord
			b = appendFile(b, &list[i], k == 1)
			b = sealRecord(b, start)
		}
	}
	j.buf = b
	if _, err := j.f.Write(b); err != nil {
		return fmt.Errorf("state: write journal: %w", err)
	}
	return nil
}

// sealRecord fills in the length and CRC of the record that starts at
// b[start:].
func sealRecord(b []byte, start int) []byte {
	payload := b[start+8:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[start+4:], Checksum(payload))
	return b
}

// Close closes the journal's file.
func (j *Journal) Close() error { return j.f.Close() }

func appendFile(b []byte, f *File, retired bool) []byte {
	b = binary.AppendUvarint(b, f.Dev)
	b = binary.AppendUvarint(b, f.Ino)
	b = binary.AppendVarint(b, f.Offset)
	b = binary.AppendVarint(b, int64(f.HeadLen))
	b = binary.LittleEndian.AppendUint32(b, f.HeadCRC)
	b = binary.AppendVarint(b, int64(f.TailLen))
	b = binary.LittleEndian.AppendUint32(b, f.TailCRC)
	b = binary.AppendVarint(b, f.Line)
	var flags byte
	if f.Skipping {
		flags |= flagSkipping
	}
	if f.Declined {
		flags |= flagDeclined
	}
	if f.Compressed {
		flags |= flagCompressed
	}
	if f.Done {
		flags |= flagDone
	}
	if retired {
		flags |= flagRetired
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(f.Marks)))
	for _, m := range f.Marks {
		b = binary.AppendVarint(b, m.Offset)
		b = binary.LittleEndian.AppendUint32(b, m.CRC)
	}
	b = binary.AppendUvarint(b, uint64(len(f.Path)))
	return append(b, f.Path...)
}

var errRecord = errors.New("malformed journal record")

// decoder reads the fields of one record's payload.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errRecord
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errRecord
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) u32() uint32 {
	if len(d.b) < 4 {
		d.err = errRecord
		return 0
	}
	v := binary.LittleEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.err = errRecord
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// length reads a count, which must fit in what is left of the record.
func (d *decoder) length() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = errRecord
		return 0
	}
	return int(n)
}

func decodeFile(p []byte) (f File, retired bool, err error) {
	d := &decoder{b: p}
	f.Dev, f.Ino, f.Offset = d.uvarint(), d.uvarint(), d.varint()
	f.HeadLen, f.HeadCRC = int(d.varint()), d.u32()
	f.TailLen, f.TailCRC = int(d.varint()), d.u32()
	f.Line = d.varint()
	flags := d.byte()
	f.Skipping, f.Declined = flags&flagSkipping != 0, flags&flagDeclined != 0
	f.Compressed, f.Done = flags&flagCompressed != 0, flags&flagDone != 0
	retired = flags&flagRetired != 0
	if n := d.length(); n > 0 && n <= MaxMarks {
		f.Marks = make([]Mark, n)
		for i := range f.Marks {
			f.Marks[i] = Mark{Offset: d.varint(), CRC: d.u32()}
		}
	} else if n > MaxMarks {
		d.err = errRecord
	}
	f.Path = string(d.b[:d.length()])
	d.b = d.b[len(f.Path):]
	if d.err == nil && len(d.b) != 0 {
		d.err = errRecord
	}
	if d.err != nil {
		return File{}, false, d.err
	}
	return f, retired, checkFile(f)
}

// replay applies the journal of the state file at path to st, when it
// continues st's generation: each record replaces the record of its file
// (by device and inode), or adds one. A torn tail is ignored.
func replay(path string, st *State) error {
	jf, err := os.Open(JournalPath(path))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("state: read journal of %s: %w", path, err)
	}
	defer jf.Close()
	r := bufio.NewReader(jf)
	var h [headerLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil || (string(h[:4]) != journalMagic && string(h[:4]) != journalMagicV1) ||
		Checksum(h[:12]) != binary.LittleEndian.Uint32(h[12:]) {
		// Cut short before its header was whole, or not a journal: it
		// holds nothing that can be trusted to continue st.
		st.Replayed.Foreign = true
		return nil
	}
	if gen := binary.LittleEndian.Uint64(h[4:12]); st.Generation == 0 || gen != st.Generation {
		st.Replayed.Foreign = true
		return nil
	}
	typed := string(h[:4]) == journalMagic
	index := make(map[[2]uint64]int, len(st.Files))
	for i, f := range st.Files {
		index[[2]uint64{f.Dev, f.Ino}] = i
	}
	var lh [8]byte
	var payload []byte
	for {
		if _, err := io.ReadFull(r, lh[:]); err != nil {
			st.Replayed.Torn = err != io.EOF // a whole number of records ends in EOF
			return nil
		}
		n := binary.LittleEndian.Uint32(lh[:4])
		if n == 0 || n > maxRecord {
			st.Replayed.Torn = true
			return nil
		}
		if cap(payload) < int(n) {
			payload = make([]byte, n)
		}
		payload = payload[:n]
		if _, err := io.ReadFull(r, payload); err != nil || Checksum(payload) != binary.LittleEndian.Uint32(lh[4:]) {
			st.Replayed.Torn = true
			return nil
		}
		if typed {
			if payload[0] == recAggregates {
				st.Replayed.Records++
				st.Deltas = append(st.Deltas, bytes.Clone(payload[1:]))
				continue
			}
			if payload[0] != recFile {
				st.Replayed.Torn = true
				return nil
			}
			payload = payload[1:]
		}
		f, retired, err := decodeFile(payload)
		if err != nil {
			st.Replayed.Torn = true
			return nil
		}
		st.Replayed.Records++
		if retired {
			st.Retired = append(st.Retired, f)
			continue
		}
		k := [2]uint64{f.Dev, f.Ino}
		if i, ok := index[k]; ok {
			st.Files[i] = f
		} else {
			index[k] = len(st.Files)
			st.Files = append(st.Files, f)
		}
	}
}
