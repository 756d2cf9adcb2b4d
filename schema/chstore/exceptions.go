package chstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/meshscope/meshscope/schema"
)

// ExceptionHistoryComplete reports whether exception_groups holds every
// exception the database stores, so that a group it first saw within a
// range is new in it: true in a database created with the table
// (appliedSince); in one upgraded to it, once BackfillExceptionGroups has
// run, or once no day partition of spans or logs is older than the day
// after the upgrade (retention has dropped what the views never saw).
// since is when the table started to hold what is inserted (the zero time
// before its migration).
func (s *Store) ExceptionHistoryComplete(ctx context.Context) (complete bool, since time.Time, err error) {
	since, withCore, err := s.appliedSince(ctx, schema.ExceptionGroupsMigration)
	if err != nil || since.IsZero() || withCore {
		return withCore, since, err
	}
	if done, err := s.exceptionsBackfilled(ctx, since); err != nil || done {
		return done, since, err
	}
	oldest, err := s.oldestDay(ctx)
	if err != nil {
		return false, since, err
	}
	return oldest.IsZero() || oldest.After(since), since, nil
}

// oldestDay is the start of the oldest day partition of spans or logs
// (zero when both are empty).
func (s *Store) oldestDay(ctx context.Context) (time.Time, error) {
	var oldest string
	err := s.conn.QueryRow(ctx, `SELECT min(partition_id) FROM system.parts
		WHERE database = ? AND active AND length(partition_id) = 8 AND table IN (?, ?)`,
		s.render.Database, schema.SpansTable.LocalName(s.render), schema.LogsTable.LocalName(s.render)).Scan(&oldest)
	if err != nil || oldest == "" {
		return time.Time{}, err
	}
	return time.Parse("20060102", oldest)
}

// exceptionsBackfilled is whether a backfill recorded adding the
// exceptions stored before since.
func (s *Store) exceptionsBackfilled(ctx context.Context, since time.Time) (bool, error) {
	done, err := s.AppliedMigrations(ctx)
	if err != nil || !done[schema.ExceptionGroupBackfillsMigration] {
		return false, err
	}
	var n uint64
	err = s.conn.QueryRow(ctx, "SELECT count() FROM "+s.table(schema.ExceptionGroupBackfillsTable)+" WHERE upto >= toDateTime(?)",
		since.Unix()).Scan(&n)
	return n > 0, err
}

// BackfillExceptionGroups adds to exception_groups, in a database upgraded
// to it, the exceptions of the spans and logs stored before it existed,
// day by day from the oldest (progress after each), and records it done,
// which makes ExceptionHistoryComplete true. first_seen and last_seen come
// out exact whatever is read twice; occurrences counts twice the rows
// stamped before the upgrade but inserted after it (which the views
// counted too), and those of days a stopped run had done before (a run
// starts again from the oldest day). A database created with
// exception_groups, or backfilled already, has nothing to do (0 days).
func (s *Store) BackfillExceptionGroups(ctx context.Context, progress func(BackfillProgress)) (int, error) {
	since, withCore, err := s.appliedSince(ctx, schema.ExceptionGroupsMigration)
	switch {
	case err != nil:
		return 0, err
	case since.IsZero():
		return 0, errors.New("the schema has no exception history yet: run meshscope migrate")
	case withCore:
		return 0, nil
	}
	if done, err := s.exceptionsBackfilled(ctx, since); err != nil || done {
		return 0, err
	}
	oldest, err := s.oldestDay(ctx)
	if err != nil {
		return 0, err
	}
	var days []time.Time
	for d := oldest; !oldest.IsZero() && d.Before(since); d = d.AddDate(0, 0, 1) {
		days = append(days, d)
	}
	insert := InsertSQL(schema.ExceptionGroupsTable) + "\n"
	for i, day := range days {
		start := time.Now()
		end := day.AddDate(0, 0, 1)
		if end.After(since) {
			end = since
		}
		where := fmt.Sprintf("timestamp >= toDateTime(%d) AND timestamp < toDateTime(%d)", day.Unix(), end.Unix())
		for _, src := range []struct {
			source string
			table  schema.Table
		}{{"span", schema.SpansTable}, {"log", schema.LogsTable}} {
			// Through the logical tables: on a cluster the Distributed
			// tables read every shard and send each group to its own.
			if err := s.conn.Exec(ctx, insert+schema.ExceptionGroupsSelect(s.render, src.source, src.table.Name, where)); err != nil {
				return i, fmt.Errorf("backfill %s's exceptions of %s: %w", src.table.Name, day.Format(time.DateOnly), err)
			}
		}
		if progress != nil {
			progress(BackfillProgress{Day: day, Took: time.Since(start), N: i + 1, Days: len(days)})
		}
	}
	if err := s.insert(ctx, schema.ExceptionGroupBackfillsTable, []any{[]time.Time{since}, []time.Time{time.Now().UTC()}}); err != nil {
		return len(days), fmt.Errorf("record the exception history's backfill: %w", err)
	}
	return len(days), nil
}

// NewExceptionsQuery asks for the exception types first seen within
// [From, To], optionally of one service or namespace.
type NewExceptionsQuery struct {
	From, To           time.Time
	Service, Namespace string
	// Limit is the most types answered, the newest first (0: 1,000).
	Limit int
}

// NewExceptionType is one exception type of a service and source, from the
// exception history.
type NewExceptionType struct {
	Service, Namespace, Type, Source string
	FirstSeen, LastSeen              time.Time
	Count                            uint64
}

// NewExceptionTypes lists the exception types services showed for the
// first time within the range, the newest first, from the exception
// history alone (exception_groups: cheap, no span or record is read). It
// does not say whether the history is complete: ask
// ExceptionHistoryComplete.
func (s *Store) NewExceptionTypes(ctx context.Context, q NewExceptionsQuery) ([]NewExceptionType, error) {
	where, args := []string{"1"}, []any{}
	for _, f := range []struct{ col, v string }{{"service_name", q.Service}, {"service_namespace", q.Namespace}} {
		if f.v != "" {
			where, args = append(where, f.col+" = ?"), append(args, f.v)
		}
	}
	if q.Limit == 0 {
		q.Limit = 1000
	}
	args = append(args, uint64(q.From.UnixNano()), uint64(q.To.UnixNano()), q.Limit)
	rows, err := s.conn.Query(ctx, `SELECT service_name, service_namespace, type, source, minMerge(first_seen) AS first, maxMerge(last_seen), countMerge(occurrences)
FROM `+schema.ExceptionGroupsTable.Name+`
WHERE `+strings.Join(where, " AND ")+`
GROUP BY service_name, service_namespace, type, source
HAVING first >= ? AND first <= ?
ORDER BY first DESC, service_name, type, source
LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("new exception types: %w", err)
	}
	defer rows.Close()
	var out []NewExceptionType
	for rows.Next() {
		var e NewExceptionType
		var first, last uint64
		if err := rows.Scan(&e.Service, &e.Namespace, &e.Type, &e.Source, &first, &last, &e.Count); err != nil {
			return nil, fmt.Errorf("new exception types: %w", err)
		}
		e.FirstSeen, e.LastSeen = time.Unix(0, int64(first)).UTC(), time.Unix(0, int64(last)).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// ExceptionsSince is the time from which the exceptions table holds every
// exception stored: SummariesCoverAll in a database created with it (see
// appliedSince), else when its migration was recorded, moved back over the
// days BackfillExceptions rebuilt (coveredSince). ok is false before that
// migration.
func (s *Store) ExceptionsSince(ctx context.Context) (since time.Time, ok bool, err error) {
	return s.coveredSince(ctx, schema.ExceptionsMigration, schema.ExceptionBackfillsMigration, schema.ExceptionBackfillsTable)
}

// BackfillExceptions rebuilds the exceptions partitions of the days before
// the table existed (ExceptionsSince), newest first, from their spans and
// logs, as BackfillTraceSummaries rebuilds the trace summaries: each day's
// exceptions are copied into a scratch table with the views' own SELECTs,
// which then replaces the day's partition whole (the rows the views wrote
// for late spans and records of that day are replaced, not doubled), and
// the day is recorded (exception_backfills), which moves ExceptionsSince
// back to its start. Not before the day the table started is over
// (ErrBackfillToday); a stopped run resumes; single servers only.
func (s *Store) BackfillExceptions(ctx context.Context, now time.Time, progress func(BackfillProgress)) (int, error) {
	if s.render.Cluster != "" {
		return 0, errors.New("the exceptions backfill runs on a single server, not on a cluster (the exceptions list reads spans and logs for the days before the table there)")
	}
	since, ok, err := s.ExceptionsSince(ctx)
	switch {
	case err != nil:
		return 0, err
	case !ok:
		return 0, errors.New("the schema has no exceptions table yet: run meshscope migrate")
	}
	return s.rebuildDays(ctx, dayRebuild{
		target: schema.ExceptionsTable, since: since, sources: []schema.Table{schema.SpansTable, schema.LogsTable},
		record: schema.ExceptionBackfillsTable, rebuild: s.rebuildExceptions,
	}, now, progress)
}

// rebuildExceptions replaces day's exceptions partition with the exceptions
// of its spans and logs, and counts them.
func (s *Store) rebuildExceptions(ctx context.Context, scratch string, day time.Time) (uint64, error) {
	date := "toDate(timestamp) = toDate('" + day.Format(time.DateOnly) + "')"
	var inserts []string
	for _, sel := range []string{
		schema.ExceptionsSelect(s.render, "span", schema.SpansTable.Name, date),
		schema.ExceptionsSelect(s.render, "log", schema.LogsTable.Name, date),
	} {
		inserts = append(inserts, "INSERT INTO "+scratch+" ("+columnList(schema.ExceptionsTable)+") "+sel)
	}
	return s.replaceDay(ctx, schema.ExceptionsTable, scratch, day, inserts...)
}
