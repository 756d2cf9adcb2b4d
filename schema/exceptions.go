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
	Register(Migration{ID: ExceptionGroupsMigration, Name: "exception groups", Objects: exceptionViews(ExceptionGroupsTable, "exception_groups",
		"The exception events of spans, per service and exception.type.",
		"The log records with exception attributes, per service and exception.type.",
		func(o RenderOptions, source, table string) string { return ExceptionGroupsSelect(o, source, table, "") })})
	Register(Migration{ID: ExceptionGroupBackfillsMigration, Name: "exception group backfills", Objects: []Object{ExceptionGroupBackfillsTable}})
}

// Exceptions: one row per exception, copied at insert from spans (each
// event named "exception") and logs (each record with exception
// attributes) by two materialized views, so that the exceptions list reads
// the exceptions of a range alone instead of every span's events (as
// SigNoz's error index does). Partitioned by day like its sources, and
// dropped with them by retention.
//
// Like exception_groups, the views see only what is inserted after they
// exist: in a database upgraded to them, ranges that start before the
// migration are read from the spans and logs (chstore's ExceptionsSince).

// ExceptionsTable holds every exception of the spans and logs.
var ExceptionsTable = Table{
	Name: "exceptions",
	Doc:  "One row per exception: span events named exception (source span) and log records with exception attributes (source log), copied at insert by the views exceptions_spans_mv and exceptions_logs_mv. Covers exceptions inserted after migration 10.",
	Columns: []Column{
		{Name: "timestamp", Type: "DateTime", Codec: "Delta, ZSTD(1)", Doc: "the span's start or the record's time, seconds (as the source table's timestamp)"},
		{Name: "time_unix_nano", Type: "UInt64", Doc: "when it happened (the event's time, the record's), nanoseconds"},
		{Name: "service_namespace", Type: "String", LowCard: true, Doc: "service.namespace"},
		{Name: "service_name", Type: "String", LowCard: true, Doc: "service.name"},
		{Name: "service_version", Type: "String", LowCard: true, Doc: "service.version (of the span's or the record's resource)"},
		{Name: "source", Type: "String", LowCard: true, Doc: "span (a span event) or log (a log record)"},
		{Name: "type", Type: "String", Doc: "exception.type (empty when not given)"},
		{Name: "message", Type: "String", Doc: "exception.message (a record without one: its body)"},
		{Name: "stacktrace", Type: "String", Doc: "exception.stacktrace"},
		{Name: "attrs", Type: "String", Doc: "a span event's attributes as a JSON object (empty for a record)"},
		{Name: "trace_id", Type: "FixedString(16)", Doc: "binary trace id"},
		{Name: "span_id", Type: "FixedString(8)", Doc: "binary span id"},
		{Name: "span_name", Type: "String", LowCard: true, Doc: "the span's name (empty for a record)"},
	},
	Engine:      "MergeTree",
	PartitionBy: "toDate(timestamp)",
	OrderBy:     "(service_name, type, timestamp)",
	ShardKey:    "cityHash64(trace_id)",
}

// A logged exception's message (the body when it has no
// exception.message) and stack trace.
const (
	LogExceptionMessage = "if(has(attr_keys, 'exception.message'), attr_values[indexOf(attr_keys, 'exception.message')], body)"
	LogExceptionStack   = "attr_values[indexOf(attr_keys, 'exception.stacktrace')]"
)

// ExceptionsSelect is the SELECT that gives the exceptions of source
// ("span": events of the spans table; "log": records of the logs table)
// as the exceptions table's columns, in order. table is the source table's
// name in the database (the shard's local table for a view), where, when
// given, a further condition over its columns. The views insert what it
// gives; the exceptions list reads it for ranges the table does not cover.
func ExceptionsSelect(o RenderOptions, source, table, where string) string {
	from := quoteIdent(o.Database) + "." + quoteIdent(table)
	if where != "" {
		where = " AND " + where
	}
	if source == "span" {
		return fmt.Sprintf(`SELECT
    timestamp,
    ev_time AS time_unix_nano,
    service_namespace,
    service_name,
    service_version,
    'span' AS source,
    CAST(%s AS String) AS type,
    visitParamExtractString(ev_attrs, 'exception.message') AS message,
    visitParamExtractString(ev_attrs, 'exception.stacktrace') AS stacktrace,
    ev_attrs AS attrs,
    trace_id,
    span_id,
    name AS span_name
FROM %s
ARRAY JOIN event_names AS ev_name, event_attrs AS ev_attrs, event_time_unix_nano AS ev_time
WHERE ev_name = 'exception'%s`, SpanExceptionType, from, where)
	}
	return fmt.Sprintf(`SELECT
    timestamp,
    time_unix_nano,
    service_namespace,
    service_name,
    resource_values[indexOf(resource_keys, 'service.version')] AS service_version,
    'log' AS source,
    CAST(%s AS String) AS type,
    %s AS message,
    %s AS stacktrace,
    '' AS attrs,
    trace_id,
    span_id,
    '' AS span_name
FROM %s
WHERE %s%s`, LogExceptionType, LogExceptionMessage, LogExceptionStack, from, LogHasException, where)
}

// ExceptionsMigration creates exceptions; its applied_at is where the
// table's coverage starts.
const ExceptionsMigration = 10

// ExceptionBackfillsTable records the days whose exceptions partition
// `meshscope backfill exceptions` rebuilt from their spans and logs.
var ExceptionBackfillsTable = Table{
	Name: "exception_backfills",
	Doc:  "One row per day whose exceptions partition was rebuilt from its spans and logs (meshscope backfill exceptions); the exceptions list reads the table for such days too.",
	Columns: []Column{
		{Name: "day", Type: "Date", Doc: "the day rebuilt (UTC)"},
		{Name: "exceptions", Type: "UInt64", Doc: "exceptions of the day copied"},
		{Name: "backfilled_at", Type: "DateTime", Doc: "when"},
	},
	Engine:  "MergeTree",
	OrderBy: "day",
}

// ExceptionBackfillsMigration creates exception_backfills.
const ExceptionBackfillsMigration = 11

func init() {
	Register(Migration{ID: ExceptionsMigration, Name: "exceptions", Objects: exceptionViews(ExceptionsTable, "exceptions",
		"Each span event named exception.", "Each log record with exception attributes.",
		func(o RenderOptions, source, table string) string { return ExceptionsSelect(o, source, table, "") })})
	Register(Migration{ID: ExceptionBackfillsMigration, Name: "exception backfills", Objects: []Object{ExceptionBackfillsTable}})
}

// exceptionViews are table and the two materialized views that fill it
// from the exceptions of spans and of logs (NAME_spans_mv, NAME_logs_mv),
// with the SELECT sel renders for a source and its table.
func exceptionViews(to Table, name, spansDoc, logsDoc string, sel func(o RenderOptions, source, table string) string) []Object {
	return []Object{
		to,
		View{Name: name + "_spans_mv", To: to.Name, Doc: spansDoc,
			Select: func(o RenderOptions) string { return sel(o, "span", SpansTable.LocalName(o)) }},
		View{Name: name + "_logs_mv", To: to.Name, Doc: logsDoc,
			Select: func(o RenderOptions) string { return sel(o, "log", LogsTable.LocalName(o)) }},
	}
}
