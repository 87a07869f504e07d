package otlp

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/logscan/logscan/internal/output"
)

// BenchmarkBatch is the exporter's work per record in the follower's
// goroutine (Add) and the sender's (marshal and compress), for a batch of
// MaxRecords lines of a typical length. Run with
//
//	go test -run - -bench Batch -benchmem ./internal/otlp/
func BenchmarkBatch(b *testing.B) {
	for _, comp := range []string{"none", "gzip"} {
		b.Run(comp, func(b *testing.B) {
			e, err := New(Options{Endpoint: "http://127.0.0.1:1", Compression: comp, HostName: "h", Log: zerolog.Nop()})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			s := newSender(e)
			r := &output.Record{Path: "/var/log/app/app.log", FileID: "64768:1234", Time: time.Unix(1e9, 0)}
			texts := make([][]byte, 64)
			for i := range texts {
				texts[i] = fmt.Appendf(nil, "2026-12-01T10:00:%02d.123Z INFO [worker-%d] request id=%08x served in %d ms", i%60, i%8, i*7919, i*13%900)
			}
			n := e.o.MaxRecords
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += n {
				for j := range n {
					r.Text, r.Offset = texts[j%len(texts)], int64(i+j)*100
					e.Add(r)
				}
				e.mu.Lock()
				e.sealLocked()
				bt := e.take()
				e.mu.Unlock()
				body, err := s.encode(bt)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Discard.Write(body)
				e.finish(bt)
			}
		})
	}
}
