package otlp

import (
	"math"
	"sort"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/meshscope/meshscope/schema"
)

// seriesSet remembers which series rows were written, so that each is sent
// once per process; it forgets everything when full (rewriting a series row
// is harmless: metric_series is a ReplacingMergeTree).
type seriesSet struct {
	mu   sync.Mutex
	max  int
	seen map[uint64]struct{}
}

func newSeriesSet(max int) *seriesSet {
	return &seriesSet{max: max, seen: make(map[uint64]struct{})}
}

// add reports whether id is new.
func (s *seriesSet) add(id uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[id]; ok {
		return false
	}
	if len(s.seen) >= s.max {
		clear(s.seen)
	}
	s.seen[id] = struct{}{}
	return true
}

// SeriesID hashes a metric name, resource and point attributes (each sorted
// by key) into the id shared by metric_series and metric_samples.
func SeriesID(name string, resKeys, resValues, keys, values []string) uint64 {
	h := xxhash.New()
	_, _ = h.WriteString(name)
	for _, kv := range [2][2][]string{{resKeys, resValues}, {keys, values}} {
		_, _ = h.Write([]byte{0xff})
		for i, k := range kv[0] {
			_, _ = h.WriteString(k)
			_, _ = h.Write([]byte{0xfe})
			_, _ = h.WriteString(kv[1][i])
			_, _ = h.Write([]byte{0xfd})
		}
	}
	return h.Sum64()
}

// sortedAttrs returns the map's entries sorted by key.
func sortedAttrs(m pcommon.Map) (keys, values []string) {
	keys, values = attrs(m, nil)
	if !sort.StringsAreSorted(keys) {
		idx := make([]int, len(keys))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return keys[idx[a]] < keys[idx[b]] })
		k2, v2 := make([]string, len(keys)), make([]string, len(keys))
		for i, j := range idx {
			k2[i], v2[i] = keys[j], values[j]
		}
		keys, values = k2, v2
	}
	return keys, values
}

// metricMeta is what a metric's points share.
type metricMeta struct {
	name, unit, description, service string
	typ, temporality                 uint8
	monotonic                        bool
	resKeys, resValues               []string
}

// MetricsToRows converts metric points into series and sample rows appended
// to b: a series row for every point's series (the receiver keeps only those
// not yet written), a sample row per point. Points that cannot be stored are skipped and reported.
func (c *Converter) MetricsToRows(md pmetric.Metrics, b *schema.Batch) rejections {
	var rej rejections
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		ri, bad := readResource(rm.Resource())
		resKeys, resValues := sortedAttrs(rm.Resource().Attributes())
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				meta := metricMeta{name: m.Name(), unit: m.Unit(), description: m.Description(), service: ri.service,
					resKeys: resKeys, resValues: resValues}
				n := dataPointCount(m)
				switch {
				case bad != "":
					rej.addN(n, "invalid_utf8", "resource "+bad+": invalid UTF-8")
					continue
				case meta.name == "":
					rej.addN(n, "invalid_metric", "metric "+strconv.Itoa(k)+": name is empty")
					continue
				case !utf8.ValidString(meta.name):
					rej.addN(n, "invalid_utf8", "metric name: invalid UTF-8")
					continue
				}
				c.convertMetric(m, meta, b, &rej)
			}
		}
	}
	return rej
}

func (r *rejections) addN(n int, reason, msg string) {
	for range n {
		r.add(reason, msg)
	}
}

func dataPointCount(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().Len()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	}
	return 0
}

// point adds the series row (first time) and returns a sample row to fill,
// or nil when the point is refused.
func (c *Converter) point(meta *metricMeta, attrs pcommon.Map, ts, start pcommon.Timestamp, flags pmetric.DataPointFlags,
	b *schema.Batch, rej *rejections) *schema.MetricSampleRow {
	keys, values := sortedAttrs(attrs)
	if f := badUTF8(keys, values); f != "" {
		rej.add("invalid_utf8", "metric "+meta.name+": "+f+": invalid UTF-8")
		return nil
	}
	if reason, msg := c.checkTime(uint64(ts), "time_unix_nano"); reason != "" {
		rej.add(reason, "metric "+meta.name+": "+msg)
		return nil
	}
	id := SeriesID(meta.name, meta.resKeys, meta.resValues, keys, values)
	if n := len(b.MetricSeries); n == 0 || b.MetricSeries[n-1].SeriesID != id {
		b.MetricSeries = append(b.MetricSeries, schema.MetricSeriesRow{
			SeriesID: id, MetricName: meta.name, Type: meta.typ, Unit: meta.unit, Description: meta.description,
			Temporality: meta.temporality, Monotonic: meta.monotonic, ServiceName: meta.service, Source: "otlp",
			FirstSeenUnix: uint32(c.Now().Unix()), ResourceKeys: meta.resKeys, ResourceValues: meta.resValues,
			LabelKeys: keys, LabelValues: values,
		})
	}
	b.MetricSamples = append(b.MetricSamples, schema.MetricSampleRow{
		SeriesID: id, MetricName: meta.name, TimeUnixNano: uint64(ts), StartTimeUnixNano: uint64(start),
		Value: math.NaN(), Min: math.NaN(), Max: math.NaN(), Flags: uint32(flags),
	})
	return &b.MetricSamples[len(b.MetricSamples)-1]
}

func numberValue(dp pmetric.NumberDataPoint) float64 {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		return float64(dp.IntValue())
	}
	return dp.DoubleValue()
}

func (c *Converter) convertMetric(m pmetric.Metric, meta metricMeta, b *schema.Batch, rej *rejections) {
	switch m.Type() {
	case pmetric.MetricTypeGauge, pmetric.MetricTypeSum:
		var dps pmetric.NumberDataPointSlice
		if m.Type() == pmetric.MetricTypeGauge {
			meta.typ, dps = schema.MetricGauge, m.Gauge().DataPoints()
		} else {
			s := m.Sum()
			meta.typ, dps = schema.MetricSum, s.DataPoints()
			meta.temporality, meta.monotonic = uint8(s.AggregationTemporality()), s.IsMonotonic()
		}
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			if s := c.point(&meta, dp.Attributes(), dp.Timestamp(), dp.StartTimestamp(), dp.Flags(), b, rej); s != nil {
				s.Value = numberValue(dp)
			}
		}
	case pmetric.MetricTypeHistogram:
		h := m.Histogram()
		meta.typ, meta.temporality = schema.MetricHistogram, uint8(h.AggregationTemporality())
		dps := h.DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			if dp.BucketCounts().Len() != 0 && dp.BucketCounts().Len() != dp.ExplicitBounds().Len()+1 {
				rej.add("invalid_metric", "metric "+meta.name+": histogram has "+strconv.Itoa(dp.BucketCounts().Len())+
					" bucket counts for "+strconv.Itoa(dp.ExplicitBounds().Len())+" bounds (want bounds+1)")
				continue
			}
			s := c.point(&meta, dp.Attributes(), dp.Timestamp(), dp.StartTimestamp(), dp.Flags(), b, rej)
			if s == nil {
				continue
			}
			s.Count, s.Sum = dp.Count(), dp.Sum()
			if dp.HasMin() {
				s.Min = dp.Min()
			}
			if dp.HasMax() {
				s.Max = dp.Max()
			}
			s.BucketBounds = dp.ExplicitBounds().AsRaw()
			s.BucketCounts = dp.BucketCounts().AsRaw()
		}
	case pmetric.MetricTypeExponentialHistogram:
		h := m.ExponentialHistogram()
		meta.typ, meta.temporality = schema.MetricExponentialHistogram, uint8(h.AggregationTemporality())
		dps := h.DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			s := c.point(&meta, dp.Attributes(), dp.Timestamp(), dp.StartTimestamp(), dp.Flags(), b, rej)
			if s == nil {
				continue
			}
			s.Count, s.Sum = dp.Count(), dp.Sum()
			if dp.HasMin() {
				s.Min = dp.Min()
			}
			if dp.HasMax() {
				s.Max = dp.Max()
			}
			s.ExpScale, s.ExpZeroCount = dp.Scale(), dp.ZeroCount()
			s.ExpPositiveOffset, s.ExpPositiveCounts = dp.Positive().Offset(), dp.Positive().BucketCounts().AsRaw()
			s.ExpNegativeOffset, s.ExpNegativeCounts = dp.Negative().Offset(), dp.Negative().BucketCounts().AsRaw()
		}
	case pmetric.MetricTypeSummary:
		meta.typ = schema.MetricSummary
		dps := m.Summary().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			s := c.point(&meta, dp.Attributes(), dp.Timestamp(), dp.StartTimestamp(), dp.Flags(), b, rej)
			if s == nil {
				continue
			}
			s.Count, s.Sum = dp.Count(), dp.Sum()
			qs := dp.QuantileValues()
			s.Quantiles, s.QuantileValues = make([]float64, qs.Len()), make([]float64, qs.Len())
			for q := 0; q < qs.Len(); q++ {
				s.Quantiles[q], s.QuantileValues[q] = qs.At(q).Quantile(), qs.At(q).Value()
			}
		}
	default:
		rej.add("invalid_metric", "metric "+meta.name+": no data (empty metric type)")
	}
}
