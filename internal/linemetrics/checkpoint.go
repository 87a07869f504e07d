package linemetrics

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Carry takes over, from old (the Set before a reload), the series and
// self-metric counts of every metric whose identity digest is unchanged;
// the other metrics start empty. It copies, so that a scrape of old still
// running does not race with the new Set's Observe. The checkpoint
// bookkeeping comes along too, so that a delta from s continues old's;
// still, a caller that can should take a full Checkpoint after a reload.
func (s *Set) Carry(old *Set) {
	if old == nil || old == s {
		return
	}
	old.mu.Lock()
	defer old.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.fams {
		of := old.byName[f.name]
		if of == nil || of.digest != f.digest {
			continue
		}
		clear(f.series)
		f.count, f.other = 0, nil
		for key, ose := range of.series {
			se := f.add(key, ose.labels) // labels are never written to
			se.value, se.count, se.updated, se.dirty = ose.value, ose.count, ose.updated, ose.dirty
			copy(se.buckets, ose.buckets)
		}
		f.errs, f.overflow, f.expired = of.errs, of.overflow, of.expired
		f.dirty, f.replace = of.dirty, of.replace
		f.tombs = make(map[string][]string, len(of.tombs))
		for k, v := range of.tombs {
			f.tombs[k] = v
		}
	}
}

// checkpointVersion is the format of Checkpoint's JSON.
const checkpointVersion = 1

type checkpointJSON struct {
	Version int          `json:"version"`
	Full    bool         `json:"full"`
	Metrics []familyJSON `json:"metrics"`
}

// familyJSON is one metric's state. Replace: Series is every series (a
// full checkpoint, or a delta after more deletions than it would list),
// else the series updated since the previous checkpoint, and Deleted the
// label sets removed.
type familyJSON struct {
	Name     string       `json:"name"`
	Digest   string       `json:"digest"`
	Type     string       `json:"type"`
	Replace  bool         `json:"replace,omitempty"`
	Errors   []uint64     `json:"errors"` // per reason: missing, not_a_number, negative
	Overflow uint64       `json:"overflow"`
	Expired  uint64       `json:"expired"`
	Series   []seriesJSON `json:"series,omitempty"`
	Deleted  [][]string   `json:"deleted,omitempty"`
}

type seriesJSON struct {
	Labels  []string `json:"labels"`
	Value   number   `json:"value"` // a histogram's sum
	Count   uint64   `json:"count,omitempty"`
	Buckets []uint64 `json:"buckets,omitempty"` // per bucket, not cumulative, +Inf last
	Updated int64    `json:"updated"`           // Unix nanoseconds
}

// number is a float64 that JSON keeps exactly: the shortest text that
// parses back to it, or a string for the infinities a counter may sum to.
type number float64

func (n number) MarshalJSON() ([]byte, error) {
	v := float64(n)
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return strconv.AppendQuote(nil, strconv.FormatFloat(v, 'g', -1, 64)), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

func (n *number) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("value %s: %w", b, err)
	}
	*n = number(v)
	return nil
}

// Checkpoint returns the JSON of the state to keep across a restart. full:
// every series of every metric; else only what changed since the previous
// call (updated series with their absolute values, deleted series), nil
// when nothing did. Either way it starts a new delta.
func (s *Set) Checkpoint(full bool) ([]byte, error) {
	s.mu.Lock()
	cp := checkpointJSON{Version: checkpointVersion, Full: full}
	for _, f := range s.fams {
		if !full && !f.changed() {
			continue
		}
		cp.Metrics = append(cp.Metrics, f.checkpoint(full || f.replace))
		f.dirty, f.replace = false, false
		clear(f.tombs)
	}
	s.mu.Unlock()
	if !full && len(cp.Metrics) == 0 {
		return nil, nil
	}
	return json.Marshal(cp)
}

func (f *family) changed() bool {
	if f.dirty || f.replace || len(f.tombs) > 0 {
		return true
	}
	for _, se := range f.series {
		if se.dirty {
			return true
		}
	}
	return false
}

// checkpoint returns f's state, every series if all, and marks its series
// clean.
func (f *family) checkpoint(all bool) familyJSON {
	fj := familyJSON{Name: f.name, Digest: f.digest, Type: f.kind.String(), Replace: all,
		Errors: slices.Clone(f.errs[:]), Overflow: f.overflow, Expired: f.expired}
	for _, se := range f.series {
		if all || se.dirty {
			fj.Series = append(fj.Series, seriesJSON{Labels: se.labels, Value: number(se.value),
				Count: se.count, Buckets: se.buckets, Updated: se.updated})
		}
		se.dirty = false
	}
	if !all {
		for _, labels := range f.tombs {
			fj.Deleted = append(fj.Deleted, labels)
		}
	}
	// Map order would make two checkpoints of one state differ.
	slices.SortFunc(fj.Series, func(a, b seriesJSON) int { return slices.Compare(a.Labels, b.Labels) })
	slices.SortFunc(fj.Deleted, slices.Compare)
	return fj
}

// Restore applies, in order, a full checkpoint and the deltas after it;
// any part may be nil. It is meant for a Set that has observed nothing
// yet. The state of a metric whose digest matches no current one is
// dropped, with one warning per metric name. Corrupt or inconsistent JSON
// is an error, and then nothing is applied. What Restore applies is not
// part of the next delta, and it keeps every restored series even past a
// lowered max_series.
func (s *Set) Restore(parts [][]byte) (warnings []string, err error) {
	var cps []checkpointJSON
	for i, p := range parts {
		if p == nil {
			continue
		}
		var cp checkpointJSON
		if err := json.Unmarshal(p, &cp); err != nil {
			return nil, fmt.Errorf("metrics checkpoint %d: %w", i, err)
		}
		if cp.Version != checkpointVersion {
			return nil, fmt.Errorf("metrics checkpoint %d: version %d, want %d", i, cp.Version, checkpointVersion)
		}
		cps = append(cps, cp)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	warned := map[string]bool{}
	for i, cp := range cps {
		for _, fj := range cp.Metrics {
			f := s.byName[fj.Name]
			if f == nil || f.digest != fj.Digest {
				if !warned[fj.Name] {
					warned[fj.Name] = true
					warnings = append(warnings, fmt.Sprintf("metrics checkpoint: dropped the state of %s (%s): its definition changed or is gone", fj.Name, fj.Type))
				}
				continue
			}
			if err := f.check(&fj); err != nil {
				return nil, fmt.Errorf("metrics checkpoint %d: %s: %w", i, fj.Name, err)
			}
		}
	}
	for _, cp := range cps {
		for i := range cp.Metrics {
			if f := s.byName[cp.Metrics[i].Name]; f != nil && f.digest == cp.Metrics[i].Digest {
				f.restore(&cp.Metrics[i])
			}
		}
	}
	return warnings, nil
}

// check tells whether fj fits f, before anything is applied.
func (f *family) check(fj *familyJSON) error {
	if len(fj.Errors) != nReasons {
		return fmt.Errorf("%d error counts, want %d", len(fj.Errors), nReasons)
	}
	for _, sj := range fj.Series {
		switch {
		case len(sj.Labels) != len(f.labels):
			return fmt.Errorf("series %q: %d labels, want %d", sj.Labels, len(sj.Labels), len(f.labels))
		case f.kind == histogram && len(sj.Buckets) != len(f.buckets)+1:
			return fmt.Errorf("series %q: %d buckets, want %d", sj.Labels, len(sj.Buckets), len(f.buckets)+1)
		case f.kind != histogram && (len(sj.Buckets) != 0 || sj.Count != 0):
			return fmt.Errorf("series %q: a %s has no buckets", sj.Labels, f.kind)
		case f.kind == histogram && sum(sj.Buckets) != sj.Count:
			return fmt.Errorf("series %q: count %d, but the buckets hold %d", sj.Labels, sj.Count, sum(sj.Buckets))
		}
	}
	for _, labels := range fj.Deleted {
		if len(labels) != len(f.labels) {
			return fmt.Errorf("deleted series %q: %d labels, want %d", labels, len(labels), len(f.labels))
		}
	}
	return nil
}

// restore applies a checked fj to f: the counters, then the deletions,
// then the series.
func (f *family) restore(fj *familyJSON) {
	copy(f.errs[:], fj.Errors)
	f.overflow, f.expired = fj.Overflow, fj.Expired
	if fj.Replace {
		clear(f.series)
		f.count, f.other = 0, nil
	}
	for _, labels := range fj.Deleted {
		key := string(appendKey(nil, labels))
		if se := f.series[key]; se != nil {
			delete(f.series, key)
			if se == f.other {
				f.other = nil
			} else {
				f.count--
			}
		}
	}
	for _, sj := range fj.Series {
		key := string(appendKey(nil, sj.Labels))
		se := f.series[key]
		if se == nil {
			se = f.add(key, sj.Labels)
		}
		se.value, se.count, se.updated, se.dirty = float64(sj.Value), sj.Count, sj.Updated, false
		copy(se.buckets, sj.Buckets)
	}
}

func sum(counts []uint64) uint64 {
	var n uint64
	for _, c := range counts {
		n += c
	}
	return n
}
