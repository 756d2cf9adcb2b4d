package graph

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// testGraph makes a graph from edges, with a node for every end.
func testGraph(edges ...Edge) *Graph {
	g := &Graph{Granularity: GranularityService, WindowSeconds: 60}
	seen := map[string]bool{}
	for i := range edges {
		e := &edges[i]
		e.ID = EdgeID(e.Source, e.Target)
		e.Requests = uint64(e.RPS * 60)
		if e.Provenance == nil {
			e.Provenance = []string{"span"}
		}
		for _, id := range []string{e.Source, e.Target} {
			if !seen[id] {
				seen[id] = true
				p, _ := ParseNodeID(id)
				g.Nodes = append(g.Nodes, Node{ID: id, Kind: p.Kind, Namespace: p.Namespace, Name: p.Name})
			}
		}
	}
	g.Edges = edges
	return g
}

const (
	nClient  = "client:/"
	nWeb     = "service:shop/web"
	nCart    = "service:shop/cart"
	nSearch  = "service:shop/search"
	nPricing = "service:shop/pricing"
	nDB      = "database:postgresql/orders"
)

func shopGraph() *Graph {
	return testGraph(
		Edge{Source: nClient, Target: nWeb, RPS: 10, P99Ms: 100},
		Edge{Source: nWeb, Target: nCart, RPS: 6, P99Ms: 30},
		Edge{Source: nWeb, Target: nSearch, RPS: 4, P99Ms: 80},
		Edge{Source: nCart, Target: nDB, RPS: 6, P99Ms: 5},
		Edge{Source: nSearch, Target: nSearch, RPS: 1, P99Ms: 1},
		Edge{Source: nSearch, Target: nCart, RPS: 2, P99Ms: 20},
		Edge{Source: nCart, Target: nPricing, RPS: 3, P99Ms: 10},
		Edge{Source: nPricing, Target: nCart, RPS: 1, P99Ms: 2},
	)
}

func TestBlastRadius(t *testing.T) {
	res, err := Analyze("blast-radius", shopGraph(), AnalyticsParams{Node: nWeb, Direction: "downstream"})
	require.NoError(t, err)
	br := res.(*BlastRadius)
	require.Empty(t, br.Upstream)
	got := map[string]ImpactedNode{}
	for _, n := range br.Downstream {
		got[n.ID] = n
	}
	require.Len(t, got, 4)
	require.InDelta(t, 6.0/9, got[nCart].TrafficShare, 1e-9)
	require.Equal(t, 1, got[nCart].Depth)
	require.InDelta(t, 4.0/5, got[nSearch].TrafficShare, 1e-9)
	require.InDelta(t, 6.0/9, got[nDB].TrafficShare, 1e-9)
	require.Equal(t, 2, got[nDB].Depth)
	require.Equal(t, []string{nCart}, got[nDB].Via)

	res, err = Analyze("blast-radius", shopGraph(), AnalyticsParams{Node: nCart, Direction: "upstream"})
	require.NoError(t, err)
	up := map[string]ImpactedNode{}
	for _, n := range res.(*BlastRadius).Upstream {
		up[n.ID] = n
	}
	require.InDelta(t, 0.6, up[nWeb].TrafficShare, 1e-9)
	require.InDelta(t, 2.0/3, up[nSearch].TrafficShare, 1e-9)
	require.InDelta(t, 1, up[nPricing].TrafficShare, 1e-9)
	require.InDelta(t, 0.6, up[nClient].TrafficShare, 1e-9)
	require.Equal(t, 2, up[nClient].Depth)

	res, err = Analyze("blast-radius", shopGraph(), AnalyticsParams{Node: nCart, Depth: 1})
	require.NoError(t, err)
	require.Len(t, res.(*BlastRadius).Upstream, 3)
	require.Len(t, res.(*BlastRadius).Downstream, 2)
}

func TestCycles(t *testing.T) {
	res, err := Analyze("cycles", shopGraph(), AnalyticsParams{})
	require.NoError(t, err)
	c := res.(*Cycles)
	require.Equal(t, [][]string{{nCart, nPricing}, {nSearch}}, c.Components)
	var cycles []string
	for _, cy := range c.Cycles {
		cycles = append(cycles, strings.Join(cy, " "))
	}
	slices.Sort(cycles)
	require.Equal(t, []string{nCart + " " + nPricing, nSearch}, cycles)
	require.False(t, c.Truncated)

	// A complete graph of 8 nodes has thousands of cycles: bounded.
	var edges []Edge
	for i := range 8 {
		for j := range 8 {
			if i != j {
				edges = append(edges, Edge{Source: "service:x/" + string(rune('a'+i)), Target: "service:x/" + string(rune('a'+j)), RPS: 1})
			}
		}
	}
	res, err = Analyze("cycles", testGraph(edges...), AnalyticsParams{Limit: 100, Depth: 8})
	require.NoError(t, err)
	require.Len(t, res.(*Cycles).Cycles, 100)
	require.True(t, res.(*Cycles).Truncated)
	require.Len(t, res.(*Cycles).Components[0], 8)
}

func TestRanking(t *testing.T) {
	res, err := Analyze("ranking", shopGraph(), AnalyticsParams{Limit: 2})
	require.NoError(t, err)
	r := res.(*Ranking)
	require.Equal(t, []RankedNode{{ID: nCart, Count: 3, RPS: 9}, {ID: nWeb, Count: 1, RPS: 10}}, r.FanIn)
	require.Equal(t, []RankedNode{{ID: nWeb, Count: 2, RPS: 10}, {ID: nCart, Count: 2, RPS: 9}}, r.FanOut)
}

func TestCriticalPath(t *testing.T) {
	res, err := Analyze("critical-path", shopGraph(), AnalyticsParams{Node: nWeb})
	require.NoError(t, err)
	p := res.(*CriticalPath)
	require.Equal(t, "p99", p.Metric)
	var targets []string
	var self []float64
	for _, s := range p.Steps {
		targets, self = append(targets, s.Target), append(self, s.SelfMs)
	}
	require.Equal(t, []string{nSearch, nCart, nPricing}, targets)
	require.Equal(t, []float64{60, 10, 10}, self)
	require.EqualValues(t, 80, p.TotalMs)

	res, err = Analyze("critical-path", shopGraph(), AnalyticsParams{Node: nWeb, Depth: 1})
	require.NoError(t, err)
	require.Len(t, res.(*CriticalPath).Steps, 1)
}

func TestCoverage(t *testing.T) {
	g := testGraph(
		Edge{Source: nWeb, Target: nCart, RPS: 5, Provenance: []string{"span", "accesslog"}, Reporters: []string{"source", "destination"}},
		Edge{Source: nWeb, Target: "service:/legacy", RPS: 3, Provenance: []string{"span"}, Reporters: []string{"source"}},
		Edge{Source: nClient, Target: nWeb, RPS: 2, Provenance: []string{"span"}, Reporters: []string{"destination"}},
		Edge{Source: nCart, Target: nPricing, RPS: 1, Provenance: []string{"metric"}, Reporters: []string{"source"}},
	)
	res, err := Analyze("coverage", g, AnalyticsParams{})
	require.NoError(t, err)
	c := res.(*Coverage)
	require.Equal(t, 4, c.Edges)
	require.Equal(t, map[string]int{"span+accesslog": 1, "span": 2, "metric": 1}, c.ByProvenance)
	require.InDelta(t, 10.0/11, c.SpanShare, 1e-9)
	reasons := map[string][]string{}
	for _, gap := range c.Gaps {
		reasons[gap.Edge] = gap.Reasons
	}
	require.NotContains(t, reasons, EdgeID(nWeb, nCart))
	require.Equal(t, []string{"target-not-instrumented", "spans-only"}, reasons[EdgeID(nWeb, "service:/legacy")])
	require.Equal(t, []string{"source-not-instrumented", "spans-only"}, reasons[EdgeID(nClient, nWeb)])
	require.Equal(t, []string{"destination-not-meshed", "no-spans", "metrics-only"}, reasons[EdgeID(nCart, nPricing)])
	require.Equal(t, EdgeID(nWeb, "service:/legacy"), c.Gaps[0].Edge, "busiest first")
}

func TestNewDependencies(t *testing.T) {
	base := testGraph(
		Edge{Source: nWeb, Target: nCart, RPS: 5},
		Edge{Source: nWeb, Target: "service:shop/legacy", RPS: 1},
	)
	_, err := Analyze("new-dependencies", shopGraph(), AnalyticsParams{})
	require.ErrorContains(t, err, "baseline")
	res, err := Analyze("new-dependencies", shopGraph(), AnalyticsParams{Baseline: base})
	require.NoError(t, err)
	d := res.(*NewDependencies)
	require.Equal(t, []string{"service:shop/legacy"}, d.VanishedNodes)
	require.Equal(t, []string{nClient, nDB, nPricing, nSearch}, d.NewNodes)
	require.Len(t, d.NewEdges, 7)
	require.Equal(t, []DependencyChange{{Edge: EdgeID(nWeb, "service:shop/legacy"), Source: nWeb, Target: "service:shop/legacy", RPS: 1}}, d.VanishedEdges)
}

func TestAnalyzeErrors(t *testing.T) {
	_, err := Analyze("pagerank", shopGraph(), AnalyticsParams{})
	require.Error(t, err)
	for _, k := range AnalyticsKinds {
		require.ErrorContains(t, err, k)
	}
	_, err = Analyze("blast-radius", shopGraph(), AnalyticsParams{})
	require.ErrorContains(t, err, "node is required")
	_, err = Analyze("critical-path", shopGraph(), AnalyticsParams{Node: "service:shop/nope"})
	require.ErrorContains(t, err, "not in the graph")
	_, err = Analyze("blast-radius", shopGraph(), AnalyticsParams{Node: nWeb, Direction: "sideways"})
	require.ErrorContains(t, err, "direction")
	_, err = Analyze("critical-path", shopGraph(), AnalyticsParams{Node: nWeb, Metric: "p42"})
	require.ErrorContains(t, err, "metric")
}
