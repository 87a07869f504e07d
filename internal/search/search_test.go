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

	"github.com/logscan/logscan/internal/match"
	"github.com/logscan/logscan/internal/output"
	"github.com/logscan/logscan/internal/pipeline"
)

func pipe(t testing.TB, popts output.Options, mode pipeline.Mode, patterns ...string) *pipeline.Pipeline {
	t.Helper()
	m, err := match.Compile([]match.Rule{{Match: patterns}}, match.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &pipeline.Pipeline{Matcher: m, Printer: output.NewPrinter(popts), Mode: mode, MaxCount: -1, Numbers: popts.LineNumbers}
}

// TestOutputNeverInterleaves runs many workers over files with many matches
// each and a tiny flush threshold's worth of output, and checks that every
// file's lines come out together and in order.
func TestOutputNeverInterleaves(t *testing.T) {
	root := t.TempDir()
	const files, lines = 16, 20000
	for f := range files {
		var b strings.Builder
		for i := range lines {
			fmt.Fprintf(&b, "file%02d line%06d MATCH padding padding padding\n", f, i)
		}
		if err := os.WriteFile(filepath.Join(root, fmt.Sprintf("f%02d.log", f)), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{
		Roots: []string{root}, Pipeline: pipe(t, output.Options{}, pipeline.Lines, "MATCH"), Jobs: 4, BufSize: 4096, OutputBuffer: 8192,
		Stdout: &out, Log: zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Matches != files*lines || res.Files != files {
		t.Fatalf("result %+v", res)
	}
	seen := map[string]int{}
	var order []string
	prev := ""
	for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		file, n := l[:6], 0
		fmt.Sscanf(l[11:17], "%d", &n)
		if file != prev {
			if _, again := seen[file]; again {
				t.Fatalf("lines of %s interleaved with another file", file)
			}
			order = append(order, file)
			prev = file
		} else if n != seen[file]+1 {
			t.Fatalf("%s: line %d after %d", file, n, seen[file])
		}
		seen[file] = n
	}
	if len(order) != files {
		t.Fatalf("saw %d files", len(order))
	}
}

func TestLineNumbersAcrossBlocks(t *testing.T) {
	root := t.TempDir()
	var b strings.Builder
	var want []string
	for i := 1; i <= 5000; i++ {
		if i%7 == 0 {
			fmt.Fprintf(&b, "hit %d\n", i)
			want = append(want, fmt.Sprintf("%d:hit %d", i, i))
		} else {
			fmt.Fprintf(&b, "miss %d\n", i)
		}
	}
	p := filepath.Join(root, "x.log")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, buf := range []int{64, 100, 4096} {
		var out bytes.Buffer
		_, err := Run(context.Background(), Options{
			Roots: []string{p}, Pipeline: pipe(t, output.Options{LineNumbers: true}, pipeline.Lines, "hit"), Jobs: 1, BufSize: buf,
			Stdout: &out, Log: zerolog.Nop(),
		})
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if !slices.Equal(got, want) {
			t.Errorf("bufsize %d: %d lines, first %q", buf, len(got), got[0])
		}
	}
}

func TestBinaryAndEmpty(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "bin"), []byte("MATCH\x00\x01"), 0o644)
	os.WriteFile(filepath.Join(root, "empty"), nil, 0o644)
	os.WriteFile(filepath.Join(root, "text"), []byte("MATCH"), 0o644)
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{
		Roots: []string{root}, Pipeline: pipe(t, output.Options{}, pipeline.Lines, "MATCH"), Jobs: 2,
		Stdout: &out, Log: zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Binary != 1 || res.Matches != 1 || out.String() != "MATCH\n" {
		t.Errorf("res %+v out %q", res, out.String())
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, fmt.Errorf("disk full") }

func TestWriteErrorIsReturned(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "a"), []byte("MATCH\n"), 0o644)
	_, err := Run(context.Background(), Options{
		Roots: []string{root}, Pipeline: pipe(t, output.Options{}, pipeline.Lines, "MATCH"),
		Stdout: failWriter{}, Log: zerolog.Nop(),
	})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v", err)
	}
}

// TestQuietStopsEarly checks -q stops the whole search at the first match.
func TestQuietStopsEarly(t *testing.T) {
	root := t.TempDir()
	for i := range 50 {
		os.WriteFile(filepath.Join(root, fmt.Sprintf("%02d", i)), []byte("MATCH\n"), 0o644)
	}
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{
		Roots: []string{root}, Pipeline: pipe(t, output.Options{}, pipeline.Quiet, "MATCH"), Jobs: 1,
		Stdout: &out, Log: zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Matches != 1 || out.Len() != 0 {
		t.Errorf("quiet: %+v %q", res, out.String())
	}
}
