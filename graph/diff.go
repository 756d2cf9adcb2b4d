package graph

import (
	"math"
	"slices"
	"strings"
)

// Diff values.
const (
	DiffAdded   = "added"
	DiffRemoved = "removed"
	DiffChanged = "changed"
	DiffSame    = "same"
)

// DiffThresholds say how much an element must change to be "changed".
// Zero fields take their defaults.
type DiffThresholds struct {
	// RateChange is the relative change of the request rate (default 0.5:
	// half more or half less).
	RateChange float64
	// ErrorRateChange is the absolute change of the error rate (default
	// 0.01, one percentage point).
	ErrorRateChange float64
	// LatencyChange is the relative change of the p95 latency (default 0.5).
	LatencyChange float64
	// MinRPS is the rate under which rate and latency changes are not
	// judged, being noise (default 0.01 per second, on either side).
	MinRPS float64
}

func (t DiffThresholds) withDefaults() DiffThresholds {
	if t.RateChange == 0 {
		t.RateChange = 0.5
	}
	if t.ErrorRateChange == 0 {
		t.ErrorRateChange = 0.01
	}
	if t.LatencyChange == 0 {
		t.LatencyChange = 0.5
	}
	if t.MinRPS == 0 {
		t.MinRPS = 0.01
	}
	return t
}

// Diff compares the graph of a range with a baseline graph (same
// granularity): every node and edge of either is in the result, marked
// added, removed, changed (beyond a threshold in rate, error rate or
// latency) or same, with the baseline numbers in Base where it existed.
// Removed elements carry their identity with zero numbers. Elements are
// sorted by id. Neither graph is modified.
func Diff(cur, base *Graph, th DiffThresholds) *GraphDiff {
	th = th.withDefaults()
	out := &GraphDiff{Nodes: []DiffNode{}, Edges: []DiffEdge{}}
	baseNodes := indexNodes(base)
	for _, n := range cur.Nodes {
		d := DiffNode{Node: n, Diff: DiffAdded}
		if b, ok := baseNodes[n.ID]; ok {
			d.Base = b
			d.Diff = DiffSame
			if nodeChanged(&n, b, &th) {
				d.Diff = DiffChanged
			}
			delete(baseNodes, n.ID)
		}
		out.Nodes = append(out.Nodes, d)
	}
	for _, b := range baseNodes {
		out.Nodes = append(out.Nodes, DiffNode{Node: Node{ID: b.ID, Kind: b.Kind, Namespace: b.Namespace, Name: b.Name,
			Workload: b.Workload, Version: b.Version, Cluster: b.Cluster, Health: HealthIdle}, Diff: DiffRemoved, Base: b})
	}
	baseEdges := indexEdges(base)
	for _, e := range cur.Edges {
		d := DiffEdge{Edge: e, Diff: DiffAdded}
		if b, ok := baseEdges[e.ID]; ok {
			d.Base = b
			d.Diff = DiffSame
			if edgeChanged(&e, b, &th) {
				d.Diff = DiffChanged
			}
			delete(baseEdges, e.ID)
		}
		out.Edges = append(out.Edges, d)
	}
	for _, b := range baseEdges {
		out.Edges = append(out.Edges, DiffEdge{Edge: Edge{ID: b.ID, Source: b.Source, Target: b.Target, Protocol: b.Protocol,
			Protocols: b.Protocols, Provenance: []string{}}, Diff: DiffRemoved, Base: b})
	}
	slices.SortFunc(out.Nodes, func(a, b DiffNode) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(out.Edges, func(a, b DiffEdge) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func indexNodes(g *Graph) map[string]*Node {
	m := map[string]*Node{}
	if g != nil {
		for i := range g.Nodes {
			n := g.Nodes[i]
			m[n.ID] = &n
		}
	}
	return m
}

func indexEdges(g *Graph) map[string]*Edge {
	m := map[string]*Edge{}
	if g != nil {
		for i := range g.Edges {
			e := g.Edges[i]
			m[e.ID] = &e
		}
	}
	return m
}

func nodeChanged(n, b *Node, th *DiffThresholds) bool {
	return rateChanged(n.RPSIn, b.RPSIn, th) || rateChanged(n.RPSOut, b.RPSOut, th) ||
		math.Abs(n.ErrorRateIn-b.ErrorRateIn) > th.ErrorRateChange
}

func edgeChanged(e, b *Edge, th *DiffThresholds) bool {
	if rateChanged(e.RPS, b.RPS, th) || math.Abs(e.ErrorRate-b.ErrorRate) > th.ErrorRateChange {
		return true
	}
	if e.RPS < th.MinRPS || b.RPS < th.MinRPS || b.P95Ms <= 0 {
		return false
	}
	return math.Abs(e.P95Ms-b.P95Ms)/b.P95Ms > th.LatencyChange
}

func rateChanged(cur, base float64, th *DiffThresholds) bool {
	if cur < th.MinRPS && base < th.MinRPS {
		return false
	}
	if base == 0 {
		return true
	}
	return math.Abs(cur-base)/base > th.RateChange
}
