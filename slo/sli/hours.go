package sli

import (
	"context"
	"fmt"
	"time"

	"github.com/meshscope/meshscope/slo/alert"
	"github.com/meshscope/meshscope/slo/spec"
)

// HourCounts are an SLO's counts in one whole hour, by source.
type HourCounts struct {
	Requests, Spans, Edges alert.Counts
}

// Add returns the element-wise sum.
func (h HourCounts) Add(o HourCounts) HourCounts {
	return HourCounts{Requests: h.Requests.Add(o.Requests), Spans: h.Spans.Add(o.Spans), Edges: h.Edges.Add(o.Edges)}
}

// EdgesUsable reports whether the edges_* aggregates measure the SLO: an
// availability SLI with meshscope's error rule on a service or an edge.
func EdgesUsable(s *spec.SLO) bool { return edgesUsable(s) }

// Hours returns the SLO's counts for every whole hour in [from, to) (both
// on the hour), indexed by hour from from: from raw requests and spans, or
// only from edges_1h when edges is set (and EdgesUsable). Requests are
// de-duplicated per pair and hour.
func Hours(ctx context.Context, db Querier, s *spec.SLO, from, to time.Time, edges bool) ([]HourCounts, error) {
	f, t := from.Unix(), to.Unix()
	if f%3600 != 0 || t%3600 != 0 || t < f {
		return nil, fmt.Errorf("slo %s: hours [%s, %s): want whole hours", s.Name, from, to)
	}
	out := make([]HourCounts, (t-f)/3600)
	if len(out) == 0 {
		return out, nil
	}
	rng := fmt.Sprintf("timestamp >= toDateTime(%d) AND timestamp < toDateTime(%d)", f, t)
	var (
		sql  string
		args []any
	)
	if et, ok := edgesTarget(s.Target); edges && ok && edgesUsable(s) {
		sql = fmt.Sprintf(`SELECT 'edges' AS src, toUInt64(toUInt32(timestamp)) AS h, sumMerge(requests) AS total, sumMerge(errors) AS bad
FROM edges_1h WHERE (%s) AND %s GROUP BY h`, et.sql, rng)
		args = et.args
	} else {
		target := requestsTarget(s.Target)
		sql = fmt.Sprintf(`SELECT 'requests' AS src, h, sum(if(meshed, mt, at)) AS total, sum(if(meshed, mb, ab)) AS bad
FROM (
    SELECT toUInt64(intDiv(toUInt32(timestamp), 3600) * 3600) AS h, countIf(reporter = 'destination') > 0 AS meshed,
        countIf(NOT dup) AS mt, countIf(NOT dup AND bad) AS mb, count() AS at, countIf(bad) AS ab
    FROM (
        SELECT source, destination, reporter, timestamp, (%s) AS bad, (%s) AS dup
        FROM requests WHERE (%s) AND %s
    )
    GROUP BY source, destination, h
)
GROUP BY h`, requestsBad(s), duplicateExpr(), target.sql, rng)
		args = append([]any{}, target.args...)
		if st, ok := spansTarget(s.Target); ok {
			sql += fmt.Sprintf(`
UNION ALL
SELECT 'spans' AS src, toUInt64(intDiv(toUInt32(timestamp), 3600) * 3600) AS h, count() AS total, countIf(%s) AS bad
FROM spans WHERE (%s) AND %s GROUP BY h`, spansBad(s), st.sql, rng)
			args = append(args, st.args...)
		}
	}
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("slo %s: query hours: %w", s.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			src        string
			h          uint64
			total, bad uint64
		)
		if err := rows.Scan(&src, &h, &total, &bad); err != nil {
			return nil, fmt.Errorf("slo %s: scan hours: %w", s.Name, err)
		}
		i := (int64(h) - f) / 3600
		if i < 0 || i >= int64(len(out)) {
			continue
		}
		c := alert.Counts{Total: total, Bad: bad}
		switch src {
		case FromRequests:
			out[i].Requests = c
		case FromSpans:
			out[i].Spans = c
		case FromEdges:
			out[i].Edges = c
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("slo %s: read hours: %w", s.Name, err)
	}
	return out, nil
}
