package sli

import (
	"context"
	"fmt"
	"time"

	"github.com/meshscope/meshscope/slo/spec"
)

// Culprit is a part of the mesh where bad requests of an SLO's window
// happened: an edge (from requests) or a server operation (from spans).
type Culprit struct {
	// Edge is "SOURCE -> DESTINATION" for requests, or the span name.
	Edge  string `json:"edge"`
	Bad   uint64 `json:"bad"`
	Total uint64 `json:"total"`
}

// TopCulprits returns the edges with the most bad requests between from
// and to: the target's own edges and the outbound edges of its destination
// (a failing dependency shows there), by the SLO's rule, de-duplicated as
// the SLI is. For span-only targets it returns the server operations with
// the most bad spans.
func TopCulprits(ctx context.Context, db Querier, s *spec.SLO, source string, from, to time.Time, limit int) ([]Culprit, error) {
	rng := fmt.Sprintf("timestamp >= toDateTime(%d) AND timestamp < toDateTime(%d)", from.Unix(), to.Unix())
	var (
		sql  string
		args []any
	)
	if source == FromSpans {
		st, ok := spansTarget(s.Target)
		if !ok {
			return nil, nil
		}
		sql = fmt.Sprintf(`SELECT name AS edge, countIf(%s) AS bad, count() AS total
FROM spans WHERE (%s) AND %s
GROUP BY edge HAVING bad > 0 ORDER BY bad DESC, edge LIMIT %d`, spansBad(s), st.sql, rng, limit)
		args = st.args
	} else {
		target := requestsTarget(s.Target)
		where := target
		if dst := destinationOf(s.Target); dst != "" {
			where = cond{"(" + target.sql + ") OR source = ?", append(append([]any{}, target.args...), dst)}
		}
		sql = fmt.Sprintf(`SELECT concat(source, ' -> ', destination) AS edge,
    if(countIf(reporter = 'destination') > 0, countIf(bad AND NOT dup), countIf(bad)) AS bad,
    if(countIf(reporter = 'destination') > 0, countIf(NOT dup), count()) AS total
FROM (
    SELECT source, destination, reporter, (%s) AS bad, (%s) AS dup
    FROM requests WHERE (%s) AND %s
)
GROUP BY source, destination HAVING bad > 0 ORDER BY bad DESC, edge LIMIT %d`, requestsBad(s), duplicateExpr(), where.sql, rng, limit)
		args = where.args
	}
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("slo %s: query failing edges: %w", s.Name, err)
	}
	defer rows.Close()
	var out []Culprit
	for rows.Next() {
		var c Culprit
		if err := rows.Scan(&c.Edge, &c.Bad, &c.Total); err != nil {
			return nil, fmt.Errorf("slo %s: scan failing edges: %w", s.Name, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func destinationOf(t spec.Target) string {
	switch {
	case t.Service != "":
		return t.Service
	case t.Edge != nil:
		return t.Edge.Destination
	}
	return t.Filter.Destination
}

// ExampleTraces returns up to limit trace ids (hex) of recent bad requests
// of the target between from and to, from access log rows that carry a
// trace id and from the target's bad server spans.
func ExampleTraces(ctx context.Context, db Querier, s *spec.SLO, from, to time.Time, limit int) ([]string, error) {
	rng := fmt.Sprintf("timestamp >= toDateTime(%d) AND timestamp < toDateTime(%d)", from.Unix(), to.Unix())
	const zero = "00000000000000000000000000000000"
	target := requestsTarget(s.Target)
	queries := []cond{{fmt.Sprintf(`SELECT lower(hex(trace_id)) AS id FROM requests
WHERE (%s) AND %s AND (%s) AND hex(trace_id) != '%s'
GROUP BY id ORDER BY max(timestamp) DESC, id LIMIT %d`, target.sql, rng, requestsBad(s), zero, limit), target.args}}
	if st, ok := spansTarget(s.Target); ok {
		queries = append(queries, cond{fmt.Sprintf(`SELECT lower(hex(trace_id)) AS id FROM spans
WHERE (%s) AND %s AND (%s)
GROUP BY id ORDER BY max(timestamp) DESC, id LIMIT %d`, st.sql, rng, spansBad(s), limit), st.args})
	}
	var out []string
	seen := map[string]bool{}
	for _, q := range queries {
		rows, err := db.Query(ctx, q.sql, q.args...)
		if err != nil {
			return nil, fmt.Errorf("slo %s: query example traces: %w", s.Name, err)
		}
		for rows.Next() && len(out) < limit {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("slo %s: scan example traces: %w", s.Name, err)
			}
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("slo %s: read example traces: %w", s.Name, err)
		}
	}
	return out, nil
}
