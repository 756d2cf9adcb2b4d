package graph

import (
	"slices"
)

// Cycles are the call cycles of a graph: its strongly connected components
// (Tarjan, exact) and elementary cycles within them (enumerated up to Depth
// calls long and Limit cycles, self-calls included).
type Cycles struct {
	// Components lists the node ids of every component with a cycle: more
	// than one node, or one node calling itself.
	Components [][]string `json:"components"`
	// Cycles lists elementary cycles as node ids in call order; the last
	// node calls the first.
	Cycles [][]string `json:"cycles"`
	// Truncated is set when the enumeration stopped at a bound.
	Truncated bool `json:"truncated"`
}

// maxCycleSteps bounds the work of the cycle enumeration.
const maxCycleSteps = 200_000

func cycles(t *topo, p AnalyticsParams) *Cycles {
	out := &Cycles{Components: [][]string{}, Cycles: [][]string{}}
	limit := limitOr(p, defaultLimit)
	steps := 0
	for _, comp := range t.tarjan() {
		selfLoop := len(comp) == 1 && t.callsItself(comp[0])
		if len(comp) < 2 && !selfLoop {
			continue
		}
		ids := make([]string, len(comp))
		for i, n := range comp {
			ids[i] = t.ids[n]
		}
		slices.Sort(ids)
		out.Components = append(out.Components, ids)
		if !out.Truncated {
			out.Truncated = t.enumerate(comp, p.Depth, limit, &steps, out)
		}
	}
	slices.SortFunc(out.Components, func(a, b []string) int { return slices.Compare(a, b) })
	return out
}

func (t *topo) callsItself(n int) bool {
	for _, ei := range t.out[n] {
		if t.dst[ei] == n {
			return true
		}
	}
	return false
}

// tarjan returns the strongly connected components, iteratively.
func (t *topo) tarjan() [][]int {
	n := len(t.ids)
	index, low := make([]int, n), make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack, comps = []int{}, [][]int{}
	next := 0
	type frame struct{ v, edge int }
	for root := range n {
		if index[root] >= 0 {
			continue
		}
		call := []frame{{root, 0}}
		index[root], low[root] = next, next
		next++
		stack = append(stack, root)
		onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			if f.edge < len(t.out[f.v]) {
				w := t.dst[t.out[f.v][f.edge]]
				f.edge++
				switch {
				case index[w] < 0:
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{w, 0})
				case onStack[w]:
					low[f.v] = min(low[f.v], index[w])
				}
				continue
			}
			v := f.v
			call = call[:len(call)-1]
			if len(call) > 0 {
				u := call[len(call)-1].v
				low[u] = min(low[u], low[v])
			}
			if low[v] == index[v] {
				var comp []int
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp = append(comp, w)
					if w == v {
						break
					}
				}
				comps = append(comps, comp)
			}
		}
	}
	return comps
}

// enumerate appends the elementary cycles of one component, each found once
// from its smallest member; it reports whether a bound stopped it.
func (t *topo) enumerate(comp []int, maxLen, limit int, steps *int, out *Cycles) bool {
	slices.Sort(comp)
	in := make(map[int]bool, len(comp))
	for _, n := range comp {
		in[n] = true
	}
	onPath := map[int]bool{}
	var path []int
	var dfs func(start, v int) bool
	dfs = func(start, v int) bool {
		*steps++
		if *steps > maxCycleSteps || len(out.Cycles) >= limit {
			return true
		}
		path = append(path, v)
		onPath[v] = true
		defer func() { path = path[:len(path)-1]; delete(onPath, v) }()
		seen := map[int]bool{}
		for _, ei := range t.out[v] {
			w := t.dst[ei]
			if !in[w] || w < start || seen[w] {
				continue
			}
			seen[w] = true
			if w == start {
				c := make([]string, len(path))
				for i, n := range path {
					c[i] = t.ids[n]
				}
				out.Cycles = append(out.Cycles, c)
				if len(out.Cycles) >= limit {
					return true
				}
				continue
			}
			if onPath[w] || len(path) >= maxLen {
				continue
			}
			if dfs(start, w) {
				return true
			}
		}
		return false
	}
	for _, s := range comp {
		if dfs(s, s) {
			return true
		}
	}
	return false
}
