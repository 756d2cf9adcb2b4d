package query

// Unwrapped range aggregations (avg_over_time({...} | json | unwrap
// duration(latency) [5m]) by (path)): the values of a label, read as
// numbers, aggregated over each step's window by ClickHouse. A line
// belongs to every window (t - range, t] of the steps t that hold it, so
// each line is counted once per window it falls in (range / step of
// them); quantiles are Prometheus' (interpolated between the two nearest
// values), computed from the window's values.

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/meshscope/meshscope/query/logql"
)

// lokiMaxWindowsPerLine bounds the windows one line falls in (range /
// step): past it a query would read each line that many times.
const lokiMaxWindowsPerLine = 1000

// lokiUnwrapAgg is the SQL aggregate of each unwrapped function over a
// window's values v (times tn); quantiles read the values themselves.
var lokiUnwrapAgg = map[string]string{
	"count_over_time":    "toFloat64(count())",
	"rate":               "sum(v)",
	"sum_over_time":      "sum(v)",
	"avg_over_time":      "avg(v)",
	"min_over_time":      "min(v)",
	"max_over_time":      "max(v)",
	"first_over_time":    "argMin(v, tn)",
	"last_over_time":     "argMax(v, tn)",
	"stddev_over_time":   "stddevPop(v)",
	"stdvar_over_time":   "varPop(v)",
	"quantile_over_time": "0",
}

// lokiUnwrapped evaluates an unwrapped range aggregation at every step
// from start to end.
func (s *Server) lokiUnwrapped(ctx context.Context, q logql.MetricQuery, start, end time.Time, step time.Duration) ([]lokiSeries, error) {
	rng, st := int64(q.Range/time.Second), int64(step/time.Second)
	steps := (end.Unix() - start.Unix()) / st
	if steps > lokiMaxBuckets {
		return nil, badParam("step", "the range and step need %d steps, more than the %d allowed: give a larger step", steps, lokiMaxBuckets)
	}
	if rng/st > lokiMaxWindowsPerLine {
		return nil, badParam("step", "each line would fall in %d windows (range %s / step %s), more than the %d allowed: give a larger step", rng/st, q.Range, step, lokiMaxWindowsPerLine)
	}
	u := q.Log.Unwrap
	// The series' labels: the grouping given, else the stream's and those
	// an outer sum reads.
	names := q.RangeBy
	if !q.RangeGrouped {
		names = nil
		for _, l := range lokiStreamLabels[:3] {
			if q.Log.Answers(l.name) {
				names = append(names, l.name)
			}
		}
		for _, l := range q.By {
			if !slices.Contains(names, l) {
				names = append(names, l)
			}
		}
	}
	var cols []string
	var args []any
	for i, n := range names {
		e, a := lokiField(n, q.Log.Parsers)
		cols, args = append(cols, e+" AS l"+strconv.Itoa(i)), append(args, a...)
	}
	unit := ""
	switch u.Conv {
	case "duration", "duration_seconds":
		unit = "duration"
	case "bytes":
		unit = "bytes"
	}
	v, vargs := lokiField(u.Label, u.Parsers)
	valid, num := lokiNumeric(sqlExpr{v, vargs}, unit)
	where, wargs := lokiWhere(q.Log)
	agg := lokiUnwrapAgg[q.Fn]
	if q.Fn == "quantile_over_time" {
		agg = "groupArray(v)"
	}
	group := []string{"k"}
	for i := range names {
		group = append(group, "l"+strconv.Itoa(i))
	}
	// x is a line's second from start; it falls in the windows of steps
	// ceil(x / st) to floor((x + rng - 1) / st), within 0 to steps.
	sql := `SELECT ` + strings.Join(group, ", ") + `, ` + agg + ` AS a
FROM (
  SELECT ` + strings.Join(append(cols, num.sql+" AS v", "time_unix_nano AS tn", "toInt64(toUInt32(timestamp)) - ? AS x"), ", ") + `
  FROM logs
  WHERE timestamp > toDateTime(?) AND timestamp <= toDateTime(?) AND ` + where + ` AND ` + valid.sql + `
)
ARRAY JOIN arrayMap(i -> greatest(intDiv(x + ? - 1, ?), 0) + i,
  range(toUInt64(greatest(least(intDiv(x + ? - 1, ?), ?) - greatest(intDiv(x + ? - 1, ?), 0) + 1, 0)))) AS k
GROUP BY ` + strings.Join(group, ", ")
	all := slices.Concat(args, num.args, []any{start.Unix(), start.Unix() - rng, end.Unix()}, wargs, valid.args,
		[]any{st, st, rng, st, steps, st, st})
	if err := s.store(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	type series struct {
		labels map[string]string
		points map[int64]float64
	}
	byKey := map[string]*series{}
	err := s.scanAll(ctx, func(scan func(...any) error) error {
		var (
			k      int64
			a      float64
			values []float64
		)
		vals := make([]string, len(names))
		dest := []any{&k}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if q.Fn == "quantile_over_time" {
			dest = append(dest, &values)
		} else {
			dest = append(dest, &a)
		}
		if err := scan(dest...); err != nil {
			return err
		}
		if q.Fn == "quantile_over_time" {
			a = quantile(q.Quantile, values)
		}
		if q.Fn == "rate" {
			a /= float64(rng)
		}
		labels := map[string]string{}
		for i, n := range names {
			if vals[i] != "" {
				labels[n] = vals[i]
			}
		}
		key := lineKey(labels)
		sr := byKey[key]
		if sr == nil {
			sr = &series{labels: labels, points: map[int64]float64{}}
			byKey[key] = sr
		}
		sr.points[k] = a
		return nil
	}, sql, all...)
	if err != nil {
		return nil, fmt.Errorf("unwrapped %s: %w", q.Fn, err)
	}
	// An outer sum adds the series by its labels.
	if q.Sum {
		summed := map[string]*series{}
		for _, sr := range byKey {
			labels := map[string]string{}
			for _, l := range q.By {
				if v, ok := sr.labels[l]; ok {
					labels[l] = v
				}
			}
			key := lineKey(labels)
			out := summed[key]
			if out == nil {
				out = &series{labels: labels, points: map[int64]float64{}}
				summed[key] = out
			}
			for k, v := range sr.points {
				out.points[k] += v
			}
		}
		byKey = summed
	}
	out := make([]lokiSeries, 0, len(byKey))
	for _, key := range slices.Sorted(maps.Keys(byKey)) {
		sr := byKey[key]
		ls := lokiSeries{labels: sr.labels}
		for _, k := range slices.Sorted(maps.Keys(sr.points)) {
			if v := sr.points[k]; !math.IsNaN(v) {
				ls.points = append(ls.points, lokiPoint{t: start.Unix() + k*st, v: v})
			}
		}
		if len(ls.points) > 0 {
			out = append(out, ls)
		}
	}
	return out, nil
}

// quantile is the φ-quantile of values as Prometheus' quantile_over_time
// computes it: the rank φ(n-1) interpolated between its two neighbours.
func quantile(phi float64, values []float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	sort.Float64s(values)
	rank := phi * float64(len(values)-1)
	lo := int(math.Floor(rank))
	hi := min(lo+1, len(values)-1)
	w := rank - float64(lo)
	return values[lo]*(1-w) + values[hi]*w
}
