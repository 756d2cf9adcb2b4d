package chstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
	"github.com/meshscope/meshscope/schema/chtest"
)

// A database upgraded to the trace summaries: the days before them are
// rebuilt from their spans, the day they started included once it is
// over, each day's late spans (which the view summarised) counted once,
// and the searches' boundary moves back to the first day rebuilt.
func TestBackfillTraceSummaries(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	upgrade := upgradedLater(t, st, st.TraceSummariesSince, st.BackfillTraceSummaries, schema.TraceSummariesMigration)
	day0 := upgrade.Truncate(24 * time.Hour)
	span := func(day time.Time, trace, id byte, status uint8) schema.SpanRow {
		return schema.SpanRow{StartUnixNano: uint64(day.Add(time.Hour + time.Duration(id)*time.Second).UnixNano()), DurationNanos: 1e6,
			TraceID: schema.TraceID{trace}, SpanID: schema.SpanID{id}, Name: "op", ServiceName: "svc", StatusCode: status, GRPCStatusCode: -1}
	}
	// Spans of three days (none on the day between), stored before the
	// summaries: their partitions of trace_summaries are dropped, as if
	// the view had not existed.
	days := []time.Time{day0.AddDate(0, 0, -3), day0.AddDate(0, 0, -1), day0}
	var early []schema.SpanRow
	for i, d := range days {
		for id := byte(1); id <= 3; id++ {
			early = append(early, span(d, byte(i+1), id, uint8(id%2)*schema.StatusError))
		}
	}
	require.NoError(t, st.Write(ctx, &schema.Batch{Spans: early}))
	for _, d := range days {
		require.NoError(t, st.Conn().Exec(ctx, fmt.Sprintf("ALTER TABLE trace_summaries DROP PARTITION ID '%s'", d.Format("20060102"))))
	}
	// Late spans of two of those days, stored after the upgrade: the view
	// summarises them.
	require.NoError(t, st.Write(ctx, &schema.Batch{Spans: []schema.SpanRow{span(days[1], 2, 4, 0), span(days[2], 3, 4, 0)}}))
	since, _, err := st.TraceSummariesSince(ctx)
	require.NoError(t, err)
	require.True(t, upgrade.Equal(since), "%v", since)

	// Not on the day they started.
	_, err = st.BackfillTraceSummaries(ctx, upgrade, nil)
	require.True(t, errors.Is(err, chstore.ErrBackfillToday), "%v", err)

	var reports []chstore.BackfillProgress
	n, err := st.BackfillTraceSummaries(ctx, day0.Add(25*time.Hour), func(p chstore.BackfillProgress) { reports = append(reports, p) })
	require.NoError(t, err)
	require.Equal(t, 4, n)
	var got []string
	for _, r := range reports {
		got = append(got, fmt.Sprintf("%s %d %d/%d", r.Day.Format(time.DateOnly), r.Spans, r.N, r.Days))
	}
	require.Equal(t, []string{
		day0.Format(time.DateOnly) + " 4 1/4",
		day0.AddDate(0, 0, -1).Format(time.DateOnly) + " 4 2/4",
		day0.AddDate(0, 0, -2).Format(time.DateOnly) + " 0 3/4",
		day0.AddDate(0, 0, -3).Format(time.DateOnly) + " 3 4/4",
	}, got)
	since, _, err = st.TraceSummariesSince(ctx)
	require.NoError(t, err)
	require.Equal(t, days[0], since)

	// The summaries now say what grouping the spans says, each span once.
	read := func(q string) []string {
		rows, err := st.Conn().Query(ctx, q)
		require.NoError(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var (
				id                   string
				spans, errs, startNs uint64
			)
			require.NoError(t, rows.Scan(&id, &spans, &errs, &startNs))
			out = append(out, fmt.Sprintf("%s %d %d %d", id, spans, errs, startNs))
		}
		require.NoError(t, rows.Err())
		return out
	}
	want := read(fmt.Sprintf(`SELECT lower(hex(trace_id)) AS id, count(), toUInt64(countIf(status_code = %d)), min(start_time_unix_nano)
		FROM spans GROUP BY trace_id ORDER BY id`, schema.StatusError))
	require.Len(t, want, 3)
	require.Equal(t, want, read(`SELECT lower(hex(trace_id)) AS id, countMerge(spans), sumMerge(errors), minMerge(start_unix_nano)
		FROM trace_summaries GROUP BY trace_id ORDER BY id`))

	// Run again: nothing left to do.
	n, err = st.BackfillTraceSummaries(ctx, day0.Add(25*time.Hour), nil)
	require.NoError(t, err)
	require.Zero(t, n)
}

// upgradedLater checks that a table a view fills (its coverage since, its
// backfill) covers everything in a database created with it, then records
// its migration id two hours from now, as an upgrade to it would, and
// returns that time.
func upgradedLater(t *testing.T, st *chstore.Store, since func(context.Context) (time.Time, bool, error),
	backfill func(context.Context, time.Time, func(chstore.BackfillProgress)) (int, error), id int) time.Time {
	t.Helper()
	ctx := context.Background()
	at, ok, err := since(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, chstore.SummariesCoverAll, at, "created with the table")
	n, err := backfill(ctx, time.Now(), nil)
	require.NoError(t, err)
	require.Zero(t, n, "nothing to rebuild in a database created with the table")
	upgrade := time.Now().UTC().Add(2 * time.Hour).Truncate(time.Second)
	require.NoError(t, st.InsertColumns(ctx, schema.MigrationsTable, []any{[]uint32{uint32(id)}, []string{"upgrade"}, []time.Time{upgrade}}))
	return upgrade
}
