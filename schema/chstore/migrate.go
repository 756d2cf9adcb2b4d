package chstore

import (
	"context"
	"fmt"
	"time"

	"github.com/meshscope/meshscope/schema"
)

// Migrate applies every migration not yet recorded in schema_migrations, in id
// order. Statements are idempotent (IF NOT EXISTS), so a migration interrupted
// half-way is simply applied again.
func (s *Store) Migrate(ctx context.Context) (applied []int, err error) {
	boot := schema.RenderOptions{Version: s.version, Database: s.render.Database}
	for _, stmt := range schema.MigrationsTable.Statements(boot) {
		if err := s.conn.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("create schema_migrations: %w", err)
		}
	}
	done, err := s.AppliedMigrations(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range schema.Migrations() {
		if done[m.ID] {
			continue
		}
		start := time.Now()
		for i, stmt := range m.Statements(s.render) {
			if err := s.conn.Exec(ctx, stmt); err != nil {
				return applied, fmt.Errorf("migration %d (%s) statement %d: %w", m.ID, m.Name, i+1, err)
			}
		}
		if err := s.insert(ctx, schema.MigrationsTable, []any{
			[]uint32{uint32(m.ID)}, []string{m.Name}, []time.Time{time.Now().UTC()},
		}); err != nil {
			return applied, fmt.Errorf("record migration %d: %w", m.ID, err)
		}
		applied = append(applied, m.ID)
		s.log.Info("schema migration applied", "id", m.ID, "name", m.Name, "took", time.Since(start))
	}
	return applied, nil
}

// AppliedMigrations returns the ids recorded in schema_migrations.
func (s *Store) AppliedMigrations(ctx context.Context) (map[int]bool, error) {
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT id FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	done := map[int]bool{}
	for rows.Next() {
		var id uint32
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		done[int(id)] = true
	}
	return done, rows.Err()
}

// Current reports whether every known migration has been applied.
func (s *Store) Current(ctx context.Context) (bool, error) {
	done, err := s.AppliedMigrations(ctx)
	if err != nil {
		return false, err
	}
	for _, m := range schema.Migrations() {
		if !done[m.ID] {
			return false, nil
		}
	}
	return true, nil
}
