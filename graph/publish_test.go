package graph

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func graphWith(g Granularity, edges ...Edge) *Graph {
	return &Graph{Granularity: g, Edges: edges, Nodes: []Node{}}
}

func TestPublisherNeverWaitsForASlowSubscriber(t *testing.T) {
	var p Publisher
	drops := 0
	p.OnDrop = func(Granularity) { drops++ }
	slow, endSlow := p.Subscribe(GranularityService, 1)
	fast, endFast := p.Subscribe(GranularityService, 16)
	other, endOther := p.Subscribe(GranularityWorkload, 1)
	defer endOther()
	for i := range 5 {
		p.Publish(graphWith(GranularityService, Edge{ID: "e", Requests: uint64(i + 1)}), t0)
	}
	require.Equal(t, 4, drops)
	require.Len(t, fast, 5)
	got := <-slow
	require.EqualValues(t, 1, got.Seq)
	require.Empty(t, other)
	last := p.Latest(GranularityService)
	require.EqualValues(t, 5, last.Seq)
	require.EqualValues(t, 4, last.Delta.BaseSeq)
	require.Len(t, last.Delta.EdgesUpdated, 1)

	endSlow()
	endSlow() // idempotent
	_, open := <-slow
	require.False(t, open)
	require.Equal(t, 1, p.Subscribers(GranularityService))
	p.Close()
	for range fast {
	}
	endFast() // after Close: no double close
	late, _ := p.Subscribe(GranularityService, 1)
	_, open = <-late
	require.False(t, open)
	require.Nil(t, p.Latest("bogus"))
}

func TestComputeDelta(t *testing.T) {
	prev := &Graph{
		Nodes: []Node{{ID: "a", RequestsOut: 1}, {ID: "b"}, {ID: "c"}},
		Edges: []Edge{{ID: "a->b", Requests: 1, Provenance: []string{"span"}}, {ID: "a->c", Requests: 1}},
	}
	cur := &Graph{
		Nodes: []Node{{ID: "a", RequestsOut: 2}, {ID: "b"}, {ID: "d"}},
		Edges: []Edge{{ID: "a->b", Requests: 1, Provenance: []string{"span", "metric"}}, {ID: "a->d", Requests: 1}},
	}
	d := ComputeDelta(prev, cur, 7, 6, t0.Add(time.Second))
	require.Equal(t, []Node{{ID: "d"}}, d.NodesAdded)
	require.Equal(t, []Node{{ID: "a", RequestsOut: 2}}, d.NodesUpdated)
	require.Equal(t, []string{"c"}, d.NodesRemoved)
	require.Equal(t, []string{"a->d"}, []string{d.EdgesAdded[0].ID})
	require.Equal(t, "a->b", d.EdgesUpdated[0].ID)
	require.Equal(t, []string{"a->c"}, d.EdgesRemoved)
	first := ComputeDelta(nil, cur, 1, 0, t0)
	require.Len(t, first.NodesAdded, 3)
	require.Len(t, first.EdgesAdded, 2)
	require.Empty(t, first.EdgesRemoved)
}
