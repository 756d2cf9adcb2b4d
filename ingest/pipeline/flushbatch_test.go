package pipeline

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
)

// TestColumnFlushBatch: a batch built from records of every version (rows
// and plain columns, written by earlier releases, and columns with runs)
// holds the rows of each in order, counts them per table, and gives back,
// for dead letters, one record of every row added.
func TestColumnFlushBatch(t *testing.T) {
	a := benchSpans(3)
	a.Requests = []schema.RequestRow{{Source: "s", AttrKeys: []string{"k"}, AttrValues: []string{"v"}}}
	b := benchSpans(2)
	c := benchSpans(40) // a resource's: runs
	plain := chstore.NewColumns()
	plain.Add(b)
	pool := newColumnsPool()
	fb := newFlushBatch()
	for range 2 {
		require.NoError(t, fb.add(EncodeBatch(nil, a)))
		require.NoError(t, fb.add(plain.AppendEncoded([]byte{recordColumns})))
		rec := encodeColumns(nil, c, pool)
		require.Equal(t, byte(recordColumnRuns), rec[0])
		require.NoError(t, fb.add(rec))
		require.Error(t, fb.add([]byte{recordVersion, 9}), "a damaged record of rows")
		require.Error(t, fb.add([]byte{recordColumns, 9}), "a damaged record of columns")
		require.Error(t, fb.add([]byte{recordColumnRuns, 9}), "a damaged record of columns with runs")
		require.Equal(t, 46, fb.len())
		require.Equal(t, batchSizes{spans: 45, requests: 1}, fb.sizes())

		want := chstore.NewColumns()
		want.Add(a)
		want.Add(b)
		want.Add(c)
		require.True(t, bytes.Equal(want.AppendEncoded(nil), fb.cols.AppendEncoded(nil)), "the rows of both records, in order")
		again := newFlushBatch()
		require.NoError(t, again.add(fb.record()))
		require.True(t, bytes.Equal(want.AppendEncoded(nil), again.cols.AppendEncoded(nil)), "the dead letter holds every row")
		fb.reset()
		require.Zero(t, fb.len())
	}
}
