package alert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/logscan/logscan/internal/capture"
)

// Bounds of what a line puts into an alert.
const (
	maxLabelValue = 256
	maxSample     = 1 << 10
	maxFields     = 32 // fields of the sample line passed to a command
	maxFieldValue = 1 << 10
	maxFieldName  = 128
)

const (
	statusFiring   = "firing"
	statusResolved = "resolved"
)

// Engine evaluates the alert rules and delivers their notifications.
// Observe, Tick, Checkpoint, Restore and Dirty are meant for one goroutine,
// the follower's, but are safe for concurrent use; the delivery goroutines
// share the outboxes with them under mu, which nobody holds across I/O.
type Engine struct {
	opt     Options
	cfg     Config
	log     zerolog.Logger
	dropLog zerolog.Logger // sampled: an outage would log every drop
	met     *metrics
	baseEnv []string // of the commands

	byIndex []*rule // by matcher rule index; nil: no alert
	byName  map[string]*rule
	rules   []*rule
	dests   []*dest
	destID  map[string]*dest

	mu       sync.Mutex
	seq      uint64 // of the outbox entries
	scratch  []byte
	dirtyG   map[groupRef]struct{}
	dirtyOut map[outRef]struct{}

	life    sync.Mutex // Start and Close
	started bool
	closed  bool
	run     context.Context    // the delivery goroutines'; done at Close's deadline
	wake    context.Context    // done when Close starts draining, or with run
	cancel  context.CancelFunc // of run
	drain   context.CancelFunc // of wake
	wg      sync.WaitGroup

	// testExecDone, when set, is called after each command finished.
	testExecDone func(dest string)
}

// rule is a Rule with its routes and groups.
type rule struct {
	Rule
	labels     []string // the label of each GroupBy name
	idx        []int    // the Extractor index of each GroupBy name
	ams        []*dest
	hooks      []*dest // webhooks and commands
	wantFields bool    // a command is among the hooks
	groups     map[string]*group
	overflow   bool // the "other" group was logged
}

// group is one set of group_by values of a rule: a candidate, collecting
// matches in its ring, or a firing alert.
type group struct {
	key    string
	labels map[string]string // never modified once made: notifications share it
	amID   string            // the alert's identity in an Alertmanager outbox
	ring   []int64           // unix ns of the last Count matches, circular at head once full
	head   int

	firing   bool
	startsAt time.Time // the episode's: the first match of the window that fired
	last     time.Time // the last match
	count    int       // matches since startsAt
	sample   string
	file     string
	fields   map[string]string
	amAt     time.Time             // the last Alertmanager notification
	hooks    map[string]*hookState // by destination name
}

// hookState is what a webhook or command was told of a group.
type hookState struct {
	At      time.Time `json:"at"`      // the last notification, made or suppressed
	Repeats int       `json:"repeats"` // repeats since the first
	Sent    bool      `json:"sent"`    // a firing of this episode went to the outbox
}

// notification is one message to a destination; immutable once made.
type notification struct {
	Status   string            `json:"status"`
	Rule     string            `json:"rule"`
	Labels   map[string]string `json:"labels"`
	StartsAt time.Time         `json:"startsAt"`
	EndsAt   time.Time         `json:"endsAt,omitzero"` // resolved ones
	Count    int               `json:"count"`
	File     string            `json:"file,omitempty"`
	Sample   string            `json:"sample,omitempty"`
	Summary  string            `json:"summary"`
	Fields   map[string]string `json:"fields,omitempty"` // for commands
	Key      string            `json:"key"`              // idempotency key
	Created  time.Time         `json:"created"`
}

func newEngine(cfg Config, opt Options) *Engine {
	e := &Engine{
		opt: opt, cfg: cfg, log: opt.Log,
		byName: map[string]*rule{}, destID: map[string]*dest{},
		dirtyG: map[groupRef]struct{}{}, dirtyOut: map[outRef]struct{}{},
	}
	e.dropLog = e.log.Sample(&zerolog.BurstSampler{Burst: 3, Period: time.Minute})
	for _, k := range []string{"PATH", "HOME", "LANG", "LC_ALL", "TZ"} {
		if v, ok := os.LookupEnv(k); ok {
			e.baseEnv = append(e.baseEnv, k+"="+v)
		} else if k == "PATH" {
			e.baseEnv = append(e.baseEnv, "PATH=/usr/local/bin:/usr/bin:/bin")
		}
	}
	return e
}

func (e *Engine) addDest(d *dest) {
	d.kick = make(chan struct{}, 1)
	d.byID = map[string]*entry{}
	d.index = len(e.dests)
	d.id = d.kind.String() + " " + d.name
	if d.kind == kindAM {
		d.id = d.name
	}
	e.dests = append(e.dests, d)
	e.destID[d.id] = d
}

func (e *Engine) now() time.Time { return e.opt.Now() }

// Observe counts a line selected by the matcher rule rule, its values in
// m, read from file. It never waits for a delivery; a rule without an
// alert costs a bounds check.
func (e *Engine) Observe(rule int, m *capture.Match, file string) {
	if rule < 0 || rule >= len(e.byIndex) || e.byIndex[rule] == nil {
		return
	}
	r := e.byIndex[rule]
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.lookup(r, m)
	e.dirtyG[groupRef{r.Name, g.key}] = struct{}{}
	if g.firing {
		g.count++
		g.last = now
		if len(r.hooks) > 0 {
			e.met.cooldown.Inc()
		} else {
			e.met.dedup.Inc()
		}
		return
	}
	g.push(now.UnixNano(), r.Count)
	if len(g.ring) < r.Count || now.UnixNano()-g.ring[g.head] > int64(r.Window) {
		return
	}
	e.fire(r, g, now, m, file)
}

// lookup returns the group of m's values, making it when new.
func (e *Engine) lookup(r *rule, m *capture.Match) *group {
	k := e.scratch[:0]
	for _, i := range r.idx {
		v := labelValue(get(m, i))
		k = strconv.AppendInt(k, int64(len(v)), 10)
		k = append(append(k, ':'), v...)
	}
	e.scratch = k
	if g := r.groups[string(k)]; g != nil {
		return g
	}
	values := make([]string, len(r.idx))
	key := string(k)
	if len(r.groups) >= r.MaxGroups {
		for i := range values {
			values[i] = "other"
		}
		key = groupKey(values)
		if g := r.groups[key]; g != nil {
			return g
		}
		if !r.overflow {
			r.overflow = true
			e.log.Warn().Str("rule", r.Name).Int("max_groups", r.MaxGroups).Msg("alert: too many groups; further ones share the group \"other\"")
		}
	} else {
		for j, i := range r.idx {
			values[j] = string(labelValue(get(m, i)))
		}
	}
	g := e.newGroup(r, key, values)
	r.groups[key] = g
	return g
}

func get(m *capture.Match, i int) []byte {
	if m == nil {
		return nil
	}
	v, _, _ := m.Get(i)
	return v
}

func (e *Engine) newGroup(r *rule, key string, values []string) *group {
	labels := make(map[string]string, len(values)+3)
	for j, l := range r.labels {
		labels[l] = values[j]
	}
	labels["alertname"], labels["rule"] = r.Name, r.Name
	if labels["host"] == "" {
		labels["host"] = e.opt.Host // group_by names no host the lines hold, or this line has none
	}
	return &group{key: key, labels: labels, amID: alertID(labels)}
}

// groupKey is the key of the group of values, as lookup builds it.
func groupKey(values []string) string {
	var k []byte
	for _, v := range values {
		k = strconv.AppendInt(k, int64(len(v)), 10)
		k = append(append(k, ':'), v...)
	}
	return string(k)
}

// push adds a match at t to the ring of the last n.
func (g *group) push(t int64, n int) {
	if len(g.ring) < n {
		g.ring = append(g.ring, t)
		return
	}
	g.ring[g.head] = t
	g.head = (g.head + 1) % len(g.ring)
}

// newest is the time of the ring's last match.
func (g *group) newest() int64 {
	if len(g.ring) == 0 {
		return 0
	}
	return g.ring[(g.head+len(g.ring)-1)%len(g.ring)]
}

// fire starts the episode of g: the ring crossed the threshold at now.
func (e *Engine) fire(r *rule, g *group, now time.Time, m *capture.Match, file string) {
	g.firing = true
	g.startsAt = time.Unix(0, g.ring[g.head]).In(now.Location())
	g.count = len(g.ring)
	g.ring, g.head = nil, 0
	g.last = now
	g.file = file
	if m != nil {
		g.sample = truncate(strings.ToValidUTF8(string(m.Text()), "\uFFFD"), maxSample)
		if r.wantFields {
			g.fields = sampleFields(m)
		}
	}
	e.met.rule(r.Name, resultFired).Inc()
	e.notifyAM(r, g, now, statusFiring)
	g.hooks = map[string]*hookState{}
	for _, d := range r.hooks {
		e.notifyHook(r, g, d, now, 0)
	}
}

// Tick resolves the groups quiet for ResolveAfter, forgets the candidates
// whose matches all left their window, resends to Alertmanager and repeats
// to webhooks and commands. It never waits for a delivery.
func (e *Engine) Tick() {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.rules {
		for key, g := range r.groups {
			switch {
			case !g.firing:
				if now.UnixNano()-g.newest() > int64(r.Window) {
					delete(r.groups, key)
					e.dirtyG[groupRef{r.Name, key}] = struct{}{}
				}
			case now.Sub(g.last) >= r.ResolveAfter:
				e.resolve(r, g, now)
			default:
				e.repeat(r, g, now)
			}
		}
	}
}

// repeat resends firing g to Alertmanager every ResendInterval, and to each
// webhook and command every RepeatInterval.
func (e *Engine) repeat(r *rule, g *group, now time.Time) {
	if len(r.ams) > 0 && now.Sub(g.amAt) >= e.cfg.ResendInterval {
		e.notifyAM(r, g, now, statusFiring)
		e.dirtyG[groupRef{r.Name, g.key}] = struct{}{}
	}
	for _, d := range r.hooks {
		hs := g.hooks[d.name]
		switch {
		case hs == nil: // a destination added since the checkpoint
			e.notifyHook(r, g, d, now, 0)
		case now.Sub(hs.At) >= r.RepeatInterval:
			e.notifyHook(r, g, d, now, hs.Repeats+1)
		default:
			continue
		}
		e.dirtyG[groupRef{r.Name, g.key}] = struct{}{}
	}
}

// resolve ends the episode of g and forgets it. A webhook or command hears
// of the resolve only when it heard of the firing; the rate limit never
// holds a resolve back.
func (e *Engine) resolve(r *rule, g *group, now time.Time) {
	e.notifyAM(r, g, now, statusResolved)
	for _, d := range r.hooks {
		if hs := g.hooks[d.name]; hs != nil && hs.Sent {
			n := e.notification(r, g, now, statusResolved, 0)
			e.enqueue(d, n.Key, n)
		}
	}
	e.met.rule(r.Name, resultResolved).Inc()
	delete(r.groups, g.key)
	e.dirtyG[groupRef{r.Name, g.key}] = struct{}{}
}

// notifyAM puts g's state in each Alertmanager's outbox, in place of an
// undelivered older one.
func (e *Engine) notifyAM(r *rule, g *group, now time.Time, status string) {
	if len(r.ams) == 0 {
		return
	}
	g.amAt = now
	n := e.notification(r, g, now, status, 0)
	for _, d := range r.ams {
		e.enqueue(d, g.amID, n)
	}
}

// notifyHook makes a firing notification to webhook or command d, the
// repeat-th repeat of the episode, unless d's rate limit suppresses it.
func (e *Engine) notifyHook(r *rule, g *group, d *dest, now time.Time, repeat int) {
	if g.hooks == nil {
		g.hooks = map[string]*hookState{}
	}
	hs := g.hooks[d.name]
	if hs == nil {
		hs = &hookState{}
		g.hooks[d.name] = hs
	}
	hs.At, hs.Repeats = now, repeat
	if d.limiter != nil && !d.limiter.AllowN(now, 1) {
		e.met.ratelimit.Inc()
		return
	}
	hs.Sent = true
	n := e.notification(r, g, now, statusFiring, repeat)
	e.enqueue(d, n.Key, n)
}

func (e *Engine) notification(r *rule, g *group, now time.Time, status string, repeat int) *notification {
	n := &notification{
		Status: status, Rule: r.Name, Labels: g.labels, StartsAt: g.startsAt,
		Count: g.count, File: g.file, Sample: g.sample, Fields: g.fields,
		Summary: summary(r.Name, g.count, g.last.Sub(g.startsAt)),
		Key:     idempotencyKey(r.Name, g.labels, g.startsAt, status, repeat),
		Created: now,
	}
	if status == statusResolved {
		n.EndsAt = now
	}
	return n
}

func summary(rule string, count int, span time.Duration) string {
	if count == 1 {
		return fmt.Sprintf("1 match of rule %s", rule)
	}
	return fmt.Sprintf("%d matches of rule %s in %s", count, rule, span.Round(time.Second))
}

// idempotencyKey is hex SHA-256 of the rule, the sorted labels, the
// episode's start and the status, each followed by a NUL; a repeat adds
// "repeat=N", so that a receiver that dedupes does not drop it.
func idempotencyKey(rule string, labels map[string]string, startsAt time.Time, status string, repeat int) string {
	h := sha256.New()
	h.Write([]byte(rule + "\x00"))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		h.Write([]byte(k + "\x00" + labels[k] + "\x00"))
	}
	h.Write([]byte(strconv.FormatInt(startsAt.UnixNano(), 10) + "\x00" + status + "\x00"))
	if repeat > 0 {
		h.Write([]byte("repeat=" + strconv.Itoa(repeat) + "\x00"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// alertID is an alert's identity in Alertmanager: its labels.
func alertID(labels map[string]string) string {
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		h.Write([]byte(k + "\x00" + labels[k] + "\x00"))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// labelValue is v as a label value: valid UTF-8, at most maxLabelValue
// bytes. It copies only a value that must change.
func labelValue(v []byte) []byte {
	if len(v) <= maxLabelValue && utf8.Valid(v) {
		return v
	}
	return []byte(truncate(strings.ToValidUTF8(string(v), "\uFFFD"), maxLabelValue))
}

// truncate cuts valid UTF-8 s to at most n bytes at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// sampleFields are the first fields of m's record, bounded.
func sampleFields(m *capture.Match) map[string]string {
	rec := m.Record()
	if rec == nil || len(rec.Fields) == 0 {
		return nil
	}
	out := make(map[string]string, min(len(rec.Fields), maxFields))
	for _, f := range rec.Fields {
		if len(out) == maxFields {
			break
		}
		k := truncate(strings.ToValidUTF8(string(f.Key), "\uFFFD"), maxFieldName)
		if _, dup := out[k]; !dup {
			out[k] = truncate(strings.ToValidUTF8(string(f.Value), "\uFFFD"), maxFieldValue)
		}
	}
	return out
}

// defaultClient follows no redirect: a POST redirected would be resent as
// a GET, or not at all; a 3xx is reported as a refusal instead.
func defaultClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = DefaultTimeout
	tr.MaxIdleConnsPerHost = 4
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
