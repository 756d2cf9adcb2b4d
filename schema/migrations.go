package schema

import (
	"fmt"
	"sort"
)

var registry = map[int]Migration{}

// Register adds a migration to the schema's history. Packages that own tables
// (such as the edge aggregates) register theirs from a file in this package so
// that the whole history lives in one place; Register panics on a duplicate id
// because that is a programming error caught by every test run.
func Register(m Migration) {
	if _, dup := registry[m.ID]; dup {
		panic("schema: duplicate migration id")
	}
	registry[m.ID] = m
}

// Migrations returns every migration in id order.
func Migrations() []Migration {
	out := make([]Migration, 0, len(registry))
	for _, m := range registry {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func init() {
	Register(Migration{ID: 1, Name: "core tables", Objects: []Object{
		SpansTable, LogsTable, MetricSeriesTable, MetricSamplesTable, RequestsTable,
	}})
	Register(Migration{ID: 4, Name: "insert deduplication", Objects: []Object{
		dedupWindow{Tables: []Table{SpansTable, LogsTable, MetricSeriesTable, MetricSamplesTable, RequestsTable}, Blocks: 100},
	}})
	Register(Migration{ID: 6, Name: "log search indexes", Objects: []Object{
		addIndexes{Table: LogsTable, Indexes: LogSearchIndexes},
	}})
}

// LogSearchIndexes let the log search skip granules on servers with skip
// indexes: a trace's records (a bloom filter over trace_id, as spans have)
// and text in bodies (4-grams of the lower-cased body, which the
// case-insensitive text search, lowerUTF8(body) LIKE '%text%', reads; text
// shorter than 4 characters scans).
var LogSearchIndexes = []SkipIndex{
	{Name: "idx_trace_id", Expr: "trace_id", Type: "bloom_filter(0.001)", Granularity: 1},
	{Name: "idx_body", Expr: "lowerUTF8(body)", Type: "ngrambf_v1(4, 60000, 5, 0)", Granularity: 1},
}

// addIndexes adds skip indexes to a table that exists already, on servers
// that have them (20.1; nothing on older ones). Parts written before keep
// none until merged or until the partitions age out (an operator may
// rebuild them with ALTER TABLE ... MATERIALIZE INDEX, a mutation that
// rewrites them); the searches are correct either way.
type addIndexes struct {
	Table   Table
	Indexes []SkipIndex
}

func (a addIndexes) Statements(o RenderOptions) []string {
	if !o.Version.HasSkipIndexes() {
		return nil
	}
	var out []string
	for _, ix := range a.Indexes {
		out = append(out, fmt.Sprintf("ALTER TABLE %s.%s%s ADD INDEX IF NOT EXISTS %s %s TYPE %s GRANULARITY %d",
			quoteIdent(o.Database), quoteIdent(a.Table.LocalName(o)), onCluster(o), ix.Name, ix.Expr, ix.Type, ix.Granularity))
	}
	return out
}

// dedupWindow turns on insert deduplication for tables without replication:
// ClickHouse then drops an inserted block equal to one of the table's last
// Blocks blocks. The flusher writes a batch that was in flight when the
// process stopped again as it was (ingest/wal Intend), so with it those rows
// land once. Replicated tables deduplicate by default
// (replicated_deduplication_window), and servers before 21.5 cannot, so it
// renders nothing for them.
type dedupWindow struct {
	Tables []Table
	Blocks int
}

func (d dedupWindow) Statements(o RenderOptions) []string {
	if !o.Version.HasNonReplicatedDedup() || (o.Cluster != "" && !o.PerNode) {
		return nil
	}
	var out []string
	for _, t := range d.Tables {
		out = append(out, fmt.Sprintf("ALTER TABLE %s.%s MODIFY SETTING non_replicated_deduplication_window = %d",
			quoteIdent(o.Database), quoteIdent(t.LocalName(o)), d.Blocks))
	}
	return out
}
