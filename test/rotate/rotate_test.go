package rotate_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/logscan/logscan/internal/testutil"
)

// scenario is one way of rotating the tree's logs.
type scenario struct {
	name     string
	files    int    // 1: tree/app.log; more: tree/dNN/app.log under one glob
	method   string // "create" (with a postrotate HUP) or "copytruncate"
	compress bool
	dateext  bool
	olddir   string // "", "in" (tree/old) or "out" (beside the tree)
	size     bool   // `size` about 0.7 s of writing, and logrotate runs without -f
	cpScript bool   // `cp app.log app.log.1; truncate -s 0 app.log` every 20–80 ms instead of logrotate
	restart  syscall.Signal
}

var scenarios = []scenario{
	{name: "create", files: 1, method: "create"},
	{name: "copytruncate", files: 1, method: "copytruncate"},
	{name: "copytruncate-compress", files: 1, method: "copytruncate", compress: true},
	{name: "dateext", files: 1, method: "copytruncate", dateext: true},
	{name: "size", files: 1, method: "copytruncate", size: true},
	{name: "olddir-in-create", files: 1, method: "create", olddir: "in"},
	{name: "olddir-in-copytruncate", files: 1, method: "copytruncate", olddir: "in"},
	{name: "olddir-out-create", files: 1, method: "create", olddir: "out"},
	{name: "olddir-out-copytruncate", files: 1, method: "copytruncate", olddir: "out"},
	{name: "glob20", files: 20, method: "copytruncate"},
	{name: "cp-truncate", files: 1, cpScript: true},
	{name: "restart-term", files: 1, method: "copytruncate", restart: syscall.SIGTERM},
	{name: "restart-kill", files: 1, method: "copytruncate", restart: syscall.SIGKILL},
}

// knobs are the run's length, seeds and rate, from the environment.
type knobs struct {
	duration  time.Duration
	firstSeed uint64
	seeds     int
	rate      int
}

func readKnobs(t *testing.T) knobs {
	t.Helper()
	k := knobs{duration: 4 * time.Second, firstSeed: 1, seeds: 1, rate: 2000}
	if v := os.Getenv("LOGSCAN_ROTATE_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("LOGSCAN_ROTATE_DURATION=%q: want a positive duration", v)
		}
		k.duration = d
	}
	for _, e := range []struct {
		name string
		dst  *int
	}{{"LOGSCAN_ROTATE_SEEDS", &k.seeds}, {"LOGSCAN_ROTATE_RATE", &k.rate}} {
		if v := os.Getenv(e.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				t.Fatalf("%s=%q: want a positive number", e.name, v)
			}
			*e.dst = n
		}
	}
	if v := os.Getenv("LOGSCAN_ROTATE_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("LOGSCAN_ROTATE_SEED=%q: want a number", v)
		}
		k.firstSeed = n
	}
	return k
}

// TestRotate runs every scenario at each seed. The runs go on two at a time
// (go test's -parallel defaults to GOMAXPROCS).
func TestRotate(t *testing.T) {
	lr := testutil.Logrotate(t)
	k := readKnobs(t)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			for i := range k.seeds {
				seed := k.firstSeed + uint64(i)
				t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
					t.Parallel()
					runScenario(t, lr, sc, seed, k)
				})
			}
		})
	}
}

// run is one scenario at one seed.
type run struct {
	t                                    *testing.T
	sc                                   scenario
	seed                                 uint64
	lr                                   string
	rate                                 int
	scratch                              string
	tree, outside, state, conf, lrs, hup string
	tags                                 []string
	followers                            []*follower
}

func (r *run) startLogscan() *follower {
	f := startLogscan(r.t, "--state-file", r.state, r.tree)
	r.followers = append(r.followers, f)
	return f
}

func (r *run) setup() {
	t := r.t
	scratch := t.TempDir()
	r.scratch = scratch
	r.tree = filepath.Join(scratch, "tree")
	r.outside = filepath.Join(scratch, "outside")
	r.state = filepath.Join(scratch, "state.json")
	r.conf = filepath.Join(scratch, "logrotate.conf")
	r.lrs = filepath.Join(scratch, "logrotate.status")
	r.hup = filepath.Join(scratch, "hup")
	for _, d := range []string{r.tree, r.outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if r.sc.olddir == "in" {
		if err := os.Mkdir(filepath.Join(r.tree, "old"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if r.sc.files == 1 {
		r.tags = []string{"app.log"}
	} else {
		for i := range r.sc.files {
			tag := fmt.Sprintf("d%02d/app.log", i)
			if err := os.Mkdir(filepath.Join(r.tree, filepath.Dir(tag)), 0o755); err != nil {
				t.Fatal(err)
			}
			r.tags = append(r.tags, tag)
		}
	}
	for _, tag := range r.tags {
		if err := os.WriteFile(filepath.Join(r.tree, tag), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !r.sc.cpScript {
		if err := os.WriteFile(r.conf, []byte(r.config()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// config is the logrotate config of the scenario. Paths come from
// t.TempDir and hold no spaces; olddir takes no quotes.
func (r *run) config() string {
	var b strings.Builder
	pattern := filepath.Join(r.tree, "app.log")
	if r.sc.files > 1 {
		pattern = filepath.Join(r.tree, "d*", "app.log")
	}
	fmt.Fprintf(&b, "%q {\n\trotate 500\n\tmissingok\n", pattern)
	switch r.sc.method {
	case "create":
		fmt.Fprintf(&b, "\tcreate 0644\n\tpostrotate\n\t\ttouch %q\n\tendscript\n", r.hup)
	case "copytruncate":
		b.WriteString("\tcopytruncate\n")
	}
	if r.sc.compress {
		b.WriteString("\tcompress\n")
	}
	if r.sc.dateext {
		b.WriteString("\tdateext\n\tdateformat -%Y%m%d-%s\n")
	}
	switch r.sc.olddir {
	case "in":
		fmt.Fprintf(&b, "\tolddir %s\n", filepath.Join(r.tree, "old"))
	case "out":
		fmt.Fprintf(&b, "\tolddir %s\n", r.outside)
	}
	if r.sc.size {
		// ~71 bytes a line: a run 0.5 s after the last rotation finds the
		// file too small, one after 0.7 s rotates it.
		fmt.Fprintf(&b, "\tsize %dk\n", max(1, r.rate*48/1024))
	}
	b.WriteString("}\n")
	return b.String()
}

// writer writes lines to every tag's file at a steady total rate, round
// robin, one write(2) per line, through one O_APPEND descriptor per file that
// it never reopens, except when the postrotate script has touched hup.
type writer struct {
	tree    string
	tags    []string
	rate    int
	hup     string // "" never reopen
	files   []*os.File
	n       []int // lines written per tag
	reopens int
	err     error
	done    chan struct{}
}

func openAppend(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
}

func (w *writer) open() error {
	for i, tag := range w.tags {
		f, err := openAppend(filepath.Join(w.tree, tag))
		if err != nil {
			return err
		}
		if w.files[i] != nil {
			_ = w.files[i].Close()
		}
		w.files[i] = f
	}
	return nil
}

func (w *writer) run(stop <-chan struct{}) {
	defer close(w.done)
	defer func() {
		for _, f := range w.files {
			if err := f.Close(); err != nil && w.err == nil {
				w.err = err
			}
		}
	}()
	start := time.Now()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	total := 0
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		if w.hup != "" {
			if _, err := os.Stat(w.hup); err == nil {
				if err := os.Remove(w.hup); err != nil {
					w.err = err
					return
				}
				if err := w.open(); err != nil {
					w.err = err
					return
				}
				w.reopens++
			}
		}
		due := int(time.Since(start).Seconds() * float64(w.rate))
		for ; total < due; total++ {
			i := total % len(w.tags)
			seq := w.n[i] + 1
			if _, err := w.files[i].WriteString(lineText(w.tags[i], seq) + "\n"); err != nil {
				w.err = err
				return
			}
			w.n[i] = seq
		}
	}
}

// rotator rotates at seeded random intervals until stop.
type rotator struct {
	r        *run
	rng      *rand.Rand
	steps    int       // rotations run (logrotate exit 0, or one cp/truncate)
	last     time.Time // when the last step ended
	errs     []string  // logrotate failures
	snapshot disk      // lines seen in the tree after each cp/truncate step
	done     chan struct{}
}

func (ro *rotator) run(stop <-chan struct{}) {
	defer close(ro.done)
	var last time.Time
	for {
		var wait time.Duration
		if ro.r.sc.cpScript {
			wait = time.Duration(20+ro.rng.IntN(61)) * time.Millisecond
		} else {
			wait = time.Duration(500+ro.rng.IntN(2001)) * time.Millisecond
		}
		if ro.r.sc.dateext {
			// The date suffix has one-second resolution: a second
			// rotation within the same second would be refused.
			next := last.Truncate(time.Second).Add(time.Second + 10*time.Millisecond)
			wait = max(wait, time.Until(next))
		}
		select {
		case <-stop:
			return
		case <-time.After(wait):
		}
		last = time.Now()
		ro.step()
	}
}

func (ro *rotator) step() {
	defer func() { ro.last = time.Now() }()
	r := ro.r
	if r.sc.cpScript {
		cmd := exec.Command("sh", "-c", "cp app.log app.log.1; truncate -s 0 app.log")
		cmd.Dir = r.tree
		if out, err := cmd.CombinedOutput(); err != nil {
			ro.errs = append(ro.errs, fmt.Sprintf("cp/truncate: %v: %s", err, out))
			return
		}
		ro.steps++
		ro.snapshot.scan(r.t, r.tree, inTree, nil)
		return
	}
	args := []string{"-s", r.lrs}
	if !r.sc.size {
		args = append(args, "-f")
	}
	out, err := exec.Command(r.lr, append(args, r.conf)...).CombinedOutput()
	if err != nil {
		ro.errs = append(ro.errs, fmt.Sprintf("logrotate: %v: %s", err, out))
		return
	}
	ro.steps++
}

// figures are one run's counts.
type figures struct {
	written, lost, lostAbsent, lostOutside, lostInTree int
	dup, torn, cut                                     int
	steps, rotated, restarts, kills, reopens           int
}

func runScenario(t *testing.T, lr string, sc scenario, seed uint64, k knobs) {
	r := &run{t: t, sc: sc, seed: seed, lr: lr, rate: k.rate}
	r.setup()
	f := r.startLogscan()

	stop := make(chan struct{})
	w := &writer{tree: r.tree, tags: r.tags, rate: k.rate, files: make([]*os.File, len(r.tags)), n: make([]int, len(r.tags)), done: make(chan struct{})}
	if sc.method == "create" {
		w.hup = r.hup
	}
	if err := w.open(); err != nil {
		t.Fatal(err)
	}
	ro := &rotator{r: r, rng: rand.New(rand.NewPCG(seed, 1)), snapshot: disk{}, done: make(chan struct{})}
	var stopOnce sync.Once
	stopAll := func() {
		stopOnce.Do(func() { close(stop) })
		<-w.done
		<-ro.done
	}
	go w.run(stop)
	go ro.run(stop)
	defer stopAll() // a Fatal half-way still ends both goroutines

	var fig figures
	end := time.Now().Add(k.duration)
	if sc.restart != 0 {
		rng := rand.New(rand.NewPCG(seed, 2))
		for {
			next := time.Now().Add(time.Duration(600+rng.IntN(1201)) * time.Millisecond)
			if next.After(end) {
				break
			}
			time.Sleep(time.Until(next)) // pacing: when the next restart comes
			if sc.restart == syscall.SIGKILL {
				// A kill before the first save loses lines
				// (TestReproKillBeforeFirstSave); here the figure
				// is the window after a save that kill -9 repeats.
				waitSaved(t, f, r.state, 10*time.Second)
				f.Stop(t, syscall.SIGKILL, 10*time.Second)
				f.killed = true
				fig.kills++
			} else {
				stopClean(t, f)
			}
			time.Sleep(time.Duration(50+rng.IntN(351)) * time.Millisecond) // pacing: logscan is down
			f = r.startLogscan()
			fig.restarts++
		}
	}
	time.Sleep(time.Until(end)) // pacing: the run's length
	stopAll()
	if w.err != nil {
		t.Errorf("writer: %v", w.err)
	}
	for _, e := range ro.errs {
		t.Errorf("%s", e)
	}

	// Every line on disk now, plus what the cp/truncate steps saw.
	onDisk, followed := disk{}, disk{}
	onDisk.scan(t, r.tree, inTree, followed)
	onDisk.scan(t, r.outside, outside, nil)
	for key, p := range ro.snapshot {
		onDisk.add(key, p)
	}
	settled := ro.last
	if f.started.After(settled) {
		settled = f.started
	}
	complete := quiesce(t, r.followers, followed, settled)
	stopClean(t, f)

	written := map[string]int{}
	for i, tag := range r.tags {
		written[tag] = w.n[i]
		fig.written += w.n[i]
	}
	tl := count(r.followers, written)
	var lostEx []string
	for i, tag := range r.tags {
		for seq := 1; seq <= w.n[i]; seq++ {
			key := key{tag, seq}
			if len(tl.emitted[key]) > 0 {
				continue
			}
			fig.lost++
			p, ok := onDisk[key]
			switch {
			case !ok:
				fig.lostAbsent++
			case p.class == outside:
				fig.lostOutside++
			default:
				fig.lostInTree++
			}
			if ok && len(lostEx) < 5 {
				lostEx = append(lostEx, fmt.Sprintf("%v (on disk in %s)", key, p.path))
			}
		}
	}
	var dupEx []string
	fig.dup, dupEx = tl.dups(5)
	fig.torn, fig.cut = len(tl.torn), tl.cut
	fig.steps, fig.reopens = ro.steps, w.reopens
	fig.rotated = rotatedFiles(t, r)

	// The targets.
	if fig.written < int(k.duration.Seconds()*float64(k.rate))/2 {
		t.Errorf("the writer wrote %d lines, less than half of %s at %d/s", fig.written, k.duration, k.rate)
	}
	if fig.steps == 0 || fig.rotated == 0 {
		t.Errorf("nothing was rotated: %d rotation steps, %d rotated files on disk", fig.steps, fig.rotated)
	}
	if sc.restart != 0 && fig.restarts == 0 {
		t.Errorf("logscan was never restarted")
	}
	if sc.method == "create" && fig.reopens == 0 {
		t.Errorf("the writer never reopened its file: the postrotate HUP did not arrive")
	}
	if fig.lostInTree > 0 {
		t.Errorf("%d lines lost that are in files in the tree, e.g. %v", fig.lostInTree, lostEx)
	}
	if fig.lostOutside > 0 && sc.olddir != "out" {
		t.Errorf("%d lines lost that are in files outside the tree, e.g. %v", fig.lostOutside, lostEx)
	}
	if sc.method == "create" && sc.olddir != "out" && fig.lost > 0 {
		t.Errorf("%d lines lost under create (%d absent from disk)", fig.lost, fig.lostAbsent)
	}
	// kill -9 may repeat what was printed since the last save: one
	// second's worth (the save interval) per kill, and nothing else.
	dupBound := 0
	mostAfterKill, by, cross := tl.repeatsAfterRestart()
	if sc.restart == syscall.SIGKILL {
		dupBound = fig.kills * k.rate
		if mostAfterKill > k.rate {
			t.Errorf("logscan f%d, started after a kill -9, repeated %d lines, more than one second's worth (%d)", by, mostAfterKill, k.rate)
		}
		if self := fig.dup - cross; self > 0 {
			t.Errorf("%d lines printed twice by the same logscan, e.g. %v", self, dupEx)
		}
	}
	if fig.dup > dupBound {
		t.Errorf("%d lines printed twice or more (allowed %d), e.g. %v", fig.dup, dupBound, dupEx)
	}
	if fig.torn > 0 {
		t.Errorf("%d printed lines are no complete writer line, e.g. %.300q", fig.torn, tl.torn[:min(3, len(tl.torn))])
	}
	if !complete && !t.Failed() {
		t.Errorf("logscan had not printed every line in the tree's files when its output went quiet")
	}

	verdict := "PASS"
	if t.Failed() {
		verdict = "FAIL"
		for i, f := range r.followers {
			t.Logf("logscan f%d diagnostics: %s", i+1, tail(f.Logs(), 4000))
		}
		keep(t, r.scratch, r.followers)
	}
	t.Logf("ROTATE scenario=%s seed=%d written=%d lost=%d lost_absent=%d lost_outside=%d lost_in_tree=%d dup=%d dup_bound=%d dup_max_restart=%d torn=%d cut=%d steps=%d rotated_files=%d restarts=%d kills=%d reopens=%d verdict=%s",
		sc.name, seed, fig.written, fig.lost, fig.lostAbsent, fig.lostOutside, fig.lostInTree,
		fig.dup, dupBound, mostAfterKill, fig.torn, fig.cut, fig.steps, fig.rotated, fig.restarts, fig.kills, fig.reopens, verdict)
}

// rotatedFiles counts the files on disk other than the live logs.
func rotatedFiles(t *testing.T, r *run) int {
	t.Helper()
	live := map[string]bool{}
	for _, tag := range r.tags {
		live[filepath.Join(r.tree, tag)] = true
	}
	n := 0
	for _, root := range []string{r.tree, r.outside} {
		err := filepath.WalkDir(root, func(path string, e os.DirEntry, err error) error {
			if err == nil && e.Type().IsRegular() && !live[path] {
				n++
			}
			return err
		})
		if err != nil {
			t.Error(err)
		}
	}
	return n
}
