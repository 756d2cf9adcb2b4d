package promrw

import (
	"fmt"
	"math"
	"slices"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/value"

	"github.com/meshscope/meshscope/schema"
)

// addHistogram adds a native histogram sample (h or fh set, validated by
// converter.checkHistogram) of series id as the row the schema keeps for
// it:
//
//   - exponential schemas: exp_scale is the schema, exp_zero_count the zero
//     bucket, and each side's spans and deltas become absolute counts of
//     consecutive buckets (gaps filled with zeros) from an offset. Offsets
//     follow OTLP, whose bucket i is (base^i, base^(i+1)]: Prometheus calls
//     that bucket i+1, so the offset is Prometheus' first index minus one.
//   - custom buckets (schema -53, what Prometheus makes of classic
//     histograms with convert_classic_histograms_to_nhcb): the custom
//     values are bucket_bounds, and bucket_counts holds one count per
//     bucket, +Inf last.
//
// Float histograms (results of aggregation) keep their counts rounded to
// integers.
func (b *RowBuilder) addHistogram(id uint64, name string, tsMs, startMs int64, h *histogram.Histogram, fh *histogram.FloatHistogram) {
	row := schema.MetricSampleRow{
		SeriesID:          id,
		MetricName:        name,
		TimeUnixNano:      msToNanos(tsMs),
		StartTimeUnixNano: msToNanos(startMs),
		Value:             math.NaN(),
		Min:               math.NaN(),
		Max:               math.NaN(),
	}
	if h != nil {
		row.Count, row.Sum, row.ExpZeroCount = h.Count, h.Sum, h.ZeroCount
		if h.UsesCustomBuckets() {
			row.BucketBounds = b.floats(h.CustomValues)
			row.BucketCounts = b.customCounts(h.PositiveSpans, len(h.CustomValues)+1, intBuckets(h.PositiveBuckets))
		} else {
			row.ExpScale = h.Schema
			row.ExpPositiveOffset, row.ExpPositiveCounts = b.expCounts(h.PositiveSpans, intBuckets(h.PositiveBuckets))
			row.ExpNegativeOffset, row.ExpNegativeCounts = b.expCounts(h.NegativeSpans, intBuckets(h.NegativeBuckets))
		}
	} else {
		row.Count, row.Sum, row.ExpZeroCount = toCount(fh.Count), fh.Sum, toCount(fh.ZeroCount)
		if fh.UsesCustomBuckets() {
			row.BucketBounds = b.floats(fh.CustomValues)
			row.BucketCounts = b.customCounts(fh.PositiveSpans, len(fh.CustomValues)+1, floatBuckets(fh.PositiveBuckets))
		} else {
			row.ExpScale = fh.Schema
			row.ExpPositiveOffset, row.ExpPositiveCounts = b.expCounts(fh.PositiveSpans, floatBuckets(fh.PositiveBuckets))
			row.ExpNegativeOffset, row.ExpNegativeCounts = b.expCounts(fh.NegativeSpans, floatBuckets(fh.NegativeBuckets))
		}
	}
	if value.IsStaleNaN(row.Sum) {
		row.Flags = 1
	}
	b.Batch.MetricSamples = append(b.Batch.MetricSamples, row)
}

// checkWidth checks that the buckets of one side span at most maxBuckets
// indexes, gaps included, and that the OTLP offset fits an int32.
func checkWidth(spans []histogram.Span, maxBuckets int) error {
	lo, hi, ok := spanRange(spans)
	switch {
	case !ok:
		return nil
	case hi-lo+1 > int64(maxBuckets):
		return fmt.Errorf("buckets span indexes %d to %d, wider than max_native_histogram_buckets (%d)", lo, hi, maxBuckets)
	case lo-1 < math.MinInt32:
		return fmt.Errorf("first bucket index %d is out of range", lo)
	}
	return nil
}

// bucketReader yields absolute bucket counts one at a time.
type bucketReader interface {
	next() uint64
}

// intBuckets reads Prometheus' integer buckets, stored as deltas.
type intReader struct {
	deltas []int64
	i      int
	cur    int64
}

func intBuckets(deltas []int64) *intReader { return &intReader{deltas: deltas} }

func (r *intReader) next() uint64 {
	r.cur += r.deltas[r.i]
	r.i++
	return uint64(max(r.cur, 0))
}

// floatReader reads float buckets, stored as absolute counts.
type floatReader struct {
	counts []float64
	i      int
}

func floatBuckets(counts []float64) *floatReader { return &floatReader{counts: counts} }

func (r *floatReader) next() uint64 {
	c := r.counts[r.i]
	r.i++
	return toCount(c)
}

// toCount rounds a float count to an integer.
func toCount(f float64) uint64 {
	switch {
	case !(f > 0):
		return 0
	case f >= math.MaxUint64:
		return math.MaxUint64
	}
	return uint64(math.Round(f))
}

// expCounts expands spans of an exponential side into an OTLP offset and
// consecutive absolute counts (checked by checkWidth).
func (b *RowBuilder) expCounts(spans []histogram.Span, r bucketReader) (int32, []uint64) {
	lo, hi, ok := spanRange(spans)
	if !ok {
		return 0, nil
	}
	counts := b.zeros(int(hi - lo + 1))
	fill(spans, counts, lo, r)
	return int32(lo - 1), counts
}

// customCounts expands the spans of a custom-bucket histogram into n
// counts, one per bucket.
func (b *RowBuilder) customCounts(spans []histogram.Span, n int, r bucketReader) []uint64 {
	counts := b.zeros(n)
	fill(spans, counts, 0, r)
	return counts
}

// spanRange returns the first and last index the spans cover, false when
// they cover none.
func spanRange(spans []histogram.Span) (lo, hi int64, ok bool) {
	var idx int64
	for i, s := range spans {
		if i == 0 {
			idx = int64(s.Offset)
		} else {
			idx += int64(s.Offset)
		}
		if s.Length > 0 {
			if !ok {
				lo, ok = idx, true
			}
			idx += int64(s.Length)
			hi = idx - 1
		}
	}
	return lo, hi, ok
}

// fill writes the buckets the spans describe into counts, whose first
// element is index lo.
func fill(spans []histogram.Span, counts []uint64, lo int64, r bucketReader) {
	var idx int64
	for i, s := range spans {
		if i == 0 {
			idx = int64(s.Offset)
		} else {
			idx += int64(s.Offset)
		}
		for range s.Length {
			if c := r.next(); idx >= lo && idx-lo < int64(len(counts)) {
				counts[idx-lo] = c
			}
			idx++
		}
	}
}

// zeros returns n zeroed counts from the builder's arena.
func (b *RowBuilder) zeros(n int) []uint64 {
	start := len(b.u64s)
	b.u64s = slices.Grow(b.u64s, n)[:start+n]
	clear(b.u64s[start:])
	return b.u64s[start : start+n : start+n]
}

// floats copies fs into the builder's arena.
func (b *RowBuilder) floats(fs []float64) []float64 {
	start := len(b.f64s)
	b.f64s = append(b.f64s, fs...)
	return b.f64s[start:len(b.f64s):len(b.f64s)]
}
