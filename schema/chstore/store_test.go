package chstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chtest"
)

func TestMigrateIsIdempotent(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	applied, err := st.Migrate(ctx)
	require.NoError(t, err)
	require.Empty(t, applied, "second run applies nothing")
	ok, err := st.Current(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	for _, m := range schema.Migrations() {
		for _, obj := range m.Objects {
			tbl, isTable := obj.(schema.Table)
			if !isTable {
				continue
			}
			var n uint64
			require.NoError(t, st.Conn().QueryRow(ctx, "SELECT count() FROM system.columns WHERE database = ? AND table = ?", st.Database(), tbl.Name).Scan(&n))
			require.EqualValues(t, len(tbl.Columns), n, "table %s", tbl.Name)
		}
	}
}

func TestWriteReadsBack(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	start := uint64(time.Date(2026, 11, 27, 10, 0, 0, 123, time.UTC).UnixNano())
	b := &schema.Batch{
		Spans: []schema.SpanRow{{
			StartUnixNano: start, DurationNanos: 4500, TraceID: schema.TraceID{1, 2, 3}, SpanID: schema.SpanID{9},
			Name: "GET /cart", Kind: schema.SpanKindServer, StatusCode: schema.StatusError, ServiceName: "cart",
			ServiceNamespace: "shop", HTTPStatusCode: 503, GRPCStatusCode: -1, AttrKeys: []string{"a"}, AttrValues: []string{"b"},
			LinkTraceIDs: []schema.TraceID{{7}}, LinkSpanIDs: []schema.SpanID{{8}}, LinkAttrs: []string{"{}"},
		}},
		Logs:          []schema.LogRow{{TimeUnixNano: start, Body: "hello", ServiceName: "cart", SeverityNumber: 9}},
		MetricSeries:  []schema.MetricSeriesRow{{SeriesID: 42, MetricName: "up", Type: schema.MetricGauge, LabelKeys: []string{"job"}, LabelValues: []string{"x"}}},
		MetricSamples: []schema.MetricSampleRow{{SeriesID: 42, MetricName: "up", TimeUnixNano: start, Value: 1, BucketBounds: []float64{1, 2}, BucketCounts: []uint64{1, 2, 3}}},
		Requests:      []schema.RequestRow{{StartUnixNano: start, Source: "service:shop/web", Destination: "service:shop/cart", ResponseCode: 200, GRPCStatus: -1, UpstreamServiceTimeNanos: -1, ResponseFlags: "UH"}},
	}
	require.NoError(t, st.Write(ctx, b))

	var (
		traceID, spanID string
		name            string
		status          uint8
		httpStatus      uint16
		attrK           []string
		linkSpans       []string
	)
	require.NoError(t, st.Conn().QueryRow(ctx, "SELECT trace_id, span_id, name, status_code, http_status_code, attr_keys, link_span_ids FROM spans").
		Scan(&traceID, &spanID, &name, &status, &httpStatus, &attrK, &linkSpans))
	require.Equal(t, string([]byte{1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), traceID)
	require.Equal(t, "GET /cart", name)
	require.EqualValues(t, 2, status)
	require.EqualValues(t, 503, httpStatus)
	require.Equal(t, []string{"a"}, attrK)
	require.Equal(t, []string{string([]byte{8, 0, 0, 0, 0, 0, 0, 0})}, linkSpans)

	var counts []uint64
	require.NoError(t, st.Conn().QueryRow(ctx, "SELECT bucket_counts FROM metric_samples WHERE series_id = 42").Scan(&counts))
	require.Equal(t, []uint64{1, 2, 3}, counts)
	var flags, dst string
	require.NoError(t, st.Conn().QueryRow(ctx, "SELECT response_flags, destination FROM requests").Scan(&flags, &dst))
	require.Equal(t, "UH", flags)
	require.Equal(t, "service:shop/cart", dst)
	var body string
	require.NoError(t, st.Conn().QueryRow(ctx, "SELECT body FROM logs").Scan(&body))
	require.Equal(t, "hello", body)
}

func TestDropExpired(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	old := uint64(time.Now().Add(-10 * 24 * time.Hour).UnixNano())
	recent := uint64(time.Now().UnixNano())
	require.NoError(t, st.Write(ctx, &schema.Batch{
		Logs:  []schema.LogRow{{TimeUnixNano: old, Body: "old"}, {TimeUnixNano: recent, Body: "new"}},
		Spans: []schema.SpanRow{{StartUnixNano: old, TraceID: schema.TraceID{1}}, {StartUnixNano: recent, TraceID: schema.TraceID{2}}},
	}))
	dropped, err := st.DropExpired(ctx, 7*24*time.Hour, time.Now())
	require.NoError(t, err)
	day := time.Unix(0, int64(old)).UTC().Format("20060102")
	require.ElementsMatch(t, []string{"logs/" + day, "spans/" + day, "trace_summaries/" + day}, dropped)
	require.EqualValues(t, 1, queryUint64(t, st, "SELECT count() FROM trace_summaries"), "the recent trace's summary stays")
	var bodies []string
	rows, err := st.Conn().Query(ctx, "SELECT body FROM logs")
	require.NoError(t, err)
	for rows.Next() {
		var b string
		require.NoError(t, rows.Scan(&b))
		bodies = append(bodies, b)
	}
	require.Equal(t, []string{"new"}, bodies)
}
