package query

// TraceQL metrics (GET /tempo/api/metrics/query_range and query): series
// of the spans a spanset matches, over time, grouped by any of their
// fields, as Grafana's Traces Drilldown reads them: { status = error } |
// rate() by (resource.service.name). ClickHouse counts and aggregates
// each step's spans.

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/meshscope/meshscope/query/traceql"
)

// tempoMaxSteps bounds a metrics query's steps.
const tempoMaxSteps = 11_000

// tempoField is the SQL of a field a metrics query groups by: an
// intrinsic's column (status and kind as their names), else the
// attribute's value.
func tempoField(f traceql.Field) sqlExpr {
	if f.Scope == "intrinsic" {
		switch f.Name {
		case "status":
			return sqlExpr{"arrayElement(['unset', 'ok', 'error'], status_code + 1)", nil}
		case "kind":
			return sqlExpr{"arrayElement(['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'], kind + 1)", nil}
		case "duration":
			return sqlExpr{"toString(duration_ns)", nil}
		}
		return sqlExpr{map[string]string{"name": "name", "statusMessage": "status_message"}[f.Name], nil}
	}
	_, v := tempoAttr(f)
	return v
}

// tempoMetricsParams reads a metrics query and its range: start and end
// (Unix seconds, or nanoseconds), step (seconds or a duration; by default
// a hundredth of the range, a second at least).
func (s *Server) tempoMetricsParams(c echo.Context) (*traceql.Query, time.Time, time.Time, time.Duration, error) {
	q, err := traceql.Parse(c.QueryParam("q"))
	if err != nil {
		return nil, time.Time{}, time.Time{}, 0, badParam("q", "%v", err)
	}
	if q.Metrics == nil {
		return nil, time.Time{}, time.Time{}, 0, badParam("q", "a metrics query ends with a metrics function: | rate(), | count_over_time(), | quantile_over_time(duration, 0.99) ...")
	}
	start, end, err := s.tempoRange(c)
	if err != nil {
		return nil, start, end, 0, err
	}
	step, err := stepSecondsParam(c, max(end.Sub(start)/100, time.Second))
	if err != nil {
		return nil, start, end, 0, err
	}
	if end.Sub(start)/step > tempoMaxSteps {
		return nil, start, end, 0, badParam("step", "the range and step make more than %d steps: give a larger step", tempoMaxSteps)
	}
	return q, start, end, step, nil
}

// tempoSeries is one series of a metrics query.
type tempoSeries struct {
	labels  []tempoKeyValue
	prom    string
	samples map[int64]float64
}

// tempoMetrics evaluates a metrics query over [start, end] by step: each
// series' value in each step's spans (from the step's start).
func (s *Server) tempoMetrics(c echo.Context, q *traceql.Query, start, end time.Time, step time.Duration) ([]*tempoSeries, error) {
	m := q.Metrics
	match, _ := tempoMatch(q)
	cols, args := []string{}, []any{}
	for i, f := range m.By {
		e := tempoField(f)
		cols, args = append(cols, e.sql+" AS l"+strconv.Itoa(i)), append(args, e.args...)
	}
	where := sqlExpr{"timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND start_time_unix_nano >= ? AND start_time_unix_nano <= ? AND " + match.sql,
		append([]any{start.Unix(), end.Unix(), uint64(start.UnixNano()), uint64(end.UnixNano())}, match.args...)}
	// The value each step: of the spans, or of their field (duration in
	// seconds, or an attribute read as a number, spans without one left
	// out).
	value := sqlExpr{"duration_ns / 1e9", nil}
	if m.Field.Scope != "intrinsic" && m.Field != (traceql.Field{}) {
		has, v := tempoAttr(m.Field)
		valid, num := lokiNumeric(v, "")
		where = sqlExpr{where.sql + " AND " + has.sql + " AND " + valid.sql, slices.Concat(where.args, has.args, valid.args)}
		value = num
	}
	extra := []string{}
	var agg string
	switch m.Fn {
	case "rate", "count_over_time":
		agg = "toFloat64(count())"
	case "quantile_over_time":
		qs := make([]string, len(m.Quantiles))
		for i, x := range m.Quantiles {
			qs[i] = strconv.FormatFloat(x, 'g', -1, 64)
		}
		agg = "quantiles(" + strings.Join(qs, ", ") + ")(" + value.sql + ")"
	case "histogram_over_time":
		// Buckets of powers of two nanoseconds, as Tempo's; labelled by
		// their upper bound in seconds.
		extra = append(extra, "pow(2, ceil(log2(greatest(duration_ns, 1)))) / 1e9 AS hb")
		agg = "toFloat64(count())"
	default:
		agg = map[string]string{"avg_over_time": "avg", "min_over_time": "min", "max_over_time": "max", "sum_over_time": "sum"}[m.Fn] + "(" + value.sql + ")"
	}
	group := []string{"b"}
	for i := range m.By {
		group = append(group, "l"+strconv.Itoa(i))
	}
	if len(extra) > 0 {
		group = append(group, "hb")
	}
	stepNs := step.Nanoseconds()
	selectCols := slices.Concat([]string{"intDiv(start_time_unix_nano - ?, ?) AS b"}, cols, extra, []string{agg})
	sqlArgs := slices.Concat([]any{uint64(start.UnixNano()), uint64(stepNs)}, args)
	if metricsReadsValue := m.Fn != "rate" && m.Fn != "count_over_time" && m.Fn != "histogram_over_time"; metricsReadsValue {
		sqlArgs = append(sqlArgs, value.args...)
	}
	sqlArgs = append(sqlArgs, where.args...)
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return nil, err
	}
	defer cancel()
	series := map[string]*tempoSeries{}
	add := func(labels []tempoKeyValue, b int64, v float64) {
		parts := make([]string, len(labels))
		for i, l := range labels {
			parts[i] = fmt.Sprintf("%s=%q", l.Key, l.Value["stringValue"])
		}
		prom := "{" + strings.Join(parts, ", ") + "}"
		sr := series[prom]
		if sr == nil {
			sr = &tempoSeries{labels: labels, prom: prom, samples: map[int64]float64{}}
			series[prom] = sr
		}
		sr.samples[b] += v
	}
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var (
			b      int64
			hb, v  float64
			vs     []float64
			labels = make([]string, len(m.By))
		)
		dest := []any{&b}
		for i := range labels {
			dest = append(dest, &labels[i])
		}
		if len(extra) > 0 {
			dest = append(dest, &hb)
		}
		if m.Fn == "quantile_over_time" {
			dest = append(dest, &vs)
		} else {
			dest = append(dest, &v)
		}
		if err := scan(dest...); err != nil {
			return err
		}
		var kvs []tempoKeyValue
		for i, f := range m.By {
			if labels[i] != "" {
				kvs = append(kvs, tempoKeyValue{Key: f.String(), Value: map[string]string{"stringValue": labels[i]}})
			}
		}
		switch m.Fn {
		case "rate":
			add(kvs, b, v/step.Seconds())
		case "quantile_over_time":
			for i, x := range m.Quantiles {
				add(append(slices.Clone(kvs), tempoKeyValue{Key: "p", Value: map[string]string{"stringValue": strconv.FormatFloat(x, 'g', -1, 64)}}), b, vs[i])
			}
		case "histogram_over_time":
			add(append(kvs, tempoKeyValue{Key: "__bucket", Value: map[string]string{"stringValue": strconv.FormatFloat(hb, 'g', -1, 64)}}), b, v)
		default:
			add(kvs, b, v)
		}
		return nil
	}, `SELECT `+strings.Join(selectCols, ", ")+` FROM spans WHERE `+where.sql+` GROUP BY `+strings.Join(group, ", "), sqlArgs...)
	if err != nil {
		return nil, err
	}
	out := make([]*tempoSeries, 0, len(series))
	for _, k := range slices.Sorted(maps.Keys(series)) {
		out = append(out, series[k])
	}
	return out, nil
}

// GET /tempo/api/metrics/query_range?q=&start=&end=&step=: {"series":
// [{"labels": [{"key", "value": {"stringValue"}}], "promLabels",
// "samples": [{"timestampMs", "value"}]}]}, a sample per step with spans
// (at the step's start).
func (s *Server) tempoMetricsRange(c echo.Context) error {
	q, start, end, step, err := s.tempoMetricsParams(c)
	if err != nil {
		return err
	}
	series, err := s.tempoMetrics(c, q, start, end, step)
	if err != nil {
		return err
	}
	type sample struct {
		TimestampMs string  `json:"timestampMs"`
		Value       float64 `json:"value"`
	}
	out := make([]map[string]any, 0, len(series))
	for _, sr := range series {
		samples := []sample{}
		for _, b := range slices.Sorted(maps.Keys(sr.samples)) {
			samples = append(samples, sample{strconv.FormatInt(start.Add(time.Duration(b)*step).UnixMilli(), 10), sr.samples[b]})
		}
		out = append(out, map[string]any{"labels": sr.labels, "promLabels": sr.prom, "samples": samples})
	}
	return c.JSON(http.StatusOK, map[string]any{"series": out})
}

// GET /tempo/api/metrics/query?q=&start=&end=: each series' one value
// over the whole range (rate per second of it).
func (s *Server) tempoMetricsInstant(c echo.Context) error {
	q, err := traceql.Parse(c.QueryParam("q"))
	if err != nil {
		return badParam("q", "%v", err)
	}
	if q.Metrics == nil {
		return badParam("q", "a metrics query ends with a metrics function: | rate(), | count_over_time() ...")
	}
	start, end, err := s.tempoRange(c)
	if err != nil {
		return err
	}
	step := end.Sub(start) + time.Nanosecond // one step: the range, end included
	series, err := s.tempoMetrics(c, q, start, end, step)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(series))
	for _, sr := range series {
		out = append(out, map[string]any{"labels": sr.labels, "promLabels": sr.prom, "value": sr.samples[0]})
	}
	return c.JSON(http.StatusOK, map[string]any{"series": out})
}
