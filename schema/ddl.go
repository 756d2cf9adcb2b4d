package schema

import (
	"fmt"
	"strings"
)

// Column is one column of the logical schema. Type is the portable type that
// every supported server accepts; the extras are applied only where the server
// has them, so column names and the insert path are the same everywhere.
type Column struct {
	Name string
	// Type is the portable ClickHouse type (18.16 syntax), e.g. "String".
	Type string
	// LowCard wraps Type in LowCardinality(...) on servers that have it (19.3+).
	LowCard bool
	// Codec is a CODEC(...) argument list applied on servers with codecs (19.1+).
	Codec string
	// Doc describes the column for docs/schema.md.
	Doc string
}

// SkipIndex is a data skipping index, rendered on 20.1+ only.
type SkipIndex struct {
	Name, Expr, Type string
	Granularity      int
}

// Table is one logical table.
type Table struct {
	Name    string
	Doc     string
	Columns []Column
	// Engine is the engine family without replication: "MergeTree",
	// "ReplacingMergeTree(col)", "AggregatingMergeTree", "SummingMergeTree".
	Engine      string
	PartitionBy string
	OrderBy     string
	// ShardKey is the Distributed sharding expression in cluster mode.
	ShardKey string
	Indexes  []SkipIndex
	Settings string
}

// View is a materialized view that moves rows from one table into another.
// Select renders its SELECT for a server; in cluster mode it reads the
// shard's local table (Table.LocalName).
type View struct {
	Name   string
	To     string
	Doc    string
	Select func(o RenderOptions) string
}

// RenderOptions say how the logical schema maps onto a server.
type RenderOptions struct {
	// Version of the target server.
	Version Version
	// Database that holds the tables.
	Database string
	// Cluster, when set, renders ON CLUSTER DDL with Replicated engines for the
	// *_local tables and Distributed tables under the logical names.
	Cluster string
	// PerNode, with Cluster, renders the cluster's tables for a cluster with
	// no ZooKeeper or ClickHouse Keeper: no ON CLUSTER (distributed DDL needs
	// Keeper), so the statements must be applied on every node, and plain
	// *MergeTree engines for the *_local tables (replication needs Keeper), so
	// each shard has one replica. Tests on ClickHouse 18.16 use it; production
	// clusters leave it false and run ON CLUSTER DDL coordinated by Keeper.
	PerNode bool
}

// Object is anything a migration creates.
type Object interface {
	Statements(o RenderOptions) []string
}

func (c Column) render(v Version) string {
	typ := c.Type
	if c.LowCard && v.HasLowCardinality() {
		typ = "LowCardinality(" + typ + ")"
	}
	s := fmt.Sprintf("`%s` %s", c.Name, typ)
	if c.Codec != "" && v.HasCodecs() {
		s += " CODEC(" + c.Codec + ")"
	}
	return s
}

func onCluster(o RenderOptions) string {
	if o.Cluster == "" || o.PerNode {
		return ""
	}
	return " ON CLUSTER " + quoteIdent(o.Cluster)
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "\\`") + "`" }

// LocalName is the name of the table that stores rows: the logical name on a
// single server, NAME_local in cluster mode.
func (t Table) LocalName(o RenderOptions) string {
	if o.Cluster != "" {
		return t.Name + "_local"
	}
	return t.Name
}

func (t Table) engine(o RenderOptions) string {
	if o.Cluster == "" || o.PerNode {
		if !strings.Contains(t.Engine, "(") {
			return t.Engine + "()"
		}
		return t.Engine
	}
	// ReplicatedMergeTree('/clickhouse/tables/{shard}/db/table', '{replica}'[, args])
	name, args, _ := strings.Cut(t.Engine, "(")
	args = strings.TrimSuffix(args, ")")
	path := fmt.Sprintf("'/clickhouse/tables/{shard}/%s/%s', '{replica}'", o.Database, t.LocalName(o))
	if args != "" {
		path += ", " + args
	}
	return "Replicated" + name + "(" + path + ")"
}

// Statements renders CREATE TABLE (and the Distributed table in cluster mode).
func (t Table) Statements(o RenderOptions) []string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s.%s%s\n(\n", quoteIdent(o.Database), quoteIdent(t.LocalName(o)), onCluster(o))
	for i, c := range t.Columns {
		b.WriteString("    " + c.render(o.Version))
		if i < len(t.Columns)-1 || (len(t.Indexes) > 0 && o.Version.HasSkipIndexes()) {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	if o.Version.HasSkipIndexes() {
		for i, ix := range t.Indexes {
			fmt.Fprintf(&b, "    INDEX %s %s TYPE %s GRANULARITY %d", ix.Name, ix.Expr, ix.Type, ix.Granularity)
			if i < len(t.Indexes)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(&b, ")\nENGINE = %s\n", t.engine(o))
	if t.PartitionBy != "" {
		fmt.Fprintf(&b, "PARTITION BY %s\n", t.PartitionBy)
	}
	fmt.Fprintf(&b, "ORDER BY %s", t.OrderBy)
	if t.Settings != "" {
		fmt.Fprintf(&b, "\nSETTINGS %s", t.Settings)
	}
	out := []string{b.String()}
	if o.Cluster != "" {
		key := t.ShardKey
		if key == "" {
			key = "rand()"
		}
		out = append(out, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s%s AS %s.%s\nENGINE = Distributed(%s, %s, %s, %s)",
			quoteIdent(o.Database), quoteIdent(t.Name), onCluster(o), quoteIdent(o.Database), quoteIdent(t.LocalName(o)),
			quoteIdent(o.Cluster), quoteIdent(o.Database), quoteIdent(t.LocalName(o)), key))
	}
	return out
}

// Statements renders CREATE MATERIALIZED VIEW. In cluster mode the view reads
// and writes the local tables of its shard.
func (m View) Statements(o RenderOptions) []string {
	to := m.To
	if o.Cluster != "" {
		to += "_local"
	}
	return []string{fmt.Sprintf("CREATE MATERIALIZED VIEW IF NOT EXISTS %s.%s%s TO %s.%s AS\n%s",
		quoteIdent(o.Database), quoteIdent(m.Name), onCluster(o), quoteIdent(o.Database), quoteIdent(to), m.Select(o))}
}

// Migration is one step of the schema's history. Migrations are applied in ID
// order, each once, and recorded in schema_migrations.
type Migration struct {
	ID      int
	Name    string
	Objects []Object
}

// Statements renders the migration for a server.
func (m Migration) Statements(o RenderOptions) []string {
	var out []string
	for _, obj := range m.Objects {
		out = append(out, obj.Statements(o)...)
	}
	return out
}
