package nsfilter

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/graph"
)

func node(id, ns string) graph.Node { return graph.Node{ID: id, Namespace: ns, Name: id} }

func edge(src, dst string) graph.Edge {
	return graph.Edge{ID: src + "->" + dst, Source: src, Target: dst}
}

// g: shop/web -> shop/cart -> database; pay/api -> shop/cart; ops/cron -> ops/db-backup
func testGraph() *graph.Graph {
	return &graph.Graph{
		Nodes: []graph.Node{
			node("service:shop/web", "shop"), node("service:shop/cart", "shop"), node("database:pg/carts", ""),
			node("service:pay/api", "pay"), node("service:ops/cron", "ops"), node("service:ops/backup", "ops"),
		},
		Edges: []graph.Edge{
			edge("service:shop/web", "service:shop/cart"), edge("service:shop/cart", "database:pg/carts"),
			edge("service:pay/api", "service:shop/cart"), edge("service:ops/cron", "service:ops/backup"),
		},
	}
}

func nodeIDs(g *graph.Graph) []string {
	var out []string
	for _, n := range g.Nodes {
		out = append(out, n.ID)
	}
	return out
}

func TestSet(t *testing.T) {
	s := New([]string{"shop", " pay", "shop", ""})
	require.Equal(t, []string{"pay", "shop"}, s.Names())
	require.Equal(t, "pay,shop", s.Key())
	require.True(t, s.Has("pay"))
	require.False(t, s.Has("ops"))
	require.Equal(t, s.Key(), Parse("shop,pay").Key())
	all := Parse("")
	require.True(t, all.All())
	require.True(t, all.Has("anything"))
	require.Nil(t, all.Names())
}

func TestNamespaceOf(t *testing.T) {
	for id, want := range map[string]string{
		"service:shop/cart":       "shop",
		"service:/legacy":         "",
		"workload:shop/cart-v1":   "shop",
		"version:shop/cart/v2":    "shop",
		"client:edge/ingress":     "edge",
		"external:api.stripe.com": "",
		"database:postgres/carts": "",
		"messaging:kafka/orders":  "",
		"nonsense":                "",
	} {
		require.Equal(t, want, NamespaceOf(id), id)
	}
}

func TestGraph(t *testing.T) {
	g := testGraph()
	for _, tc := range []struct {
		set   string
		nodes []string
		edges int
	}{
		{"", nodeIDs(g), 4},
		{"shop", []string{"service:shop/web", "service:shop/cart", "database:pg/carts", "service:pay/api"}, 3},
		{"pay", []string{"service:shop/cart", "service:pay/api"}, 1},
		{"ops", []string{"service:ops/cron", "service:ops/backup"}, 1},
		{"nothing", nil, 0},
	} {
		t.Run(tc.set, func(t *testing.T) {
			out := Parse(tc.set).Graph(g)
			require.Equal(t, tc.nodes, nodeIDs(out))
			require.Len(t, out.Edges, tc.edges)
		})
	}
	require.Same(t, g, Parse("").Graph(g), "All returns the graph itself")
	require.Len(t, g.Nodes, 6, "the input is not modified")
}

func TestEdgeEndWithoutNode(t *testing.T) {
	// An edge whose end is missing from the node list is judged by its id.
	g := &graph.Graph{Edges: []graph.Edge{edge("service:shop/web", "external:x")}}
	require.Len(t, Parse("shop").Graph(g).Edges, 1)
	require.Empty(t, Parse("pay").Graph(g).Edges)
}

func TestDelta(t *testing.T) {
	prev := testGraph()
	cur := testGraph()
	// pay/api stops calling cart and calls ops/cron; web changes.
	cur.Edges[2] = edge("service:pay/api", "service:ops/cron")
	cur.Nodes[0].RPSIn = 5
	d := &graph.Delta{
		Seq: 2, BaseSeq: 1,
		NodesUpdated: []graph.Node{cur.Nodes[0]},
		EdgesAdded:   []graph.Edge{cur.Edges[2]},
		EdgesRemoved: []string{prev.Edges[2].ID},
	}
	require.Same(t, d, Parse("").Delta(prev, cur, d))

	shop := Parse("shop").Delta(prev, cur, d)
	require.EqualValues(t, 2, shop.Seq)
	require.EqualValues(t, 1, shop.BaseSeq)
	require.Equal(t, []string{"service:shop/web"}, ids(shop.NodesUpdated))
	require.Equal(t, []string{"service:pay/api"}, shop.NodesRemoved, "pay/api left the shop view")
	require.Equal(t, []string{"service:pay/api->service:shop/cart"}, shop.EdgesRemoved)
	require.Empty(t, shop.NodesAdded)
	require.Empty(t, shop.EdgesAdded)

	ops := Parse("ops").Delta(prev, cur, d)
	require.Equal(t, []string{"service:pay/api"}, ids(ops.NodesAdded), "pay/api entered the ops view")
	require.Equal(t, []string{"service:pay/api->service:ops/cron"}, edgeIDs(ops.EdgesAdded))
	require.Empty(t, ops.NodesUpdated, "web is not in the ops view")
	require.Empty(t, ops.NodesRemoved)
	require.NotNil(t, ops.EdgesUpdated, "lists are never nil")

	first := Parse("ops").Delta(nil, cur, &graph.Delta{Seq: 1})
	require.Len(t, first.NodesAdded, 3)
}

func ids(ns []graph.Node) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.ID)
	}
	return out
}

func edgeIDs(es []graph.Edge) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}
