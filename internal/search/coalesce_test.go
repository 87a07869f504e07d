package search

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/logscan/logscan/internal/output"
	"github.com/logscan/logscan/internal/pipeline"
)

// countingWriter counts the writes it takes.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.Buffer.Write(p)
}

// TestCoalesce: with Coalesce, the small outputs of many files go out in
// few writes, each file's whole and the same as without; a write error is
// still returned, and a large output is written through.
func TestCoalesce(t *testing.T) {
	root := t.TempDir()
	const files = 300
	for f := range files {
		body := fmt.Sprintf("x\nMATCH %03d\ny\n", f)
		if f == 7 {
			body += strings.Repeat("MATCH big line of file seven\n", 4000) // 116 KB: over Coalesce
		}
		if err := os.WriteFile(filepath.Join(root, fmt.Sprintf("f%03d.log", f)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(coalesce int, mode pipeline.Mode) *countingWriter {
		t.Helper()
		var out countingWriter
		_, err := Run(context.Background(), Options{
			Roots: []string{root}, Pipeline: pipe(t, output.Options{Filename: true}, mode, "MATCH"), Jobs: 2,
			Coalesce: coalesce, Stdout: &out, Log: zerolog.Nop(),
		})
		if err != nil {
			t.Fatal(err)
		}
		return &out
	}
	for _, mode := range []pipeline.Mode{pipeline.Lines, pipeline.Count, pipeline.FilesWithMatches} {
		each, gathered := run(0, mode), run(DefaultCoalesce, mode)
		a, b := strings.Split(each.String(), "\n"), strings.Split(gathered.String(), "\n")
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Fatalf("mode %v: output differs with Coalesce", mode)
		}
		if each.writes < files || gathered.writes > 10 {
			t.Errorf("mode %v: %d writes file by file, %d gathered; want %d or more, and at most 10", mode, each.writes, gathered.writes, files)
		}
	}
	_, err := Run(context.Background(), Options{
		Roots: []string{root}, Pipeline: pipe(t, output.Options{}, pipeline.Lines, "MATCH"),
		Coalesce: DefaultCoalesce, Stdout: failWriter{}, Log: zerolog.Nop(),
	})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v", err)
	}
}
