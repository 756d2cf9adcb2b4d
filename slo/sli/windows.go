package sli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/meshscope/meshscope/slo/alert"
	"github.com/meshscope/meshscope/slo/spec"
)

// WindowsQuery asks for an SLO's counts over each of its windows and its
// SLO window, all ending at At.
type WindowsQuery struct {
	// SLO is a resolved spec.
	SLO *spec.SLO
	// At is the end of every window (exclusive), truncated to the second.
	At time.Time
	// Windows are the alerting windows, ascending (spec.SLO.Windows).
	Windows []time.Duration
	// BudgetStart is the start of the SLO window (spec.Window.Start(At)).
	BudgetStart time.Time
	// CachedFrom and CachedTo bound whole hours of the SLO window that the
	// caller already counted (with Hours): the query then reads only the
	// rest of the SLO window from raw rows, and Cached is added to it.
	CachedFrom, CachedTo time.Time
	// Cached are the counts of the cached hours.
	Cached HourCounts
	// CachedEdges says the cached hours come from edges_1h: Cached.Edges
	// counts whichever source the query chooses.
	CachedEdges bool
}

// plan is the SQL of a WindowsQuery.
type plan struct {
	sql  string
	args []any
}

// windowsPlan builds one query that returns a row per source ('requests',
// 'spans') with two arrays: totals and bads, one element per window and a
// last one for the raw part of the SLO window.
func windowsPlan(q WindowsQuery) plan {
	at := q.At.Unix()
	longest := int64(0)
	if n := len(q.Windows); n > 0 {
		longest = int64(q.Windows[n-1] / time.Second)
	}
	bStart := q.BudgetStart.Unix()
	// h0, h1: the cached hours of the SLO window, read elsewhere.
	h0, h1 := q.CachedFrom.Unix(), q.CachedTo.Unix()
	cached := q.CachedTo.After(q.CachedFrom)
	inWindow := make([]string, 0, len(q.Windows)+1)
	for _, w := range q.Windows {
		inWindow = append(inWindow, fmt.Sprintf("ts >= %d", at-int64(w/time.Second)))
	}
	// The rows to read: every alerting window and the raw part of the SLO window.
	var rng string
	if cached {
		inWindow = append(inWindow, fmt.Sprintf("(ts >= %d AND ts < %d OR ts >= %d)", bStart, h0, h1))
		rng = fmt.Sprintf("timestamp < toDateTime(%d) AND (timestamp >= toDateTime(%d) OR timestamp >= toDateTime(%d) OR timestamp >= toDateTime(%d) AND timestamp < toDateTime(%d))",
			at, at-longest, h1, bStart, h0)
	} else {
		inWindow = append(inWindow, fmt.Sprintf("ts >= %d", bStart))
		rng = fmt.Sprintf("timestamp >= toDateTime(%d) AND timestamp < toDateTime(%d)", min(at-longest, bStart), at)
	}
	arr := func(format string) string {
		parts := make([]string, len(inWindow))
		for i, c := range inWindow {
			parts[i] = fmt.Sprintf(format, c)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}

	target := requestsTarget(q.SLO.Target)
	var b strings.Builder
	fmt.Fprintf(&b, `SELECT 'requests' AS src, sumForEach(if(meshed, mt, at)) AS totals, sumForEach(if(meshed, mb, ab)) AS bads
FROM (
    SELECT source, destination, countIf(reporter = 'destination') > 0 AS meshed,
        %s AS mt,
        %s AS mb,
        %s AS at,
        %s AS ab
    FROM (
        SELECT source, destination, reporter, toUInt32(timestamp) AS ts, (%s) AS bad, (%s) AS dup
        FROM requests
        WHERE (%s) AND %s
    )
    GROUP BY source, destination
)`,
		arr("countIf(%s AND NOT dup)"), arr("countIf(%s AND NOT dup AND bad)"),
		arr("countIf(%s)"), arr("countIf(%s AND bad)"),
		requestsBad(q.SLO), duplicateExpr(), target.sql, rng)
	args := append([]any{}, target.args...)

	if st, ok := spansTarget(q.SLO.Target); ok {
		fmt.Fprintf(&b, `
UNION ALL
SELECT 'spans' AS src, %s AS totals, %s AS bads
FROM (
    SELECT toUInt32(timestamp) AS ts, (%s) AS bad
    FROM spans
    WHERE (%s) AND %s
)`, arr("countIf(%s)"), arr("countIf(%s AND bad)"), spansBad(q.SLO), st.sql, rng)
		args = append(args, st.args...)
	}
	return plan{sql: b.String(), args: args}
}

// Windows runs the query and returns the sample: the counts of each window
// from requests, or from spans when the target has no request row in the
// range (cached hours included); the SLO window's counts add the cached
// hours of the chosen source.
func Windows(ctx context.Context, db Querier, q WindowsQuery) (*alert.Sample, error) {
	p := windowsPlan(q)
	rows, err := db.Query(ctx, p.sql, p.args...)
	if err != nil {
		return nil, fmt.Errorf("slo %s: query windows: %w", q.SLO.Name, err)
	}
	defer rows.Close()
	n := len(q.Windows) + 1
	got := map[string][2][]uint64{}
	for rows.Next() {
		var (
			src          string
			totals, bads []uint64
		)
		if err := rows.Scan(&src, &totals, &bads); err != nil {
			return nil, fmt.Errorf("slo %s: scan windows: %w", q.SLO.Name, err)
		}
		got[src] = [2][]uint64{pad(totals, n), pad(bads, n)}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("slo %s: read windows: %w", q.SLO.Name, err)
	}
	src, cached := FromRequests, q.Cached.Requests
	hasRequests := anyNonZero(got[FromRequests][0]) || q.Cached.Requests.Total > 0
	if !hasRequests && (anyNonZero(got[FromSpans][0]) || q.Cached.Spans.Total > 0) {
		src, cached = FromSpans, q.Cached.Spans
	}
	if q.CachedEdges {
		cached = q.Cached.Edges
	}
	chosen := got[src]
	if chosen[0] == nil {
		chosen = [2][]uint64{make([]uint64, n), make([]uint64, n)}
	}
	smp := &alert.Sample{At: q.At, Windows: q.Windows, Counts: make([]alert.Counts, len(q.Windows)), Source: src}
	for i := range q.Windows {
		smp.Counts[i] = alert.Counts{Total: chosen[0][i], Bad: chosen[1][i]}
	}
	smp.Budget = alert.Counts{Total: chosen[0][n-1], Bad: chosen[1][n-1]}.Add(cached)
	return smp, nil
}

func pad(v []uint64, n int) []uint64 {
	if len(v) >= n {
		return v
	}
	return append(v, make([]uint64, n-len(v))...)
}

func anyNonZero(v []uint64) bool {
	for _, x := range v {
		if x != 0 {
			return true
		}
	}
	return false
}
