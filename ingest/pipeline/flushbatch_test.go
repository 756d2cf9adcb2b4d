package pipeline

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
)

// TestColumnFlushBatch: a batch built from records of both versions (rows,
// written by earlier releases, and columns) holds the rows of each in
// order, counts them per table, and gives back, for dead letters, one
// record of every row added.
func TestColumnFlushBatch(t *testing.T) {
	a := benchSpans(3)
	a.Requests = []schema.RequestRow{{Source: "s", AttrKeys: []string{"k"}, AttrValues: []string{"v"}}}
	b := benchSpans(2)
	pool := newColumnsPool()
	fb := newFlushBatch()
	for range 2 {
		require.NoError(t, fb.add(EncodeBatch(nil, a)))
		require.NoError(t, fb.add(encodeColumns(nil, b, pool)))
		require.Error(t, fb.add([]byte{recordVersion, 9}), "a damaged record of rows")
		require.Error(t, fb.add([]byte{recordColumns, 9}), "a damaged record of columns")
		require.Equal(t, 6, fb.len())
		require.Equal(t, batchSizes{spans: 5, requests: 1}, fb.sizes())

		want := chstore.NewColumns()
		want.Add(a)
		want.Add(b)
		require.True(t, bytes.Equal(want.AppendEncoded(nil), fb.cols.AppendEncoded(nil)), "the rows of both records, in order")
		again := newFlushBatch()
		require.NoError(t, again.add(fb.record()))
		require.True(t, bytes.Equal(want.AppendEncoded(nil), again.cols.AppendEncoded(nil)), "the dead letter holds every row")
		fb.reset()
		require.Zero(t, fb.len())
	}
}
