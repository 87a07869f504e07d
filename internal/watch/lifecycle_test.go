package watch

import (
	"testing"
	"time"

	"github.com/logscan/logscan/internal/state"
)

// TestLifecycle: each transition of a tracked file's naming, stage and
// placing, from the states it is used in, and what it must leave alone.
func TestLifecycle(t *testing.T) {
	orig := &tracked{path: "/l/app.log"}
	rec := &state.File{Path: "/l/app.log", Offset: 10}
	type life struct {
		naming   naming
		stage    stage
		next     placing
		path     string
		resume   *state.File
		shadowOf *tracked
		pending  bool // pendingSince is set
	}
	tests := []struct {
		name     string
		from     life
		do       func(t *tracked)
		want     life
		draining bool
	}{
		{"detach an attached file", life{naming: attached}, (*tracked).detach, life{naming: detached}, true},
		{"detach a moved one", life{naming: moved}, (*tracked).detach, life{naming: detached}, true},
		{"detach leaves a forgotten one", life{naming: forgotten}, (*tracked).detach, life{naming: forgotten}, false},
		{"move an attached file", life{naming: attached, path: "/l/a"}, func(t *tracked) { t.moveTo("/l/b") }, life{naming: moved, path: "/l/b"}, true},
		{"move a detached one, found again", life{naming: detached}, func(t *tracked) { t.moveTo("/l/b") }, life{naming: moved, path: "/l/b"}, true},
		{"settle a moved file", life{naming: moved}, (*tracked).settle, life{naming: attached}, false},
		{"settle leaves a detached one", life{naming: detached}, (*tracked).settle, life{naming: detached}, true},
		{"drop", life{naming: moved, stage: deciding}, (*tracked).drop, life{naming: forgotten, stage: deciding}, false},
		{"verify", life{stage: reading}, func(t *tracked) { t.verify(rec) }, life{stage: verifying, resume: rec}, false},
		{"verified", life{naming: moved, stage: verifying, resume: rec}, func(t *tracked) { t.verified(true) }, life{naming: moved, stage: reading}, true},
		{"not verified: new content, which settles", life{naming: moved, stage: verifying, resume: rec}, func(t *tracked) { t.verified(false) }, life{stage: deciding}, false},
		{"decide", life{stage: reading, pending: true}, (*tracked).decide, life{stage: deciding}, false},
		{"decided", life{stage: deciding, pending: true}, (*tracked).decided, life{stage: reading}, false},
		{"decided leaves a shadow", life{stage: shadowing, shadowOf: orig}, (*tracked).decided, life{stage: shadowing, shadowOf: orig}, false},
		{"shadow", life{stage: deciding}, func(t *tracked) { t.shadow(orig) }, life{stage: shadowing, shadowOf: orig}, false},
		{"unshadow", life{stage: shadowing, shadowOf: orig}, (*tracked).unshadow, life{stage: reading}, false},
		{"place next at the end", life{}, func(t *tracked) { t.placeNext(atEnd) }, life{next: atEnd}, false},
		{"place next exactly", life{next: clampEnd}, func(t *tracked) { t.placeNext(exactly) }, life{next: exactly}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &tracked{naming: tt.from.naming, stage: tt.from.stage, next: tt.from.next, path: tt.from.path,
				resume: tt.from.resume, shadowOf: tt.from.shadowOf}
			if tt.from.pending {
				f.pendingSince = time.Unix(1, 0)
			}
			tt.do(f)
			got := life{naming: f.naming, stage: f.stage, next: f.next, path: f.path, resume: f.resume,
				shadowOf: f.shadowOf, pending: !f.pendingSince.IsZero()}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if f.draining() != tt.draining {
				t.Errorf("draining() = %v, want %v", f.draining(), tt.draining)
			}
		})
	}
}
