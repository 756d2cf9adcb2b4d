package graph

import (
	"cmp"
	"fmt"
	"slices"
)

// BlastRadius is what depends on a node (upstream: its callers, who suffer
// when it fails) and what it depends on (downstream: its callees), to a
// depth.
type BlastRadius struct {
	Node       string         `json:"node"`
	Direction  string         `json:"direction"`
	Depth      int            `json:"depth"`
	Upstream   []ImpactedNode `json:"upstream"`
	Downstream []ImpactedNode `json:"downstream"`
}

// ImpactedNode is a node within the blast radius.
type ImpactedNode struct {
	ID string `json:"id"`
	// Depth is the number of calls between it and the centre.
	Depth int `json:"depth"`
	// TrafficShare, upstream, is the share of the node's outbound calls that
	// reach the centre (directly or through nodes nearer to it);
	// downstream, the share of the node's inbound calls that come from the
	// centre. Shares are propagated along calls towards the centre.
	TrafficShare float64 `json:"traffic_share"`
	// Via are the neighbours one step nearer to the centre.
	Via []string `json:"via"`
}

func blastRadius(t *topo, p AnalyticsParams) (*BlastRadius, error) {
	c, err := t.lookup("blast-radius", p.Node)
	if err != nil {
		return nil, err
	}
	dir := p.Direction
	if dir == "" {
		dir = "both"
	}
	out := &BlastRadius{Node: p.Node, Direction: dir, Depth: p.Depth, Upstream: []ImpactedNode{}, Downstream: []ImpactedNode{}}
	switch dir {
	case "both", "upstream", "downstream":
	default:
		return nil, fmt.Errorf("analytics blast-radius: direction %q: want upstream, downstream or both", dir)
	}
	if dir != "downstream" {
		out.Upstream = t.impact(c, p.Depth, true)
	}
	if dir != "upstream" {
		out.Downstream = t.impact(c, p.Depth, false)
	}
	return out, nil
}

// impact walks breadth first from c against the calls (upstream) or along
// them (downstream).
func (t *topo) impact(c, maxDepth int, upstream bool) []ImpactedNode {
	depth := map[int]int{c: 0}
	share := map[int]float64{c: 1}
	layer := []int{c}
	var found []int
	for d := 1; d <= maxDepth && len(layer) > 0; d++ {
		var next []int
		for _, n := range layer {
			edges := t.out[n]
			if upstream {
				edges = t.in[n]
			}
			for _, ei := range edges {
				m := t.dst[ei]
				if upstream {
					m = t.src[ei]
				}
				if _, seen := depth[m]; !seen {
					depth[m] = d
					next = append(next, m)
				}
			}
		}
		// Shares of this layer from the layer before it.
		for _, m := range next {
			edges := t.in[m]
			total := t.rpsIn[m]
			if upstream {
				edges, total = t.out[m], t.rpsOut[m]
			}
			for _, ei := range edges {
				k := t.src[ei]
				if upstream {
					k = t.dst[ei]
				}
				if dk, ok := depth[k]; ok && dk == d-1 && total > 0 {
					share[m] += t.g.Edges[ei].RPS / total * share[k]
				}
			}
			share[m] = min(share[m], 1)
		}
		found = append(found, next...)
		layer = next
	}
	out := make([]ImpactedNode, 0, len(found))
	for _, m := range found {
		n := ImpactedNode{ID: t.ids[m], Depth: depth[m], TrafficShare: share[m], Via: []string{}}
		edges := t.in[m]
		if upstream {
			edges = t.out[m]
		}
		for _, ei := range edges {
			k := t.src[ei]
			if upstream {
				k = t.dst[ei]
			}
			if dk, ok := depth[k]; ok && dk == depth[m]-1 {
				n.Via = append(n.Via, t.ids[k])
			}
		}
		slices.Sort(n.Via)
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b ImpactedNode) int {
		return cmp.Or(cmp.Compare(a.Depth, b.Depth), cmp.Compare(b.TrafficShare, a.TrafficShare), cmp.Compare(a.ID, b.ID))
	})
	return out
}
