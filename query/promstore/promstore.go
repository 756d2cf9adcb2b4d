// Package promstore reads the metrics meshscope stores in ClickHouse as a
// Prometheus storage.Queryable, so that Prometheus' own PromQL engine
// evaluates queries over them (query's Prometheus-compatible HTTP API,
// which Grafana's Prometheus data source reads).
//
// A series is a metric_series row: its name is __name__, its labels are
// the row's labels, and a series without a job label (OTLP) has its
// service (resource service.name) as job, as OpenTelemetry's Prometheus
// conventions map it. Its samples are the metric_samples rows with a value
// (gauges, sums and counters; a histogram or summary row carries no single
// value and is left out: a Prometheus histogram's _bucket, _sum and _count
// series, as remote_write sends them, are plain series and are there).
package promstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/meshscope/meshscope/schema/chstore"
)

// Limits bound what one Select reads.
type Limits struct {
	// MaxSeries is the most series one selector may match. Default 10,000.
	MaxSeries int
	// MaxSamples is the most samples one selector may read. Default
	// 20,000,000.
	MaxSamples int
}

func (l Limits) withDefaults() Limits {
	if l.MaxSeries <= 0 {
		l.MaxSeries = 10_000
	}
	if l.MaxSamples <= 0 {
		l.MaxSamples = 20_000_000
	}
	return l
}

// Queryable is the stored metrics as a Prometheus storage.Queryable.
type Queryable struct {
	store  *chstore.Store
	limits Limits
}

// New reads store's metric tables.
func New(store *chstore.Store, limits Limits) *Queryable {
	return &Queryable{store: store, limits: limits.withDefaults()}
}

// Querier implements storage.Queryable; mint and maxt are milliseconds.
func (q *Queryable) Querier(mint, maxt int64) (storage.Querier, error) {
	return &querier{Queryable: q, mint: mint, maxt: maxt}, nil
}

type querier struct {
	*Queryable
	mint, maxt int64
}

func (*querier) Close() error { return nil }

// maxTime bounds the times asked (ms; 2100-01-01): a selector without an
// end asks for math.MaxInt64, which DateTime cannot hold.
const maxTime = 4_102_444_800_000

// ErrTooMany is returned (wrapped) when a selector matches more series or
// samples than the limits allow.
var ErrTooMany = errors.New("too much data")

// labelExpr is the SQL value of label name on a metric_series row ("" when
// the series has no such label, as PromQL reads a missing label).
func labelExpr(name string) (string, []any) {
	switch name {
	case labels.MetricName:
		return "metric_name", nil
	case "job":
		return "if(has(label_keys, 'job'), label_values[indexOf(label_keys, 'job')], service_name)", nil
	}
	return "label_values[indexOf(label_keys, ?)]", []any{name}
}

// matchersSQL is the WHERE over metric_series of matchers.
func matchersSQL(ms []*labels.Matcher) (string, []any) {
	where, args := []string{"1"}, []any{}
	for _, m := range ms {
		expr, a := labelExpr(m.Name)
		switch m.Type {
		case labels.MatchEqual:
			where, args = append(where, expr+" = ?"), append(append(args, a...), m.Value)
		case labels.MatchNotEqual:
			where, args = append(where, expr+" != ?"), append(append(args, a...), m.Value)
		case labels.MatchRegexp:
			// PromQL's regular expressions are RE2 and anchored, as
			// ClickHouse's match() is RE2 unanchored.
			where, args = append(where, "match("+expr+", ?)"), append(append(args, a...), "^(?:"+m.Value+")$")
		case labels.MatchNotRegexp:
			where, args = append(where, "NOT match("+expr+", ?)"), append(append(args, a...), "^(?:"+m.Value+")$")
		}
	}
	return strings.Join(where, " AND "), args
}

// seriesLabels is a series' label set: __name__, its labels, and job.
func seriesLabels(name, service string, keys, values []string) labels.Labels {
	b := labels.NewScratchBuilder(len(keys) + 2)
	b.Add(labels.MetricName, name)
	hasJob := false
	for i, k := range keys {
		if i < len(values) && values[i] != "" && k != labels.MetricName {
			b.Add(k, values[i])
			hasJob = hasJob || k == "job"
		}
	}
	if !hasJob && service != "" {
		b.Add("job", service)
	}
	b.Sort()
	return b.Labels()
}

// Select implements storage.Querier: the series matching ms, with their
// samples between the hints' bounds (else the querier's).
func (q *querier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	mint, maxt := q.mint, q.maxt
	if hints != nil && hints.End != 0 {
		mint, maxt = max(mint, hints.Start), min(maxt, hints.End)
	}
	mint, maxt = max(mint, 0), min(maxt, maxTime)
	where, args := matchersSQL(ms)
	conn := q.store.Conn()
	type row struct {
		lset    labels.Labels
		samples []chunks.Sample
	}
	series := map[uint64]*row{}
	rows, err := conn.Query(ctx, `
SELECT series_id, any(metric_name), any(service_name), any(label_keys), any(label_values)
FROM metric_series
WHERE `+where+`
GROUP BY series_id
LIMIT ?`, append(args, q.limits.MaxSeries+1)...)
	if err != nil {
		return storage.ErrSeriesSet(err)
	}
	for rows.Next() {
		var (
			id            uint64
			name, service string
			keys, values  []string
		)
		if err := rows.Scan(&id, &name, &service, &keys, &values); err != nil {
			rows.Close()
			return storage.ErrSeriesSet(err)
		}
		series[id] = &row{lset: seriesLabels(name, service, keys, values)}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return storage.ErrSeriesSet(err)
	}
	if len(series) > q.limits.MaxSeries {
		return storage.ErrSeriesSet(fmt.Errorf("%w: the selector matches more than %d series", ErrTooMany, q.limits.MaxSeries))
	}
	if len(series) == 0 || hints != nil && hints.Func == "series" {
		return newSeriesSet(series, func(r *row) storage.Series { return storage.NewListSeries(r.lset, nil) }, sortSeries)
	}
	// Samples by series and time; timestamp (seconds) narrows the parts
	// read, time_unix_nano (ms) the samples.
	rows, err = conn.Query(ctx, `
SELECT series_id, intDiv(time_unix_nano, 1000000) AS t, value
FROM metric_samples
WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)
  AND t >= ? AND t <= ? AND NOT isNaN(value)
  AND series_id GLOBAL IN (SELECT series_id FROM metric_series WHERE `+where+`)
ORDER BY series_id, time_unix_nano
LIMIT ?`, append(append([]any{mint / 1000, maxt/1000 + 1, mint, maxt}, args...), q.limits.MaxSamples+1)...)
	if err != nil {
		return storage.ErrSeriesSet(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var (
			id uint64
			t  uint64
			v  float64
		)
		if err := rows.Scan(&id, &t, &v); err != nil {
			return storage.ErrSeriesSet(err)
		}
		if n++; n > q.limits.MaxSamples {
			return storage.ErrSeriesSet(fmt.Errorf("%w: the selector reads more than %d samples", ErrTooMany, q.limits.MaxSamples))
		}
		if r := series[id]; r != nil {
			// Several replicas may have written the same point: once.
			if k := len(r.samples); k > 0 && r.samples[k-1].T() == int64(t) {
				continue
			}
			r.samples = append(r.samples, sample{t: int64(t), f: v})
		}
	}
	if err := rows.Err(); err != nil {
		return storage.ErrSeriesSet(err)
	}
	for id, r := range series {
		if len(r.samples) == 0 {
			delete(series, id)
		}
	}
	return newSeriesSet(series, func(r *row) storage.Series { return storage.NewListSeries(r.lset, r.samples) }, sortSeries)
}

// newSeriesSet lists rows' series, sorted by labels when asked (and
// always, which PromQL's merges and tests rely on being stable).
func newSeriesSet[R any](rows map[uint64]R, toSeries func(R) storage.Series, _ bool) storage.SeriesSet {
	out := make([]storage.Series, 0, len(rows))
	for _, r := range rows {
		out = append(out, toSeries(r))
	}
	slices.SortFunc(out, func(a, b storage.Series) int { return labels.Compare(a.Labels(), b.Labels()) })
	return &seriesSet{series: out, i: -1}
}

type seriesSet struct {
	series []storage.Series
	i      int
}

func (s *seriesSet) Next() bool                      { s.i++; return s.i < len(s.series) }
func (s *seriesSet) At() storage.Series              { return s.series[s.i] }
func (*seriesSet) Err() error                        { return nil }
func (*seriesSet) Warnings() annotations.Annotations { return nil }

// sample is one float sample.
type sample struct {
	t int64
	f float64
}

func (s sample) T() int64                    { return s.t }
func (s sample) ST() int64                   { return 0 }
func (s sample) F() float64                  { return s.f }
func (sample) H() *histogram.Histogram       { return nil }
func (sample) FH() *histogram.FloatHistogram { return nil }
func (sample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s sample) Copy() chunks.Sample         { return s }

// LabelNames implements storage.LabelQuerier.
func (q *querier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	where, args := matchersSQL(ms)
	names := []string{labels.MetricName, "job"}
	rows, err := q.store.Conn().Query(ctx, `SELECT DISTINCT arrayJoin(label_keys) AS k FROM metric_series WHERE `+where+` ORDER BY k LIMIT ?`,
		append(args, limitOf(hints))...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, nil, err
		}
		names = append(names, k)
	}
	slices.Sort(names)
	return slices.Compact(names), nil, rows.Err()
}

// LabelValues implements storage.LabelQuerier.
func (q *querier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	where, args := matchersSQL(ms)
	expr, a := labelExpr(name)
	rows, err := q.store.Conn().Query(ctx, `SELECT DISTINCT `+expr+` AS v FROM metric_series WHERE `+where+` AND v != '' ORDER BY v LIMIT ?`,
		append(append(a, args...), limitOf(hints))...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, nil, err
		}
		out = append(out, v)
	}
	return out, nil, rows.Err()
}

// limitOf is the hints' limit, else 100,000.
func limitOf(h *storage.LabelHints) int {
	if h == nil || h.Limit <= 0 {
		return 100_000
	}
	return h.Limit
}
