package envoy

import (
	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
	"github.com/meshscope/meshscope/schema"
)

// Record is one access log entry as a receiver hands it to the Resolver:
// the entry's fields and what its transport adds to them.
//
// Its strings may alias the receiver's buffers (the parsed line, the
// decoded message): the rows and observations the Resolver appends alias
// them too, so they stay valid only as long as those buffers, which is
// until the receiver's Append returns. What the Resolver keeps beyond the
// call (learned addresses, waiting observations) it copies.
type Record struct {
	// Entry holds the entry's fields.
	Entry accesslog.Entry
	// Emitter is the proxy that wrote the entry; nil when unknown.
	Emitter *Emitter
	// LogName is the ALS log_name, the OpenTelemetry log_name, or the
	// format of imported lines.
	LogName string
	// DownstreamPeer and UpstreamPeer are the workloads on either side of
	// the proxy as peer metadata tells them (Istio's filter state
	// downstream_peer and upstream_peer); zero when not told.
	DownstreamPeer, UpstreamPeer graph.Party
	// DownstreamSecurity is the security of the connection from
	// downstream when the transport tells it (ALS TLS properties):
	// schema.SecurityMTLS, schema.SecurityPlaintext or SecurityUnknown.
	DownstreamSecurity uint8
	// SecurityPolicy is Istio's connection_security_policy when the entry
	// carries it: "mutual_tls", "none" or "unknown".
	SecurityPolicy string
	// GRPCStatus is the grpc-status when GRPCStatusKnown.
	GRPCStatus      int16
	GRPCStatusKnown bool
	// GRPC marks a gRPC request (content-type application/grpc).
	GRPC bool
	// TCP marks a connection entry rather than an HTTP request.
	TCP bool
	// TraceID is the entry's trace id; zero when none.
	TraceID schema.TraceID
	// Intermediate marks a periodic entry of a long-lived stream (ALS
	// intermediate_log_entry): stored as a row, not counted as a call.
	Intermediate bool
	// AttrKeys and AttrValues are further attributes for the row (ALS
	// custom tags, OpenTelemetry attributes); Extra fields of the entry
	// are added to them.
	AttrKeys, AttrValues []string
}

// Reset clears r for the next entry, keeping the Entry's and the
// attributes' buffers. Parsers reset the Entry themselves.
func (r *Record) Reset() {
	*r = Record{Entry: r.Entry, AttrKeys: r.AttrKeys[:0], AttrValues: r.AttrValues[:0]}
}
