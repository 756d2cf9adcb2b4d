package edgestore

import (
	"context"
	"fmt"
	"time"

	"github.com/meshscope/meshscope/graph"
)

// Series returns the RED series of a node's inbound calls (q.Node; for a
// client node, its outbound calls) or of one edge (q.Source and q.Target),
// over [q.From, q.To) aligned to q.Step. The step is rounded up to a multiple
// of 10 s; it picks the coarsest table whose rows fit in a step. Every step
// has a point, zero without calls.
func (s *Store) Series(ctx context.Context, q graph.SeriesQuery) (*graph.Series, error) {
	step := int64((q.Step + time.Second - 1) / time.Second)
	step = max(ceilTo(step, 10), 10)
	if !q.From.Before(q.To) {
		return nil, fmt.Errorf("series: from %s is not before to %s", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	from, to := floorTo(q.From.Unix(), step), ceilTo(ceilUnix(q.To), step)
	if n := (to - from) / step; n > int64(s.maxPoints) {
		return nil, fmt.Errorf("series: %d points (range / step) is above the limit of %d; raise step", n, s.maxPoints)
	}
	filter, err := seriesFilter(q)
	if err != nil {
		return nil, err
	}
	maxStep := int64(10)
	switch {
	case step%3600 == 0:
		maxStep = 3600
	case step%60 == 0:
		maxStep = 60
	}
	var branches []string
	key := fmt.Sprintf("toUInt32(intDiv(toUInt32(timestamp), %d) * %d) AS t", step, step)
	for _, b := range byTable(plan(from, to, maxStep)) {
		branches = append(branches, branch(b.t, []string{key}, "t", seriesMeasures, b.cond, filter))
	}
	query := combine([]string{"t"}, seriesMeasures, branches, "t")

	n := int((to - from) / step)
	out := &graph.Series{Time: make([]int64, n), Requests: make([]uint64, n), Errors: make([]uint64, n),
		RPS: make([]float64, n), ErrorRate: make([]float64, n),
		P50Ms: make([]float64, n), P90Ms: make([]float64, n), P95Ms: make([]float64, n), P99Ms: make([]float64, n)}
	for i := range n {
		out.Time[i] = from + int64(i)*step
	}
	rows, err := s.conn.Query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("series: %w", err)
	}
	defer rows.Close()
	var (
		t, latLo    uint32
		req, errs   uint64
		latText     string
		latSum      uint64
		hist        graph.Histogram
		stepSeconds = float64(step)
	)
	for rows.Next() {
		if err := rows.Scan(&t, &req, &errs, &latLo, &latText, &latSum); err != nil {
			return nil, fmt.Errorf("series: scan: %w", err)
		}
		if err := parseLatency(&hist, latLo, latText); err != nil {
			return nil, fmt.Errorf("series: %w", err)
		}
		i := (int64(t) - from) / step
		if i < 0 || i >= int64(n) {
			continue
		}
		out.Requests[i], out.Errors[i] = req, errs
		out.RPS[i] = float64(req) / stepSeconds
		if req > 0 {
			out.ErrorRate[i] = float64(errs) / float64(req)
		}
		pc := hist.Percentiles()
		out.P50Ms[i], out.P90Ms[i], out.P95Ms[i], out.P99Ms[i] = pc.P50/1e6, pc.P90/1e6, pc.P95/1e6, pc.P99/1e6
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("series: %w", err)
	}
	return out, nil
}

// seriesFilter is the WHERE condition that selects the node's or edge's rows.
func seriesFilter(q graph.SeriesQuery) (string, error) {
	if q.Node != "" {
		p, err := graph.ParseNodeID(q.Node)
		if err != nil {
			return "", fmt.Errorf("series: %w", err)
		}
		side := "destination"
		if p.Kind == graph.KindClient {
			side = "source"
		}
		return nodeIDExpr(side, p.Granularity()) + " = " + quote(q.Node), nil
	}
	if q.Source == "" || q.Target == "" {
		return "", fmt.Errorf("series: want a node, or a source and a target")
	}
	src, err := graph.ParseNodeID(q.Source)
	if err != nil {
		return "", fmt.Errorf("series: source: %w", err)
	}
	dst, err := graph.ParseNodeID(q.Target)
	if err != nil {
		return "", fmt.Errorf("series: target: %w", err)
	}
	g := finer(src.Granularity(), dst.Granularity())
	return fmt.Sprintf("%s = %s AND %s = %s", nodeIDExpr("source", g), quote(q.Source), nodeIDExpr("destination", g), quote(q.Target)), nil
}

func finer(a, b graph.Granularity) graph.Granularity {
	rank := map[graph.Granularity]int{graph.GranularityService: 0, graph.GranularityWorkload: 1, graph.GranularityVersion: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}
