package where

import "testing"

func BenchmarkMatch(b *testing.B) {
	r := record(
		kv{"time", "2026-03-01T10:00:00.123Z", true},
		kv{"level", "error", true},
		kv{"service", "checkout", true},
		kv{"http.method", "POST", true},
		kv{"http.status", "502", false},
		kv{"latency_ms", "912.5", false},
		kv{"user.id", "u-81723", true},
		kv{"msg", "upstream request timed out after 900ms", true},
	)
	for _, expr := range []string{
		"level=error",
		"latency_ms > 900",
		"http.status=502",
		"user.id != u-1",
		"time >= 2026-03-01T09:00:00+00:00",
		`msg ~ "timed? out"`,
		"missing=x",
	} {
		e := mustParse(b, expr)
		b.Run(expr, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !e.Match(r) && expr != "missing=x" {
					b.Fatal("no match")
				}
			}
		})
	}
}
