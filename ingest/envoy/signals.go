package envoy

import (
	"strings"

	"github.com/meshscope/meshscope/ingest"
	"github.com/meshscope/meshscope/schema"
)

// signals are what an entry tells beyond its named fields: from the
// transport (Record) or from extra commands of a custom format, such as
// %RESP(GRPC-STATUS)%, %GRPC_STATUS(NUMBER)%, %REQ(TRACEPARENT)% or
// %REQ(CONTENT-TYPE)%.
type signals struct {
	grpc           bool
	grpcKnown      bool
	grpcStatus     int16
	traceID        schema.TraceID
	securityPolicy string
}

// readExtra collects the signals of rec.
func readExtra(rec *Record) signals {
	s := signals{grpc: rec.GRPC, grpcKnown: rec.GRPCStatusKnown, grpcStatus: rec.GRPCStatus, traceID: rec.TraceID}
	for _, f := range rec.Entry.Extra {
		if f.Value == "" {
			continue
		}
		name := f.Name
		switch {
		case hasFoldPrefix(name, "GRPC_STATUS"), strings.EqualFold(name, "RESP(GRPC-STATUS)"),
			strings.EqualFold(name, "TRAILER(GRPC-STATUS)"), strings.EqualFold(name, "RESPONSE_TRAILER(GRPC-STATUS)"):
			if code, ok := ParseGRPCStatus(f.Value); ok && !s.grpcKnown {
				s.grpcKnown, s.grpcStatus, s.grpc = true, code, true
			}
		case strings.EqualFold(name, "REQ(CONTENT-TYPE)"):
			if IsGRPCContentType(f.Value) {
				s.grpc = true
			}
		case strings.EqualFold(name, "REQ(TRACEPARENT)"):
			if id, ok := TraceParentID(f.Value); ok && s.traceID == (schema.TraceID{}) {
				s.traceID = id
			}
		case strings.EqualFold(name, "REQ(X-B3-TRACEID)"):
			if id, ok := HexTraceID(f.Value); ok && s.traceID == (schema.TraceID{}) {
				s.traceID = id
			}
		case containsFold(name, "connection_security_policy"):
			s.securityPolicy = f.Value
		}
	}
	return s
}

// IsGRPCContentType reports whether a content-type is gRPC's.
func IsGRPCContentType(ct string) bool {
	return hasFoldPrefix(ct, "application/grpc")
}

// grpcCodes are the gRPC status names, in code order, as Envoy's
// %GRPC_STATUS% prints them (CAMEL_STRING) and as SNAKE_STRING.
var grpcCodes = [...]string{
	"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
	"AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
	"Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss",
	"Unauthenticated",
}

var grpcSnake = [...]string{
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
}

// ParseGRPCStatus reads a grpc-status: a number, or a status name as
// Envoy's %GRPC_STATUS% prints it.
func ParseGRPCStatus(s string) (int16, bool) {
	if s == "" {
		return 0, false
	}
	if n, ok := ingest.Atoi(s); ok {
		if n > 1<<15-1 {
			return 0, false
		}
		return int16(n), true
	}
	for i := range grpcCodes {
		if s == grpcCodes[i] || s == grpcSnake[i] || strings.EqualFold(s, grpcCodes[i]) {
			return int16(i), true
		}
	}
	if strings.EqualFold(s, "Cancelled") {
		return 1, true
	}
	return 0, false
}

// TraceParentID reads the trace id of a W3C traceparent header
// ("00-<32 hex>-<16 hex>-<2 hex>").
func TraceParentID(s string) (schema.TraceID, bool) {
	if len(s) < 55 || s[2] != '-' || s[35] != '-' {
		return schema.TraceID{}, false
	}
	return HexTraceID(s[3:35])
}

// HexTraceID reads a trace id of 32 hex digits, or 16 (a 64-bit B3 id,
// padded on the left as OpenTelemetry does). An all-zero id is no id.
func HexTraceID(s string) (schema.TraceID, bool) {
	var id schema.TraceID
	if len(s) != 32 && len(s) != 16 {
		return id, false
	}
	off := 16 - len(s)/2
	for i := 0; i < len(s); i += 2 {
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return schema.TraceID{}, false
		}
		id[off+i/2] = hi<<4 | lo
	}
	return id, id != schema.TraceID{}
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func hasFoldPrefix(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// containsFold reports whether s contains sub (ASCII, any case).
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
