package chstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chtest"
)

// exception_groups holds every stored exception in a database created with
// it; in one upgraded to it, once no spans or logs older than the upgrade's
// day are stored.
func TestExceptionHistoryComplete(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	complete, since, err := st.ExceptionHistoryComplete(ctx)
	require.NoError(t, err)
	require.True(t, complete, "created with the table")
	require.False(t, since.IsZero())

	// Two exceptions recorded by a span, one logged: the views group them.
	now := time.Now().UTC()
	require.NoError(t, st.Write(ctx, &schema.Batch{
		Spans: []schema.SpanRow{{StartUnixNano: uint64(now.UnixNano()), TraceID: schema.TraceID{1}, SpanID: schema.SpanID{1},
			Name: "op", ServiceName: "cart", GRPCStatusCode: -1,
			EventTimes: []uint64{uint64(now.UnixNano()), uint64(now.Add(time.Second).UnixNano()), uint64(now.UnixNano())},
			EventNames: []string{"exception", "exception", "retry"},
			EventAttrs: []string{`{"exception.type":"Timeout"}`, `{"exception.type":"Timeout"}`, `{"exception.type":"NotOne"}`}}},
		Logs: []schema.LogRow{
			{TimeUnixNano: uint64(now.UnixNano()), ServiceName: "cart", AttrKeys: []string{"exception.stacktrace"}, AttrValues: []string{"at x"}},
			{TimeUnixNano: uint64(now.UnixNano()), ServiceName: "cart", AttrKeys: []string{"code.function"}, AttrValues: []string{"pay"}},
		},
	}))
	rows, err := st.Conn().Query(ctx, `SELECT service_name, type, source, countMerge(occurrences), maxMerge(last_seen) - minMerge(first_seen)
		FROM exception_groups GROUP BY service_name, type, source ORDER BY source`)
	require.NoError(t, err)
	var got []string
	for rows.Next() {
		var svc, typ, source string
		var n uint64
		var span int64
		require.NoError(t, rows.Scan(&svc, &typ, &source, &n, &span))
		got = append(got, fmt.Sprintf("%s/%s/%s %d %s", svc, typ, source, n, time.Duration(span)))
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"cart//log 1 0s", "cart/Timeout/span 2 1s"}, got)

	// An upgraded database: the core tables created long before the
	// upgrade to exception_groups at the time given.
	upgrade := func(at time.Time) {
		t.Helper()
		require.NoError(t, st.Conn().Exec(ctx, "TRUNCATE TABLE schema_migrations"))
		require.NoError(t, st.InsertColumns(ctx, schema.MigrationsTable, []any{
			[]uint32{1, schema.ExceptionGroupsMigration}, []string{"core tables", "exception groups"},
			[]time.Time{now.Add(-30 * 24 * time.Hour).Truncate(time.Second), at.Truncate(time.Second)}}))
	}
	// Upgraded to it three days ago: complete while nothing older than
	// the day after is stored; not with a record of four days ago.
	upgrade(now.Add(-72 * time.Hour))
	complete, since, err = st.ExceptionHistoryComplete(ctx)
	require.NoError(t, err)
	require.True(t, complete, "today's spans and logs only")
	require.True(t, now.Add(-72*time.Hour).Truncate(time.Second).Equal(since), "%v", since)
	require.NoError(t, st.Write(ctx, &schema.Batch{Logs: []schema.LogRow{{TimeUnixNano: uint64(now.Add(-96 * time.Hour).UnixNano()), ServiceName: "cart"}}}))
	complete, _, err = st.ExceptionHistoryComplete(ctx)
	require.NoError(t, err)
	require.False(t, complete, "a log record older than the upgrade")

	// Upgraded today, with spans and logs of today: not complete until
	// they are dropped.
	upgrade(now)
	require.NoError(t, st.Conn().Exec(ctx, "TRUNCATE TABLE logs"))
	complete, _, err = st.ExceptionHistoryComplete(ctx)
	require.NoError(t, err)
	require.False(t, complete, "spans of the upgrade's day")
	require.NoError(t, st.Conn().Exec(ctx, "TRUNCATE TABLE spans"))
	complete, _, err = st.ExceptionHistoryComplete(ctx)
	require.NoError(t, err)
	require.True(t, complete, "nothing stored")
}
