package chstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
	"github.com/meshscope/meshscope/schema/chtest"
)

// What each table holds, from a real server's parts: rows, bytes, parts,
// day partitions and the time its rows span.
func TestStorage(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	day1 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	day2 := day1.Add(26 * time.Hour)
	span := func(at time.Time, id byte) schema.SpanRow {
		return schema.SpanRow{StartUnixNano: uint64(at.UnixNano()), DurationNanos: 1e6, TraceID: schema.TraceID{id}, SpanID: schema.SpanID{id},
			Name: "GET /", Kind: schema.SpanKindServer, ServiceName: "web", ServiceNamespace: "shop"}
	}
	require.NoError(t, st.Write(ctx, &schema.Batch{Spans: []schema.SpanRow{span(day1, 1), span(day1.Add(time.Minute), 2)}}))
	require.NoError(t, st.Write(ctx, &schema.Batch{Spans: []schema.SpanRow{span(day2, 3)}}))
	require.NoError(t, st.Write(ctx, &schema.Batch{Logs: []schema.LogRow{{TimeUnixNano: uint64(day2.UnixNano()), ServiceName: "web", Body: "hello"}}}))

	tables, err := st.Storage(ctx)
	require.NoError(t, err)
	by := map[string]chstore.TableStorage{}
	for i, tb := range tables {
		by[tb.Table] = tb
		if i > 0 {
			require.LessOrEqual(t, tb.BytesOnDisk, tables[i-1].BytesOnDisk, "the largest first")
		}
	}
	spans := by["spans"]
	require.EqualValues(t, 3, spans.Rows)
	require.EqualValues(t, 2, spans.Partitions, "two days")
	require.GreaterOrEqual(t, spans.Parts, uint64(2))
	require.Positive(t, spans.BytesOnDisk)
	require.Positive(t, spans.BytesUncompressed)
	require.Equal(t, day1, spans.Oldest)
	require.Equal(t, day2, spans.Newest)
	require.EqualValues(t, 1, by["logs"].Rows)
	require.Contains(t, by, "schema_migrations")
	require.True(t, by["schema_migrations"].Oldest.IsZero(), "not partitioned by time")
	require.NotContains(t, by, "requests", "no rows, no parts")
}
