package otlp

import (
	"encoding/json"
	"errors"

	"go.opentelemetry.io/collector/pdata/plog"
	"google.golang.org/protobuf/encoding/protowire"
)

// The request is encoded with pdata's plog marshalers: LogsData and
// ExportLogsServiceRequest are the same message on the wire (field 1,
// repeated ResourceLogs) and in OTLP/JSON ({"resourceLogs": [...]}). The
// plogotlp package would say so in its types, but it is generated for
// gRPC and links the gRPC runtime, whose package initialisation every
// one-shot run would pay for (1.5 ms measured), for two small messages:
// the response and a refusal's google.rpc.Status are read here with the
// protobuf module's own wire reader.

// marshalRequest encodes logs as an ExportLogsServiceRequest.
func marshalRequest(logs plog.Logs, asJSON bool) ([]byte, error) {
	if asJSON {
		return (&plog.JSONMarshaler{}).MarshalLogs(logs)
	}
	return (&plog.ProtoMarshaler{}).MarshalLogs(logs)
}

var errWire = errors.New("malformed protobuf message")

// protoFields calls each for the fields of message b, stopping at the first
// error.
func protoFields(b []byte, each func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error) error {
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return errWire
		}
		b = b[l:]
		var v []byte
		var n uint64
		switch typ {
		case protowire.VarintType:
			n, l = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			v, l = protowire.ConsumeBytes(b)
		default:
			l = protowire.ConsumeFieldValue(num, typ, b)
		}
		if l < 0 {
			return errWire
		}
		b = b[l:]
		if err := each(num, typ, v, n); err != nil {
			return err
		}
	}
	return nil
}

// partialSuccessProto reads ExportLogsServiceResponse{partial_success = 1:
// ExportLogsPartialSuccess{rejected_log_records = 1, error_message = 2}}.
func partialSuccessProto(body []byte) (rejected int64, msg string, err error) {
	err = protoFields(body, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != 1 || typ != protowire.BytesType {
			return nil
		}
		return protoFields(v, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
			switch {
			case num == 1 && typ == protowire.VarintType:
				rejected = int64(n)
			case num == 2 && typ == protowire.BytesType:
				msg = string(v)
			}
			return nil
		})
	})
	return rejected, msg, err
}

// partialSuccessJSON reads the OTLP/JSON response; int64 fields may be
// numbers or strings there.
func partialSuccessJSON(body []byte) (int64, string, error) {
	var resp struct {
		PartialSuccess struct {
			RejectedLogRecords json.Number `json:"rejectedLogRecords"`
			ErrorMessage       string      `json:"errorMessage"`
		} `json:"partialSuccess"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return 0, "", err
	}
	ps := resp.PartialSuccess
	var n int64
	if ps.RejectedLogRecords != "" {
		var err error
		if n, err = ps.RejectedLogRecords.Int64(); err != nil {
			return 0, "", err
		}
	}
	return n, ps.ErrorMessage, nil
}

// statusMessage is the message (field 2) of a google.rpc.Status.
func statusMessage(body []byte) (string, bool) {
	var msg string
	err := protoFields(body, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num == 2 && typ == protowire.BytesType {
			msg = string(v)
		}
		return nil
	})
	return msg, err == nil && msg != ""
}
