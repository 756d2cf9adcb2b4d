package graph

import (
	"fmt"
	"strings"

	"github.com/meshscope/meshscope/schema"
)

// Protocol of a call.
type Protocol uint8

// Protocols.
const (
	ProtocolUnknown Protocol = iota
	ProtocolHTTP
	ProtocolGRPC
	ProtocolTCP
	ProtocolDB
	ProtocolMessaging
)

var protocolNames = [...]string{"unknown", "http", "grpc", "tcp", "db", "messaging"}

func (p Protocol) String() string {
	if int(p) < len(protocolNames) {
		return protocolNames[p]
	}
	return "unknown"
}

// ParseProtocol is the inverse of Protocol.String; unknown names are
// ProtocolUnknown.
func ParseProtocol(s string) Protocol {
	for i, n := range protocolNames {
		if n == s {
			return Protocol(i)
		}
	}
	return ProtocolUnknown
}

// Provenance says which kind of input revealed a call.
type Provenance uint8

// Provenances. They are bits so an edge can hold several.
const (
	FromSpan      Provenance = 1 << iota // a span, paired or not
	FromAccessLog                        // an Envoy access log entry
	FromMetric                           // a metric delta (Istio, Linkerd, Envoy stats)
)

// Names lists the provenance bits as the API spells them.
func (p Provenance) Names() []string {
	out := make([]string, 0, 3)
	if p&FromSpan != 0 {
		out = append(out, "span")
	}
	if p&FromAccessLog != 0 {
		out = append(out, "accesslog")
	}
	if p&FromMetric != 0 {
		out = append(out, "metric")
	}
	return out
}

// ParseProvenanceList reads a comma-separated list of provenance names
// (span, accesslog, metric), in order.
func ParseProvenanceList(s string) ([]Provenance, error) {
	var out []Provenance
	for i, name := range strings.Split(s, ",") {
		switch strings.TrimSpace(name) {
		case "span":
			out = append(out, FromSpan)
		case "accesslog":
			out = append(out, FromAccessLog)
		case "metric":
			out = append(out, FromMetric)
		default:
			return nil, fmt.Errorf("provenance %d %q: want span, accesslog or metric", i+1, strings.TrimSpace(name))
		}
	}
	return out, nil
}

// Reporter says which side of a call reported it.
type Reporter uint8

// Reporters.
const (
	ReporterUnknown Reporter = iota
	ReporterSource
	ReporterDestination
)

// Party is one end of a call, as precise as the input allows. Its node id at a
// granularity is given by Party.NodeID.
type Party struct {
	Kind      NodeKind
	Cluster   string
	Namespace string
	// Name is the service (app / canonical service) name, or for virtual
	// nodes: the host (external), db.system/db.name (database),
	// system/destination (messaging).
	Name     string
	Workload string
	Version  string
}

// Observation is one or more calls between two parties, from any input:
// a paired span, an access log entry or a metric delta. It is the single
// thing the graph builder consumes.
type Observation struct {
	// TimeUnixNano is when the call(s) started.
	TimeUnixNano int64
	Source       Party
	Destination  Party
	Protocol     Protocol
	// Count is 1 for a request, N for a metric delta; 0 for a metric
	// delta of bytes alone (a long-lived TCP connection that opened no new
	// one), which adds its bytes to calls counted otherwise.
	Count uint64
	// Errors is how many of Count failed by the error rule (IsError).
	Errors uint64
	// DurationNanos is the latency of each call when Latency is nil; a
	// negative value means unknown (TCP metrics, counters without a
	// histogram): such calls count everywhere but in latency.
	DurationNanos int64
	// Latency, when set, is the latency distribution of the Count calls
	// (metric deltas); it must sum to Count.
	Latency *Histogram
	// BytesSent is what the source sent, BytesReceived what it got back,
	// summed over Count.
	BytesSent, BytesReceived uint64
	// MTLS is how many of Count were over mutual TLS; Plaintext how many
	// were known not to be. The rest is unknown.
	MTLS, Plaintext uint64
	Provenance      Provenance
	Reporter        Reporter
}

// Sink consumes what ingest produces. Implementations must not keep the
// slices (or anything they point to) after the call returns.
type Sink interface {
	// ObserveSpans feeds spans for pairing into calls.
	ObserveSpans(spans []schema.SpanRow)
	// Observe feeds calls from access logs and metrics.
	Observe(obs []Observation)
}
