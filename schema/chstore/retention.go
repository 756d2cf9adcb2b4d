package chstore

import (
	"context"
	"fmt"
	"time"
)

// DropExpired drops every day partition (partition id YYYYMMDD, from
// PARTITION BY toDate(...)) whose day ends before now-keep. It works on every
// server version (no TTL needed) and returns what it dropped as
// "table/partition_id".
func (s *Store) DropExpired(ctx context.Context, keep time.Duration, now time.Time) ([]string, error) {
	cutoff := now.UTC().Add(-keep)
	rows, err := s.conn.Query(ctx, `SELECT DISTINCT table, partition_id FROM system.parts
		WHERE database = ? AND active AND length(partition_id) = 8`, s.render.Database)
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	type part struct{ table, id string }
	var expired []part
	for rows.Next() {
		var p part
		if err := rows.Scan(&p.table, &p.id); err != nil {
			rows.Close()
			return nil, err
		}
		day, err := time.Parse("20060102", p.id)
		if err != nil {
			continue // not a day partition
		}
		if day.Add(24 * time.Hour).Before(cutoff) {
			expired = append(expired, p)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	on := ""
	if s.render.Cluster != "" {
		on = " ON CLUSTER `" + s.render.Cluster + "`"
	}
	var dropped []string
	for _, p := range expired {
		stmt := fmt.Sprintf("ALTER TABLE `%s`.`%s`%s DROP PARTITION ID '%s'", s.render.Database, p.table, on, p.id)
		if err := s.conn.Exec(ctx, stmt); err != nil {
			return dropped, fmt.Errorf("drop partition %s of %s: %w", p.id, p.table, err)
		}
		dropped = append(dropped, p.table+"/"+p.id)
		s.log.Info("retention: dropped partition", "table", p.table, "partition", p.id)
	}
	return dropped, nil
}
