package graph

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBucketOfRespectsBounds(t *testing.T) {
	for i := 0; i < HistogramSize-1; i++ {
		up := int64(BucketUpperNanos(i))
		require.Equal(t, i, BucketOf(up), "upper bound of bucket %d", i)
		require.Equal(t, i+1, BucketOf(up+1), "just above bucket %d", i)
	}
	require.Equal(t, 0, BucketOf(-5))
	require.Equal(t, HistogramSize-1, BucketOf(1<<62))
}

func TestQuantileWithinBucketError(t *testing.T) {
	var h Histogram
	for ms := int64(1); ms <= 1000; ms++ {
		h.Record(ms*1e6, 1)
	}
	for _, tc := range []struct{ q, want float64 }{{0.5, 500e6}, {0.9, 900e6}, {0.99, 990e6}} {
		got := h.Quantile(tc.q)
		require.InEpsilon(t, tc.want, got, 0.19, "q=%v", tc.q)
	}
	var empty Histogram
	require.Zero(t, empty.Quantile(0.5))
}

func TestFromBucketsKeepsCount(t *testing.T) {
	bounds := []float64{1e6, 5e6, 10e6}
	h := FromBuckets(bounds, []uint64{3, 4, 5, 6})
	require.EqualValues(t, 18, h.Total())
	require.EqualValues(t, 3, h[BucketOf(5e5)])
	require.EqualValues(t, 6, h[BucketOf(10e6)])
}

func TestFromExponential(t *testing.T) {
	// At scale 2 in microseconds the source buckets are the layout's:
	// source bucket k, (2^(k/4), 2^((k+1)/4)] µs, is bucket k+1.
	h := FromExponential(2, 0, 3, []uint64{5, 0, 7}, 1000)
	want := Histogram{0: 3, 1: 5, 3: 7}
	require.Equal(t, want, h)
	h = FromExponential(2, 10, 0, []uint64{1, 2}, 1000)
	require.Equal(t, Histogram{11: 1, 12: 2}, h)
	// Finer scales fall inside the layout's buckets: at scale 4 source
	// buckets 0-3 are one layout bucket.
	h = FromExponential(4, 0, 0, []uint64{1, 1, 1, 1, 1}, 1000)
	require.Equal(t, Histogram{1: 4, 2: 1}, h)
	// Coarser ones (scale 0: powers of two) place their counts at the
	// geometric midpoint; what lies beyond the layout goes to its last
	// bucket.
	h = FromExponential(0, 3, 0, []uint64{2}, 1e6)     // (8, 16] ms
	require.EqualValues(t, 2, h[BucketOf(11_313_708)]) // 8 ms * sqrt(2)
	h = FromExponential(0, 1000, 0, []uint64{4}, 1e6)
	require.EqualValues(t, 4, h[HistogramSize-1])
}

// A latency distribution recorded as an exponential histogram (scale 3,
// milliseconds, as an OpenTelemetry SDK or a Prometheus native histogram
// keeps it) keeps its percentiles within the layout's bucket width.
func TestFromExponentialPercentiles(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const scale = 3
	lats := make([]float64, 20000)
	counts := map[int]uint64{}
	lo, hi := math.MaxInt, math.MinInt
	for i := range lats {
		ms := math.Exp(r.NormFloat64()*0.8 + 3) // median e^3 ≈ 20 ms
		lats[i] = ms
		// OTLP's bucket index: ceil(log2(v) * 2^scale) - 1.
		k := int(math.Ceil(math.Log2(ms)*math.Exp2(scale))) - 1
		counts[k]++
		lo, hi = min(lo, k), max(hi, k)
	}
	dense := make([]uint64, hi-lo+1)
	for k, c := range counts {
		dense[k-lo] = c
	}
	h := FromExponential(scale, int32(lo), 0, dense, 1e6)
	require.EqualValues(t, len(lats), h.Total())
	slices.Sort(lats)
	for _, q := range []float64{0.5, 0.9, 0.99} {
		exact := lats[int(q*float64(len(lats)))] * 1e6
		require.InEpsilon(t, exact, h.Quantile(q), 0.2, "q=%v", q)
	}
}
