package graph

import (
	"fmt"
	"strings"
)

// Analyze runs a topology analysis of g; kind is one of AnalyticsKinds. The
// result is a JSON-friendly struct: *BlastRadius, *Cycles, *Ranking,
// *CriticalPath, *Coverage or *NewDependencies. g is not modified.
func Analyze(kind string, g *Graph, p AnalyticsParams) (any, error) {
	if g == nil {
		return nil, fmt.Errorf("analytics %s: no graph", kind)
	}
	if p.Depth < 0 || p.Limit < 0 {
		return nil, fmt.Errorf("analytics %s: depth and limit must not be negative", kind)
	}
	if p.Depth == 0 {
		p.Depth = defaultDepth
	}
	switch kind {
	case "blast-radius":
		return blastRadius(newTopo(g), p)
	case "cycles":
		return cycles(newTopo(g), p), nil
	case "ranking":
		return ranking(newTopo(g), p), nil
	case "critical-path":
		return criticalPath(newTopo(g), p)
	case "coverage":
		return coverage(g, p), nil
	case "new-dependencies":
		if p.Baseline == nil {
			return nil, fmt.Errorf("analytics new-dependencies: a baseline graph is required")
		}
		return newDependencies(g, p.Baseline), nil
	}
	return nil, fmt.Errorf("unknown analytics kind %q: want one of %s", kind, strings.Join(AnalyticsKinds, ", "))
}

const (
	defaultDepth = 5
	defaultLimit = 50
)

func limitOr(p AnalyticsParams, def int) int {
	if p.Limit > 0 {
		return p.Limit
	}
	return def
}

// topo is an adjacency view of a graph: nodes by index, edges by source
// and by target.
type topo struct {
	g      *Graph
	ids    []string
	index  map[string]int
	out    [][]int // edge indexes by source node
	in     [][]int // edge indexes by target node
	src    []int   // per edge
	dst    []int   // per edge
	rpsIn  []float64
	rpsOut []float64
}

func newTopo(g *Graph) *topo {
	t := &topo{g: g, index: make(map[string]int, len(g.Nodes))}
	for _, n := range g.Nodes {
		t.node(n.ID)
	}
	t.src, t.dst = make([]int, len(g.Edges)), make([]int, len(g.Edges))
	for i, e := range g.Edges {
		t.src[i], t.dst[i] = t.node(e.Source), t.node(e.Target)
	}
	t.out, t.in = make([][]int, len(t.ids)), make([][]int, len(t.ids))
	t.rpsIn, t.rpsOut = make([]float64, len(t.ids)), make([]float64, len(t.ids))
	for i, e := range g.Edges {
		t.out[t.src[i]] = append(t.out[t.src[i]], i)
		t.in[t.dst[i]] = append(t.in[t.dst[i]], i)
		t.rpsOut[t.src[i]] += e.RPS
		t.rpsIn[t.dst[i]] += e.RPS
	}
	return t
}

// node returns the index of id, adding it for edges whose ends are not
// among the graph's nodes.
func (t *topo) node(id string) int {
	if i, ok := t.index[id]; ok {
		return i
	}
	t.index[id] = len(t.ids)
	t.ids = append(t.ids, id)
	return len(t.ids) - 1
}

func (t *topo) lookup(kind, id string) (int, error) {
	if id == "" {
		return 0, fmt.Errorf("analytics %s: node is required", kind)
	}
	i, ok := t.index[id]
	if !ok {
		return 0, fmt.Errorf("analytics %s: node %q is not in the graph", kind, id)
	}
	return i, nil
}
