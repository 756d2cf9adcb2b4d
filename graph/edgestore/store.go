// Package edgestore is the ClickHouse side of the dependency graph: it writes
// the live builder's closed buckets to edges_10s and answers historical
// graphs and RED series from edges_10s and its rollups edges_1m and edges_1h.
// It imports graph, schema and schema/chstore; never ingest or query.
package edgestore

import (
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/schema/chstore"
)

// Config configures a Store.
type Config struct {
	// Health thresholds for the nodes of historical graphs.
	Health graph.HealthConfig
	// MaxSeriesPoints bounds the points of one series (default 10000).
	MaxSeriesPoints int
	// ProvenancePreference orders the inputs trusted when several saw the
	// same calls, as the live builder's (nil: graph.DefaultProvenancePreference).
	ProvenancePreference []graph.Provenance
}

// Store reads and writes the edges_* tables of one ClickHouse database. It
// implements graph.EdgeWriter, graph.History and graph.SeriesReader, and is
// safe for concurrent use.
type Store struct {
	st         *chstore.Store
	conn       driver.Conn
	health     graph.HealthConfig
	maxPoints  int
	preference []graph.Provenance
	// now is the clock that bounds ranges reaching into the future.
	now func() int64
}

// New returns a Store on st (migrated to include the edge tables).
func New(st *chstore.Store, cfg Config) *Store {
	if cfg.MaxSeriesPoints == 0 {
		cfg.MaxSeriesPoints = 10_000
	}
	return &Store{st: st, conn: st.Conn(), health: cfg.Health, maxPoints: cfg.MaxSeriesPoints,
		preference: cfg.ProvenancePreference, now: unixNow}
}

var (
	_ graph.EdgeWriter   = (*Store)(nil)
	_ graph.History      = (*Store)(nil)
	_ graph.SeriesReader = (*Store)(nil)
)
