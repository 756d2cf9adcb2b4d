package pipeline

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
)

// TestColumnFlushBatch: a batch built into columns counts its rows per
// table and gives back, for dead letters, one record of every row added.
func TestColumnFlushBatch(t *testing.T) {
	a := benchSpans(3)
	a.Requests = []schema.RequestRow{{Source: "s", AttrKeys: []string{"k"}, AttrValues: []string{"v"}}}
	b := benchSpans(2)
	for _, columns := range []bool{false, true} {
		fb := newFlushBatch(columns)
		for _, in := range []*schema.Batch{a, b} {
			require.NoError(t, fb.add(EncodeBatch(nil, in)))
		}
		require.Error(t, fb.add([]byte{recordVersion, 9}), "a damaged record")
		require.Equal(t, 6, fb.len())
		sz := fb.sizes()
		sz.recs = 0
		require.Equal(t, batchSizes{spans: 5, requests: 1}, sz)
		var got schema.Batch
		require.NoError(t, DecodeBatch(fb.record(), &got))
		want := &schema.Batch{}
		want.Append(a)
		want.Append(b)
		require.Equal(t, want.Spans, got.Spans)
		require.Equal(t, want.Requests, got.Requests)
		fb.reset()
		require.Zero(t, fb.len())
	}
}
