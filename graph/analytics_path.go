package graph

import "fmt"

// CriticalPath is the chain of slowest calls below a node: from the node,
// the callee edge with the highest latency, then that callee's slowest
// callee edge, and so on, up to Depth calls and without revisiting a node.
type CriticalPath struct {
	Node string `json:"node"`
	// Metric is the latency compared: p50, p90, p95, p99 (default) or mean.
	Metric string     `json:"metric"`
	Steps  []PathStep `json:"steps"`
	// TotalMs is the latency of the first call, which includes the rest of
	// the path when the calls are synchronous.
	TotalMs float64 `json:"total_ms"`
}

// PathStep is one call of a critical path.
type PathStep struct {
	Edge      string  `json:"edge"`
	Source    string  `json:"source"`
	Target    string  `json:"target"`
	LatencyMs float64 `json:"latency_ms"`
	// SelfMs is the call's latency minus the next step's: the time spent in
	// the target itself (or in calls off the path), never below zero.
	SelfMs float64 `json:"self_ms"`
	RPS    float64 `json:"rps"`
}

func latencyOf(e *Edge, metric string) float64 {
	switch metric {
	case "p50":
		return e.P50Ms
	case "p90":
		return e.P90Ms
	case "p95":
		return e.P95Ms
	case "mean":
		return e.MeanMs
	}
	return e.P99Ms
}

func criticalPath(t *topo, p AnalyticsParams) (*CriticalPath, error) {
	start, err := t.lookup("critical-path", p.Node)
	if err != nil {
		return nil, err
	}
	metric := p.Metric
	switch metric {
	case "":
		metric = "p99"
	case "p50", "p90", "p95", "p99", "mean":
	default:
		return nil, fmt.Errorf("analytics critical-path: metric %q: want p50, p90, p95, p99 or mean", metric)
	}
	out := &CriticalPath{Node: p.Node, Metric: metric, Steps: []PathStep{}}
	visited := map[int]bool{start: true}
	for v := start; len(out.Steps) < p.Depth; {
		best := -1
		for _, ei := range t.out[v] {
			if visited[t.dst[ei]] {
				continue
			}
			if best < 0 || latencyOf(&t.g.Edges[ei], metric) > latencyOf(&t.g.Edges[best], metric) {
				best = ei
			}
		}
		if best < 0 {
			break
		}
		e := &t.g.Edges[best]
		out.Steps = append(out.Steps, PathStep{Edge: e.ID, Source: e.Source, Target: e.Target,
			LatencyMs: latencyOf(e, metric), RPS: e.RPS})
		v = t.dst[best]
		visited[v] = true
	}
	for i := range out.Steps {
		s := &out.Steps[i]
		s.SelfMs = s.LatencyMs
		if i+1 < len(out.Steps) {
			s.SelfMs = max(0, s.LatencyMs-out.Steps[i+1].LatencyMs)
		}
	}
	if len(out.Steps) > 0 {
		out.TotalMs = out.Steps[0].LatencyMs
	}
	return out, nil
}
