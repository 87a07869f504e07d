package match

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// genLog returns about size bytes of syslog, nginx and JSON lines; about 1%
// of lines hold ERROR and 1 in 5000 a deadbeef-%08x id.
func genLog(size int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 42))
	var b bytes.Buffer
	b.Grow(size + 512)
	hosts := []string{"web-1", "web-2", "db-primary", "cache-3"}
	paths := []string{"/", "/api/v1/users", "/static/app.js", "/healthz", "/api/v1/orders?id=123"}
	levels := []string{"INFO", "INFO", "INFO", "DEBUG", "WARN"}
	for i := 0; b.Len() < size; i++ {
		level := levels[r.IntN(len(levels))]
		if r.IntN(100) == 0 {
			level = "ERROR"
		}
		extra := ""
		if r.IntN(5000) == 0 {
			extra = fmt.Sprintf(" trace=deadbeef-%08x", r.Uint32())
		}
		switch r.IntN(3) {
		case 0:
			fmt.Fprintf(&b, "Nov 28 10:%02d:%02d %s sshd[%d]: %s Accepted publickey for user%d from 10.0.%d.%d port %d ssh2%s\n",
				r.IntN(60), r.IntN(60), hosts[r.IntN(len(hosts))], 1000+r.IntN(9000), level, r.IntN(50), r.IntN(256), r.IntN(256), 1024+r.IntN(60000), extra)
		case 1:
			fmt.Fprintf(&b, "10.1.%d.%d - - [28/Nov/2025:10:%02d:%02d +0000] \"GET %s HTTP/1.1\" %d %d \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\" %s%s\n",
				r.IntN(256), r.IntN(256), r.IntN(60), r.IntN(60), paths[r.IntN(len(paths))], []int{200, 200, 200, 304, 404, 500}[r.IntN(6)], r.IntN(50000), level, extra)
		default:
			fmt.Fprintf(&b, "{\"ts\":\"2025-11-28T10:%02d:%02d.%03dZ\",\"level\":\"%s\",\"msg\":\"request handled\",\"service\":\"orders\",\"latency_ms\":%d,\"status\":%d,\"request_id\":\"%08x\"%s}\n",
				r.IntN(60), r.IntN(60), r.IntN(1000), level, r.IntN(1000), 200, r.Uint32(), extra)
		}
	}
	return b.Bytes()
}

var benchPatterns = []struct {
	name  string
	match []string
	fold  bool
}{
	{"ERROR", []string{"ERROR"}, false},
	{"i-error", []string{"error"}, true},
	{"deadbeef", []string{"deadbeef-[0-9a-f]{8}"}, false},
	{"ERROR-FATAL-panic", []string{"ERROR", "FATAL", "panic"}, false},
	{"INFO-FATAL-panic", []string{"INFO", "FATAL", "panic"}, false},
	{"latency", []string{`latency_ms":9[0-9][0-9]`}, false},
	{"no-literal", []string{`\s5\d\d\s`}, false},
}

// scanAll iterates Next over block and returns the number of selected lines.
func scanAll(m *Matcher, block []byte) int {
	n := 0
	for from := 0; ; n++ {
		_, end, _, ok := m.Next(block, from)
		if !ok {
			return n
		}
		from = end + 1
	}
}

func BenchmarkNext(b *testing.B) {
	block := genLog(16<<20, 1)
	for _, bp := range benchPatterns {
		b.Run(bp.name, func(b *testing.B) {
			m, err := Compile([]Rule{{Match: bp.match, IgnoreCase: bp.fold}}, Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(block)))
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n = scanAll(m, block)
			}
			b.ReportMetric(float64(n), "lines")
		})
	}
}

// BenchmarkNextBlock scans one 256 KiB block, the size the scanner hands to
// Next, so the block stays in cache as it does after the read that filled
// it; this is the search speed that adds to the cost of reading.
func BenchmarkNextBlock(b *testing.B) { benchNextBlock(b, Options{}) }

// BenchmarkNextBlockWord is BenchmarkNextBlock under -w, which should cost
// about what the plain search costs.
func BenchmarkNextBlockWord(b *testing.B) { benchNextBlock(b, Options{Word: true}) }

func benchNextBlock(b *testing.B, opts Options) {
	block := genLog(256<<10, 2)
	for _, bp := range benchPatterns[:len(benchPatterns)-1] {
		b.Run(bp.name, func(b *testing.B) {
			m, err := Compile([]Rule{{Match: bp.match, IgnoreCase: bp.fold}}, opts)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(block)))
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n = scanAll(m, block)
			}
			b.ReportMetric(float64(n), "lines")
		})
	}
}
