package graph

import (
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
