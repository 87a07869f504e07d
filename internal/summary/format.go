package summary

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// row is one line of the output: a rule's group.
type row struct {
	rule  string
	by    []string
	other bool
	st    *stats
}

// rows lists the groups in rule order; within a rule by their --by values
// (byte order, value by value), with other last.
func (a *Acc) rows() []row {
	var out []row
	n := len(a.x.spec.By)
	for i := range a.rules {
		ra := &a.rules[i]
		name := a.x.names[i]
		if ra.single != nil {
			out = append(out, row{rule: name, st: &ra.single.stats})
		}
		start := len(out)
		for _, g := range ra.groups {
			out = append(out, row{rule: name, by: decodeKey(g.key, n), st: &g.stats})
		}
		slices.SortFunc(out[start:], func(x, y row) int { return slices.Compare(x.by, y.by) })
		if ra.other != nil {
			by := make([]string, n)
			for j := range by {
				by[j] = "other"
			}
			out = append(out, row{rule: name, by: by, other: true, st: &ra.other.stats})
		}
	}
	return out
}

// Append appends the summary, one line per (rule, group): aligned
// logfmt-style text, or one JSON object per line with Spec.JSON.
func (a *Acc) Append(dst []byte) []byte {
	rows := a.rows()
	if a.x.spec.JSON {
		for _, r := range rows {
			dst = a.appendJSON(dst, r)
		}
		return dst
	}
	return a.appendText(dst, rows)
}

// quantiles returns p50, p90 and p99 by the nearest-rank definition (the
// value of rank ceil(q·n), as monitoring tools report them: p90 of 7, 12
// and 30 is 30, where the sketch's own rank floor(q·(n-1)) gives 12),
// within [min, max] (the sketch's value for a rank is its bin's, which may
// lie just outside them).
func (s *stats) quantiles() [len(quantiles)]float64 {
	var q [len(quantiles)]float64
	n := s.sk.GetCount()
	for i, p := range quantiles {
		// The sketch answers for index floor(q'·(n-1)); half a rank more
		// than the wanted index keeps rounding from landing one below.
		idx := max(math.Ceil(p*n), 1) - 1
		qq := 0.0
		if n > 1 {
			qq = min(1, (idx+0.5)/(n-1))
		}
		v, err := s.sk.GetValueAtQuantile(qq)
		if err != nil {
			v = math.NaN()
		}
		q[i] = min(max(v, s.min), s.max)
	}
	return q
}

// appendText prints each row as key=value columns, padded so that the
// columns line up: `rule=- status=200 count=12 min=3 ...`. It is logfmt
// (logscan --format logfmt reads it back), and awk splits it on blanks.
func (a *Acc) appendText(dst []byte, rows []row) []byte {
	cells := make([][]string, len(rows))
	var width []int
	for i, r := range rows {
		c := make([]string, 0, 1+len(r.by)+10)
		c = append(c, "rule="+ruleLabel(r.rule))
		for j, name := range a.x.spec.By {
			c = append(c, name+"="+quote(r.by[j]))
		}
		st := r.st
		c = append(c, "count="+strconv.FormatInt(st.count, 10))
		if st.count > 0 {
			q := st.quantiles()
			c = append(c, "min="+exact(st.min), "mean="+sig(st.sum/float64(st.count), 6),
				"p50="+sig(q[0], 4), "p90="+sig(q[1], 4), "p99="+sig(q[2], 4), "max="+exact(st.max))
		} else {
			c = append(c, "min=-", "mean=-", "p50=-", "p90=-", "p99=-", "max=-")
		}
		c = append(c, "errors="+strconv.FormatInt(st.errors, 10), "missing="+strconv.FormatInt(st.missing, 10))
		cells[i] = c
		for j, s := range c {
			if j == len(width) {
				width = append(width, 0)
			}
			width[j] = max(width[j], utf8.RuneCountInString(s))
		}
	}
	for _, c := range cells {
		for j, s := range c {
			dst = append(dst, s...)
			if j < len(c)-1 {
				for n := utf8.RuneCountInString(s); n <= width[j]; n++ {
					dst = append(dst, ' ')
				}
			}
		}
		dst = append(dst, '\n')
	}
	return dst
}

// appendJSON prints a row as
// {"type":"summary","rule":"","value":"ms","by":{"status":"200"},"count":...}:
// numbers at full precision, null for those of a group without a value,
// and "other":true for the group of the lines past MaxGroups. Numbers are
// written as encoding/json writes them: no exponent from 1e-6 to 1e21.
func (a *Acc) appendJSON(dst []byte, r row) []byte {
	dst = append(dst, `{"type":"summary","rule":`...)
	dst = appendJSONString(dst, r.rule)
	dst = append(dst, `,"value":`...)
	dst = appendJSONString(dst, a.x.spec.Value)
	dst = append(dst, `,"by":{`...)
	for j, name := range a.x.spec.By {
		if j > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, name)
		dst = append(dst, ':')
		dst = appendJSONString(dst, r.by[j])
	}
	dst = append(dst, '}')
	if r.other {
		dst = append(dst, `,"other":true`...)
	}
	st := r.st
	dst = append(dst, `,"count":`...)
	dst = strconv.AppendInt(dst, st.count, 10)
	nums := [...]struct {
		key string
		v   float64
	}{{"min", st.min}, {"mean", 0}, {"p50", 0}, {"p90", 0}, {"p99", 0}, {"max", st.max}}
	if st.count > 0 {
		q := st.quantiles()
		nums[1].v, nums[2].v, nums[3].v, nums[4].v = st.sum/float64(st.count), q[0], q[1], q[2]
	}
	for _, n := range nums {
		dst = append(dst, ',', '"')
		dst = append(dst, n.key...)
		dst = append(dst, '"', ':')
		if st.count == 0 || math.IsNaN(n.v) || math.IsInf(n.v, 0) {
			dst = append(dst, "null"...)
			continue
		}
		dst = append(dst, exact(n.v)...)
	}
	dst = append(dst, `,"errors":`...)
	dst = strconv.AppendInt(dst, st.errors, 10)
	dst = append(dst, `,"missing":`...)
	dst = strconv.AppendInt(dst, st.missing, 10)
	return append(dst, "}\n"...)
}

// appendJSONString appends s as a JSON string, with bytes that are not
// UTF-8 as U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	s = strings.ToValidUTF8(s, "\uFFFD")
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, `\u00`...)
			dst = append(dst, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// exact prints a value as it was read: the shortest text that reads back
// as the same float64, without an exponent for ordinary magnitudes.
func exact(v float64) string {
	if v == 0 {
		return "0"
	}
	if a := math.Abs(v); a >= 1e-6 && a < 1e21 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// sig prints a computed value (a mean, a quantile) with n significant
// digits, without an exponent for ordinary magnitudes and without
// trailing zeros: a quantile is 1 % accurate, so its fifth digit would
// tell nothing. An integer part longer than n is printed whole.
func sig(v float64, n int) string {
	a := math.Abs(v)
	switch {
	case v == 0:
		return "0"
	case math.IsNaN(v) || math.IsInf(v, 0) || a < 1e-6 || a >= 1e21:
		return strconv.FormatFloat(v, 'g', n, 64)
	}
	dec := max(n-(int(math.Floor(math.Log10(a)))+1), 0)
	s := strconv.FormatFloat(v, 'f', dec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}
