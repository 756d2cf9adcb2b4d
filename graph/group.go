package graph

import (
	"fmt"
	"slices"
	"strings"
)

// NodeGroup is a box around nodes: a namespace or a cluster.
type NodeGroup struct {
	// ID is "namespace:NAME" or "cluster:NAME" (NAME empty for nodes
	// without one).
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Nodes are the ids of the members, sorted.
	Nodes []string `json:"nodes"`
	// Calls into the group from outside it and out of it to outside it.
	RequestsIn  uint64 `json:"requests_in"`
	ErrorsIn    uint64 `json:"errors_in"`
	RequestsOut uint64 `json:"requests_out"`
	ErrorsOut   uint64 `json:"errors_out"`
	// Health is the worst health of the members.
	Health string `json:"health"`
}

// GroupNodes groups the nodes of g by "namespace" or "cluster", sorted by id.
func GroupNodes(g *Graph, by string) ([]NodeGroup, error) {
	key := func(n *Node) string { return n.Namespace }
	switch by {
	case "namespace":
	case "cluster":
		key = func(n *Node) string { return n.Cluster }
	default:
		return nil, fmt.Errorf("group by %q: want namespace or cluster", by)
	}
	groups := map[string]*NodeGroup{}
	member := make(map[string]string, len(g.Nodes))
	for i := range g.Nodes {
		n := &g.Nodes[i]
		name := key(n)
		grp := groups[name]
		if grp == nil {
			grp = &NodeGroup{ID: by + ":" + name, Kind: by, Name: name, Health: HealthIdle}
			groups[name] = grp
		}
		grp.Nodes = append(grp.Nodes, n.ID)
		if healthRank(n.Health) > healthRank(grp.Health) {
			grp.Health = n.Health
		}
		member[n.ID] = name
	}
	for _, e := range g.Edges {
		s, sok := member[e.Source]
		d, dok := member[e.Target]
		if sok && dok && s == d {
			continue
		}
		if dok {
			groups[d].RequestsIn += e.Requests
			groups[d].ErrorsIn += e.Errors
		}
		if sok {
			groups[s].RequestsOut += e.Requests
			groups[s].ErrorsOut += e.Errors
		}
	}
	out := make([]NodeGroup, 0, len(groups))
	for _, grp := range groups {
		slices.Sort(grp.Nodes)
		out = append(out, *grp)
	}
	slices.SortFunc(out, func(a, b NodeGroup) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func healthRank(h string) int {
	switch h {
	case HealthFailing:
		return 3
	case HealthDegraded:
		return 2
	case HealthHealthy:
		return 1
	}
	return 0
}

// FilterNamespaces returns the part of g with edges that have either end in
// one of the namespaces, and the nodes of those edges; all of g when
// namespaces is empty. g is not modified; the result shares its elements.
func FilterNamespaces(g *Graph, namespaces []string) *Graph {
	if len(namespaces) == 0 {
		return g
	}
	ns := make(map[string]string, len(g.Nodes))
	for _, n := range g.Nodes {
		ns[n.ID] = n.Namespace
	}
	out := *g
	out.Edges, out.Nodes = []Edge{}, []Node{}
	keep := map[string]bool{}
	for _, e := range g.Edges {
		if slices.Contains(namespaces, ns[e.Source]) || slices.Contains(namespaces, ns[e.Target]) {
			out.Edges = append(out.Edges, e)
			keep[e.Source], keep[e.Target] = true, true
		}
	}
	for _, n := range g.Nodes {
		if keep[n.ID] {
			out.Nodes = append(out.Nodes, n)
		}
	}
	return &out
}
