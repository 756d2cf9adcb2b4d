// Package chstore is meshscope's ClickHouse access: it connects over the
// native protocol with clickhouse-go, detects the server version, applies the
// schema's migrations rendered for that version, writes row batches (through
// the HTTP interface in the Native format when it has the server's HTTP URL,
// else with clickhouse-go's columnar batch API), and drops expired
// partitions. It imports schema only.
package chstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/meshscope/meshscope/schema"
)

// Config says how to reach ClickHouse.
type Config struct {
	// DSN such as clickhouse://user:pass@host:9000/meshscope.
	DSN string
	// HTTPURL, when set, is the same server's HTTP interface
	// (http://host:8123): inserts of the ingest tables (WriteColumns) go
	// through it in the Native format, with the DSN's user and database,
	// at a fraction of the CPU of clickhouse-go's batch. Other queries use
	// the DSN.
	HTTPURL string
	// Cluster, when set, renders ON CLUSTER DDL and Distributed tables.
	Cluster string
	// ClusterDDLPerNode, with Cluster, migrates only the server this store is
	// connected to, without ON CLUSTER and with non-replicated local tables
	// (schema.RenderOptions.PerNode): for a cluster with no ZooKeeper or
	// ClickHouse Keeper, whose every node is then migrated in turn.
	// Production clusters leave it false.
	ClusterDDLPerNode bool
	// Logger for schema and retention events; nil discards.
	Logger *slog.Logger
}

// Store is an open connection pool to one ClickHouse database.
type Store struct {
	conn    driver.Conn
	opts    *clickhouse.Options
	version schema.Version
	render  schema.RenderOptions
	log     *slog.Logger
	columns chan *Columns // holds the columns Write fills, when no Write runs
	http    *httpInserter // nil without Config.HTTPURL
}

// Open connects, creating the database when it does not exist, and reads the
// server version. It does not migrate: call Migrate.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	opts, err := clickhouse.ParseDSN(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("parse clickhouse DSN: %w", redact(err, cfg.DSN))
	}
	db := opts.Auth.Database
	if db == "" {
		db = "meshscope"
	}
	if opts.DialTimeout == 0 || opts.DialTimeout > 5*time.Second {
		opts.DialTimeout = 5 * time.Second
	}
	opts.Auth.Database = "default"
	boot, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("connect to clickhouse: %w", err)
	}
	var versionText string
	if err := boot.QueryRow(ctx, "SELECT version()").Scan(&versionText); err != nil {
		boot.Close()
		return nil, fmt.Errorf("connect to clickhouse at %s: %w", strings.Join(opts.Addr, ","), err)
	}
	version, err := schema.ParseVersion(versionText)
	if err != nil {
		boot.Close()
		return nil, err
	}
	on := ""
	if cfg.Cluster != "" && !cfg.ClusterDDLPerNode {
		on = " ON CLUSTER `" + cfg.Cluster + "`"
	}
	if err := boot.Exec(ctx, "CREATE DATABASE IF NOT EXISTS `"+db+"`"+on); err != nil {
		boot.Close()
		return nil, fmt.Errorf("create database %s: %w", db, err)
	}
	boot.Close()
	opts.Auth.Database = db
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("connect to clickhouse database %s: %w", db, err)
	}
	var hi *httpInserter
	if cfg.HTTPURL != "" {
		if hi, err = newHTTPInserter(cfg.HTTPURL, opts, db, conn); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return &Store{
		http:    hi,
		conn:    conn,
		opts:    opts,
		version: version,
		render:  schema.RenderOptions{Version: version, Database: db, Cluster: cfg.Cluster, PerNode: cfg.ClusterDDLPerNode},
		log:     cfg.Logger,
		columns: make(chan *Columns, 1),
	}, nil
}

func redact(err error, dsn string) error {
	if u, perr := url.Parse(dsn); perr == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			return errors.New(strings.ReplaceAll(err.Error(), dsn, u.Redacted()))
		}
	}
	return err
}

// Conn is the underlying clickhouse-go connection, for readers.
func (s *Store) Conn() driver.Conn { return s.conn }

// Version of the server.
func (s *Store) Version() schema.Version { return s.version }

// Database name.
func (s *Store) Database() string { return s.render.Database }

// RenderOptions used for this server.
func (s *Store) RenderOptions() schema.RenderOptions { return s.render }

// Ping checks that the server answers, on the HTTP interface too when the
// store inserts through it.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.conn.Ping(ctx); err != nil {
		return err
	}
	if s.http != nil {
		return s.http.ping(ctx)
	}
	return nil
}

// Close releases the connections.
func (s *Store) Close() error {
	if s.http != nil {
		s.http.client.CloseIdleConnections()
	}
	return s.conn.Close()
}

// scan runs query and hands each row's Scan to row.
func (s *Store) scan(ctx context.Context, row func(scan func(...any) error) error, query string, args ...any) error {
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}
