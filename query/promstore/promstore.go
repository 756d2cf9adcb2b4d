// Package promstore reads the metrics meshscope stores in ClickHouse as a
// Prometheus storage.Queryable, so that Prometheus' own PromQL engine
// evaluates queries over them (query's Prometheus-compatible HTTP API,
// which Grafana's Prometheus data source reads).
//
// A series is a metric_series row: its name is __name__ (an OTLP metric's
// as Prometheus names it, see names.go), its labels are the row's labels,
// and a series without a job label (OTLP) has its service (resource
// service.name) as job, as OpenTelemetry's Prometheus conventions map it;
// one without an instance label has its resource's service.instance.id
// as instance, else its k8s.pod.name, else its host.name, so that the
// replicas of a service reporting the same metric and attributes stay
// apart (see instanceAttrs). Its samples are the metric_samples rows with
// a value: gauges, sums and counters, and a Prometheus histogram's _bucket, _sum and
// _count series as remote_write sends them. An explicit-bucket histogram X
// (OTLP's) also reads as the classic series X_bucket, X_sum and X_count
// (histogramSeries); an exponential histogram (OTLP's, or a Prometheus
// native one) as native histogram samples (nativeSeries). Summaries have
// no series here.
package promstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
)

// Limits bound what one Select reads.
type Limits struct {
	// MaxSeries is the most series one selector may match. Default 10,000.
	MaxSeries int
	// MaxSamples is the most samples one selector may read. Default
	// 5,000,000 (about 160 MB while the query runs: the process ingesting
	// is the one answering).
	MaxSamples int
}

func (l Limits) withDefaults() Limits {
	if l.MaxSeries <= 0 {
		l.MaxSeries = 10_000
	}
	if l.MaxSamples <= 0 {
		l.MaxSamples = 5_000_000
	}
	return l
}

// Queryable is the stored metrics as a Prometheus storage.Queryable. It is
// safe for concurrent use; keep one for the store (it caches the names).
type Queryable struct {
	store  *chstore.Store
	limits Limits
	names  namesCache
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

// instanceAttrs are the resource attributes that name an OTLP series'
// instance, the first present wins: OpenTelemetry's Prometheus conventions
// take service.instance.id, which many SDKs leave unset, so the pod's or
// the host's name stands in for it.
var instanceAttrs = []string{"service.instance.id", "k8s.pod.name", "host.name"}

// instanceSQL is the instance of a metric_series row.
var instanceSQL = func() string {
	var b strings.Builder
	b.WriteString("multiIf(has(label_keys, 'instance'), label_values[indexOf(label_keys, 'instance')]")
	for _, k := range instanceAttrs {
		fmt.Fprintf(&b, ", has(resource_keys, '%s'), resource_values[indexOf(resource_keys, '%s')]", k, k)
	}
	b.WriteString(", '')")
	return b.String()
}()

// labelExpr is the SQL value of label name on a metric_series row ("" when
// the series has no such label, as PromQL reads a missing label): the
// label of that name, or an OTLP attribute whose Prometheus name it is.
func (ix *nameIndex) labelExpr(name string) (string, []any) {
	switch name {
	case labels.MetricName:
		return "metric_name", nil
	case "job":
		return "if(has(label_keys, 'job'), label_values[indexOf(label_keys, 'job')], service_name)", nil
	case "instance":
		return instanceSQL, nil
	}
	keys := ix.keys[name]
	if len(keys) == 0 {
		return "label_values[indexOf(label_keys, ?)]", []any{name}
	}
	var b strings.Builder
	args := []any{}
	b.WriteString("multiIf(")
	for _, k := range append([]string{name}, keys...) {
		b.WriteString("has(label_keys, ?), label_values[indexOf(label_keys, ?)], ")
		args = append(args, k, k)
	}
	b.WriteString("'')")
	return b.String(), args
}

// matchersSQL is the WHERE over metric_series of matchers. A __name__
// matcher becomes the list of stored names it selects (selectNames).
func (ix *nameIndex) matchersSQL(ms []*labels.Matcher) (string, []any) {
	where, args := []string{"1"}, []any{}
	for _, m := range ms {
		if m.Name == labels.MetricName {
			names := ix.selectNames(m)
			if len(names) == 0 {
				where = append(where, "0")
				continue
			}
			where = append(where, "metric_name IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(names)), ", ")+")")
			for _, n := range names {
				args = append(args, n)
			}
			continue
		}
		expr, a := ix.labelExpr(m.Name)
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

// seriesLabels is a series' label set: __name__ (name), its labels (an
// OTLP series' attributes by their Prometheus names; of two that share
// one, the first), job and instance.
func seriesLabels(m seriesMeta, name string) labels.Labels {
	b := labels.NewScratchBuilder(len(m.keys) + 3)
	b.Add(labels.MetricName, name)
	hasJob, hasInstance := false, false
	var seen map[string]bool
	if m.otlp {
		seen = make(map[string]bool, len(m.keys))
	}
	for i, k := range m.keys {
		if i < len(m.values) && m.values[i] != "" && k != labels.MetricName {
			if m.otlp {
				if k = PromLabel(k); seen[k] {
					continue
				}
				seen[k] = true
			}
			b.Add(k, m.values[i])
			hasJob = hasJob || k == "job"
			hasInstance = hasInstance || k == "instance"
		}
	}
	if !hasJob && m.service != "" {
		b.Add("job", m.service)
	}
	if !hasInstance {
		if v := resourceInstance(m.resKeys, m.resValues); v != "" {
			b.Add("instance", v)
		}
	}
	b.Sort()
	return b.Labels()
}

// resourceInstance is the value of the first of instanceAttrs a resource
// has.
func resourceInstance(keys, values []string) string {
	for _, want := range instanceAttrs {
		if i := slices.Index(keys, want); i >= 0 && i < len(values) {
			return values[i]
		}
	}
	return ""
}

// Select implements storage.Querier: the series matching ms, with their
// samples between the hints' bounds (else the querier's). A name ending in
// _bucket, _sum or _count also selects the histograms of the name before
// it, as Prometheus' classic histogram series (see histogramSeries).
func (q *querier) Select(ctx context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	mint, maxt := q.mint, q.maxt
	if hints != nil && hints.End != 0 {
		mint, maxt = max(mint, hints.Start), min(maxt, hints.End)
	}
	mint, maxt = max(mint, 0), min(maxt, maxTime)
	namesOnly := hints != nil && hints.Func == "series"
	out, err := q.plainSeries(ctx, ms, mint, maxt, namesOnly)
	if err != nil {
		return storage.ErrSeriesSet(err)
	}
	native, err := q.nativeSeries(ctx, ms, mint, maxt, namesOnly)
	if err != nil {
		return storage.ErrSeriesSet(err)
	}
	out = append(out, native...)
	if base, part, rest, le, ok := histogramPart(ms); ok {
		more, err := q.histogramSeries(ctx, base, part, rest, le, mint, maxt, namesOnly)
		if err != nil {
			return storage.ErrSeriesSet(err)
		}
		out = append(out, more...)
	}
	// Sorted always: PromQL's merges and the API's answers rely on a
	// stable order.
	slices.SortFunc(out, func(a, b storage.Series) int { return labels.Compare(a.Labels(), b.Labels()) })
	return &seriesSet{series: out, i: -1}
}

// seriesMeta is what a metric_series row says of a series.
type seriesMeta struct {
	name, service      string
	keys, values       []string
	resKeys, resValues []string
	typ                uint8
	unit               string
	monotonic, otlp    bool
}

// promName is the series' metric name as PromQL sees it.
func (m seriesMeta) promName() string {
	return PromName(m.name, m.typ, m.unit, m.monotonic, m.otlp)
}

// seriesRows reads the metric_series rows that pass where.
func (q *querier) seriesRows(ctx context.Context, where string, args []any) (map[uint64]seriesMeta, error) {
	rows, err := q.store.Conn().Query(ctx, `
SELECT series_id, any(metric_name), any(service_name), any(label_keys), any(label_values),
       any(resource_keys), any(resource_values), any(type), any(unit), max(monotonic), max(source = 'otlp')
FROM metric_series
WHERE `+where+`
GROUP BY series_id
LIMIT ?`, append(slices.Clone(args), q.limits.MaxSeries+1)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[uint64]seriesMeta{}
	for rows.Next() {
		var (
			id         uint64
			m          seriesMeta
			mono, otlp uint8
		)
		if err := rows.Scan(&id, &m.name, &m.service, &m.keys, &m.values, &m.resKeys, &m.resValues, &m.typ, &m.unit, &mono, &otlp); err != nil {
			return nil, err
		}
		m.monotonic, m.otlp = mono == 1, otlp == 1
		out[id] = m
	}
	if len(out) > q.limits.MaxSeries {
		return nil, fmt.Errorf("%w: the selector matches more than %d series", ErrTooMany, q.limits.MaxSeries)
	}
	return out, rows.Err()
}

// sampleRows reads the samples of the series that pass where, between
// mint and maxt (ms), by series and time: for each, the row's cols into
// dest, then each. timestamp (seconds) narrows the parts read,
// time_unix_nano the samples.
func (q *querier) sampleRows(ctx context.Context, cols, cond, where string, args []any, mint, maxt int64, dest []any, each func(id uint64, t int64)) error {
	rows, err := q.store.Conn().Query(ctx, `
SELECT series_id, intDiv(time_unix_nano, 1000000) AS t, `+cols+`
FROM metric_samples
WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)
  AND t >= ? AND t <= ? AND `+cond+`
  AND series_id GLOBAL IN (SELECT series_id FROM metric_series WHERE `+where+`)
ORDER BY series_id, time_unix_nano
LIMIT ?`, append(append([]any{mint / 1000, maxt/1000 + 1, mint, maxt}, args...), q.limits.MaxSamples+1)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var id, t uint64
	row := append([]any{&id, &t}, dest...)
	for n := 1; rows.Next(); n++ {
		if n > q.limits.MaxSamples {
			return fmt.Errorf("%w: the selector reads more than %d samples", ErrTooMany, q.limits.MaxSamples)
		}
		if err := rows.Scan(row...); err != nil {
			return err
		}
		each(id, int64(t))
	}
	return rows.Err()
}

// samples is a series being read: its labels and samples so far.
type samples struct {
	lset labels.Labels
	list []chunks.Sample
}

// add appends a float sample, once per time (several replicas may have
// written the same point).
func (s *samples) add(t int64, f float64) { s.addSample(sample{t: t, f: f}) }

func (s *samples) addSample(smp sample) {
	if k := len(s.list); k > 0 && s.list[k-1].T() == smp.t {
		return
	}
	s.list = append(s.list, smp)
}

// series lists the ones with samples (all of them, without samples, for
// a names-only selection).
func seriesOf(all []*samples, namesOnly bool) []storage.Series {
	out := make([]storage.Series, 0, len(all))
	for _, s := range all {
		if namesOnly || len(s.list) > 0 {
			out = append(out, storage.NewListSeries(s.lset, s.list))
		}
	}
	return out
}

// selected are the series of the metric_series rows that pass where, by
// id and in a list, without samples yet.
func (q *querier) selected(ctx context.Context, where string, args []any) (map[uint64]*samples, []*samples, error) {
	meta, err := q.seriesRows(ctx, where, args)
	if err != nil {
		return nil, nil, err
	}
	byID := make(map[uint64]*samples, len(meta))
	all := make([]*samples, 0, len(meta))
	for id, m := range meta {
		s := &samples{lset: seriesLabels(m, m.promName())}
		byID[id] = s
		all = append(all, s)
	}
	return byID, all, nil
}

// plainSeries are the metric_series rows ms selects with their values.
func (q *querier) plainSeries(ctx context.Context, ms []*labels.Matcher, mint, maxt int64, namesOnly bool) ([]storage.Series, error) {
	ix, err := q.names.get(ctx, q.store)
	if err != nil {
		return nil, err
	}
	where, args := ix.matchersSQL(ms)
	where += " AND type != " + strconv.Itoa(int(schema.MetricExponentialHistogram))
	byID, all, err := q.selected(ctx, where, args)
	if err != nil || len(all) == 0 || namesOnly {
		return seriesOf(all, true), err
	}
	var v float64
	err = q.sampleRows(ctx, "value", "NOT isNaN(value)", where, args, mint, maxt, []any{&v}, func(id uint64, t int64) {
		if s := byID[id]; s != nil {
			s.add(t, v)
		}
	})
	return seriesOf(all, false), err
}

type seriesSet struct {
	series []storage.Series
	i      int
}

func (s *seriesSet) Next() bool                      { s.i++; return s.i < len(s.series) }
func (s *seriesSet) At() storage.Series              { return s.series[s.i] }
func (*seriesSet) Err() error                        { return nil }
func (*seriesSet) Warnings() annotations.Annotations { return nil }

// sample is one float sample, or a native histogram one (fh set).
type sample struct {
	t  int64
	f  float64
	fh *histogram.FloatHistogram
}

func (s sample) T() int64                      { return s.t }
func (s sample) ST() int64                     { return 0 }
func (s sample) F() float64                    { return s.f }
func (sample) H() *histogram.Histogram         { return nil }
func (s sample) FH() *histogram.FloatHistogram { return s.fh }
func (s sample) Copy() chunks.Sample {
	if s.fh != nil {
		s.fh = s.fh.Copy()
	}
	return s
}

func (s sample) Type() chunkenc.ValueType {
	if s.fh != nil {
		return chunkenc.ValFloatHistogram
	}
	return chunkenc.ValFloat
}

// LabelNames implements storage.LabelQuerier.
func (q *querier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	ix, err := q.names.get(ctx, q.store)
	if err != nil {
		return nil, nil, err
	}
	where, args := ix.matchersSQL(ms)
	names := []string{labels.MetricName, "job", "instance"}
	rows, err := q.store.Conn().Query(ctx, `SELECT arrayJoin(label_keys) AS k, max(source = 'otlp') FROM metric_series WHERE `+where+` GROUP BY k ORDER BY k LIMIT ?`,
		append(args, limitOf(hints))...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k    string
			otlp uint8
		)
		if err := rows.Scan(&k, &otlp); err != nil {
			return nil, nil, err
		}
		if otlp == 1 {
			k = PromLabel(k)
		}
		names = append(names, k)
	}
	slices.Sort(names)
	return slices.Compact(names), nil, rows.Err()
}

// LabelValues implements storage.LabelQuerier.
func (q *querier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	ix, err := q.names.get(ctx, q.store)
	if err != nil {
		return nil, nil, err
	}
	where, args := ix.matchersSQL(ms)
	expr, a := ix.labelExpr(name)
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
		if name == labels.MetricName {
			// An explicit-bucket histogram is its classic series.
			shown := ix.promName(v)
			if ix.classic[v] {
				out = append(out, shown+"_bucket", shown+"_count", shown+"_sum")
				continue
			}
			v = shown
		}
		out = append(out, v)
	}
	if name == labels.MetricName {
		slices.Sort(out)
		out = slices.Compact(out)
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

// histogramPart recognises a selector of a classic histogram series: a
// name X_bucket, X_sum or X_count, which the histograms named X give too.
// rest are the other matchers, le left out (it selects among the buckets
// histogramSeries makes, after they are made).
func histogramPart(ms []*labels.Matcher) (base, part string, rest []*labels.Matcher, le *labels.Matcher, ok bool) {
	for _, m := range ms {
		if m.Name != labels.MetricName {
			if m.Name == "le" {
				le = m
			} else {
				rest = append(rest, m)
			}
			continue
		}
		if m.Type != labels.MatchEqual || base != "" {
			return "", "", nil, nil, false
		}
		for _, p := range []string{"_bucket", "_sum", "_count"} {
			if b, found := strings.CutSuffix(m.Value, p); found && b != "" {
				base, part = b, p
			}
		}
		if base == "" {
			return "", "", nil, nil, false
		}
	}
	if base == "" {
		return "", "", nil, nil, false
	}
	rest = append(rest, labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, base))
	return base, part, rest, le, true
}

// histogramSeries gives the explicit-bucket histograms named base (OTLP's,
// and Prometheus native histograms with custom buckets) as Prometheus'
// classic series of part: base_count and base_sum from their count and
// sum, base_bucket one series per upper bound le, counting the
// observations up to it (le="+Inf": all of them). Their values are as
// stored: cumulative histograms read as Prometheus' counters do; delta
// ones are per-interval counts.
func (q *querier) histogramSeries(ctx context.Context, base, part string, ms []*labels.Matcher, le *labels.Matcher, mint, maxt int64, namesOnly bool) ([]storage.Series, error) {
	ix, err := q.names.get(ctx, q.store)
	if err != nil {
		return nil, err
	}
	where, args := ix.matchersSQL(ms)
	where += " AND type = " + strconv.Itoa(int(schema.MetricHistogram))
	meta, err := q.seriesRows(ctx, where, args)
	if err != nil || len(meta) == 0 {
		return nil, err
	}
	// Per histogram, its series by le ("" for _sum and _count).
	byID := make(map[uint64]map[string]*samples, len(meta))
	var all []*samples
	series := func(id uint64, bound string) *samples {
		m := byID[id]
		if m == nil {
			m = map[string]*samples{}
			byID[id] = m
		}
		s := m[bound]
		if s == nil {
			md := meta[id]
			lset := seriesLabels(md, md.promName()+part)
			if bound != "" {
				lset = labels.NewBuilder(lset).Set("le", bound).Labels()
			}
			s = &samples{lset: lset}
			m[bound] = s
			all = append(all, s)
		}
		return s
	}
	if namesOnly && part != "_bucket" {
		for id := range meta {
			series(id, "")
		}
		return seriesOf(all, true), nil
	}
	var (
		count  uint64
		sum    float64
		bounds []float64
		counts []uint64
	)
	err = q.sampleRows(ctx, "count, sum, bucket_bounds, bucket_counts", "1", where, args, mint, maxt, []any{&count, &sum, &bounds, &counts},
		func(id uint64, t int64) {
			switch part {
			case "_count":
				series(id, "").add(t, float64(count))
			case "_sum":
				series(id, "").add(t, sum)
			default:
				var cum uint64
				for i, n := range counts {
					cum += n
					bound := "+Inf"
					if i < len(bounds) {
						bound = strconv.FormatFloat(bounds[i], 'f', -1, 64)
					}
					if le == nil || le.Matches(bound) {
						series(id, bound).add(t, float64(cum))
					}
				}
			}
		})
	return seriesOf(all, namesOnly), err
}

// nativeSeries are the exponential histograms ms selects (OTLP's, and
// Prometheus native histograms of exponential schemas) as Prometheus
// native histogram samples: the scale is the schema (finer ones are
// reduced to schema 8; coarser than -4 are left out), and OTLP's bucket i,
// (base^i, base^(i+1)], is Prometheus' bucket i+1. The zero bucket's
// width is not stored: its threshold reads as 0.
func (q *querier) nativeSeries(ctx context.Context, ms []*labels.Matcher, mint, maxt int64, namesOnly bool) ([]storage.Series, error) {
	ix, err := q.names.get(ctx, q.store)
	if err != nil {
		return nil, err
	}
	where, args := ix.matchersSQL(ms)
	where += " AND type = " + strconv.Itoa(int(schema.MetricExponentialHistogram))
	byID, all, err := q.selected(ctx, where, args)
	if err != nil || len(all) == 0 || namesOnly {
		return seriesOf(all, true), err
	}
	var (
		count, zero      uint64
		sum              float64
		scale            int32
		posOff, negOff   int32
		posCnts, negCnts []uint64
	)
	dest := []any{&count, &sum, &scale, &zero, &posOff, &posCnts, &negOff, &negCnts}
	err = q.sampleRows(ctx, "count, sum, exp_scale, exp_zero_count, exp_positive_offset, exp_positive_counts, exp_negative_offset, exp_negative_counts",
		"1", where, args, mint, maxt, dest, func(id uint64, t int64) {
			s := byID[id]
			if s == nil {
				return
			}
			fh := &histogram.FloatHistogram{
				Schema: scale, ZeroCount: float64(zero), Count: float64(count), Sum: sum,
			}
			fh.PositiveSpans, fh.PositiveBuckets = nativeBuckets(posOff, posCnts)
			fh.NegativeSpans, fh.NegativeBuckets = nativeBuckets(negOff, negCnts)
			if scale > histogram.ExponentialSchemaMax {
				fh.Schema = scale
				if err := fh.ReduceResolution(histogram.ExponentialSchemaMax); err != nil {
					return
				}
			}
			if !histogram.IsExponentialSchema(fh.Schema) || fh.Validate() != nil {
				return
			}
			s.addSample(sample{t: t, fh: fh})
		})
	return seriesOf(all, false), err
}

// nativeBuckets are OTLP bucket counts from offset as one Prometheus span
// of absolute counts.
func nativeBuckets(offset int32, counts []uint64) ([]histogram.Span, []float64) {
	if len(counts) == 0 {
		return nil, nil
	}
	out := make([]float64, len(counts))
	for i, c := range counts {
		out[i] = float64(c)
	}
	return []histogram.Span{{Offset: offset + 1, Length: uint32(len(counts))}}, out
}
