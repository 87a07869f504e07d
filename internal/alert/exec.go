package alert

import (
	"context"
	"errors"
	"maps"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	maxOutput = 64 << 10 // of each of a command's stdout and stderr, logged
	// waitDelay bounds the wait for a command's output after it exited,
	// or after it was killed: a child it left may hold the pipes open.
	waitDelay = time.Second
)

// runExec runs d's commands, at most MaxRunning at once, until the run
// context is done (then the running ones are killed and waited for) or,
// once Close started draining, nothing is pending or running.
func (e *Engine) runExec(d *dest) {
	var cmds sync.WaitGroup
	defer cmds.Wait()
	ctx, drain, draining := e.run, e.wake.Done(), false
	for {
		for {
			t, ok := e.takeCommand(d)
			if !ok {
				break
			}
			cmds.Add(1)
			go func() {
				defer cmds.Done()
				e.runCommand(ctx, d, t)
			}()
		}
		if draining && e.idle(d) {
			return
		}
		select {
		case <-d.kick:
		case <-drain:
			draining, drain = true, nil
		case <-ctx.Done():
			return
		}
	}
}

// takeCommand takes the oldest pending notification of d when fewer than
// MaxRunning commands run.
func (e *Engine) takeCommand(d *dest) (taken, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if d.running >= d.exec.MaxRunning {
		return taken{}, false
	}
	for _, ent := range d.queue {
		if !ent.busy {
			ent.busy = true
			d.running++
			return taken{ent: ent, seq: ent.seq, n: ent.n}, true
		}
	}
	return taken{}, false
}

func (e *Engine) idle(d *dest) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return d.running == 0 && len(d.queue) == 0
}

// runCommand runs d's argv for t in a process group of its own, killed
// whole at the timeout. A command that ran to its end, failed or timed out
// is done: it is not run again, since it may have had effects. One killed
// because Close's time was up stays pending, to run again after a restart
// (at least once: LOGSCAN_IDEMPOTENCY_KEY lets it tell).
func (e *Engine) runCommand(ctx context.Context, d *dest, t taken) {
	cctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, d.path, d.exec.Argv[1:]...)
	cmd.Args[0] = d.exec.Argv[0]
	cmd.Env = execEnv(e.baseEnv, t.n)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = waitDelay
	var stdout, stderr capped
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success() {
		err = nil // it exited 0; a child of its own kept the output open
	}
	e.logOutput(d, "stdout", &stdout)
	e.logOutput(d, "stderr", &stderr)
	out := outDelivered
	switch {
	case ctx.Err() != nil:
		out = outRetry
		e.log.Warn().Str("destination", d.name).Str("rule", t.n.Rule).Msg("alert: command killed at shutdown; it runs again after a restart")
	case err != nil:
		out = outFailed
		msg := "alert: command failed; not run again"
		if cctx.Err() == context.DeadlineExceeded {
			msg = "alert: command timed out; its process group was killed; not run again"
		}
		e.log.Error().Str("destination", d.name).Str("rule", t.n.Rule).Err(err).
			Dur("duration", time.Since(start)).Msg(msg)
	default:
		e.log.Debug().Str("destination", d.name).Str("rule", t.n.Rule).Dur("duration", time.Since(start)).Msg("alert: command done")
	}
	e.mu.Lock()
	d.running--
	e.mu.Unlock()
	e.finish(d, []taken{t}, out)
	d.kickIt()
	if e.testExecDone != nil {
		e.testExecDone(d.name)
	}
}

// execEnv is the commands' environment: PATH, HOME, LANG, LC_ALL and TZ
// of logscan's, and the notification as LOGSCAN_* variables.
func execEnv(base []string, n *notification) []string {
	env := slices.Clone(base)
	add := func(k, v string) {
		env = append(env, k+"="+strings.ReplaceAll(v, "\x00", ""))
	}
	add("LOGSCAN_STATUS", n.Status)
	add("LOGSCAN_RULE", n.Rule)
	add("LOGSCAN_COUNT", strconv.Itoa(n.Count))
	add("LOGSCAN_FILE", n.File)
	add("LOGSCAN_SAMPLE", n.Sample)
	add("LOGSCAN_SUMMARY", n.Summary)
	add("LOGSCAN_STARTS_AT", n.StartsAt.UTC().Format(time.RFC3339Nano))
	if !n.EndsAt.IsZero() {
		add("LOGSCAN_ENDS_AT", n.EndsAt.UTC().Format(time.RFC3339Nano))
	}
	add("LOGSCAN_IDEMPOTENCY_KEY", n.Key)
	for _, k := range slices.Sorted(maps.Keys(n.Labels)) {
		add("LOGSCAN_LABEL_"+envName(k), n.Labels[k])
	}
	seen := map[string]bool{}
	for _, k := range slices.Sorted(maps.Keys(n.Fields)) {
		name := "LOGSCAN_FIELD_" + envName(k)
		if !seen[name] {
			seen[name] = true
			add(name, n.Fields[k])
		}
	}
	return env
}

// envName is name upper-cased, each character outside [A-Z0-9_] made '_'.
func envName(name string) string {
	return strings.ToUpper(labelName(name))
}

func (e *Engine) logOutput(d *dest, stream string, c *capped) {
	if c.buf.Len() == 0 {
		return
	}
	for line := range strings.Lines(c.buf.String()) {
		ev := e.log.Info()
		if stream == "stderr" {
			ev = e.log.Warn()
		}
		ev.Str("destination", d.name).Str("stream", stream).Msg(strings.TrimRight(line, "\r\n"))
	}
	if c.dropped > 0 {
		e.log.Warn().Str("destination", d.name).Str("stream", stream).Int64("bytes_dropped", c.dropped).
			Msg("alert: command output cut")
	}
}

// capped keeps the first maxOutput bytes written to it.
type capped struct {
	buf     strings.Builder
	dropped int64
}

func (c *capped) Write(p []byte) (int, error) {
	keep := min(len(p), maxOutput-c.buf.Len())
	c.buf.Write(p[:keep])
	c.dropped += int64(len(p) - keep)
	return len(p), nil
}
