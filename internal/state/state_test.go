package state

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	in := &State{Files: []File{
		{Path: "/var/log/syslog", Dev: 2049, Ino: 12, Offset: 4096, HeadLen: 1024, HeadCRC: 7, TailLen: 1024, TailCRC: 9,
			Marks: []Mark{{Offset: 1000, CRC: 5}, {Offset: 4000, CRC: 6}}},
		{Path: "/var/log/messages", Dev: 2049, Ino: 13, Offset: 5, HeadLen: 5, HeadCRC: 1, TailLen: 5, TailCRC: 1, Skipping: true, Line: 2, Declined: true},
		{Path: "/var/log/messages.1.gz", Dev: 2049, Ino: 14, Offset: 9000, HeadLen: 1024, HeadCRC: 3, TailLen: 1024, TailCRC: 4, Line: 300, Compressed: true, Done: true},
	}, Decompress: true}
	if err := Save(path, in); err != nil {
		t.Fatal(err)
	}
	out, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if out.Kind != Kind || out.Version != Version || !out.Decompress || !reflect.DeepEqual(out.Files, in.Files) {
		t.Fatalf("round trip: got %+v, want %+v", out, in)
	}
	// Saving again replaces the file and leaves no temporary files behind.
	if err := Save(path, &State{}); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries after two saves, want 1", len(ents))
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode = %v (%v), want 0600", fi.Mode(), err)
	}
}

func TestLoadMissing(t *testing.T) {
	st, err := Load(filepath.Join(t.TempDir(), "none.json"))
	if st != nil || err != nil {
		t.Fatalf("Load(missing) = %v, %v; want nil, nil", st, err)
	}
}

// TestLoadCorrupt: every kind of bad file is refused with ErrCorrupt and an
// error naming the file and the reason.
func TestLoadCorrupt(t *testing.T) {
	tests := []struct{ name, content, why string }{
		{"empty", "", "EOF"},
		{"garbage", "\x00\x01\x02", "invalid character"},
		{"truncated", `{"kind":"logscan-state","version":1,"files":[{"path":"/x","dev":1`, "unexpected EOF"},
		{"foreign", `{"kind":"other","version":1,"files":[]}`, `kind is "other"`},
		{"no kind", `{"version":1,"files":[]}`, "kind is"},
		{"unknown field", `{"kind":"logscan-state","version":1,"files":[],"extra":1}`, "unknown field"},
		{"version", `{"kind":"logscan-state","version":5,"files":[]}`, "version 5"},
		{"mark past offset", `{"kind":"logscan-state","version":3,"files":[{"path":"/x","offset":3,"marks":[{"offset":4,"crc32c":1}]}]}`, "marks"},
		{"marks out of order", `{"kind":"logscan-state","version":3,"files":[{"path":"/x","offset":9,"marks":[{"offset":4},{"offset":4}]}]}`, "marks"},
		{"mark at 0", `{"kind":"logscan-state","version":3,"files":[{"path":"/x","offset":9,"marks":[{"offset":0}]}]}`, "marks"},
		{"version 0", `{"kind":"logscan-state","version":0,"files":[]}`, "version 0"},
		{"negative line", `{"kind":"logscan-state","version":2,"files":[{"path":"/x","offset":3,"line":-1}]}`, "line number -1"},
		{"line past offset", `{"kind":"logscan-state","version":2,"files":[{"path":"/x","offset":3,"line":5}]}`, "line number 5"},
		{"line at offset 0", `{"kind":"logscan-state","version":2,"files":[{"path":"/x","offset":0,"line":2}]}`, "line number 2"},
		{"done plain file", `{"kind":"logscan-state","version":2,"files":[{"path":"/x","done":true}]}`, "done but not compressed"},
		{"negative offset", `{"kind":"logscan-state","version":1,"files":[{"path":"/x","offset":-1}]}`, "files[0]"},
		{"tail longer than offset", `{"kind":"logscan-state","version":1,"files":[{"path":"/x","offset":3,"tail_len":4}]}`, "files[0]"},
		{"trailing data", `{"kind":"logscan-state","version":1,"files":[]} {}`, "trailing data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			st, err := Load(path)
			if st != nil || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Load = %v, %v; want ErrCorrupt", st, err)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.why) {
				t.Errorf("error %q should name %s and say %q", err, path, tt.why)
			}
		})
	}
}

func TestSaveErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, path string }{
		{"missing directory", filepath.Join(dir, "no", "such", "state.json")},
		{"target is a directory", dir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Save(tt.path, &State{})
			if err == nil || !strings.Contains(err.Error(), "state:") {
				t.Fatalf("Save(%s) = %v, want an error", tt.path, err)
			}
		})
	}
	// A failed save leaves no temporary file behind.
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// TestGoldenFormat pins the on-disk format: a change to it must be a
// deliberate new Version.
func TestGoldenFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	st := &State{Decompress: true, Generation: 1 << 40, Files: []File{
		{Path: "/var/log/app.log", Dev: 64768, Ino: 131074, Offset: 2048,
			HeadLen: 1024, HeadCRC: Checksum([]byte("head")), TailLen: 1024, TailCRC: Checksum([]byte("tail")), Line: 40,
			Marks: []Mark{{Offset: 1024, CRC: Checksum([]byte("m1"))}, {Offset: 1500, CRC: Checksum([]byte("m2"))}}},
		{Path: "/var/log/app.log.1.gz", Dev: 64768, Ino: 131075, Offset: 4096,
			HeadLen: 1024, HeadCRC: Checksum([]byte("head")), TailLen: 1024, TailCRC: Checksum([]byte("tail2")), Line: 81,
			Compressed: true, Done: true},
		{Path: "/var/log/core.bin", Dev: 64768, Ino: 131076, Offset: 100,
			HeadLen: 100, HeadCRC: Checksum([]byte("bin")), TailLen: 100, TailCRC: Checksum([]byte("bin")), Line: 1, Declined: true},
	}, Retired: []File{
		{Path: "/var/log/app.log", Dev: 64768, Ino: 131074, Offset: 9000,
			HeadLen: 1024, HeadCRC: Checksum([]byte("old head")), TailLen: 1024, TailCRC: Checksum([]byte("old tail")), Line: 200},
	}, Aggregates: []byte(`{"metrics":{}}`)}
	if err := Save(path, st); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "state.golden")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("format changed:\n got %s\nwant %s", got, want)
	}
	back, err := Load(golden)
	if err != nil || !back.Decompress || !reflect.DeepEqual(back.Files, st.Files) || !reflect.DeepEqual(back.Retired, st.Retired) ||
		string(back.Aggregates) != string(st.Aggregates) {
		t.Errorf("golden file does not load back: %v %+v", err, back)
	}
}

// TestLoadVersion1: a state file written before line numbers, declined and
// compressed files loads, with every new field zero: line numbers unknown,
// files wanted, and no compressed files tracked.
func TestLoadVersion1(t *testing.T) {
	st, err := Load(filepath.Join("testdata", "state-v1.golden"))
	if err != nil {
		t.Fatal(err)
	}
	want := File{Path: "/var/log/app.log", Dev: 64768, Ino: 131074, Offset: 2048,
		HeadLen: 1024, HeadCRC: Checksum([]byte("head")), TailLen: 1024, TailCRC: Checksum([]byte("tail"))}
	if st.Version != 1 || st.Decompress || len(st.Files) != 1 || !reflect.DeepEqual(st.Files[0], want) {
		t.Fatalf("version 1 file loaded as %+v, want version 1 with %+v", st, want)
	}
}

// TestLoadVersion2: a state file written before marks loads, with none.
func TestLoadVersion2(t *testing.T) {
	st, err := Load(filepath.Join("testdata", "state-v2.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != 2 || len(st.Files) != 3 || st.Files[0].Line != 40 || st.Files[0].Marks != nil {
		t.Fatalf("version 2 file loaded as %+v", st)
	}
}

// TestLoadVersion3: a state file written before aggregates loads, with none.
func TestLoadVersion3(t *testing.T) {
	st, err := Load(filepath.Join("testdata", "state-v3.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != 3 || len(st.Files) != 3 || st.Aggregates != nil || len(st.Retired) != 1 {
		t.Fatalf("version 3 file loaded as %+v", st)
	}
}
