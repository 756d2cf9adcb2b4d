package sli

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/meshscope/meshscope/slo/alert"
	"github.com/meshscope/meshscope/slo/spec"
)

// Series is an SLO's counts per step over a range: bucket i covers
// [Start + i*Step, Start + (i+1)*Step).
type Series struct {
	Start  time.Time
	Step   time.Duration
	Counts []alert.Counts
	// Source is requests or spans (see the package rules).
	Source string
}

// SeriesQuery asks for the counts of an SLO per step between From and To.
type SeriesQuery struct {
	SLO      *spec.SLO
	From, To time.Time
	Step     time.Duration
}

// seriesPlan returns the per-bucket counts of requests and spans; the pair
// de-duplication is decided over the whole range.
func seriesPlan(q SeriesQuery) (string, []any) {
	step := int64(q.Step / time.Second)
	from, to := q.From.Unix(), q.To.Unix()
	rng := fmt.Sprintf("timestamp >= toDateTime(%d) AND timestamp < toDateTime(%d)", from, to)
	t := requestsTarget(q.SLO.Target)
	sql := fmt.Sprintf(`SELECT 'requests' AS src, intDiv(toUInt32(timestamp), %d) * %d AS b, count() AS total, countIf(%s) AS bad
FROM requests
WHERE (%s) AND %s
    AND NOT ((%s) AND (source, destination) IN (
        SELECT source, destination FROM requests
        WHERE (%s) AND %s AND reporter = 'destination'
        GROUP BY source, destination))
GROUP BY b`, step, step, requestsBad(q.SLO), t.sql, rng, duplicateExpr(), t.sql, rng)
	args := append(append([]any{}, t.args...), t.args...)
	if st, ok := spansTarget(q.SLO.Target); ok {
		sql += fmt.Sprintf(`
UNION ALL
SELECT 'spans' AS src, intDiv(toUInt32(timestamp), %d) * %d AS b, count() AS total, countIf(%s) AS bad
FROM spans
WHERE (%s) AND %s
GROUP BY b`, step, step, spansBad(q.SLO), st.sql, rng)
		args = append(args, st.args...)
	}
	return sql, args
}

// ReadSeries runs the series query. From is rounded down and To up to
// whole steps.
func ReadSeries(ctx context.Context, db Querier, q SeriesQuery) (*Series, error) {
	if q.Step < time.Second || q.Step%time.Second != 0 {
		return nil, fmt.Errorf("slo %s: series step %s: want whole seconds", q.SLO.Name, q.Step)
	}
	step := int64(q.Step / time.Second)
	from := q.From.Unix() / step * step
	to := (q.To.Unix() + step - 1) / step * step
	q.From, q.To = time.Unix(from, 0).UTC(), time.Unix(to, 0).UTC()
	sql, args := seriesPlan(q)
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("slo %s: query series: %w", q.SLO.Name, err)
	}
	defer rows.Close()
	n := int((to - from) / step)
	got := map[string][]alert.Counts{}
	for rows.Next() {
		var (
			src        string
			b          uint64
			total, bad uint64
		)
		if err := rows.Scan(&src, &b, &total, &bad); err != nil {
			return nil, fmt.Errorf("slo %s: scan series: %w", q.SLO.Name, err)
		}
		i := (int64(b) - from) / step
		if i < 0 || i >= int64(n) {
			continue
		}
		if got[src] == nil {
			got[src] = make([]alert.Counts, n)
		}
		got[src][i] = alert.Counts{Total: total, Bad: bad}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("slo %s: read series: %w", q.SLO.Name, err)
	}
	src := FromRequests
	if got[FromRequests] == nil && got[FromSpans] != nil {
		src = FromSpans
	}
	counts := got[src]
	if counts == nil {
		counts = make([]alert.Counts, n)
	}
	return &Series{Start: q.From, Step: q.Step, Counts: counts, Source: src}, nil
}

// Samples yields a sample at every step boundary T in [from, to] (and
// within the series): the counts of each window [T-w, T), cut at the start
// of the series. Every window must be a multiple of the step. The sample is
// reused between iterations.
func (s *Series) Samples(windows []time.Duration, from, to time.Time) (iter.Seq[*alert.Sample], error) {
	for _, w := range windows {
		if w%s.Step != 0 {
			return nil, fmt.Errorf("window %s is not a multiple of the step %s", spec.Duration(w), spec.Duration(s.Step))
		}
	}
	prefix := make([]alert.Counts, len(s.Counts)+1)
	for i, c := range s.Counts {
		prefix[i+1] = prefix[i].Add(c)
	}
	step := s.Step
	first := s.Start
	if from.After(first) {
		sec := int64(step / time.Second)
		first = time.Unix((from.Unix()+sec-1)/sec*sec, 0).UTC()
	}
	return func(yield func(*alert.Sample) bool) {
		smp := &alert.Sample{Windows: windows, Counts: make([]alert.Counts, len(windows)), Source: s.Source}
		for t := first; !t.After(to); t = t.Add(step) {
			end := int(t.Sub(s.Start) / step)
			if end > len(s.Counts) {
				return
			}
			for i, w := range windows {
				start := max(end-int(w/step), 0)
				smp.Counts[i] = alert.Counts{
					Total: prefix[end].Total - prefix[start].Total,
					Bad:   prefix[end].Bad - prefix[start].Bad,
				}
			}
			smp.At = t
			if !yield(smp) {
				return
			}
		}
	}, nil
}
