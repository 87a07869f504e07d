package matrix

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/logscan/logscan/bench/gentree"
)

// treeSpec says how to make one of the trees the cells name.
type treeSpec struct {
	name       string
	dir        string        // below Plan.Root
	shape      gentree.Shape // "" is gencorpus's tree
	compressed bool
	decompress bool
}

var specs = []treeSpec{
	{name: "large", dir: "large", shape: gentree.Large},
	{name: "corpus", dir: "corpus", compressed: true},
	{name: "corpus.z", dir: "corpus", compressed: true, decompress: true},
	{name: "small", dir: "small", shape: gentree.Small},
	{name: "deep", dir: "deep", shape: gentree.Deep},
	{name: "gz", dir: "gz", shape: gentree.Gzip, compressed: true, decompress: true},
	{name: "zst", dir: "zst", shape: gentree.Zstd, compressed: true, decompress: true},
}

// Plan says where the trees go and how big they are.
type Plan struct {
	Root string // one directory per tree, plus a stamp file per tree
	// Size is the matrix's scale: the size of the large tree and of
	// gencorpus's.
	Size int64
	// Minor is the size of the deep, gz and zst trees, and of the small
	// tree unless it would have fewer than SmallFiles files (0: Size/8).
	Minor int64
	// SmallFiles is the least number of files of the small tree (0:
	// gentree.MinSmallFiles); each holds gentree.SmallFileSize bytes.
	SmallFiles int
	Seed       uint64
	// Gencorpus is the module directory of ../shared/bench/gencorpus;
	// "" leaves out the corpus cells.
	Gencorpus string
}

func (p Plan) size(s treeSpec) (size int64, files int) {
	minor := cmp.Or(p.Minor, p.Size/8)
	switch s.shape {
	case "", gentree.Large:
		return p.Size, 0
	case gentree.Small:
		files = max(int(minor/gentree.SmallFileSize), cmp.Or(p.SmallFiles, gentree.MinSmallFiles))
		return int64(files) * gentree.SmallFileSize, files
	}
	return minor, 0
}

// Prepare makes every tree that is missing or was made with other
// parameters, and returns them by name. Progress goes to log.
func (p Plan) Prepare(log io.Writer) (map[string]Tree, error) {
	trees := map[string]Tree{}
	done := map[string]bool{}
	for _, s := range specs {
		if s.shape == "" && p.Gencorpus == "" {
			continue
		}
		dir := filepath.Join(p.Root, s.dir)
		if !done[s.dir] {
			if err := p.make(s, dir, log); err != nil {
				return nil, fmt.Errorf("tree %s: %w", s.name, err)
			}
			done[s.dir] = true
		}
		trees[s.name] = Tree{Name: s.name, Dir: dir, Compressed: s.compressed, Decompress: s.decompress}
	}
	return trees, nil
}

// make writes the tree unless its stamp says it is already there: the
// stamp names the generator and its parameters, and is written last.
func (p Plan) make(s treeSpec, dir string, log io.Writer) error {
	size, files := p.size(s)
	stamp := fmt.Sprintf("%s shape=%s size=%d files=%d seed=%d\n", gentree.Version, s.shape, size, files, p.Seed)
	if s.shape == "" {
		stamp = fmt.Sprintf("gencorpus size=%d seed=%d\n", size, p.Seed)
	}
	stampFile := dir + ".stamp"
	if b, err := os.ReadFile(stampFile); err == nil && string(b) == stamp {
		return nil
	}
	fmt.Fprintf(log, "generating %s: %s", dir, stamp)
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(p.Root, 0o755); err != nil {
		return err
	}
	if s.shape == "" {
		cmd := exec.Command("go", "run", "./gencorpus", "-out", dir, "-size", strconv.FormatInt(size, 10), "-seed", strconv.FormatUint(p.Seed, 10))
		cmd.Dir = p.Gencorpus
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%v in %s: %v: %s", cmd.Args, cmd.Dir, err, bytes.TrimSpace(out))
		}
	} else if err := gentree.Generate(gentree.Options{Dir: dir, Shape: s.shape, Size: size, Files: files, Seed: p.Seed}); err != nil {
		return err
	}
	return os.WriteFile(stampFile, []byte(stamp), 0o644)
}

// probes are the literals whose share of lines is measured on each tree
// and printed with the table: the densities the cells rely on.
func probes(tree string) [][]string {
	if tree == "corpus" || tree == "corpus.z" {
		return [][]string{{"-e", "deadbeef"}, {"-e", "ERROR"}, {"-e", "GET"}, {"-i", "-e", "error"}}
	}
	return [][]string{{"-e", gentree.Rare}, {"-e", gentree.Error}, {"-e", gentree.Get}, {"-e", gentree.Year}, {"-i", "-e", gentree.Echec}}
}

// Densities measures, with rg -c, the share of t's lines that each probe
// selects, and returns it as one line of text.
func Densities(t Tree) (string, error) {
	count := func(args ...string) (int64, error) {
		c := Cell{Args: append([]string{"-c"}, args...), Count: Sum}
		s, err := RunOnce(Argv(RG, "", c, t), Sum, RG, 0)
		return s.Count, err
	}
	total, err := count("-e", "")
	if err != nil || total == 0 {
		return "", fmt.Errorf("counting the lines of %s: %v (%d lines)", t.Dir, err, total)
	}
	line := fmt.Sprintf("%s: %d lines;", t.Name, total)
	for _, pr := range probes(t.Name) {
		n, err := count(pr...)
		if err != nil {
			return "", err
		}
		line += fmt.Sprintf(" `%s` %.3g%%", argsText(pr), 100*float64(n)/float64(total))
	}
	return line, nil
}

func argsText(args []string) string {
	var b bytes.Buffer
	for i, a := range args {
		if a == "-e" {
			continue
		}
		if i > 0 && b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a)
	}
	return b.String()
}
