package graph

import (
	"cmp"
	"slices"
	"strings"
)

// Coverage says which inputs saw the graph's edges and where they leave
// gaps: edges with only one side instrumented, or seen by one kind of input.
type Coverage struct {
	Edges    int    `json:"edges"`
	Requests uint64 `json:"requests"`
	// ByProvenance counts edges per combination of inputs ("span",
	// "accesslog+metric", ...).
	ByProvenance map[string]int `json:"by_provenance"`
	// SpanShare, AccessLogShare and MetricShare are the shares of requests
	// on edges that each input saw.
	SpanShare      float64 `json:"span_share"`
	AccessLogShare float64 `json:"accesslog_share"`
	MetricShare    float64 `json:"metric_share"`
	// Gaps lists edges with a coverage gap, busiest first, at most Limit.
	Gaps []CoverageGap `json:"gaps"`
}

// CoverageGap is an edge with what is missing.
type CoverageGap struct {
	Edge       string   `json:"edge"`
	RPS        float64  `json:"rps"`
	Provenance []string `json:"provenance"`
	Reporters  []string `json:"reporters"`
	// Reasons: target-not-instrumented (client spans without server spans),
	// source-not-instrumented (server spans without a known caller),
	// destination-not-meshed (only the caller's proxy reported),
	// source-not-meshed (only the callee's proxy reported), no-spans (mesh
	// telemetry but no traces), spans-only (traces but no mesh telemetry),
	// metrics-only.
	Reasons []string `json:"reasons"`
}

func coverage(g *Graph, p AnalyticsParams) *Coverage {
	out := &Coverage{Edges: len(g.Edges), ByProvenance: map[string]int{}, Gaps: []CoverageGap{}}
	kinds := make(map[string]NodeKind, len(g.Nodes))
	for _, n := range g.Nodes {
		kinds[n.ID] = n.Kind
	}
	kindOf := func(id string) NodeKind {
		if k, ok := kinds[id]; ok {
			return k
		}
		k, _, _ := strings.Cut(id, ":")
		return NodeKind(k)
	}
	var span, access, metric uint64
	for i := range g.Edges {
		e := &g.Edges[i]
		out.Requests += e.Requests
		has := func(list []string, v string) bool { return slices.Contains(list, v) }
		hasSpan, hasAccess, hasMetric := has(e.Provenance, "span"), has(e.Provenance, "accesslog"), has(e.Provenance, "metric")
		out.ByProvenance[strings.Join(e.Provenance, "+")]++
		if hasSpan {
			span += e.Requests
		}
		if hasAccess {
			access += e.Requests
		}
		if hasMetric {
			metric += e.Requests
		}
		src, dst := kindOf(e.Source), kindOf(e.Target)
		srcOnly := has(e.Reporters, "source") && !has(e.Reporters, "destination")
		dstOnly := has(e.Reporters, "destination") && !has(e.Reporters, "source")
		meshTelemetry := hasAccess || hasMetric
		var reasons []string
		if hasSpan && !meshTelemetry && srcOnly && (dst == KindService || dst == KindExternal) {
			reasons = append(reasons, "target-not-instrumented")
		}
		if hasSpan && !meshTelemetry && src == KindClient {
			reasons = append(reasons, "source-not-instrumented")
		}
		if meshTelemetry && srcOnly && dst != KindExternal {
			reasons = append(reasons, "destination-not-meshed")
		}
		if meshTelemetry && dstOnly && src != KindClient {
			reasons = append(reasons, "source-not-meshed")
		}
		if meshTelemetry && !hasSpan {
			reasons = append(reasons, "no-spans")
		}
		if hasSpan && !meshTelemetry {
			reasons = append(reasons, "spans-only")
		}
		if hasMetric && !hasSpan && !hasAccess {
			reasons = append(reasons, "metrics-only")
		}
		if len(reasons) > 0 {
			out.Gaps = append(out.Gaps, CoverageGap{Edge: e.ID, RPS: e.RPS, Provenance: e.Provenance,
				Reporters: e.Reporters, Reasons: reasons})
		}
	}
	if out.Requests > 0 {
		total := float64(out.Requests)
		out.SpanShare, out.AccessLogShare, out.MetricShare = float64(span)/total, float64(access)/total, float64(metric)/total
	}
	slices.SortFunc(out.Gaps, func(a, b CoverageGap) int { return cmp.Or(cmp.Compare(b.RPS, a.RPS), cmp.Compare(a.Edge, b.Edge)) })
	out.Gaps = out.Gaps[:min(len(out.Gaps), limitOr(p, defaultLimit))]
	return out
}

// NewDependencies are the nodes and edges that appeared or vanished since
// the baseline graph.
type NewDependencies struct {
	NewNodes      []string           `json:"new_nodes"`
	VanishedNodes []string           `json:"vanished_nodes"`
	NewEdges      []DependencyChange `json:"new_edges"`
	VanishedEdges []DependencyChange `json:"vanished_edges"`
}

// DependencyChange is an edge that appeared (with its rate now) or vanished
// (with its rate in the baseline).
type DependencyChange struct {
	Edge   string  `json:"edge"`
	Source string  `json:"source"`
	Target string  `json:"target"`
	RPS    float64 `json:"rps"`
}

func newDependencies(cur, base *Graph) *NewDependencies {
	d := Diff(cur, base, DiffThresholds{})
	out := &NewDependencies{NewNodes: []string{}, VanishedNodes: []string{}, NewEdges: []DependencyChange{}, VanishedEdges: []DependencyChange{}}
	for _, n := range d.Nodes {
		switch n.Diff {
		case DiffAdded:
			out.NewNodes = append(out.NewNodes, n.ID)
		case DiffRemoved:
			out.VanishedNodes = append(out.VanishedNodes, n.ID)
		}
	}
	for _, e := range d.Edges {
		switch e.Diff {
		case DiffAdded:
			out.NewEdges = append(out.NewEdges, DependencyChange{Edge: e.ID, Source: e.Source, Target: e.Target, RPS: e.RPS})
		case DiffRemoved:
			out.VanishedEdges = append(out.VanishedEdges, DependencyChange{Edge: e.ID, Source: e.Source, Target: e.Target, RPS: e.Base.RPS})
		}
	}
	return out
}
