package watch

import (
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestWriteBetweenStatAndRead: bytes that land after read's fstat saw an
// empty file (a new file, or one just truncated) are read by its pread, so
// the head loaded for the fstat's size was empty. Saved like that, the
// record claimed an empty head, which proves nothing, and the next start
// read the file again from 0. The model test found this (seeds 11 and 65):
// a line emitted again after a clean restart. The write is injected between
// the fstat and the pread, and its event is dropped so that no later read
// repairs the head before the stop.
func TestWriteBetweenStatAndRead(t *testing.T) {
	tests := []struct {
		name    string
		initial string // app.log before the start; "" means created while running
		trigger func(t *testing.T, log string)
	}{
		{"new file", "", func(t *testing.T, log string) { writeFile(t, log, "") }},
		{"truncated file", "old1\nold2\n", func(t *testing.T, log string) {
			if err := os.Truncate(log, 0); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			stateFile := filepath.Join(t.TempDir(), "state.json")
			log := filepath.Join(dir, "app.log")
			if tt.initial != "" {
				writeFile(t, log, tt.initial)
			}
			cfg := Config{Roots: []string{dir}, StateFile: stateFile, StartAt: "beginning"}
			written := make(chan struct{})
			arm := make(chan struct{}, 1)
			armed := false // owned by the loop goroutine, as are both hooks
			h := start(t, cfg, nil, func(fl *Follower) {
				fl.hooks.afterTick = chainAfterTick(fl.hooks.afterTick, func() {
					select {
					case <-arm:
						armed = true
					default:
					}
				})
				fl.hooks.statted = func(path string) {
					if !armed || path != log || fl.loop.stat.Size != 0 {
						return
					}
					armed = false
					fl.hooks.dropEvents.Store(true) // no later read may repair the head
					f, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
					if err == nil {
						_, err = f.WriteString("new1\n")
						err = errors.Join(err, f.Close())
					}
					if err != nil {
						t.Error(err)
					}
					close(written)
				}
			})
			if tt.initial != "" {
				h.sync() // the initial walk read it; its events are done
			}
			arm <- struct{}{}
			h.tickSync()
			tt.trigger(t, log)
			select {
			case <-written:
			case <-time.After(waitLimit):
				t.Fatal("the injected write did not happen")
			}
			h.stop() // the loop finishes its drain first, then saves
			got := h.rec.lines()

			h2 := start(t, Config{Roots: []string{dir}, StateFile: stateFile}, nil)
			h2.sync()
			got = append(got, h2.rec.lines()...)
			want := linesOf(tt.initial, "new1\n")
			var gotLog []string
			for _, l := range got {
				if len(l) < 4 || l[:4] != "sync" {
					gotLog = append(gotLog, l)
				}
			}
			wantLines(t, gotLog, want)
		})
	}
}

func chainAfterTick(a, b func()) func() {
	return func() {
		b()
		if a != nil {
			a()
		}
	}
}

// TestCopyFilledBetweenStatAndRead: a copy that was still empty at read's
// fstat but full by its pread must still get its copy decision before any of
// it is read; reading past the empty fstat handed the whole copy on again.
func TestCopyFilledBetweenStatAndRead(t *testing.T) {
	dir := t.TempDir()
	big := numbered("orig-", 1, 200) // over the 1 KiB a copy needs
	writeFile(t, filepath.Join(dir, "orig.log"), big)
	cp := filepath.Join(dir, "copy.log")
	var clock atomic.Int64 // the copy decision's time, in nanoseconds, moved by the test
	h := start(t, Config{Roots: []string{dir}, StartAt: "beginning"}, nil, func(fl *Follower) {
		fl.hooks.now = func() time.Time { return time.Unix(0, clock.Load()) }
		done := false // owned by the loop goroutine
		fl.hooks.statted = func(path string) {
			if done || path != cp || fl.loop.stat.Size != 0 {
				return
			}
			done = true
			if err := os.WriteFile(cp, []byte(big), 0o644); err != nil {
				t.Error(err)
			}
		}
	})
	writeFile(t, cp, "")
	h.syncNew()
	// The copy decision may still be pending (a possible copy in progress
	// waits up to pendingAge): a tick re-decides, and one after pendingAge
	// has passed must decide. Then the copy must have been recognised and
	// never re-read.
	h.tickSync()
	clock.Add(int64(pendingAge))
	h.tickSync()
	h.syncNew()
	var got []string
	for _, l := range h.rec.lines() {
		if len(l) < 4 || l[:4] != "sync" {
			got = append(got, l)
		}
	}
	wantLines(t, got, linesOf(big))
	if n := h.f.Stats().CopiesSkipped.Load(); n != 1 {
		t.Errorf("CopiesSkipped = %d, want 1", n)
	}
}
