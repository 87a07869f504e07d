// Package filter decides which files to scan from --include, --exclude and
// --exclude-dir globs.
//
// A glob without a slash matches the base name, as grep's --include does
// (`*.log`). A glob with a slash matches the path relative to the root it was
// found under, and `**` there matches any number of directories
// (`nginx/**/*.log`, `**/archive/*`).
package filter

import (
	"path"
	"path/filepath"
	"strings"
)

// Filter holds compiled include and exclude globs. The zero Filter accepts
// everything.
type Filter struct {
	include, exclude, excludeDir []string
}

// New returns a Filter; the globs must have passed Check.
func New(include, exclude, excludeDir []string) *Filter {
	return &Filter{include: include, exclude: exclude, excludeDir: excludeDir}
}

// Check reports a malformed glob.
func Check(glob string) error {
	_, err := path.Match(strings.ReplaceAll(glob, "**", "*"), "")
	return err
}

// File reports whether the file at rel (slash-separated, relative to its
// root) is to be scanned.
func (f *Filter) File(rel string) bool {
	if f == nil {
		return true
	}
	for _, g := range f.exclude {
		if Match(g, rel) {
			return false
		}
	}
	if len(f.include) == 0 {
		return true
	}
	for _, g := range f.include {
		if Match(g, rel) {
			return true
		}
	}
	return false
}

// Dir reports whether the directory at rel is to be entered.
func (f *Filter) Dir(rel string) bool {
	if f == nil {
		return true
	}
	for _, g := range f.excludeDir {
		if Match(g, rel) {
			return false
		}
	}
	return true
}

// Empty reports whether the filter accepts everything.
func (f *Filter) Empty() bool {
	return f == nil || len(f.include)+len(f.exclude)+len(f.excludeDir) == 0
}

// Match matches one glob against a slash-separated relative path.
func Match(glob, rel string) bool {
	rel = filepath.ToSlash(rel)
	if !strings.Contains(glob, "/") {
		ok, _ := path.Match(glob, path.Base(rel))
		return ok
	}
	return matchSegments(strings.Split(strings.TrimPrefix(glob, "/"), "/"), strings.Split(rel, "/"))
}

func matchSegments(glob, parts []string) bool {
	for len(glob) > 0 {
		if glob[0] == "**" {
			for i := 0; i <= len(parts); i++ {
				if matchSegments(glob[1:], parts[i:]) {
					return true
				}
			}
			return false
		}
		if len(parts) == 0 {
			return false
		}
		if ok, _ := path.Match(glob[0], parts[0]); !ok {
			return false
		}
		glob, parts = glob[1:], parts[1:]
	}
	return len(parts) == 0
}

// Path reports whether the file at rel is to be scanned, checking every
// directory on the way down against --exclude-dir as a walk would.
func (f *Filter) Path(rel string) bool {
	if f == nil {
		return true
	}
	rel = filepath.ToSlash(rel)
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' && !f.Dir(rel[:i]) {
			return false
		}
	}
	return f.File(rel)
}
