package graph

import "context"

// ReporterSet is a set of reporters, a bitmask with bit 1<<Reporter per
// reporter (1 unknown, 2 source, 4 destination), as stored in the reporters
// column of the edges_* tables.
type ReporterSet uint8

// With adds r to the set.
func (s ReporterSet) With(r Reporter) ReporterSet { return s | 1<<r }

// Names lists the reporters in the set as the API spells them.
func (s ReporterSet) Names() []string {
	out := make([]string, 0, 3)
	if s&(1<<ReporterSource) != 0 {
		out = append(out, "source")
	}
	if s&(1<<ReporterDestination) != 0 {
		out = append(out, "destination")
	}
	if s&(1<<ReporterUnknown) != 0 {
		out = append(out, "unknown")
	}
	return out
}

// EdgeKey identifies an edge at the finest level: both parties as precisely
// as the inputs know them, and the protocol.
type EdgeKey struct {
	Source, Destination Party
	Protocol            Protocol
}

// EdgeStats are the numbers of the calls on one edge over some time. The zero
// value is empty; stats add up (Add) across buckets, replicas and rollups.
type EdgeStats struct {
	Requests, Errors uint64
	// LatencySumNanos is the sum of the latencies of Requests (for the mean).
	LatencySumNanos uint64
	Latency         Histogram
	// BytesSent is what the callers sent, BytesReceived what they got back.
	BytesSent, BytesReceived uint64
	// MTLS and Plaintext count calls known to be, or not to be, over mutual TLS.
	MTLS, Plaintext uint64
	Provenance      Provenance
	Reporters       ReporterSet
}

// Add adds o into s.
func (s *EdgeStats) Add(o *EdgeStats) {
	s.addCounters(o)
	s.Latency.Add(&o.Latency)
	s.Provenance |= o.Provenance
	s.Reporters |= o.Reporters
}

func (s *EdgeStats) addCounters(o *EdgeStats) {
	s.Requests += o.Requests
	s.Errors += o.Errors
	s.LatencySumNanos += o.LatencySumNanos
	s.BytesSent += o.BytesSent
	s.BytesReceived += o.BytesReceived
	s.MTLS += o.MTLS
	s.Plaintext += o.Plaintext
}

// MeanNanos is the mean latency, 0 without calls.
func (s *EdgeStats) MeanNanos() float64 {
	if s.Requests == 0 {
		return 0
	}
	return float64(s.LatencySumNanos) / float64(s.Requests)
}

// EdgeRow is one row of edges_10s: the calls of one edge in one closed 10
// second bucket, as one builder saw them. Other replicas may write rows for
// the same edge and bucket; readers sum them.
type EdgeRow struct {
	// BucketUnix is the bucket start, Unix seconds, a multiple of 10.
	BucketUnix int64
	Key        EdgeKey
	Requests   uint64
	Errors     uint64
	// Latency is the latency histogram (graph.Histogram layout) with its
	// trailing empty buckets cut off; nil when there is no latency.
	Latency                  []uint64
	LatencySumNanos          uint64
	BytesSent, BytesReceived uint64
	MTLS, Plaintext          uint64
	Provenance               Provenance
	Reporters                ReporterSet
}

// EdgeWriter stores closed buckets (in edges_10s). WriteEdges is called from
// one goroutine at a time; rows and their slices are only valid during the
// call. It must write all rows or none (a chstore batch insert is atomic):
// on error the builder writes the whole batch again, and rows written twice
// would be counted twice.
type EdgeWriter interface {
	WriteEdges(ctx context.Context, rows []EdgeRow) error
}

// trimmedLatency returns h without its trailing zero buckets, appended to dst.
func trimmedLatency(dst []uint64, h *Histogram) []uint64 {
	n := len(h)
	for n > 0 && h[n-1] == 0 {
		n--
	}
	return append(dst, h[:n]...)
}
