package state

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the state reader: it must either return
// a state it can vouch for or an error wrapping ErrCorrupt, never panic and
// never hand back a state with impossible values that a resume would trust.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"kind":"logscan-state","version":1,"files":[{"path":"/var/log/syslog","dev":2049,"ino":12,"offset":100,"head_len":100,"head_crc":1,"tail_len":100,"tail_crc":2}]}`))
	f.Add([]byte(`{"kind":"logscan-state","version":2,"decompress":true,"files":[{"path":"/var/log/syslog.1.gz","dev":2049,"ino":13,"offset":100,"head_len":100,"head_crc32c":1,"tail_len":100,"tail_crc32c":2,"line":7,"compressed":true,"done":true}]}`))
	f.Add([]byte(`{"kind":"logscan-state","version":3,"files":[]}`))
	f.Add([]byte(`{"kind":"other","version":1}`))
	f.Add([]byte(`{"kind":"logscan-state","version":1,"files":[{"offset":-5}]}`))
	f.Add([]byte(`{"kind":"logscan-state","version":1,"files":[`))
	f.Add([]byte{})
	f.Add([]byte("\x00\x01\x02"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "state.json")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := Load(p)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
			if st != nil {
				t.Fatalf("a state came back with the error %v", err)
			}
			return
		}
		if st == nil {
			if len(data) != 0 {
				t.Fatalf("nil state and nil error for %d bytes", len(data))
			}
			return
		}
		for _, fl := range st.Files {
			if fl.Offset < 0 || fl.HeadLen < 0 || fl.TailLen < 0 || int64(fl.TailLen) > fl.Offset ||
				fl.Line < 0 || fl.Line > fl.Offset+1 || fl.Done && !fl.Compressed || !marksValid(fl) {
				t.Fatalf("implausible entry trusted: %+v", fl)
			}
		}
	})
}

// FuzzJournal feeds arbitrary bytes after a valid journal header: the
// replay must never panic, and every record it applies must be one a state
// file could hold.
func FuzzJournal(f *testing.F) {
	path := filepath.Join(f.TempDir(), "seed.json")
	if err := Save(path, &State{Generation: 9}); err != nil {
		f.Fatal(err)
	}
	j, err := CreateJournal(path, 9)
	if err != nil {
		f.Fatal(err)
	}
	if err := j.Append([]File{{Path: "/a", Dev: 1, Ino: 2, Offset: 300, TailLen: 300, Line: 7, Marks: []Mark{{Offset: 100, CRC: 1}}}}, []File{{Path: "/r", Dev: 1, Ino: 3, Offset: 9, TailLen: 9}}, []byte(`{"m":1}`)); err != nil {
		f.Fatal(err)
	}
	_ = j.Close()
	seed, err := os.ReadFile(JournalPath(path))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed[headerLen:])
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "state.json")
		if err := Save(p, &State{Generation: 9}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(JournalPath(p), append(append([]byte(nil), seed[:headerLen]...), data...), 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := Load(p)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		for _, fl := range st.Files {
			if err := checkFile(fl); err != nil {
				t.Fatalf("implausible record replayed: %+v: %v", fl, err)
			}
		}
	})
}
