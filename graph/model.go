// Package graph derives the service dependency map from observations: it
// pairs spans into calls, keeps per-second edge statistics for a sliding
// window, publishes snapshots and deltas every tick, flushes closed buckets to
// the edges_* tables, reads historical graphs from them, and runs topology
// analytics. It is fed by ingest/ and read by query/; it never imports either.
package graph

import (
	"context"
	"time"
)

// NodeKind classifies nodes.
type NodeKind string

// Node kinds, as the API spells them.
const (
	KindService   NodeKind = "service"
	KindWorkload  NodeKind = "workload"
	KindVersion   NodeKind = "version"
	KindExternal  NodeKind = "external"
	KindDatabase  NodeKind = "database"
	KindMessaging NodeKind = "messaging"
	KindClient    NodeKind = "client"
)

// Granularity at which parties become nodes.
type Granularity string

// Granularities.
const (
	GranularityService  Granularity = "service"
	GranularityWorkload Granularity = "workload"
	GranularityVersion  Granularity = "version"
)

// Granularities lists every granularity.
var Granularities = []Granularity{GranularityService, GranularityWorkload, GranularityVersion}

// ParseGranularity validates s ("" means service).
func ParseGranularity(s string) (Granularity, bool) {
	switch Granularity(s) {
	case "", GranularityService:
		return GranularityService, true
	case GranularityWorkload, GranularityVersion:
		return Granularity(s), true
	}
	return "", false
}

// Node is a node of a published graph. Published nodes are immutable.
type Node struct {
	ID          string   `json:"id"`
	Kind        NodeKind `json:"kind"`
	Namespace   string   `json:"namespace"`
	Name        string   `json:"name"`
	Workload    string   `json:"workload"`
	Version     string   `json:"version"`
	Cluster     string   `json:"cluster"`
	Health      string   `json:"health"`
	RequestsIn  uint64   `json:"requests_in"`
	ErrorsIn    uint64   `json:"errors_in"`
	RPSIn       float64  `json:"rps_in"`
	ErrorRateIn float64  `json:"error_rate_in"`
	RequestsOut uint64   `json:"requests_out"`
	ErrorsOut   uint64   `json:"errors_out"`
	RPSOut      float64  `json:"rps_out"`
}

// Edge is an edge of a published graph. Published edges are immutable.
type Edge struct {
	ID       string `json:"id"`
	Source   string `json:"source"`
	Target   string `json:"target"`
	Protocol string `json:"protocol"`
	// Protocols lists every protocol the inputs saw on the edge (Protocol
	// is the one of most of the counted calls): a database's edge has db
	// from spans and tcp from its proxies.
	Protocols     []string `json:"protocols"`
	Requests      uint64   `json:"requests"`
	Errors        uint64   `json:"errors"`
	RPS           float64  `json:"rps"`
	ErrorRate     float64  `json:"error_rate"`
	P50Ms         float64  `json:"p50_ms"`
	P90Ms         float64  `json:"p90_ms"`
	P95Ms         float64  `json:"p95_ms"`
	P99Ms         float64  `json:"p99_ms"`
	MeanMs        float64  `json:"mean_ms"`
	BytesSent     uint64   `json:"bytes_sent"`
	BytesReceived uint64   `json:"bytes_received"`
	MTLSShare     float64  `json:"mtls_share"`
	Provenance    []string `json:"provenance"`

	// Reporters lists which sides reported the calls: "source",
	// "destination", "unknown".
	Reporters []string `json:"reporters,omitempty"`
	// BytesSentPerSecond and BytesReceivedPerSecond are the byte totals
	// per second of the window.
	BytesSentPerSecond     float64 `json:"bytes_sent_per_second"`
	BytesReceivedPerSecond float64 `json:"bytes_received_per_second"`
}

// Graph is a whole graph: the live window or a historical range.
type Graph struct {
	Granularity   Granularity `json:"granularity"`
	From          time.Time   `json:"from"`
	To            time.Time   `json:"to"`
	WindowSeconds float64     `json:"window_seconds"`
	Nodes         []Node      `json:"nodes"`
	Edges         []Edge      `json:"edges"`
}

// Delta turns the graph at BaseSeq into the graph at Seq.
type Delta struct {
	Seq          uint64    `json:"seq"`
	BaseSeq      uint64    `json:"base_seq"`
	Time         time.Time `json:"time"`
	NodesAdded   []Node    `json:"nodes_added"`
	NodesUpdated []Node    `json:"nodes_updated"`
	NodesRemoved []string  `json:"nodes_removed"`
	EdgesAdded   []Edge    `json:"edges_added"`
	EdgesUpdated []Edge    `json:"edges_updated"`
	EdgesRemoved []string  `json:"edges_removed"`
}

// Tick is what the live builder publishes each tick for one granularity:
// the whole graph and the delta from the previous tick. Ticks are shared
// between readers and must not be modified.
type Tick struct {
	Seq   uint64
	Graph *Graph
	Delta *Delta
}

// Live is the contract between the live builder and its readers (query/).
type Live interface {
	// Latest returns the most recent tick for g, or nil before the first.
	Latest(g Granularity) *Tick
	// Subscribe returns a channel that receives every tick for g, and a
	// function that ends the subscription. The builder never waits for a
	// reader: when the channel's buffer is full the tick is dropped for that
	// reader, who sees a gap in Seq and must resynchronise from Tick.Graph.
	Subscribe(g Granularity, buffer int) (<-chan *Tick, func())
}

// RangeQuery asks for the graph of a past range.
type RangeQuery struct {
	From, To    time.Time
	Granularity Granularity
	// Namespaces, when not empty, keeps edges with either end in one of them.
	Namespaces []string
}

// History answers graphs for past ranges from the edges_* tables.
type History interface {
	Range(ctx context.Context, q RangeQuery) (*Graph, error)
}

// SeriesQuery asks for RED series of a service (its inbound calls) or of one
// edge, over a past range, at a step.
type SeriesQuery struct {
	From, To time.Time
	Step     time.Duration
	// Node, for a service series: its node id (service:NS/NAME ...).
	Node string
	// Source and Target, for an edge series: node ids.
	Source, Target string
	// Outbound: a node's series is of the calls it made, not of those it
	// took (a client node's always is): for a worker that only calls out.
	Outbound bool
	// ByVersion also splits the series by the version of the node's side
	// (the callee's; a caller's own, for outbound calls; an edge's target's)
	// into Series.Versions, and says which versions took no calls in the
	// VersionLookback before From: those whose first calls fall in the
	// range were deployed there, as far as the calls tell.
	ByVersion bool
}

// Series is a RED time series; all slices have the length of Time.
type Series struct {
	Time      []int64   `json:"time"`
	Requests  []uint64  `json:"requests"`
	Errors    []uint64  `json:"errors"`
	RPS       []float64 `json:"rps"`
	ErrorRate []float64 `json:"error_rate"`
	P50Ms     []float64 `json:"p50_ms"`
	P90Ms     []float64 `json:"p90_ms"`
	P95Ms     []float64 `json:"p95_ms"`
	P99Ms     []float64 `json:"p99_ms"`
	// Versions, when asked for (SeriesQuery.ByVersion): the series of each
	// version that took calls in the range, busiest first; the calls of
	// parties of no known version are under "". Their Time is the series'.
	Versions []VersionSeries `json:"versions,omitempty"`
}

// VersionSeries is one version's part of a series.
type VersionSeries struct {
	Version string `json:"version"`
	// FirstSeen is the start (Unix seconds) of the first step with calls to
	// the version in the range; for a New version, when its first calls
	// were, to 10 s.
	FirstSeen int64 `json:"first_seen"`
	// New: the version was deployed within the range (NewVersion), so
	// that FirstSeen is when it started taking traffic (a deploy, a
	// canary's first calls), not merely the range's start or the node's
	// own first calls.
	New bool `json:"new"`
	// TotalRequests and TotalErrors are the range's.
	TotalRequests uint64 `json:"total_requests"`
	TotalErrors   uint64 `json:"total_errors"`
	Series
}

// SeriesReader answers RED series from the edges_* tables.
type SeriesReader interface {
	Series(ctx context.Context, q SeriesQuery) (*Series, error)
}

// DiffNode and DiffEdge are elements of a graph diff. Diff is "added",
// "removed", "changed" or "same"; Base holds the baseline numbers where the
// element existed in the baseline.
type (
	DiffNode struct {
		Node
		Diff string `json:"diff"`
		Base *Node  `json:"base,omitempty"`
	}
	DiffEdge struct {
		Edge
		Diff string `json:"diff"`
		Base *Edge  `json:"base,omitempty"`
	}
	// GraphDiff is the graph of a range compared with a baseline range.
	GraphDiff struct {
		Nodes []DiffNode `json:"nodes"`
		Edges []DiffEdge `json:"edges"`
	}
)

// AnalyticsKinds are the kinds accepted by Analyze.
var AnalyticsKinds = []string{"blast-radius", "cycles", "ranking", "critical-path", "coverage", "new-dependencies"}

// AnalyticsParams parameterise Analyze.
type AnalyticsParams struct {
	// Node is the node id the analysis centres on (blast-radius, critical-path).
	Node string
	// Depth limits traversals; 0 means the default (5).
	Depth int
	// Direction for blast-radius: "upstream", "downstream" or "both" (default).
	Direction string
	// Baseline is the graph to compare with (new-dependencies).
	Baseline *Graph
	// Limit bounds result lists (ranking, cycles, coverage gaps); 0 means
	// the default (50).
	Limit int
	// Metric is the latency compared by critical-path: p50, p90, p95, p99
	// (default) or mean.
	Metric string
}
