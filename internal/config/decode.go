package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/v2"
)

// decoder converts merged values, naming the key on error.
type decoder struct {
	k   *koanf.Koanf
	src Sources
	err error
}

func (d *decoder) where(key string) string {
	if f, ok := d.src.FlagOf[key]; ok && d.src.Flags != nil {
		if _, set := d.src.Flags[key]; set {
			return "flag --" + f
		}
	}
	return "config key " + key
}

func (d *decoder) fail(key string, v any, msg string) {
	if d.err == nil {
		d.err = &Error{Where: d.where(key), Value: fmt.Sprint(v), Msg: msg}
	}
}

func (d *decoder) str(key string) string {
	v := d.k.Get(key)
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int, int64, float64, bool:
		return fmt.Sprint(x)
	}
	d.fail(key, v, "want a string")
	return ""
}

func (d *decoder) strs(key string) []string {
	return d.strList(key, d.k.Get(key))
}

func (d *decoder) strList(key string, v any) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		if keys[key] == kStrings && strings.Contains(x, ",") {
			return splitList(x)
		}
		return []string{x}
	case []string:
		return slices.Clone(x)
	case []any:
		out := make([]string, 0, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				d.fail(fmt.Sprintf("%s[%d]", key, i), e, "want a string")
				return nil
			}
			out = append(out, s)
		}
		return out
	}
	d.fail(key, v, "want a list of strings")
	return nil
}

func (d *decoder) boolean(key string) bool {
	v := d.k.Get(key)
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		if err != nil {
			d.fail(key, x, "want true or false")
		}
		return b
	}
	d.fail(key, v, "want true or false")
	return false
}

func (d *decoder) duration(key string) time.Duration {
	v := d.k.Get(key)
	switch x := v.(type) {
	case nil:
		return 0
	case time.Duration:
		return x
	case string:
		if x == "" || x == "0" {
			return 0
		}
		dur, err := time.ParseDuration(strings.TrimSpace(x))
		if err != nil || dur < 0 {
			d.fail(key, x, "bad duration (want e.g. 500ms, 2s, 1m)")
		}
		return dur
	case int:
		if x == 0 {
			return 0
		}
	}
	d.fail(key, v, "bad duration (want e.g. 500ms, 2s, 1m)")
	return 0
}

func (d *decoder) integer(key string) int {
	v := d.k.Get(key)
	switch x := v.(type) {
	case nil:
		return 0
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		if x == float64(int(x)) {
			return int(x)
		}
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err == nil {
			return n
		}
	}
	d.fail(key, v, "want a whole number")
	return 0
}

// size parses a byte size: a number with an optional KiB/MiB/GiB (or K/M/G) suffix.
func (d *decoder) size(key string) int {
	v := d.k.Get(key)
	switch x := v.(type) {
	case int:
		return x
	case float64:
		return int(x)
	case string:
		n, err := parseSize(x)
		if err != nil {
			d.fail(key, x, "bad size (want e.g. 1048576, 64KiB, 16MiB)")
		}
		return n
	}
	d.fail(key, v, "bad size (want e.g. 1048576, 64KiB, 16MiB)")
	return 0
}

// FormatSize prints a size the way parseSize reads it, in the largest unit
// that divides it: 16MiB, 64KiB, 1000.
func FormatSize(n int) string {
	for _, u := range []struct {
		suffix string
		m      int
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.m && n%u.m == 0 {
			return strconv.Itoa(n/u.m) + u.suffix
		}
	}
	return strconv.Itoa(n)
}

// parseSize parses "16MiB", "64KiB", "1G", "4096".
// objects reads key as a list of maps whose keys are among known, calling
// each with a decoder over one map and its place ("rules[2]"); each
// returns false to stop. A value that is no such list is an error naming
// the key, the element or the unknown key at fault.
func (d *decoder) objects(key, what string, known []string, each func(at string, sd *decoder) bool) {
	v := d.k.Get(key)
	if v == nil {
		return
	}
	list, ok := v.([]any)
	if !ok {
		d.fail(key, v, "want a list of {"+strings.Join(known, ", ")+"}")
		return
	}
	for i, e := range list {
		at := fmt.Sprintf("%s[%d]", key, i)
		m, ok := e.(map[string]any)
		if !ok {
			d.fail(at, e, "want a map with "+strings.Join(known, ", "))
			return
		}
		for k := range m {
			if !slices.Contains(known, k) {
				if d.err == nil {
					d.err = &Error{Where: "config key " + at + "." + k, Msg: "unknown key (" + what + " keys: " + strings.Join(known, ", ") + ")"}
				}
				return
			}
		}
		sub := koanf.New(".")
		if err := sub.Load(confmap.Provider(m, ""), nil); err != nil {
			d.fail(at, e, err.Error())
			return
		}
		if !each(at, &decoder{k: sub}) {
			return
		}
	}
}

// sub ends the decoding of one list element by d, a decoder over it: on
// error it names the element within its parent ("rules[0].metrics[1].type")
// and stops the list, else it keeps the element.
func sub(parent *decoder, at string, d *decoder, keep func()) bool {
	if d.err != nil {
		var ce *Error
		if errors.As(d.err, &ce) {
			ce.Where = "config key " + at + "." + strings.TrimPrefix(ce.Where, "config key ")
		}
		if parent.err == nil {
			parent.err = d.err
		}
		return false
	}
	keep()
	return true
}

func parseSize(s string) (int, error) {
	s = strings.TrimSpace(s)
	mult := 1
	for _, u := range []struct {
		suffix string
		m      int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 {
		return 0, errors.New("bad size")
	}
	return n * mult, nil
}

func (d *decoder) rules() []Rule {
	var out []Rule
	d.objects("rules", "rule", ruleKeys, func(at string, sd *decoder) bool {
		r := Rule{
			Name:       sd.str("name"),
			Match:      splitLines(sd.strList("match", sd.k.Get("match"))),
			Ignore:     splitLines(sd.strList("ignore", sd.k.Get("ignore"))),
			IgnoreCase: sd.boolean("ignore_case"),
			Fixed:      sd.boolean("fixed"),
			Where:      sd.strList("where", sd.k.Get("where")),
		}
		if sd.err == nil {
			r.Metrics = sd.ruleMetrics()
		}
		if sd.err == nil {
			r.Alert = sd.ruleAlert()
		}
		return sub(d, at, sd, func() { out = append(out, r) })
	})
	if d.err != nil {
		return nil
	}
	seen := map[string]int{}
	for i, r := range out {
		if r.Name == "" {
			continue
		}
		if j, dup := seen[r.Name]; dup {
			d.fail(fmt.Sprintf("rules[%d].name", i), r.Name, fmt.Sprintf("duplicate rule name (also rules[%d])", j))
			return nil
		}
		seen[r.Name] = i
	}
	return out
}
