package state

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestJournalAggregates: the aggregates deltas journaled with the offsets
// come back in order, after the saved aggregates; a delta cut short ends
// the replay there, with the offsets journaled in the same write.
func TestJournalAggregates(t *testing.T) {
	f1 := File{Path: "/l/a.log", Dev: 1, Ino: 10, Offset: 100, HeadLen: 100, TailLen: 100}
	f2 := f1
	f2.Offset, f2.TailLen = 200, 200
	tests := []struct {
		name   string
		cut    int64 // bytes cut off the journal's end
		deltas []string
		files  []File
	}{
		{"whole", 0, []string{`{"a":1}`, `{"a":2}`}, []File{f2}},
		// The second write is the delta {"a":2} then f2's record: cut into
		// f2's record, the delta stands and the offset is the older one.
		{"torn after the delta", 3, []string{`{"a":1}`, `{"a":2}`}, []File{f1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if err := Save(path, &State{Generation: 3, Aggregates: []byte(`{"a":0}`)}); err != nil {
				t.Fatal(err)
			}
			j, err := CreateJournal(path, 3)
			if err != nil {
				t.Fatal(err)
			}
			if err := j.Append([]File{f1}, nil, []byte(`{"a":1}`)); err != nil {
				t.Fatal(err)
			}
			if err := j.Append([]File{f2}, nil, []byte(`{"a":2}`)); err != nil {
				t.Fatal(err)
			}
			if err := j.Append(nil, nil, nil); err != nil { // nothing: writes nothing
				t.Fatal(err)
			}
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			if tt.cut > 0 {
				truncateBy(t, JournalPath(path), tt.cut)
			}
			st, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(st.Aggregates) != `{"a":0}` {
				t.Errorf("aggregates %s", st.Aggregates)
			}
			var got []string
			for _, d := range st.Deltas {
				got = append(got, string(d))
			}
			if !reflect.DeepEqual(got, tt.deltas) || !reflect.DeepEqual(st.Files, tt.files) {
				t.Errorf("deltas %q files %+v, want %q %+v", got, st.Files, tt.deltas, tt.files)
			}
		})
	}
}

// TestJournalFormat1: a journal an older logscan wrote (LSJ1: records
// without a type byte) is still replayed.
func TestJournalFormat1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := Save(path, &State{Generation: 5}); err != nil {
		t.Fatal(err)
	}
	f := File{Path: "/l/a.log", Dev: 1, Ino: 10, Offset: 100, HeadLen: 100, TailLen: 100, Line: 4}
	h := append([]byte(journalMagicV1), binary.LittleEndian.AppendUint64(nil, 5)...)
	h = binary.LittleEndian.AppendUint32(h, Checksum(h))
	payload := appendFile(nil, &f, false)
	h = binary.LittleEndian.AppendUint32(h, uint32(len(payload)))
	h = binary.LittleEndian.AppendUint32(h, Checksum(payload))
	h = append(h, payload...)
	if err := os.WriteFile(JournalPath(path), h, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(st.Files, []File{f}) || st.Replayed.Records != 1 {
		t.Errorf("files %+v replay %+v", st.Files, st.Replayed)
	}
}
