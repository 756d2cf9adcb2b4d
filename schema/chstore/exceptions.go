package chstore

import (
	"context"
	"time"

	"github.com/meshscope/meshscope/schema"
)

// ExceptionHistoryComplete reports whether exception_groups holds every
// exception the database stores, so that a group it first saw within a
// range is new in it: true in a database created with the table
// (appliedSince), and in one upgraded
// to it once no day partition of spans or logs is older than the day after
// the upgrade (retention has dropped what the views never saw). since is
// when the table started to hold what is inserted (the zero time before
// its migration).
func (s *Store) ExceptionHistoryComplete(ctx context.Context) (complete bool, since time.Time, err error) {
	since, withCore, err := s.appliedSince(ctx, schema.ExceptionGroupsMigration)
	if err != nil || since.IsZero() || withCore {
		return withCore, since, err
	}
	// The oldest day partition of either table, as YYYYMMDD; empty when
	// both are empty.
	var oldest string
	err = s.conn.QueryRow(ctx, `SELECT min(partition_id) FROM system.parts
		WHERE database = ? AND active AND length(partition_id) = 8 AND table IN (?, ?)`,
		s.render.Database, schema.SpansTable.LocalName(s.render), schema.LogsTable.LocalName(s.render)).Scan(&oldest)
	if err != nil {
		return false, since, err
	}
	return oldest == "" || oldest > since.Format("20060102"), since, nil
}
