package state

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestJournal: Load replays the journal onto the state file it continues,
// each record replacing its file's record or adding one; a torn or damaged
// tail is ignored with what follows it, the records before it stand; a
// journal of another save of the state file is ignored whole.
func TestJournal(t *testing.T) {
	base := []File{
		{Path: "/l/a.log", Dev: 1, Ino: 10, Offset: 100, HeadLen: 100, HeadCRC: 1, TailLen: 100, TailCRC: 2, Line: 5},
		{Path: "/l/b.log", Dev: 1, Ino: 11, Offset: 50, HeadLen: 50, HeadCRC: 3, TailLen: 50, TailCRC: 4, Line: 3},
	}
	a2 := File{Path: "/l/a.log.1", Dev: 1, Ino: 10, Offset: 2000, HeadLen: 1024, HeadCRC: 1, TailLen: 1024, TailCRC: 7, Line: 90,
		Skipping: true, Marks: []Mark{{Offset: 100, CRC: 2}, {Offset: 1500, CRC: 9}}}
	c1 := File{Path: "/l/c.log.gz", Dev: 1, Ino: 12, Offset: 10, HeadLen: 10, HeadCRC: 5, TailLen: 10, TailCRC: 5, Line: 2,
		Compressed: true, Done: true, Declined: true}
	a3 := a2
	a3.Offset, a3.Line, a3.Skipping, a3.Marks = 2100, 93, false, append([]Mark{}, append(a2.Marks, Mark{Offset: 2000, CRC: 7})...)
	tests := []struct {
		name    string
		gen     uint64 // of the journal; the state file is generation 7
		damage  func(t *testing.T, journal string)
		want    []File
		replay  Replay
		batches [][]File
	}{
		{"replayed", 7, nil, []File{a3, base[1], c1}, Replay{Records: 3}, [][]File{{a2}, {c1, a3}}},
		{"torn last record", 7, func(t *testing.T, j string) { truncateBy(t, j, 3) },
			[]File{a2, base[1], c1}, Replay{Records: 2, Torn: true}, [][]File{{a2}, {c1, a3}}},
		{"garbage after the records", 7, func(t *testing.T, j string) { appendBytes(t, j, "\x05\x00\x00\x00garbage") },
			[]File{a3, base[1], c1}, Replay{Records: 3, Torn: true}, [][]File{{a2}, {c1, a3}}},
		{"damaged record", 7, func(t *testing.T, j string) { flipByte(t, j, headerLen+10) },
			base, Replay{Torn: true}, [][]File{{a2}, {c1, a3}}},
		{"header only", 7, nil, base, Replay{}, nil},
		{"another generation", 8, nil, base, Replay{Foreign: true}, [][]File{{a2}}},
		{"damaged header", 7, func(t *testing.T, j string) { flipByte(t, j, 5) }, base, Replay{Foreign: true}, [][]File{{a2}}},
		{"cut inside its header", 7, func(t *testing.T, j string) {
			if err := os.Truncate(j, 9); err != nil {
				t.Fatal(err)
			}
		}, base, Replay{Foreign: true}, [][]File{{a2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if err := Save(path, &State{Generation: 7, Files: append([]File(nil), base...)}); err != nil {
				t.Fatal(err)
			}
			j, err := CreateJournal(path, tt.gen)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range tt.batches {
				if err := j.Append(b, nil, nil); err != nil {
					t.Fatal(err)
				}
			}
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			if tt.damage != nil {
				tt.damage(t, JournalPath(path))
			}
			st, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(st.Files, tt.want) {
				t.Errorf("files\n got %+v\nwant %+v", st.Files, tt.want)
			}
			if st.Replayed != tt.replay {
				t.Errorf("replay %+v, want %+v", st.Replayed, tt.replay)
			}
		})
	}
}

// TestJournalReset: after a save, Reset starts the journal afresh for it;
// a journal not reset (a crash between the save and the reset) is of the
// previous save and is ignored.
func TestJournalReset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f1 := File{Path: "/l/a.log", Dev: 1, Ino: 10, Offset: 100, HeadLen: 100, TailLen: 100}
	f2 := f1
	f2.Offset, f2.TailLen = 200, 200
	if err := Save(path, &State{Generation: 1}); err != nil {
		t.Fatal(err)
	}
	j, err := CreateJournal(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if err := j.Append([]File{f1}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := Save(path, &State{Generation: 2, Files: []File{f1}}); err != nil {
		t.Fatal(err)
	}
	st, err := Load(path) // saved, not reset yet
	if err != nil || !st.Replayed.Foreign || !reflect.DeepEqual(st.Files, []File{f1}) {
		t.Fatalf("before the reset: %+v %v", st, err)
	}
	if err := j.Reset(2); err != nil {
		t.Fatal(err)
	}
	if err := j.Append([]File{f2}, nil, nil); err != nil {
		t.Fatal(err)
	}
	st, err = Load(path)
	if err != nil || st.Replayed != (Replay{Records: 1}) || !reflect.DeepEqual(st.Files, []File{f2}) {
		t.Fatalf("after the reset: %+v %v", st, err)
	}
}

// TestJournalImpossibleRecord: a record that passes its CRC but holds what
// no state file may (a line past its offset) ends the replay like a torn
// one.
func TestJournalImpossibleRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := Save(path, &State{Generation: 3}); err != nil {
		t.Fatal(err)
	}
	j, err := CreateJournal(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	good := File{Path: "/x", Dev: 1, Ino: 2, Offset: 10, TailLen: 10, Line: 4}
	bad := File{Path: "/y", Dev: 1, Ino: 3, Offset: 3, Line: 9}
	if err := j.Append([]File{good, bad, good}, nil, nil); err != nil {
		t.Fatal(err)
	}
	_ = j.Close()
	st, err := Load(path)
	if err != nil || st.Replayed != (Replay{Records: 1, Torn: true}) || len(st.Files) != 1 {
		t.Fatalf("Load = %+v, %v", st, err)
	}
}

func truncateBy(t *testing.T, path string, n int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()-n); err != nil {
		t.Fatal(err)
	}
}

func appendBytes(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, path string, at int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[at] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestJournalRetired: retired content journaled after a save is added to
// the state's Retired, after what the save had, without touching Files.
func TestJournalRetired(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f := File{Path: "/l/a.log", Dev: 1, Ino: 10, Offset: 100, HeadLen: 100, TailLen: 100}
	r1 := File{Path: "/l/a.log", Dev: 1, Ino: 10, Offset: 5000, HeadLen: 1024, HeadCRC: 3, TailLen: 1024, TailCRC: 4, Line: 90}
	r2 := r1
	r2.Offset, r2.Marks = 7000, []Mark{{Offset: 5000, CRC: 4}}
	if err := Save(path, &State{Generation: 5, Files: []File{f}, Retired: []File{r1}}); err != nil {
		t.Fatal(err)
	}
	j, err := CreateJournal(path, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if err := j.Append(nil, []File{r2}, nil); err != nil {
		t.Fatal(err)
	}
	st, err := Load(path)
	if err != nil || !reflect.DeepEqual(st.Files, []File{f}) || !reflect.DeepEqual(st.Retired, []File{r1, r2}) || st.Replayed.Records != 1 {
		t.Fatalf("Load = %+v, %v", st, err)
	}
}
