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
	upgrade := func(at time.Time) { chtest.Upgraded(t, st, schema.ExceptionGroupsMigration, at) }
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

// A database upgraded to the exception history: the exceptions stored
// before it are added by the backfill, day by day, which completes the
// history; a second run has nothing to do.
func TestBackfillExceptionGroups(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	n, err := st.BackfillExceptionGroups(ctx, nil)
	require.NoError(t, err)
	require.Zero(t, n, "nothing to add in a database created with it")

	// Exceptions of three and two days ago and of now, the older ones as
	// if stored before the view existed (the table emptied after).
	now := time.Now().UTC()
	at := func(d time.Duration) uint64 { return uint64(now.Add(d).UnixNano()) }
	span := func(ts uint64, typ string) schema.SpanRow {
		return chtest.ExceptionSpan(time.Unix(0, int64(ts)), "", "cart", typ)
	}
	require.NoError(t, st.Write(ctx, &schema.Batch{
		Spans: []schema.SpanRow{span(at(-72*time.Hour), "Timeout"), span(at(-48*time.Hour), "Timeout")},
		Logs: []schema.LogRow{{TimeUnixNano: at(-50 * time.Hour), ServiceName: "cart",
			AttrKeys: []string{"exception.type"}, AttrValues: []string{"Refused"}}},
	}))
	require.NoError(t, st.Conn().Exec(ctx, "TRUNCATE TABLE exception_groups"))
	upgrade := now.Add(-time.Hour).Truncate(time.Second)
	chtest.Upgraded(t, st, schema.ExceptionGroupsMigration, upgrade)
	// Stored after the upgrade: the view has it.
	require.NoError(t, st.Write(ctx, &schema.Batch{Spans: []schema.SpanRow{span(at(0), "Timeout")}}))
	complete, _, err := st.ExceptionHistoryComplete(ctx)
	require.NoError(t, err)
	require.False(t, complete)

	var seen []string
	n, err = st.BackfillExceptionGroups(ctx, func(p chstore.BackfillProgress) {
		seen = append(seen, fmt.Sprintf("%s %d/%d", p.Day.Format(time.DateOnly), p.N, p.Days))
	})
	require.NoError(t, err)
	first := now.Add(-72 * time.Hour).Truncate(24 * time.Hour)
	var want []string
	for d := first; d.Before(upgrade); d = d.AddDate(0, 0, 1) {
		want = append(want, d.Format(time.DateOnly))
	}
	require.Equal(t, len(want), n)
	for i := range want {
		want[i] += fmt.Sprintf(" %d/%d", i+1, n)
	}
	require.Equal(t, want, seen, "every day from the oldest stored to the upgrade's")
	complete, _, err = st.ExceptionHistoryComplete(ctx)
	require.NoError(t, err)
	require.True(t, complete)

	rows, err := st.Conn().Query(ctx, `SELECT type, source, minMerge(first_seen), maxMerge(last_seen), countMerge(occurrences)
		FROM exception_groups GROUP BY type, source ORDER BY type`)
	require.NoError(t, err)
	var got []string
	for rows.Next() {
		var typ, source string
		var first, last, n uint64
		require.NoError(t, rows.Scan(&typ, &source, &first, &last, &n))
		got = append(got, fmt.Sprintf("%s/%s %d %d %d", typ, source, first, last, n))
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{
		fmt.Sprintf("Refused/log %d %d 1", at(-50*time.Hour), at(-50*time.Hour)),
		fmt.Sprintf("Timeout/span %d %d 3", at(-72*time.Hour), at(0)),
	}, got)

	n, err = st.BackfillExceptionGroups(ctx, nil)
	require.NoError(t, err)
	require.Zero(t, n, "done already")
}

// A database upgraded to the exceptions table: the days before it are
// rebuilt from their spans and logs, the day it started included once it
// is over, each day's late rows (which the views copied) counted once, and
// the list's boundary moves back to the first day rebuilt.
func TestBackfillExceptions(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	upgrade := upgradedLater(t, st, st.ExceptionsSince, st.BackfillExceptions, schema.ExceptionsMigration)
	day0 := upgrade.Truncate(24 * time.Hour)
	logged := func(at time.Time) schema.LogRow {
		return schema.LogRow{TimeUnixNano: uint64(at.UnixNano()), ServiceName: "cart", ServiceNamespace: "shop", Body: "failed",
			AttrKeys: []string{"exception.type"}, AttrValues: []string{"Timeout"}}
	}
	// A span's exception and a logged one on each of three days (none on
	// the day between), stored before the table: its partitions dropped,
	// as if the views had not existed.
	days := []time.Time{day0.AddDate(0, 0, -3), day0.AddDate(0, 0, -1), day0}
	var batch schema.Batch
	for _, d := range days {
		batch.Spans = append(batch.Spans, chtest.ExceptionSpan(d.Add(time.Hour), "shop", "cart", "Timeout"))
		batch.Logs = append(batch.Logs, logged(d.Add(time.Hour)))
	}
	require.NoError(t, st.Write(ctx, &batch))
	for _, d := range days {
		require.NoError(t, st.Conn().Exec(ctx, fmt.Sprintf("ALTER TABLE exceptions DROP PARTITION ID '%s'", d.Format("20060102"))))
	}
	// Late spans of two of those days, stored after the upgrade: the view
	// copies them.
	require.NoError(t, st.Write(ctx, &schema.Batch{Spans: []schema.SpanRow{
		chtest.ExceptionSpan(days[1].Add(2*time.Hour), "shop", "cart", "Timeout"),
		chtest.ExceptionSpan(days[2].Add(2*time.Hour), "shop", "cart", "Timeout"),
	}}))
	since, _, err := st.ExceptionsSince(ctx)
	require.NoError(t, err)
	require.True(t, upgrade.Equal(since), "%v", since)

	_, err = st.BackfillExceptions(ctx, upgrade, nil)
	require.True(t, errors.Is(err, chstore.ErrBackfillToday), "not on the day it started: %v", err)

	var reports []string
	n, err := st.BackfillExceptions(ctx, day0.Add(25*time.Hour), func(p chstore.BackfillProgress) {
		reports = append(reports, fmt.Sprintf("%s %d %d/%d", p.Day.Format(time.DateOnly), p.Spans, p.N, p.Days))
	})
	require.NoError(t, err)
	require.Equal(t, 4, n)
	require.Equal(t, []string{
		day0.Format(time.DateOnly) + " 3 1/4",
		day0.AddDate(0, 0, -1).Format(time.DateOnly) + " 3 2/4",
		day0.AddDate(0, 0, -2).Format(time.DateOnly) + " 0 3/4",
		day0.AddDate(0, 0, -3).Format(time.DateOnly) + " 2 4/4",
	}, reports)
	since, _, err = st.ExceptionsSince(ctx)
	require.NoError(t, err)
	require.Equal(t, days[0], since)

	// Every exception once, from either source.
	var spans, logs uint64
	require.NoError(t, st.Conn().QueryRow(ctx, "SELECT countIf(source = 'span'), countIf(source = 'log') FROM exceptions").Scan(&spans, &logs))
	require.EqualValues(t, 5, spans)
	require.EqualValues(t, 3, logs)

	n, err = st.BackfillExceptions(ctx, day0.Add(25*time.Hour), nil)
	require.NoError(t, err)
	require.Zero(t, n, "run again: nothing left to do")
}
