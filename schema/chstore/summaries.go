package chstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/meshscope/meshscope/schema"
)

// SummariesCoverAll is what TraceSummariesSince answers for a database
// whose trace summaries hold every span: the epoch's first second.
var SummariesCoverAll = time.Unix(1, 0).UTC()

// TraceSummariesSince is the time from which trace_summaries holds every
// span: SummariesCoverAll in a database created with them (serve migrates
// before it accepts data and applies every migration in one pass, so the
// core tables' migration was recorded seconds before theirs); otherwise
// when their migration was recorded (the latest record: several replicas
// may record it, the view existing before each), moved back to the start
// of each day before it that a backfill rebuilt, as long as those days
// are consecutive. ok is false before the summaries' migration.
func (s *Store) TraceSummariesSince(ctx context.Context) (since time.Time, ok bool, err error) {
	return s.coveredSince(ctx, schema.TraceSummariesMigration, schema.TraceSummaryBackfillsMigration, schema.TraceSummaryBackfillsTable)
}

// coveredSince is the time from which a table that a view fills at insert
// (created by migration id) holds every row of its sources:
// SummariesCoverAll in a database created with it, otherwise when its
// migration was recorded, moved back to the start of each day before it
// that a backfill rebuilt (recorded in backfills, created by migration
// backfillsID), as long as those days are consecutive. ok is false before
// migration id.
func (s *Store) coveredSince(ctx context.Context, id, backfillsID int, backfills schema.Table) (since time.Time, ok bool, err error) {
	at, withCore, err := s.appliedSince(ctx, id)
	if err != nil || at.IsZero() {
		return time.Time{}, false, err
	}
	if withCore {
		return SummariesCoverAll, true, nil
	}
	days, err := s.backfilledDays(ctx, backfillsID, backfills)
	if err != nil {
		return at.UTC(), true, err
	}
	since = at.UTC()
	for day := since.Truncate(24 * time.Hour); days[day]; day = day.AddDate(0, 0, -1) {
		since = day
	}
	return since, true, nil
}

// appliedSince is when migration id was recorded (the latest record:
// several replicas may record it; zero before it), and whether that was
// within a minute of the core tables' (the database was created with it:
// serve applies every migration in one pass before it accepts data, so the
// objects it creates saw every row inserted).
func (s *Store) appliedSince(ctx context.Context, id int) (at time.Time, withCore bool, err error) {
	var core time.Time
	err = s.conn.QueryRow(ctx, "SELECT maxIf(applied_at, id = ?), maxIf(applied_at, id = 1) FROM schema_migrations",
		uint32(id)).Scan(&at, &core)
	if err != nil || at.Unix() <= 0 {
		return time.Time{}, false, err
	}
	return at.UTC(), at.Sub(core) < time.Minute, nil
}

// backfilledDays are the days a backfills table (created by migration id)
// records (none before that migration).
func (s *Store) backfilledDays(ctx context.Context, id int, backfills schema.Table) (map[time.Time]bool, error) {
	done, err := s.AppliedMigrations(ctx)
	if err != nil || !done[id] {
		return nil, err
	}
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT day FROM "+s.table(backfills))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	days := map[time.Time]bool{}
	for rows.Next() {
		var d time.Time
		if err := rows.Scan(&d); err != nil {
			return nil, err
		}
		days[time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)] = true
	}
	return days, rows.Err()
}

// table is t's name, qualified by the database.
func (s *Store) table(t schema.Table) string {
	return fmt.Sprintf("`%s`.`%s`", s.render.Database, t.Name)
}

// BackfillProgress reports a day rebuilt (Day of Days, counting from 1).
type BackfillProgress struct {
	Day time.Time
	// Spans counts what the day's rebuild read: spans for the trace
	// summaries, exceptions for the exceptions table (none for the
	// exception history's backfill).
	Spans   uint64
	Took    time.Duration
	N, Days int
}

// ErrBackfillToday refuses a backfill while the day the table started is
// not over: its rows are still arriving, and the view would add those that
// arrive during the rebuild to a partition about to be replaced.
var ErrBackfillToday = errors.New("the table started today: the day it started is rebuilt whole once it is over; run the backfill after midnight UTC")

// BackfillTraceSummaries rebuilds the trace_summaries partitions of the
// days before the summaries existed (TraceSummariesSince), newest first,
// from their spans: each day's summaries are computed into a scratch
// table with the view's own SELECT, which then replaces the day's
// partition whole (so the rows the view wrote for spans of that day that
// arrived late are replaced, not counted twice), and the day is recorded,
// which moves TraceSummariesSince back to its start. Spans of a rebuilt
// day that arrive while it is rebuilt are lost from its summaries (not
// from spans); now, before the end of the day the summaries started
// (ErrBackfillToday), nothing is done. A run stopped half-way resumes
// where it stopped; a database created with the summaries has nothing to
// do. Single servers only: on a cluster each shard's local tables would
// need rebuilding on one replica each.
func (s *Store) BackfillTraceSummaries(ctx context.Context, now time.Time, progress func(BackfillProgress)) (int, error) {
	if s.render.Cluster != "" {
		return 0, errors.New("the trace summaries backfill runs on a single server, not on a cluster (searches over the days before the summaries group spans there)")
	}
	since, ok, err := s.TraceSummariesSince(ctx)
	switch {
	case err != nil:
		return 0, err
	case !ok:
		return 0, errors.New("the schema has no trace summaries yet: run meshscope migrate")
	}
	return s.rebuildDays(ctx, dayRebuild{
		target: schema.TraceSummariesTable, since: since, sources: []schema.Table{schema.SpansTable},
		record: schema.TraceSummaryBackfillsTable, rebuild: s.rebuildSummaries,
	}, now, progress)
}

// dayRebuild is a derived table's rebuild, day by day, from its sources.
type dayRebuild struct {
	target schema.Table
	// since is when the table started to hold every row of its sources
	// (SummariesCoverAll: always).
	since time.Time
	// sources are the tables whose day partitions say which days there
	// are to rebuild.
	sources []schema.Table
	// record is the backfills table: (day, count, backfilled_at).
	record schema.Table
	// rebuild replaces target's partition of day with one computed into
	// scratch, and answers the count to report and record.
	rebuild func(ctx context.Context, scratch string, day time.Time) (uint64, error)
}

// rebuildDays rebuilds r's target day by day, newest first, from the day
// it started (once that day is over: ErrBackfillToday) back to the oldest
// day of its sources, the days between without rows too (so that the
// boundary moves past them), recording each day done.
func (s *Store) rebuildDays(ctx context.Context, r dayRebuild, now time.Time, progress func(BackfillProgress)) (int, error) {
	if r.since.Equal(SummariesCoverAll) {
		return 0, nil
	}
	first := r.since.Truncate(24 * time.Hour) // the day the table started
	if r.since.Equal(first) {
		first = first.AddDate(0, 0, -1) // that day is rebuilt already
	} else if !now.UTC().Truncate(24 * time.Hour).After(first) {
		return 0, ErrBackfillToday
	}
	var oldest time.Time
	for _, t := range r.sources {
		d, err := s.oldestDayOf(ctx, t)
		if err != nil {
			return 0, err
		}
		if !d.IsZero() && (oldest.IsZero() || d.Before(oldest)) {
			oldest = d
		}
	}
	var days []time.Time
	for d := first; !oldest.IsZero() && !d.Before(oldest); d = d.AddDate(0, 0, -1) {
		days = append(days, d)
	}
	scratch := fmt.Sprintf("`%s`.`%s_backfill`", s.render.Database, r.target.Name)
	defer func() { _ = s.conn.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+scratch) }()
	for i, day := range days {
		start := time.Now()
		n, err := r.rebuild(ctx, scratch, day)
		if err != nil {
			return i, fmt.Errorf("backfill %s: %w", day.Format(time.DateOnly), err)
		}
		if err := s.insert(ctx, r.record, []any{[]time.Time{day}, []uint64{n}, []time.Time{time.Now().UTC()}}); err != nil {
			return i, fmt.Errorf("record backfill of %s: %w", day.Format(time.DateOnly), err)
		}
		if progress != nil {
			progress(BackfillProgress{Day: day, Spans: n, Took: time.Since(start), N: i + 1, Days: len(days)})
		}
	}
	return len(days), nil
}

// oldestDayOf is the first day of a table's partitions (zero without
// rows).
func (s *Store) oldestDayOf(ctx context.Context, t schema.Table) (time.Time, error) {
	rows, err := s.conn.Query(ctx, `SELECT DISTINCT partition_id FROM system.parts
		WHERE database = ? AND table = ? AND active AND length(partition_id) = 8`, s.render.Database, t.Name)
	if err != nil {
		return time.Time{}, err
	}
	defer rows.Close()
	var days []time.Time
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return time.Time{}, err
		}
		if d, err := time.Parse("20060102", id); err == nil {
			days = append(days, d)
		}
	}
	if len(days) == 0 {
		return time.Time{}, rows.Err()
	}
	return slices.MinFunc(days, func(a, b time.Time) int { return a.Compare(b) }), rows.Err()
}

// columnList is t's columns, comma-separated.
func columnList(t schema.Table) string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = "`" + c.Name + "`"
	}
	return strings.Join(names, ", ")
}

// rebuildSummaries replaces day's trace_summaries partition with one
// computed from its spans, and counts them.
func (s *Store) rebuildSummaries(ctx context.Context, scratch string, day time.Time) (uint64, error) {
	date := day.Format(time.DateOnly)
	var spans uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+s.table(schema.SpansTable)+" WHERE toDate(timestamp) = toDate(?)", date).Scan(&spans); err != nil {
		return 0, err
	}
	_, err := s.replaceDay(ctx, schema.TraceSummariesTable, scratch, day,
		"INSERT INTO "+scratch+" ("+columnList(schema.TraceSummariesTable)+") "+
			schema.TraceSummariesSelect(s.render, "toDate(src.timestamp) = toDate('"+date+"')"))
	return spans, err
}

// replaceDay replaces target's partition of day with what inserts put
// into a fresh scratch table of the same structure, and answers how many
// rows that was; none, the partition goes.
func (s *Store) replaceDay(ctx context.Context, target schema.Table, scratch string, day time.Time, inserts ...string) (uint64, error) {
	for _, q := range append([]string{"DROP TABLE IF EXISTS " + scratch, "CREATE TABLE " + scratch + " AS " + s.table(target)}, inserts...) {
		if err := s.conn.Exec(ctx, q); err != nil {
			return 0, err
		}
	}
	var rows uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+scratch).Scan(&rows); err != nil {
		return 0, err
	}
	id := day.Format("20060102")
	q := "ALTER TABLE " + s.table(target) + " REPLACE PARTITION ID '" + id + "' FROM " + scratch
	if rows == 0 {
		q = "ALTER TABLE " + s.table(target) + " DROP PARTITION ID '" + id + "'"
	}
	return rows, s.conn.Exec(ctx, q)
}
