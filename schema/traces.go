package schema

import (
	"fmt"
	"strings"
)

// Trace summaries: the spans table pre-aggregated by (second, trace), so that
// a trace search over a time range merges one row per trace and second
// instead of grouping every span of the range (query/traces.go). A
// materialized view fills trace_summaries from every insert into spans; an
// AggregatingMergeTree then merges the rows of a trace and second that
// different inserts wrote. Reading a range of whole seconds from it gives
// exactly what grouping the range's spans by trace gives.
//
// The view sees only what is inserted after it exists: spans stored before
// migration 5 ran are not summarised. In a database created with it (the
// core tables' migration recorded in the same pass) that is none; in one
// upgraded to it, readers use the table for ranges that start at or after
// that migration's applied_at (schema_migrations) and group spans for
// earlier ones, until retention has dropped the days before it, or until
// `meshscope backfill trace-summaries` has rebuilt them (a day's partition
// replaced whole by one computed from its spans, so that the view's rows
// of late spans are not counted twice; recorded in
// trace_summary_backfills).

// traceRootOrder orders a trace's spans for naming it: a root span (no
// parent) first, then the earliest. A trace whose root was not stored is
// named after its earliest span.
const traceRootOrder = "(src.parent_span_id != unhex('0000000000000000'), src.start_time_unix_nano)"

// traceMeasure is a column of trace_summaries with the expression over a
// span (src) that its -State aggregates.
type traceMeasure struct {
	Column
	// Agg is the aggregate function, State is its argument list over src.
	Agg, State string
}

var traceMeasures = []traceMeasure{
	{Column{Name: "start_unix_nano", Type: "AggregateFunction(min, UInt64)", Doc: "earliest span start, nanoseconds (minMerge to read)"},
		"min", "src.start_time_unix_nano"},
	{Column{Name: "end_unix_nano", Type: "AggregateFunction(max, UInt64)", Doc: "latest span end, nanoseconds (maxMerge to read)"},
		"max", "src.start_time_unix_nano + src.duration_ns"},
	{Column{Name: "spans", Type: "AggregateFunction(count)", Doc: "spans (countMerge to read)"},
		"count", ""},
	{Column{Name: "errors", Type: "AggregateFunction(sum, UInt64)", Doc: "spans with status error (sumMerge to read)"},
		"sum", fmt.Sprintf("toUInt64(src.status_code = %d)", StatusError)},
	// CAST: on servers with LowCardinality the span columns are
	// LowCardinality(String), whose state type would differ from String's.
	{Column{Name: "root_service", Type: "AggregateFunction(argMin, String, Tuple(UInt8, UInt64))", Doc: "service of the root span, else of the earliest (argMinMerge to read)"},
		"argMin", "CAST(src.service_name AS String), " + traceRootOrder},
	{Column{Name: "root_name", Type: "AggregateFunction(argMin, String, Tuple(UInt8, UInt64))", Doc: "name of the root span, else of the earliest (argMinMerge to read)"},
		"argMin", "CAST(src.name AS String), " + traceRootOrder},
}

// TraceSummariesTable holds the spans of each trace and second, aggregated.
var TraceSummariesTable = Table{
	Name: "trace_summaries",
	Doc:  "Spans per trace and second (span start), aggregated at insert from spans by the view trace_summaries_mv; read measures with their -Merge function, grouped by trace_id. Covers spans inserted after migration 5.",
	Columns: cols([]Column{
		{Name: "timestamp", Type: "DateTime", Codec: "Delta, ZSTD(1)", Doc: "span start, seconds"},
		{Name: "trace_id", Type: "FixedString(16)", Doc: "binary trace id"},
	}, func() []Column {
		out := make([]Column, len(traceMeasures))
		for i, m := range traceMeasures {
			out[i] = m.Column
		}
		return out
	}()),
	Engine:      "AggregatingMergeTree",
	PartitionBy: "toDate(timestamp)",
	OrderBy:     "(timestamp, trace_id)",
	ShardKey:    "cityHash64(trace_id)",
}

// traceSummaryView fills trace_summaries from spans. In cluster mode it reads
// the shard's spans_local (where the Distributed table's inserts land; spans
// are sharded by trace, so a trace's rows stay on one shard).
type traceSummaryView struct {
	Name string
	To   Table
}

// Statements renders CREATE MATERIALIZED VIEW ... TO trace_summaries.
func (v traceSummaryView) Statements(o RenderOptions) []string {
	return []string{fmt.Sprintf("CREATE MATERIALIZED VIEW IF NOT EXISTS %s.%s%s TO %s.%s AS\n%s",
		quoteIdent(o.Database), quoteIdent(v.Name), onCluster(o),
		quoteIdent(o.Database), quoteIdent(v.To.LocalName(o)), TraceSummariesSelect(o, ""))}
}

// TraceSummariesSelect is the view's SELECT: the spans (of where, a
// condition over src, when given) summarised per second and trace, as
// trace_summaries' columns in order. A backfill inserts what it gives.
func TraceSummariesSelect(o RenderOptions, where string) string {
	var sel strings.Builder
	sel.WriteString("SELECT\n    src.timestamp AS timestamp,\n    src.trace_id AS trace_id")
	for _, m := range traceMeasures {
		fmt.Fprintf(&sel, ",\n    %sState(%s) AS %s", m.Agg, m.State, m.Name)
	}
	fmt.Fprintf(&sel, "\nFROM %s.%s AS src", quoteIdent(o.Database), quoteIdent(SpansTable.LocalName(o)))
	if where != "" {
		sel.WriteString("\nWHERE " + where)
	}
	sel.WriteString("\nGROUP BY timestamp, trace_id")
	return sel.String()
}

// TraceSummaryBackfillsTable records the days whose trace_summaries
// partition `meshscope backfill trace-summaries` rebuilt from spans (days
// before the summaries existed, in a database upgraded to them).
var TraceSummaryBackfillsTable = Table{
	Name: "trace_summary_backfills",
	Doc:  "One row per day whose trace_summaries partition was rebuilt from spans (meshscope backfill trace-summaries); searches read the summaries for such days too.",
	Columns: []Column{
		{Name: "day", Type: "Date", Doc: "the day rebuilt (UTC)"},
		{Name: "spans", Type: "UInt64", Doc: "spans of the day summarised"},
		{Name: "backfilled_at", Type: "DateTime", Doc: "when"},
	},
	Engine:  "MergeTree",
	OrderBy: "day",
}

// TraceSummariesView is the materialized view that fills trace_summaries.
const TraceSummariesView = "trace_summaries_mv"

// TraceSummariesMigration is the id of the migration that creates
// trace_summaries; its applied_at is where the table's coverage starts.
const TraceSummariesMigration = 5

// TraceSummaryBackfillsMigration creates trace_summary_backfills.
const TraceSummaryBackfillsMigration = 7

func init() {
	Register(Migration{ID: TraceSummariesMigration, Name: "trace summaries", Objects: []Object{
		TraceSummariesTable, traceSummaryView{Name: TraceSummariesView, To: TraceSummariesTable},
	}})
	Register(Migration{ID: TraceSummaryBackfillsMigration, Name: "trace summary backfills", Objects: []Object{TraceSummaryBackfillsTable}})
}
