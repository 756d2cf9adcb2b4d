package graph

import "math"

// HistogramSize is the number of latency buckets. Bucket i holds latencies in
// (upper(i-1), upper(i)] with upper(i) = 1µs * 2^(i/4): relative width 19 %,
// from 1 µs to about an hour (the last bucket also takes everything above).
// The layout is fixed, so histograms from any ingester, bucket or rollup merge
// by adding their counts, in Go and in ClickHouse (sumForEach).
const HistogramSize = 128

// Histogram counts calls per latency bucket.
type Histogram [HistogramSize]uint64

var bucketUpper = func() (u [HistogramSize]float64) {
	for i := range u {
		u[i] = 1000 * math.Pow(2, float64(i)/4)
	}
	return u
}()

// BucketUpperNanos is the inclusive upper bound of bucket i, in nanoseconds.
func BucketUpperNanos(i int) float64 { return bucketUpper[i] }

// BucketOf returns the bucket of a latency in nanoseconds.
func BucketOf(ns int64) int {
	if ns <= 1000 {
		return 0
	}
	// i = ceil(4 * log2(ns/1000)), corrected for rounding at the bounds.
	i := int(math.Ceil(4 * math.Log2(float64(ns)/1000)))
	if i >= HistogramSize {
		return HistogramSize - 1
	}
	if i > 0 && float64(ns) <= bucketUpper[i-1] {
		i--
	} else if float64(ns) > bucketUpper[i] && i < HistogramSize-1 {
		i++
	}
	return i
}

// Record adds n calls of latency ns.
func (h *Histogram) Record(ns int64, n uint64) { h[BucketOf(ns)] += n }

// Add adds o into h.
func (h *Histogram) Add(o *Histogram) {
	for i := range h {
		h[i] += o[i]
	}
}

// Sub subtracts o from h (o must be a part of h).
func (h *Histogram) Sub(o *Histogram) {
	for i := range h {
		h[i] -= o[i]
	}
}

// Total is the number of calls recorded.
func (h *Histogram) Total() uint64 {
	var n uint64
	for _, c := range h {
		n += c
	}
	return n
}

// Quantile returns the q-quantile (0..1) in nanoseconds, interpolating
// linearly inside the bucket that holds it; 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) float64 {
	total := h.Total()
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var cum float64
	for i, c := range h {
		if c == 0 {
			continue
		}
		next := cum + float64(c)
		if next >= rank {
			lower := 0.0
			if i > 0 {
				lower = bucketUpper[i-1]
			}
			frac := (rank - cum) / float64(c)
			return lower + frac*(bucketUpper[i]-lower)
		}
		cum = next
	}
	return bucketUpper[HistogramSize-1]
}

// FromBuckets spreads counts of a histogram with other bounds (Prometheus or
// OTLP explicit buckets, bounds in nanoseconds, counts not cumulative, one more
// count than bounds for the +Inf bucket) onto the fixed layout, placing each
// source bucket's count at its midpoint (its lower bound for +Inf).
func FromBuckets(boundsNanos []float64, counts []uint64) Histogram {
	var h Histogram
	for i, c := range counts {
		if c == 0 {
			continue
		}
		var at float64
		switch {
		case i < len(boundsNanos) && i == 0:
			at = boundsNanos[0] / 2
		case i < len(boundsNanos):
			at = (boundsNanos[i-1] + boundsNanos[i]) / 2
		case len(boundsNanos) > 0:
			at = boundsNanos[len(boundsNanos)-1]
		}
		h[BucketOf(int64(at))] += c
	}
	return h
}

// FromExponential spreads the positive side of an exponential histogram
// (OTLP's, and Prometheus native histograms with an exponential schema,
// stored the same way) onto the fixed layout. Bucket i of counts holds
// values in (base^(offset+i), base^(offset+i+1)] of unitNanos nanoseconds,
// base = 2^(2^-scale); each count is placed at its bucket's geometric
// midpoint, and zero (the zero bucket's count) in the first bucket. At
// scales of 2 and above the source buckets are as fine as the layout's or
// finer, so percentiles keep the layout's precision.
func FromExponential(scale, offset int32, zero uint64, counts []uint64, unitNanos float64) Histogram {
	var h Histogram
	h[0] = zero
	step := math.Exp2(-float64(scale))
	for i, c := range counts {
		if c == 0 {
			continue
		}
		at := math.Exp2((float64(offset)+float64(i)+0.5)*step) * unitNanos
		if !(at < 1e18) { // beyond the last bucket, or NaN
			at = 1e18
		}
		h[BucketOf(int64(at))] += c
	}
	return h
}
