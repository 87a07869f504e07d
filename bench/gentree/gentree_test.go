package gentree

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestDeterministic checks that the same options write the same bytes,
// whatever the order the parallel workers finish in: the matrix reuses a
// tree only because of that.
func TestDeterministic(t *testing.T) {
	// Large, Small and Deep differ only in the layout; the compressors
	// are what could bring in nondeterminism.
	for _, shape := range []Shape{Large, Gzip, Zstd} {
		t.Run(string(shape), func(t *testing.T) {
			a, b := t.TempDir(), t.TempDir()
			for _, d := range []string{a, b} {
				if err := Generate(Options{Dir: d, Shape: shape, Size: 256 << 10, Files: 4, Seed: 3}); err != nil {
					t.Fatal(err)
				}
			}
			want := readTree(t, a)
			got := readTree(t, b)
			if len(want) == 0 || len(got) != len(want) {
				t.Fatalf("%d files, then %d", len(want), len(got))
			}
			for p, w := range want {
				if got[p] != w {
					t.Errorf("%s differs between two runs", p)
				}
			}
		})
	}
}

func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		m[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
