package graph

import (
	"cmp"
	"slices"
)

// Ranking lists the nodes with the most distinct callers (fan-in) and
// callees (fan-out), self-calls not counted, at most Limit of each.
type Ranking struct {
	FanIn  []RankedNode `json:"fan_in"`
	FanOut []RankedNode `json:"fan_out"`
}

// RankedNode is a node with its count of distinct neighbours and the rate
// of the calls to or from them.
type RankedNode struct {
	ID    string  `json:"id"`
	Count int     `json:"count"`
	RPS   float64 `json:"rps"`
}

func ranking(t *topo, p AnalyticsParams) *Ranking {
	limit := limitOr(p, defaultLimit)
	rank := func(adj [][]int, other []int) []RankedNode {
		out := []RankedNode{}
		for n, edges := range adj {
			r := RankedNode{ID: t.ids[n]}
			seen := map[int]bool{}
			for _, ei := range edges {
				m := other[ei]
				if m == n {
					continue
				}
				r.RPS += t.g.Edges[ei].RPS
				if !seen[m] {
					seen[m] = true
					r.Count++
				}
			}
			if r.Count > 0 {
				out = append(out, r)
			}
		}
		slices.SortFunc(out, func(a, b RankedNode) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(b.RPS, a.RPS), cmp.Compare(a.ID, b.ID))
		})
		return out[:min(len(out), limit)]
	}
	return &Ranking{FanIn: rank(t.in, t.src), FanOut: rank(t.out, t.dst)}
}
