package schema

import "fmt"

// Exception groups: every exception type a service has recorded (span
// events named "exception") or logged (records with an exception.type or
// exception.stacktrace attribute), with when it was first and last seen and
// how often. Two materialized views fill it from every insert into spans
// and logs; an AggregatingMergeTree merges a group's rows. It is not
// partitioned, so retention keeps it: a type seen a month ago is not new
// today although its spans are gone. It holds one row per group (after
// merges), so reading all of it is cheap; the exceptions list reads it to
// mark the groups first seen within its range.
//
// The views see only what is inserted after they exist: in a database
// upgraded to them, the exceptions stored before are not in the table
// (chstore's ExceptionHistoryComplete says when it holds every stored one).

// ExceptionGroupsTable holds each exception group's first and last time.
var ExceptionGroupsTable = Table{
	Name: "exception_groups",
	Doc:  "Exception types per service and source, aggregated at insert from spans and logs by the views exception_groups_spans_mv and exception_groups_logs_mv: when each was first and last seen, how often. Not partitioned: kept past retention. Read with -Merge, grouped by service_name, service_namespace, type, source. Covers exceptions inserted after migration 8.",
	Columns: []Column{
		{Name: "service_namespace", Type: "String", LowCard: true, Doc: "service.namespace"},
		{Name: "service_name", Type: "String", LowCard: true, Doc: "service.name"},
		{Name: "type", Type: "String", Doc: "exception.type (empty when not given)"},
		{Name: "source", Type: "String", LowCard: true, Doc: "span (a span event) or log (a log record)"},
		{Name: "first_seen", Type: "AggregateFunction(min, UInt64)", Doc: "earliest occurrence, Unix nanoseconds (minMerge to read)"},
		{Name: "last_seen", Type: "AggregateFunction(max, UInt64)", Doc: "latest occurrence, Unix nanoseconds (maxMerge to read)"},
		{Name: "occurrences", Type: "AggregateFunction(count)", Doc: "occurrences (countMerge to read)"},
	},
	Engine:   "AggregatingMergeTree",
	OrderBy:  "(service_name, type, source, service_namespace)",
	ShardKey: "cityHash64(service_name, type)",
}

// Where an exception's type is, per source: a span event's attributes are
// stored as one JSON object (ev_attrs), a record's as parallel arrays.
const (
	SpanExceptionType = "visitParamExtractString(ev_attrs, 'exception.type')"
	LogExceptionType  = "attr_values[indexOf(attr_keys, 'exception.type')]"
	// LogHasException is the condition a log record meets when it tells of
	// an exception.
	LogHasException = "(has(attr_keys, 'exception.type') OR has(attr_keys, 'exception.stacktrace'))"
)

// ExceptionGroupsSelect is the SELECT that groups the exceptions of source
// ("span": events of the spans table; "log": records of the logs table)
// as exception_groups' columns, in order. table is the source table's name
// in the database (the shard's local table for a view), where, when given,
// a further condition over its columns. The views insert what it gives;
// a backfill inserts it for the rows stored before them.
func ExceptionGroupsSelect(o RenderOptions, source, table, where string) string {
	from := quoteIdent(o.Database) + "." + quoteIdent(table)
	typ, at, cond := SpanExceptionType, "ev_time", "ev_name = 'exception'"
	if source == "span" {
		from += "\nARRAY JOIN event_names AS ev_name, event_attrs AS ev_attrs, event_time_unix_nano AS ev_time"
	} else {
		typ, at, cond = LogExceptionType, "time_unix_nano", LogHasException
	}
	if where != "" {
		cond += " AND " + where
	}
	// CAST: on servers with LowCardinality the source's service columns
	// are LowCardinality(String), as the table's are; the type is a plain
	// String in both.
	return fmt.Sprintf(`SELECT
    service_namespace,
    service_name,
    CAST(%s AS String) AS type,
    '%s' AS source,
    minState(%s) AS first_seen,
    maxState(%s) AS last_seen,
    countState() AS occurrences
FROM %s
WHERE %s
GROUP BY service_namespace, service_name, type`, typ, source, at, at, from, cond)
}

// ExceptionGroupBackfillsTable records that `meshscope backfill
// exception-groups` added the exceptions stored before exception_groups
// existed, in a database upgraded to it.
var ExceptionGroupBackfillsTable = Table{
	Name: "exception_group_backfills",
	Doc:  "One row per completed `meshscope backfill exception-groups`: exception_groups then holds the exceptions stored before upto (its migration's time) too.",
	Columns: []Column{
		{Name: "upto", Type: "DateTime", Doc: "the exceptions stored before this time were added (exception_groups' migration)"},
		{Name: "backfilled_at", Type: "DateTime", Doc: "when"},
	},
	Engine:  "MergeTree",
	OrderBy: "upto",
}

// ExceptionGroupsMigration is the id of the migration that creates
// exception_groups; its applied_at is where the table's coverage starts.
const ExceptionGroupsMigration = 8

// ExceptionGroupBackfillsMigration creates exception_group_backfills.
const ExceptionGroupBackfillsMigration = 9

func init() {
	Register(Migration{ID: ExceptionGroupsMigration, Name: "exception groups", Objects: []Object{
		ExceptionGroupsTable,
		View{Name: "exception_groups_spans_mv", To: ExceptionGroupsTable.Name,
			Doc: "The exception events of spans, per service and exception.type.",
			Select: func(o RenderOptions) string {
				return ExceptionGroupsSelect(o, "span", SpansTable.LocalName(o), "")
			}},
		View{Name: "exception_groups_logs_mv", To: ExceptionGroupsTable.Name,
			Doc: "The log records with exception attributes, per service and exception.type.",
			Select: func(o RenderOptions) string {
				return ExceptionGroupsSelect(o, "log", LogsTable.LocalName(o), "")
			}},
	}})
	Register(Migration{ID: ExceptionGroupBackfillsMigration, Name: "exception group backfills", Objects: []Object{ExceptionGroupBackfillsTable}})
}
