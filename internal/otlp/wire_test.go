package otlp

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// FuzzPartialSuccess: the hand-held readers of the export response agree
// with pdata's generated ones on every response pdata writes, and return
// an error, never a panic, on any other bytes.
func FuzzPartialSuccess(f *testing.F) {
	f.Add(int64(0), "", []byte{})
	f.Add(int64(3), "3 records had no body", []byte{0x0a, 0x02, 0x08, 0x03})
	f.Add(int64(-1), "\xff", []byte{0x0a, 0xff})
	f.Fuzz(func(t *testing.T, rejected int64, msg string, junk []byte) {
		// Any bytes: no panic.
		_, _, _ = partialSuccessProto(junk)
		_, _, _ = partialSuccessJSON(junk)
		_, _ = statusMessage(junk)

		resp := plogotlp.NewExportResponse()
		ps := resp.PartialSuccess()
		ps.SetRejectedLogRecords(rejected)
		ps.SetErrorMessage(msg)
		pb, err := resp.MarshalProto()
		if err != nil {
			t.Skip()
		}
		n, m, err := partialSuccessProto(pb)
		if err != nil || n != rejected || m != msg {
			t.Fatalf("proto %x: got %d %q %v, want %d %q", pb, n, m, err, rejected, msg)
		}
		js, err := resp.MarshalJSON()
		if err != nil {
			t.Skip()
		}
		// pdata writes invalid UTF-8 into JSON as it is, encoding/json
		// reads each bad byte as U+FFFD: the message is for the log, so compare the
		// text either makes of it.
		var back = plogotlp.NewExportResponse()
		if back.UnmarshalJSON(js) != nil {
			t.Skip()
		}
		n, m, err = partialSuccessJSON(js)
		if err != nil || n != back.PartialSuccess().RejectedLogRecords() || m != string([]rune(back.PartialSuccess().ErrorMessage())) {
			t.Fatalf("json %s: got %d %q %v, pdata reads %d %q", js, n, m, err, back.PartialSuccess().RejectedLogRecords(), back.PartialSuccess().ErrorMessage())
		}
	})
}
