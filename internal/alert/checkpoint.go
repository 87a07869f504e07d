package alert

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

const checkpointVersion = 1

// groupRef names a group in a checkpoint: its rule's name and its key
// (the length-prefixed group_by values).
type groupRef struct {
	Rule string `json:"rule"`
	Key  string `json:"key"`
}

// outRef names an outbox entry: its destination's id ("alertmanager
// URL", "webhook NAME", "exec NAME") and the entry's id.
type outRef struct {
	Dest string `json:"dest"`
	ID   string `json:"id"`
}

// checkpoint is the JSON of Checkpoint. A full one is the whole state; a
// delta has the entries that changed, as they are now, and the ones that
// are gone, so that applying it twice does what once does.
type checkpoint struct {
	Version       int           `json:"version"`
	Full          bool          `json:"full"`
	Groups        []groupState  `json:"groups,omitempty"`
	GroupsRemoved []groupRef    `json:"groups_removed,omitempty"`
	Outbox        []outboxState `json:"outbox,omitempty"`
	OutboxRemoved []outRef      `json:"outbox_removed,omitempty"`
}

type groupState struct {
	groupRef
	Labels   map[string]string     `json:"labels"`
	Ring     []int64               `json:"ring,omitempty"` // unix ns of the last matches, oldest first
	Firing   bool                  `json:"firing,omitempty"`
	StartsAt time.Time             `json:"startsAt,omitzero"`
	Last     time.Time             `json:"last,omitzero"`
	Count    int                   `json:"count,omitempty"`
	Sample   string                `json:"sample,omitempty"`
	File     string                `json:"file,omitempty"`
	Fields   map[string]string     `json:"fields,omitempty"`
	AMAt     time.Time             `json:"amAt,omitzero"` // the last Alertmanager notification
	Hooks    map[string]*hookState `json:"hooks,omitempty"`
}

type outboxState struct {
	outRef
	N *notification `json:"n"`
}

// Checkpoint returns the state as JSON: the active alerts and candidates,
// and the undelivered notifications of each destination with their
// idempotency keys. full=false returns only what changed since the last
// Checkpoint, nil when nothing did.
func (e *Engine) Checkpoint(full bool) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !full && len(e.dirtyG) == 0 && len(e.dirtyOut) == 0 {
		return nil, nil
	}
	cp := checkpoint{Version: checkpointVersion, Full: full}
	if full {
		for _, r := range e.rules {
			for _, k := range slices.Sorted(maps.Keys(r.groups)) {
				cp.Groups = append(cp.Groups, r.groups[k].state(r))
			}
		}
		for _, d := range e.dests {
			for _, ent := range d.queue {
				cp.Outbox = append(cp.Outbox, outboxState{outRef{d.id, ent.id}, ent.n})
			}
		}
	} else {
		e.delta(&cp)
	}
	clear(e.dirtyG)
	clear(e.dirtyOut)
	return json.Marshal(&cp)
}

// delta puts the dirty entries in cp, the outbox's in its order.
func (e *Engine) delta(cp *checkpoint) {
	for _, ref := range slices.SortedFunc(maps.Keys(e.dirtyG), func(a, b groupRef) int {
		return cmp.Or(cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Key, b.Key))
	}) {
		if r := e.byName[ref.Rule]; r != nil && r.groups[ref.Key] != nil {
			cp.Groups = append(cp.Groups, r.groups[ref.Key].state(r))
		} else {
			cp.GroupsRemoved = append(cp.GroupsRemoved, ref)
		}
	}
	type present struct {
		d   *dest
		ent *entry
	}
	var live []present
	for ref := range e.dirtyOut {
		d := e.destID[ref.Dest]
		if d != nil && d.byID[ref.ID] != nil {
			live = append(live, present{d, d.byID[ref.ID]})
		} else {
			cp.OutboxRemoved = append(cp.OutboxRemoved, ref)
		}
	}
	slices.SortFunc(live, func(a, b present) int {
		return cmp.Or(cmp.Compare(a.d.index, b.d.index), cmp.Compare(a.ent.added, b.ent.added))
	})
	for _, p := range live {
		cp.Outbox = append(cp.Outbox, outboxState{outRef{p.d.id, p.ent.id}, p.ent.n})
	}
	slices.SortFunc(cp.OutboxRemoved, func(a, b outRef) int {
		return cmp.Or(cmp.Compare(a.Dest, b.Dest), cmp.Compare(a.ID, b.ID))
	})
}

func (g *group) state(r *rule) groupState {
	s := groupState{
		groupRef: groupRef{r.Name, g.key}, Labels: g.labels, Firing: g.firing,
		StartsAt: g.startsAt, Last: g.last, Count: g.count, Sample: g.sample,
		File: g.file, Fields: g.fields, AMAt: g.amAt, Hooks: g.hooks,
	}
	if len(g.ring) > 0 {
		s.Ring = append(g.ring[g.head:len(g.ring):len(g.ring)], g.ring[:g.head]...)
	}
	return s
}

// Dirty reports whether something changed since the last Checkpoint: a
// match, a resolve, a notification made or delivered.
func (e *Engine) Dirty() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.dirtyG) > 0 || len(e.dirtyOut) > 0
}

// Restore applies parts, a full checkpoint then deltas in order, to the
// state: it is meant for a new Engine, before Start. A full part replaces
// the state, a delta changes it; empty parts are skipped. The state of a rule
// that no longer alerts (by name), or whose group_by changed, and the
// notifications of destinations that are gone, are dropped with a warning
// (Alertmanager ends their alerts itself, at their endsAt). An error (a
// part that does not decode) leaves the state as it was.
func (e *Engine) Restore(parts [][]byte) (warnings []string, err error) {
	var cps []checkpoint
	for i, p := range parts {
		if len(p) == 0 || string(p) == "null" {
			continue // a journal entry with nothing of the alerts
		}
		var cp checkpoint
		if err := json.Unmarshal(p, &cp); err != nil {
			return nil, fmt.Errorf("alert: checkpoint part %d: %w", i+1, err)
		}
		if cp.Version != checkpointVersion {
			return nil, fmt.Errorf("alert: checkpoint part %d: version %d, not %d", i+1, cp.Version, checkpointVersion)
		}
		cps = append(cps, cp)
	}
	e.mu.Lock()
	rs := restorer{e: e, warned: map[string]bool{}, gone: map[groupRef]bool{}, goneOut: map[outRef]bool{}}
	for i := range cps {
		rs.apply(&cps[i])
	}
	clear(e.dirtyG)
	clear(e.dirtyOut)
	// What was dropped goes from the journal at the next delta.
	for ref := range rs.gone {
		e.dirtyG[ref] = struct{}{}
	}
	for ref := range rs.goneOut {
		e.dirtyOut[ref] = struct{}{}
	}
	e.mu.Unlock()
	for _, d := range e.dests {
		d.kickIt()
	}
	return rs.warnings, nil
}

// restorer applies checkpoints under e.mu.
type restorer struct {
	e        *Engine
	warnings []string
	warned   map[string]bool
	gone     map[groupRef]bool // dropped, to be removed from the journal
	goneOut  map[outRef]bool
}

func (rs *restorer) warn(format string, args ...any) {
	w := fmt.Sprintf(format, args...)
	if !rs.warned[w] {
		rs.warned[w] = true
		rs.warnings = append(rs.warnings, w)
	}
}

func (rs *restorer) apply(cp *checkpoint) {
	e := rs.e
	if cp.Full {
		for _, r := range e.rules {
			clear(r.groups)
		}
		for _, d := range e.dests {
			for _, ent := range slices.Clone(d.queue) {
				e.remove(d, ent)
			}
		}
	}
	for i := range cp.Groups {
		rs.group(&cp.Groups[i])
	}
	for _, ref := range cp.GroupsRemoved {
		if r := e.byName[ref.Rule]; r != nil {
			delete(r.groups, ref.Key)
		}
	}
	for i := range cp.Outbox {
		rs.outbox(&cp.Outbox[i])
	}
	for _, ref := range cp.OutboxRemoved {
		if d := e.destID[ref.Dest]; d != nil && d.byID[ref.ID] != nil && !d.byID[ref.ID].busy {
			e.remove(d, d.byID[ref.ID])
		}
	}
}

// group restores one group, checked and bounded as Observe would make it.
func (rs *restorer) group(s *groupState) {
	r := rs.e.byName[s.Rule]
	if r == nil {
		rs.warn("alert: rule %q no longer alerts: its alerts are dropped", s.Rule)
		rs.gone[s.groupRef] = true
		return
	}
	fixed := 3 // alertname, rule, host
	if slices.Contains(r.labels, "host") {
		fixed = 2 // host is a group_by label
	}
	values, ok := make([]string, len(r.labels)), len(s.Labels) == len(r.labels)+fixed
	for _, l := range []string{"alertname", "rule", "host"} {
		_, has := s.Labels[l]
		ok = ok && has
	}
	for i, l := range r.labels {
		v, has := s.Labels[l]
		values[i], ok = string(labelValue([]byte(v))), ok && has
	}
	if !ok {
		rs.warn("alert: rule %q: group_by changed: its alerts are dropped", s.Rule)
		rs.gone[s.groupRef] = true
		return
	}
	g := rs.e.newGroup(r, groupKey(values), values)
	g.labels["host"] = string(labelValue([]byte(s.Labels["host"]))) // the alert's identity
	g.amID = alertID(g.labels)
	if g.key != s.Key {
		rs.gone[s.groupRef] = true
	}
	if !s.Firing {
		g.ring = s.Ring[max(len(s.Ring)-r.Count, 0):]
		if len(g.ring) == 0 {
			return
		}
		g.ring = slices.Clone(g.ring)
		r.groups[g.key] = g
		return
	}
	g.firing, g.startsAt, g.last, g.amAt = true, s.StartsAt, s.Last, s.AMAt
	g.count = max(s.Count, 1)
	g.sample = truncate(strings.ToValidUTF8(s.Sample, "\uFFFD"), maxSample)
	g.file = s.File
	g.fields = boundFields(s.Fields)
	g.hooks = map[string]*hookState{}
	for name, hs := range s.Hooks {
		if hs != nil {
			g.hooks[name] = &hookState{At: hs.At, Repeats: max(hs.Repeats, 0), Sent: hs.Sent}
		}
	}
	r.groups[g.key] = g
}

func boundFields(in map[string]string) map[string]string {
	if len(in) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(in)) {
		if len(out) == maxFields {
			break
		}
		out[truncate(strings.ToValidUTF8(k, "\uFFFD"), maxFieldName)] = truncate(strings.ToValidUTF8(in[k], "\uFFFD"), maxFieldValue)
	}
	return out
}

// outbox restores one pending notification.
func (rs *restorer) outbox(s *outboxState) {
	e := rs.e
	d := e.destID[s.Dest]
	if d == nil {
		rs.warn("alert: destination %q is gone: its pending notifications are dropped", s.Dest)
		rs.goneOut[s.outRef] = true
		if s.N != nil {
			e.met.rule(s.N.Rule, resultDropped).Inc()
		}
		return
	}
	n := s.N
	if n == nil || s.ID == "" || (n.Status != statusFiring && n.Status != statusResolved) {
		rs.warn("alert: checkpoint: a notification to %q is not valid: dropped", s.Dest)
		rs.goneOut[s.outRef] = true
		return
	}
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	n.Fields = boundFields(n.Fields)
	e.enqueue(d, s.ID, n)
}
