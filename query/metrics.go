package query

// The metrics explorer: the metrics meshscope stores (OTLP, remote_write,
// scrapes) by name, and one metric's series over a range as lines to
// chart, with Prometheus' everyday arithmetic: counters and cumulative sums
// as per-second rates (a decrease is a reset), delta sums summed per step,
// histograms and summaries as the rate of their observations, gauges as
// their last value in each step; lines summed (or averaged, ...) by the
// labels asked; or a histogram's quantiles (metricquantile.go).

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/meshscope/meshscope/query/promstore"
	"github.com/meshscope/meshscope/schema"
)

// metricTypes names schema.Metric* (1-based).
var metricTypes = []string{"unknown", "gauge", "sum", "histogram", "exponential_histogram", "summary"}

// Temporalities as metric_series stores them.
const (
	temporalityDelta      = 1
	temporalityCumulative = 2
)

// maxMetricSeries bounds the series one query reads.
const maxMetricSeries = 2000

// maxMetricSeriesSteps bounds series × steps of one query (a variable for
// the tests).
var maxMetricSeriesSteps int64 = 500_000

// defaultMetricLines is how many lines a query answers without a limit.
const defaultMetricLines = 20

// metricInfo is one metric of GET /api/v1/metrics.
type metricInfo struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Unit        string   `json:"unit"`
	Description string   `json:"description"`
	Temporality string   `json:"temporality"`
	Monotonic   bool     `json:"monotonic"`
	Series      uint64   `json:"series"`
	Sources     []string `json:"sources"`
}

func temporalityName(t uint8) string {
	switch t {
	case temporalityDelta:
		return "delta"
	case temporalityCumulative:
		return "cumulative"
	}
	return ""
}

// GET /api/v1/metrics?q=&service=&limit=: metric names (containing q;
// with series of the service: resource service.name, or the Prometheus
// job), with their type, unit, description and number of series.
func (s *Server) listMetrics(c echo.Context) error {
	limit, err := s.limitParam(c)
	if err != nil {
		return err
	}
	where, args := []string{"1"}, []any{}
	if q := c.QueryParam("q"); q != "" {
		where, args = append(where, "positionCaseInsensitiveUTF8(metric_name, ?) > 0"), append(args, q)
	}
	if svc := c.QueryParam("service"); svc != "" {
		where, args = append(where, "service_name = ?"), append(args, svc)
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	out := []metricInfo{}
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var (
			m               metricInfo
			typ, temp, mono uint8
		)
		if err := scan(&m.Name, &typ, &m.Unit, &m.Description, &temp, &mono, &m.Series, &m.Sources); err != nil {
			return err
		}
		m.Type, m.Temporality, m.Monotonic = nameOf(metricTypes, typ), temporalityName(temp), mono == 1
		slices.Sort(m.Sources)
		out = append(out, m)
		return nil
	}, `
SELECT metric_name, any(type), any(unit), any(description), any(temporality), any(monotonic),
       uniqExact(series_id), groupUniqArray(source)
FROM metric_series
WHERE `+strings.Join(where, " AND ")+`
GROUP BY metric_name
ORDER BY metric_name
LIMIT ?`, append(args, limit)...)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"metrics": out})
}

// metricMatch is match=key=value or match=key!=value: a series label (or
// resource attribute) equal to value, or not.
type metricMatch struct {
	key, value string
	negate     bool
}

func metricMatchParam(v string) (metricMatch, error) {
	if k, val, ok := strings.Cut(v, "!="); ok && k != "" {
		return metricMatch{key: k, value: val, negate: true}, nil
	}
	if k, val, ok := strings.Cut(v, "="); ok && k != "" {
		return metricMatch{key: k, value: val}, nil
	}
	return metricMatch{}, badParam("match", "match is key=value or key!=value, got %q", v)
}

// sql is the condition on metric_series, its values bound.
func (m metricMatch) sql() (string, []any) {
	cond := "(has(label_keys, ?) AND label_values[indexOf(label_keys, ?)] = ? OR has(resource_keys, ?) AND resource_values[indexOf(resource_keys, ?)] = ?)"
	if m.negate {
		cond = "NOT " + cond
	}
	return cond, []any{m.key, m.key, m.value, m.key, m.key, m.value}
}

// metricAggs combine the series of a line at one step.
var metricAggs = map[string]func(vs []float64) float64{
	"sum": func(vs []float64) float64 {
		var t float64
		for _, v := range vs {
			t += v
		}
		return t
	},
	"avg": func(vs []float64) float64 {
		var t float64
		for _, v := range vs {
			t += v
		}
		return t / float64(len(vs))
	},
	"max": func(vs []float64) float64 { return slices.Max(vs) },
	"min": func(vs []float64) float64 { return slices.Min(vs) },
}

// metricSeries is a series chosen by a query, with what its line is
// keyed and labelled by.
type metricSeries struct {
	labels map[string]string
	line   string
	// le is the upper bound label of a Prometheus histogram's _bucket
	// series (read for quantiles; not among labels then).
	le string
}

// metricLine is one line of GET /api/v1/metrics/query.
type metricLine struct {
	Labels map[string]string `json:"labels"`
	// Points are [Unix seconds of the step's start, value].
	Points [][2]float64 `json:"points"`
	total  float64
}

// stepValue is what a series' samples in one step give: the last value and
// count, and their sums.
type stepValue struct {
	lastV, sumV float64
	lastC, sumC uint64
	// An explicit-bucket histogram's last and summed bucket counts, and
	// its bounds (read for quantiles only).
	lastB, sumB []uint64
	bounds      []float64
	// An exponential histogram's last scale, zero count and offset (its
	// positive counts in lastB), for its quantiles.
	expScale, expOffset int32
	lastZero            uint64
}

// seriesSteps are one series' steps, in order, as metric_samples gives
// them (a step without samples is absent).
type seriesSteps struct {
	buckets []int64
	steps   []stepValue
}

// metricKind says how a metric's samples become a line's values.
type metricKind struct {
	// useCount reads count (histograms, summaries) instead of value.
	useCount bool
	// rate: per-second increase between steps' last values (cumulative),
	// or per-second sum (delta); otherwise the step's last value.
	rate, delta bool
}

func kindOf(typ, temporality uint8) metricKind {
	k := metricKind{useCount: typ >= schema.MetricHistogram}
	switch temporality {
	case temporalityCumulative:
		k.rate = true
	case temporalityDelta:
		k.rate, k.delta = true, true
	}
	return k
}

func (k metricKind) describe() string {
	switch {
	case k.useCount && k.rate:
		return "observations_per_second"
	case k.useCount:
		return "observations"
	case k.rate:
		return "per_second"
	}
	return "value"
}

// values turns one series' steps (sorted, possibly with gaps, the first
// one before the range) into values at the steps of the range.
func (k metricKind) values(buckets []int64, steps []stepValue, step float64, first int64) map[int64]float64 {
	out := make(map[int64]float64, len(buckets))
	for i, b := range buckets {
		sv := steps[i]
		last, sum := sv.lastV, sv.sumV
		if k.useCount {
			last, sum = float64(sv.lastC), float64(sv.sumC)
		}
		var v float64
		switch {
		case !k.rate:
			v = last
		case k.delta:
			v = sum / step
		default:
			if i == 0 {
				continue // no earlier value to take the increase from
			}
			prev := steps[i-1].lastV
			if k.useCount {
				prev = float64(steps[i-1].lastC)
			}
			inc := last - prev
			if inc < 0 { // a reset: the counter restarted from 0
				inc = last
			}
			v = inc / (float64(b-buckets[i-1]) * step)
		}
		if b >= first && !math.IsNaN(v) && !math.IsInf(v, 0) {
			out[b] = v
		}
	}
	return out
}

// GET /api/v1/metrics/query?name=&service=&match=&group_by=&agg=&quantile=&from=&to=&step=&limit=
func (s *Server) queryMetric(c echo.Context) error {
	name := c.QueryParam("name")
	if name == "" {
		return badParam("name", "name is required")
	}
	from, to, _, err := s.rangeOrDefault(c)
	if err != nil {
		return err
	}
	step, err := s.stepParam(c, from, to)
	if err != nil {
		return err
	}
	stepSec := int64(step / time.Second)
	agg := cmp.Or(c.QueryParam("agg"), "sum")
	combine, ok := metricAggs[agg]
	if !ok {
		return badParam("agg", "agg is sum, avg, max or min, got %q", agg)
	}
	limit := defaultMetricLines
	if c.QueryParam("limit") != "" {
		if limit, err = s.limitParam(c); err != nil {
			return err
		}
	}
	var quantile float64
	if v := c.QueryParam("quantile"); v != "" {
		if quantile, err = strconv.ParseFloat(v, 64); err != nil || !(quantile > 0 && quantile < 1) {
			return badParam("quantile", "quantile is a number between 0 and 1 (0.99), got %q", v)
		}
	}
	// A Prometheus histogram's quantile reads its _bucket series, one per
	// upper bound (le), which its lines then leave out.
	classic := quantile > 0 && strings.HasSuffix(name, "_bucket")
	var groupBy []string
	for k := range strings.SplitSeq(c.QueryParam("group_by"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			groupBy = append(groupBy, k)
		}
	}
	where, args := []string{"metric_name = ?"}, []any{name}
	if svc := c.QueryParam("service"); svc != "" {
		where, args = append(where, "service_name = ?"), append(args, svc)
	}
	for _, v := range c.QueryParams()["match"] {
		m, err := metricMatchParam(v)
		if err != nil {
			return err
		}
		cond, a := m.sql()
		where, args = append(where, cond), append(args, a...)
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()

	// The series, the same set twice: listed here, and as the samples'
	// filter below.
	seriesQuery := `SELECT series_id FROM metric_series WHERE ` + strings.Join(where, " AND ") +
		` GROUP BY series_id ORDER BY series_id LIMIT ` + strconv.Itoa(maxMetricSeries)
	series := map[uint64]*metricSeries{}
	var (
		unit, desc      string
		typ, temp       uint8
		monotonic, otlp bool
		labelKeys       = map[string]bool{}
	)
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var (
			id               uint64
			t, tp, mono, src uint8
			u, d, svc        string
			lk, lv, rk, rv   []string
		)
		if err := scan(&id, &t, &tp, &u, &d, &svc, &lk, &lv, &rk, &rv, &mono, &src); err != nil {
			return err
		}
		if len(series) == 0 {
			typ, temp, unit, desc = t, tp, u, d
		}
		monotonic, otlp = monotonic || mono == 1, otlp || src == 1
		labels := attrMap(lk, lv)
		le := labels["le"]
		if classic {
			delete(labels, "le")
		}
		for k := range labels {
			labelKeys[k] = true
		}
		if svc != "" && labels["job"] == "" && labels["service.name"] == "" {
			labels["service.name"] = svc
		}
		ms := &metricSeries{labels: labels, le: le}
		if len(groupBy) > 0 {
			res := attrMap(rk, rv)
			ms.labels = make(map[string]string, len(groupBy))
			for _, k := range groupBy {
				ms.labels[k] = cmp.Or(labels[k], res[k])
			}
		}
		ms.line = lineKey(ms.labels)
		series[id] = ms
		return nil
	}, `
SELECT series_id, any(type), any(temporality), any(unit), any(description), any(service_name),
       any(label_keys), any(label_values), any(resource_keys), any(resource_values), max(monotonic), max(source = 'otlp')
FROM metric_series
WHERE series_id GLOBAL IN (`+seriesQuery+`)
GROUP BY series_id`, args...)
	if err != nil {
		return err
	}
	if len(series) == 0 {
		return notFound("name", "no series of metric %q match", name)
	}
	// Every series' steps are held at once (with a histogram's buckets for
	// its quantiles): bound them.
	if steps := int64(to.Sub(from)/step) + 2; int64(len(series))*steps > maxMetricSeriesSteps {
		return badParam("step", "%d series over %d steps are more than the %d series-steps a query may read: narrow it (match, service) or give a larger step",
			len(series), steps, maxMetricSeriesSteps)
	}
	kind := kindOf(typ, temp)
	native := quantile > 0 && !classic && typ == schema.MetricHistogram
	exponential := quantile > 0 && !classic && typ == schema.MetricExponentialHistogram
	switch {
	case quantile > 0 && !classic && !native && !exponential:
		return badParam("quantile", "quantile needs a histogram: %s is a %s (an explicit-bucket or exponential histogram, or the _bucket series of a Prometheus one)",
			name, nameOf(metricTypes, typ))
	case exponential && temp != temporalityCumulative:
		return badParam("quantile", "the quantiles of delta exponential histograms are not supported")
	}

	// Each series' last and summed value and count per step, from one step
	// before the range (the increase into its first step).
	first := from.Unix() / stepSec
	perSeries := map[uint64]*seriesSteps{}
	cols := "argMax(value, time_unix_nano), sum(value), argMax(count, time_unix_nano), sum(count)"
	switch {
	case native:
		cols += ", argMax(bucket_counts, time_unix_nano), sumForEach(bucket_counts), any(bucket_bounds)"
	case exponential:
		cols += ", argMax(exp_positive_counts, time_unix_nano), argMax(exp_scale, time_unix_nano), argMax(exp_positive_offset, time_unix_nano), argMax(exp_zero_count, time_unix_nano)"
	}
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var (
			id     uint64
			sv     stepValue
			bucket uint32
		)
		dest := []any{&id, &bucket, &sv.lastV, &sv.sumV, &sv.lastC, &sv.sumC}
		switch {
		case native:
			dest = append(dest, &sv.lastB, &sv.sumB, &sv.bounds)
		case exponential:
			dest = append(dest, &sv.lastB, &sv.expScale, &sv.expOffset, &sv.lastZero)
		}
		if err := scan(dest...); err != nil {
			return err
		}
		b := int64(bucket)
		ss := perSeries[id]
		if ss == nil {
			ss = &seriesSteps{}
			perSeries[id] = ss
		}
		ss.buckets, ss.steps = append(ss.buckets, b), append(ss.steps, sv)
		return nil
	}, `
SELECT series_id, intDiv(toUInt32(timestamp), ?) AS b, `+cols+`
FROM metric_samples
WHERE metric_name = ? AND timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)
  AND series_id GLOBAL IN (`+seriesQuery+`)
GROUP BY series_id, b
ORDER BY series_id, b`, append([]any{uint32(stepSec), name, (first - 1) * stepSec, to.Unix()}, args...)...)
	if err != nil {
		return err
	}

	var lines []metricLine
	switch {
	case classic:
		lines = classicQuantileLines(quantile, perSeries, series, kind, float64(stepSec), first)
	case native:
		lines = nativeQuantileLines(quantile, perSeries, series, kind.delta, stepSec, first)
	case exponential:
		lines = expQuantileLines(quantile, perSeries, series, stepSec, first)
	default:
		lines = valueLines(perSeries, series, kind, float64(stepSec), first, combine)
	}
	// The busiest lines first.
	slices.SortFunc(lines, func(a, b metricLine) int {
		if c := cmp.Compare(b.total, a.total); c != 0 {
			return c
		}
		return strings.Compare(lineKey(a.Labels), lineKey(b.Labels))
	})
	total := len(lines)
	lines = lines[:min(limit, len(lines))]
	value := kind.describe()
	if quantile > 0 {
		value = "quantile"
	}
	// The names PromQL knows them by, for the UI's PromQL equivalent.
	promName, promLabels := name, map[string]string{}
	if otlp && !classic {
		promName = promstore.PromName(name, typ, unit, monotonic, true)
		for k := range labelKeys {
			if l := promstore.PromLabel(k); l != k {
				promLabels[k] = l
			}
		}
	}
	return c.JSON(http.StatusOK, map[string]any{
		"name": name, "type": nameOf(metricTypes, typ), "temporality": temporalityName(temp),
		"unit": unit, "description": desc, "prom_name": promName, "prom_labels": promLabels,
		"value": value, "quantile": quantile, "agg": agg, "group_by": nonNil(groupBy),
		"from": from.UTC(), "to": to.UTC(), "step_seconds": stepSec,
		"label_keys": slices.Sorted(maps.Keys(labelKeys)),
		"series":     lines, "lines_total": total, "series_read": len(series), "series_truncated": len(series) == maxMetricSeries,
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// valueLines are the series' values combined per step by line.
func valueLines(perSeries map[uint64]*seriesSteps, series map[uint64]*metricSeries, kind metricKind, step float64, first int64, combine func([]float64) float64) []metricLine {
	byLine := map[string]map[int64][]float64{}
	lineLabels := map[string]map[string]string{}
	for id, ss := range perSeries {
		ms := series[id]
		if ms == nil {
			continue
		}
		for b, v := range kind.values(ss.buckets, ss.steps, step, first) {
			steps := byLine[ms.line]
			if steps == nil {
				steps = map[int64][]float64{}
				byLine[ms.line], lineLabels[ms.line] = steps, ms.labels
			}
			steps[b] = append(steps[b], v)
		}
	}
	lines := make([]metricLine, 0, len(byLine))
	for key, steps := range byLine {
		l := metricLine{Labels: lineLabels[key]}
		for _, b := range slices.Sorted(maps.Keys(steps)) {
			l.add(b, step, combine(steps[b]))
		}
		lines = append(lines, l)
	}
	return lines
}

// add appends the value at step b.
func (l *metricLine) add(b int64, step, v float64) {
	l.Points = append(l.Points, [2]float64{float64(b) * step, v})
	l.total += math.Abs(v)
}

// lineKey identifies a line by its labels.
func lineKey(labels map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		fmt.Fprintf(&b, "%s=%q,", k, labels[k])
	}
	return b.String()
}
