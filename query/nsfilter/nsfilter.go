// Package nsfilter restricts graphs and deltas to a set of namespaces, the
// way the API and the websocket stream filter them: an edge is kept when
// either end is in one of the namespaces; a node is kept when it is in one of
// them or is an end of a kept edge. It imports graph only.
package nsfilter

import (
	"slices"
	"strings"

	"github.com/meshscope/meshscope/graph"
)

// Set is a set of namespaces; the empty set keeps everything.
type Set struct {
	names []string // sorted, unique
}

// New returns the set of names, ignoring blanks and duplicates.
func New(names []string) Set {
	var out []string
	for _, n := range names {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return Set{names: slices.Compact(out)}
}

// Parse reads a comma-separated list ("shop,payments").
func Parse(list string) Set {
	if list == "" {
		return Set{}
	}
	return New(strings.Split(list, ","))
}

// All reports whether the set keeps everything.
func (s Set) All() bool { return len(s.names) == 0 }

// Names returns the namespaces, sorted; nil for All.
func (s Set) Names() []string { return slices.Clone(s.names) }

// Key is a canonical string for the set ("" for All), for caching results
// per set.
func (s Set) Key() string { return strings.Join(s.names, ",") }

// Has reports whether ns is in the set (always true for All).
func (s Set) Has(ns string) bool {
	if s.All() {
		return true
	}
	_, ok := slices.BinarySearch(s.names, ns)
	return ok
}

// visible holds the ids a set keeps of one graph.
type visible struct {
	nodes map[string]bool
	edges map[string]bool
}

// NamespaceOf returns the namespace in a node id of the kinds that have one
// (service:NS/NAME, workload:NS/W, version:NS/N/V, client:NS/NAME), else "".
func NamespaceOf(id string) string {
	kind, rest, ok := strings.Cut(id, ":")
	if !ok {
		return ""
	}
	switch graph.NodeKind(kind) {
	case graph.KindService, graph.KindWorkload, graph.KindVersion, graph.KindClient:
		ns, _, _ := strings.Cut(rest, "/")
		return ns
	}
	return ""
}

func (s Set) visible(g *graph.Graph) visible {
	v := visible{nodes: map[string]bool{}, edges: map[string]bool{}}
	if g == nil {
		return v
	}
	ns := make(map[string]string, len(g.Nodes))
	for i := range g.Nodes {
		n := &g.Nodes[i]
		ns[n.ID] = n.Namespace
		if s.Has(n.Namespace) {
			v.nodes[n.ID] = true
		}
	}
	nsOf := func(id string) string {
		if n, ok := ns[id]; ok {
			return n
		}
		return NamespaceOf(id)
	}
	for i := range g.Edges {
		e := &g.Edges[i]
		if s.Has(nsOf(e.Source)) || s.Has(nsOf(e.Target)) {
			v.edges[e.ID] = true
			v.nodes[e.Source] = true
			v.nodes[e.Target] = true
		}
	}
	return v
}

// Graph returns g restricted to the set: g itself for All, else a new graph
// sharing nothing mutable with g.
func (s Set) Graph(g *graph.Graph) *graph.Graph {
	if s.All() || g == nil {
		return g
	}
	v := s.visible(g)
	out := *g
	out.Nodes = make([]graph.Node, 0, len(v.nodes))
	out.Edges = make([]graph.Edge, 0, len(v.edges))
	for _, n := range g.Nodes {
		if v.nodes[n.ID] {
			out.Nodes = append(out.Nodes, n)
		}
	}
	for _, e := range g.Edges {
		if v.edges[e.ID] {
			out.Edges = append(out.Edges, e)
		}
	}
	return &out
}

// Delta turns d, which changes prev into cur, into the delta between the
// restricted prev and the restricted cur: nodes and edges that enter the
// restricted view are added, those that leave it are removed, and those in
// both that d changed are updated. It returns d itself for All.
func (s Set) Delta(prev, cur *graph.Graph, d *graph.Delta) *graph.Delta {
	if s.All() {
		return d
	}
	pv, cv := s.visible(prev), s.visible(cur)
	changed := make(map[string]bool, len(d.NodesUpdated)+len(d.NodesAdded)+len(d.EdgesUpdated)+len(d.EdgesAdded))
	for _, n := range d.NodesUpdated {
		changed[n.ID] = true
	}
	for _, n := range d.NodesAdded {
		changed[n.ID] = true
	}
	for _, e := range d.EdgesUpdated {
		changed[e.ID] = true
	}
	for _, e := range d.EdgesAdded {
		changed[e.ID] = true
	}
	out := &graph.Delta{
		Seq: d.Seq, BaseSeq: d.BaseSeq, Time: d.Time,
		NodesAdded: []graph.Node{}, NodesUpdated: []graph.Node{}, NodesRemoved: []string{},
		EdgesAdded: []graph.Edge{}, EdgesUpdated: []graph.Edge{}, EdgesRemoved: []string{},
	}
	if cur != nil {
		for _, n := range cur.Nodes {
			switch {
			case !cv.nodes[n.ID]:
			case !pv.nodes[n.ID]:
				out.NodesAdded = append(out.NodesAdded, n)
			case changed[n.ID]:
				out.NodesUpdated = append(out.NodesUpdated, n)
			}
		}
		for _, e := range cur.Edges {
			switch {
			case !cv.edges[e.ID]:
			case !pv.edges[e.ID]:
				out.EdgesAdded = append(out.EdgesAdded, e)
			case changed[e.ID]:
				out.EdgesUpdated = append(out.EdgesUpdated, e)
			}
		}
	}
	if prev != nil {
		for _, n := range prev.Nodes {
			if pv.nodes[n.ID] && !cv.nodes[n.ID] {
				out.NodesRemoved = append(out.NodesRemoved, n.ID)
			}
		}
		for _, e := range prev.Edges {
			if pv.edges[e.ID] && !cv.edges[e.ID] {
				out.EdgesRemoved = append(out.EdgesRemoved, e.ID)
			}
		}
	}
	return out
}
