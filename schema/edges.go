package schema

import (
	"fmt"
	"strings"
)

// Edge aggregates, written by the graph builder (graph/). Each row holds the
// calls between two parties, stored at their finest level so that any
// granularity (service, workload, version) is a GROUP BY away, over one time
// bucket.
//
// edges_10s is a plain MergeTree: every meshscope replica inserts its own
// partial rows for a bucket and readers sum them. Two materialized views roll
// every insert up into edges_1m and edges_1h, AggregatingMergeTree tables read
// with sumMerge, groupBitOrMerge and sumForEachMerge. On 18.16 a
// SummingMergeTree would keep one row's latency array instead of adding them;
// sumForEachState/sumForEachMerge add element-wise, also for arrays of
// different lengths (trailing zero buckets may be omitted by writers).

// edgeDims are the key columns of every edges_* table.
var edgeDims = func() []Column {
	var out []Column
	for _, side := range []struct{ prefix, who string }{{"source", "caller"}, {"destination", "callee"}} {
		out = append(out,
			Column{Name: side.prefix + "_kind", Type: "String", LowCard: true, Doc: side.who + " node kind: service, external, database, messaging or client"},
			Column{Name: side.prefix + "_cluster", Type: "String", LowCard: true, Doc: side.who + " cluster, empty when unknown"},
			Column{Name: side.prefix + "_namespace", Type: "String", LowCard: true, Doc: side.who + " namespace, empty when unknown"},
			Column{Name: side.prefix + "_name", Type: "String", LowCard: true, Doc: side.who + " service name; host (external), SYSTEM/NAME (database), SYSTEM/DESTINATION (messaging)"},
			Column{Name: side.prefix + "_workload", Type: "String", LowCard: true, Doc: side.who + " workload, empty when unknown"},
			Column{Name: side.prefix + "_version", Type: "String", LowCard: true, Doc: side.who + " version, empty when unknown"},
		)
	}
	return append(out, Column{Name: "protocol", Type: "String", LowCard: true, Doc: "http, grpc, tcp, db, messaging or unknown"})
}()

// edgeMeasure is a measure column with its aggregate function in rollups.
type edgeMeasure struct {
	Column
	// Agg is the aggregate function that merges the measure ("sum", "groupBitOr", "sumForEach").
	Agg string
}

var edgeMeasures = []edgeMeasure{
	{Column{Name: "provenance", Type: "UInt8", Doc: "inputs that saw the calls, a bitmask: 1 span, 2 access log, 4 metric"}, "groupBitOr"},
	{Column{Name: "reporters", Type: "UInt8", Doc: "reporters of the calls, a bitmask: 1 unknown, 2 source, 4 destination"}, "groupBitOr"},
	{Column{Name: "requests", Type: "UInt64", Doc: "calls; 0 in a row of bytes alone (a metric's TCP bytes while no new connection opened)"}, "sum"},
	{Column{Name: "errors", Type: "UInt64", Doc: "failed calls, by meshscope's one error rule"}, "sum"},
	{Column{Name: "latency", Type: "Array(UInt64)", Doc: "latency histogram: bucket i counts calls in (1µs·2^((i-1)/4), 1µs·2^(i/4)], 128 buckets; trailing empty buckets may be omitted"}, "sumForEach"},
	{Column{Name: "latency_sum_ns", Type: "UInt64", Doc: "sum of the latencies of the calls in latency, nanoseconds (mean = latency_sum_ns / arraySum(latency): calls of unknown latency count in requests only)"}, "sum"},
	{Column{Name: "bytes_sent", Type: "UInt64", Doc: "bytes the caller sent (requests)"}, "sum"},
	{Column{Name: "bytes_received", Type: "UInt64", Doc: "bytes the caller received (responses)"}, "sum"},
	{Column{Name: "mtls", Type: "UInt64", Doc: "calls known to be over mutual TLS"}, "sum"},
	{Column{Name: "plaintext", Type: "UInt64", Doc: "calls known not to be over mutual TLS"}, "sum"},
}

// edgeRollupOrder is the aggregation key of the rollups: every dimension.
var edgeRollupOrder = "(timestamp, destination_namespace, destination_name, source_namespace, source_name, " +
	"destination_kind, source_kind, destination_workload, destination_version, source_workload, source_version, " +
	"destination_cluster, source_cluster, protocol)"

// Edges10sTable holds the closed 10 second buckets flushed by graph builders.
var Edges10sTable = Table{
	Name: "edges_10s",
	Doc:  "Calls between two parties per 10 second bucket, one partial row per graph builder replica and flush; readers sum rows.",
	Columns: cols([]Column{
		{Name: "timestamp", Type: "DateTime", Codec: "Delta, ZSTD(1)", Doc: "bucket start, a multiple of 10 seconds"},
	}, edgeDims, func() []Column {
		out := make([]Column, len(edgeMeasures))
		for i, m := range edgeMeasures {
			out[i] = m.Column
		}
		return out
	}()),
	Engine:      "MergeTree",
	PartitionBy: "toDate(timestamp)",
	OrderBy:     "(timestamp, destination_namespace, destination_name, source_namespace, source_name)",
	ShardKey:    "cityHash64(destination_namespace, destination_name)",
}

func edgeRollupTable(name, doc, partition string) Table {
	measures := make([]Column, len(edgeMeasures))
	for i, m := range edgeMeasures {
		measures[i] = Column{
			Name: m.Name,
			Type: fmt.Sprintf("AggregateFunction(%s, %s)", m.Agg, m.Type),
			Doc:  m.Doc + " (" + m.Agg + "Merge to read)",
		}
	}
	return Table{
		Name: name,
		Doc:  doc,
		Columns: cols([]Column{
			{Name: "timestamp", Type: "DateTime", Codec: "Delta, ZSTD(1)", Doc: "bucket start"},
		}, edgeDims, measures),
		Engine:      "AggregatingMergeTree",
		PartitionBy: partition,
		OrderBy:     edgeRollupOrder,
		ShardKey:    "cityHash64(destination_namespace, destination_name)",
	}
}

// Edges1mTable is edges_10s rolled up per minute by a materialized view.
var Edges1mTable = edgeRollupTable("edges_1m",
	"Calls between two parties per minute, rolled up from edges_10s; read measures with their -Merge function.",
	"toDate(timestamp)")

// Edges1hTable is edges_10s rolled up per hour by a materialized view. It is
// partitioned by month, so day-based retention leaves it in place.
var Edges1hTable = edgeRollupTable("edges_1h",
	"Calls between two parties per hour, rolled up from edges_10s; read measures with their -Merge function. Partitioned by month.",
	"toYYYYMM(timestamp)")

// edgeRollup is a materialized view from edges_10s into a rollup table. Unlike
// View it knows its source table, so that in cluster mode it reads the shard's
// local table (where the Distributed table's inserts land).
type edgeRollup struct {
	Name   string
	Source Table
	To     Table
	// Bucket is the function that truncates timestamp to the rollup's bucket.
	Bucket string
}

// Statements renders CREATE MATERIALIZED VIEW ... TO ... AS SELECT.
func (r edgeRollup) Statements(o RenderOptions) []string {
	var sel strings.Builder
	fmt.Fprintf(&sel, "SELECT\n    %s(src.timestamp) AS timestamp", r.Bucket)
	for _, d := range edgeDims {
		fmt.Fprintf(&sel, ",\n    src.%s AS %s", d.Name, d.Name)
	}
	for _, m := range edgeMeasures {
		fmt.Fprintf(&sel, ",\n    %sState(src.%s) AS %s", m.Agg, m.Name, m.Name)
	}
	fmt.Fprintf(&sel, "\nFROM %s.%s AS src\nGROUP BY timestamp", quoteIdent(o.Database), quoteIdent(r.Source.LocalName(o)))
	for _, d := range edgeDims {
		sel.WriteString(", " + d.Name)
	}
	return []string{fmt.Sprintf("CREATE MATERIALIZED VIEW IF NOT EXISTS %s.%s%s TO %s.%s AS\n%s",
		quoteIdent(o.Database), quoteIdent(r.Name), onCluster(o), quoteIdent(o.Database), quoteIdent(r.To.LocalName(o)), sel.String())}
}

func init() {
	Register(Migration{ID: 2, Name: "edge aggregates", Objects: []Object{
		Edges10sTable, Edges1mTable, Edges1hTable,
		edgeRollup{Name: "edges_1m_mv", Source: Edges10sTable, To: Edges1mTable, Bucket: "toStartOfMinute"},
		edgeRollup{Name: "edges_1h_mv", Source: Edges10sTable, To: Edges1hTable, Bucket: "toStartOfHour"},
	}})
}
