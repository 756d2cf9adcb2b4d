package query

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
)

// exceptionBuckets is how many counts a group's trend has over the range.
const exceptionBuckets = 30

// exceptionJSON is one entry of GET /api/v1/exceptions: the exceptions of
// one type that one service (of one namespace) recorded, from one source: "span" (span events
// named "exception", as OpenTelemetry's semantic conventions record them)
// or "log" (log records with exception attributes, as its log bridges
// write a logged exception), with the latest one's message, stack trace
// and span. The two sources are kept apart: an exception a span recorded
// is often logged as well.
type exceptionJSON struct {
	Service    string    `json:"service"`
	Namespace  string    `json:"namespace"`
	Type       string    `json:"type"`
	Source     string    `json:"source"`
	Count      uint64    `json:"count"`
	Messages   uint64    `json:"messages"` // distinct messages
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
	Message    string    `json:"message"`
	Stacktrace string    `json:"stacktrace"`
	Escaped    bool      `json:"escaped"`
	TraceID    string    `json:"trace_id"`
	SpanID     string    `json:"span_id"`
	SpanName   string    `json:"span_name"`
	Trend      []uint64  `json:"trend"`
	// New: the group was first seen within the range, as far back as
	// meshscope has stored exceptions (exception_groups); EverSeen is
	// when that was. Both only when that history is complete.
	New      bool       `json:"new"`
	EverSeen *time.Time `json:"first_seen_ever,omitempty"`
	// Versions are the service versions (service.version) the group's
	// exceptions came from, with their counts, the most first: a canary's
	// own exceptions stand out. Occurrences without a version are left out.
	Versions []exceptionVersion `json:"versions"`
}

// exceptionVersion is one service version of an exception group.
type exceptionVersion struct {
	Version string `json:"version"`
	Count   uint64 `json:"count"`
}

// exceptionEvent is the attributes of an exception event that the list
// shows, decoded from the stored JSON object.
type exceptionEvent struct {
	Message    string `json:"exception.message"`
	Stacktrace string `json:"exception.stacktrace"`
	Escaped    any    `json:"exception.escaped"`
}

// exceptionFilters are the WHERE conditions (and their arguments) the
// request's filters add to a source's query; the query names the
// exception's type ex_type and service version version, and the text q
// searches text. newSince, when
// not zero, keeps the groups first seen since then (new=true).
func exceptionFilters(c echo.Context, source, text string, newSince time.Time) ([]string, []any) {
	var where []string
	var args []any
	if v := c.QueryParam("service"); v != "" {
		where, args = append(where, "service_name = ?"), append(args, v)
	}
	if v := c.QueryParam("namespace"); v != "" {
		where, args = append(where, "service_namespace = ?"), append(args, v)
	}
	if v := c.QueryParam("type"); v != "" {
		where, args = append(where, "ex_type = ?"), append(args, v)
	}
	if v := c.QueryParam("version"); v != "" {
		where, args = append(where, "version = ?"), append(args, v)
	}
	if v := c.QueryParam("q"); v != "" {
		where, args = append(where, "positionCaseInsensitiveUTF8("+text+", ?) > 0"), append(args, v)
	}
	if !newSince.IsZero() {
		// GLOBAL: on a cluster the subquery over the Distributed table
		// runs once, its answer sent to every shard.
		where = append(where, `(service_name, service_namespace, ex_type) GLOBAL IN (
    SELECT service_name, service_namespace, type FROM `+schema.ExceptionGroupsTable.Name+`
    WHERE source = ? GROUP BY service_name, service_namespace, type HAVING minMerge(first_seen) >= ?)`)
		args = append(args, source, uint64(newSince.UnixNano()))
	}
	return where, args
}

// exceptionHistory is when each group of the list was first seen
// (exception_groups), keyed by service, namespace, type and source.
func (s *Server) exceptionHistory(ctx context.Context, groups []exceptionJSON) (map[[4]string]time.Time, error) {
	services := map[string]bool{}
	var args []any
	for _, e := range groups {
		if !services[e.Service] {
			services[e.Service] = true
			args = append(args, e.Service)
		}
	}
	out := map[[4]string]time.Time{}
	if len(args) == 0 {
		return out, nil
	}
	err := s.scanAll(ctx, func(scan func(...any) error) error {
		var svc, ns, typ, source string
		var first uint64
		if err := scan(&svc, &ns, &typ, &source, &first); err != nil {
			return err
		}
		out[[4]string{svc, ns, typ, source}] = time.Unix(0, int64(first)).UTC()
		return nil
	}, `SELECT service_name, service_namespace, type, source, minMerge(first_seen) FROM `+schema.ExceptionGroupsTable.Name+`
WHERE service_name IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")+`)
GROUP BY service_name, service_namespace, type, source`, args...)
	return out, err
}

// A logged exception's type, message (the body when it has no
// exception.message) and stack trace.
const (
	logType    = schema.LogExceptionType
	logMessage = schema.LogExceptionMessage
	logStack   = schema.LogExceptionStack
)

// spanText is the text q searches in a recorded exception: its attributes
// as strings, unescaped from the stored JSON, so that quotes, backslashes
// and the newlines and tabs of a stack trace are found as typed.
const spanText = "concat(ex_type, ' ', visitParamExtractString(ev_attrs, 'exception.message'), ' ', " +
	"visitParamExtractString(ev_attrs, 'exception.stacktrace'))"

// Both sources' queries answer the same columns: service, type, count,
// distinct messages, first and last time (ns), the latest one's message,
// stack trace, event attributes (JSON, spans only), trace, span and span
// name, the trend (sumMap of the events' buckets: at most
// exceptionBuckets entries a group, whatever its count) and the counts by
// service version. Each source's inner query (spanExceptionsByVersion,
// logExceptionsByVersion) aggregates by service, type and version into
// states that exceptionsSQL merges by service and type: sumMap takes no
// String keys on ClickHouse 18.16, so the versions' counts are the inner
// groups' own. Their arguments: the range's start (ms) and a bucket's
// width (ms), the range in seconds, the filters', the limit.
const (
	exceptionsSQL = `
SELECT service_name, service_namespace, ex_type, n, messages, first, last, message, stack, attrs, trace, span, span_name, trend.1, trend.2, versions, version_counts
FROM (
  SELECT service_name, service_namespace, ex_type, sum(vn) AS n, uniqExactMerge(msgs) AS messages, min(vfirst) AS first, max(vlast) AS last,
         argMaxMerge(vmessage) AS message, argMaxMerge(vstack) AS stack, argMaxMerge(vattrs) AS attrs,
         argMaxMerge(vtrace) AS trace, argMaxMerge(vspan) AS span, argMaxMerge(vname) AS span_name,
         sumMapMerge(vtrend) AS trend, groupArray(version) AS versions, groupArray(vn) AS version_counts
  FROM (%s)
  GROUP BY service_name, service_namespace, ex_type
  ORDER BY n DESC, service_name, service_namespace, ex_type
  LIMIT ?
)`
	// spanExceptionsByVersion reads the span events named "exception": one
	// row per event (ARRAY JOIN over the span's parallel event arrays;
	// spans without events give none), between the spans' start times.
	spanExceptionsByVersion = `
    SELECT service_name, service_namespace, ` + schema.SpanExceptionType + ` AS ex_type, CAST(service_version AS String) AS version, count() AS vn,
           uniqExactState(visitParamExtractString(ev_attrs, 'exception.message')) AS msgs, min(ev_time) AS vfirst, max(ev_time) AS vlast,
           argMaxState('', ev_time) AS vmessage, argMaxState('', ev_time) AS vstack, argMaxState(ev_attrs, ev_time) AS vattrs,
           argMaxState(trace_id, ev_time) AS vtrace, argMaxState(span_id, ev_time) AS vspan, argMaxState(CAST(name AS String), ev_time) AS vname,
           sumMapState([toInt32(intDiv(toInt64(intDiv(ev_time, 1000000)) - ?, ?))], [toUInt64(1)]) AS vtrend
    FROM spans
    ARRAY JOIN event_names AS ev_name, event_attrs AS ev_attrs, event_time_unix_nano AS ev_time
    WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND ev_name = 'exception' %s
    GROUP BY service_name, service_namespace, ex_type, version`
	// logExceptionsByVersion reads the log records with an exception.type
	// or exception.stacktrace attribute (logType, logMessage, logStack).
	logExceptionsByVersion = `
    SELECT service_name, service_namespace, ` + logType + ` AS ex_type, resource_values[indexOf(resource_keys, 'service.version')] AS version, count() AS vn,
           uniqExactState(` + logMessage + `) AS msgs, min(time_unix_nano) AS vfirst, max(time_unix_nano) AS vlast,
           argMaxState(` + logMessage + `, time_unix_nano) AS vmessage, argMaxState(` + logStack + `, time_unix_nano) AS vstack,
           argMaxState('', time_unix_nano) AS vattrs, argMaxState(trace_id, time_unix_nano) AS vtrace, argMaxState(span_id, time_unix_nano) AS vspan,
           argMaxState('', time_unix_nano) AS vname,
           sumMapState([toInt32(intDiv(toInt64(intDiv(time_unix_nano, 1000000)) - ?, ?))], [toUInt64(1)]) AS vtrend
    FROM logs
    WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND ` + schema.LogHasException + ` %s
    GROUP BY service_name, service_namespace, ex_type, version`
	tableText = "concat(type, ' ', message, ' ', stacktrace)"
)

var (
	// tableExceptionsByVersion reads one source's rows of the exceptions
	// table (the source a %s, quoted, then the filters'), which holds what
	// the two above find, copied at insert: the same columns from the
	// exceptions alone, but the latest one's stack trace and attributes,
	// which latestStacks reads for the groups listed only (the two widest
	// columns: a Java stack trace is kilobytes, and a week of exceptions
	// read them for every row). Its text to search is tableText.
	tableExceptionsByVersion = `
    SELECT service_name, service_namespace, type AS ex_type, CAST(service_version AS String) AS version, count() AS vn,
           uniqExactState(message) AS msgs, min(time_unix_nano) AS vfirst, max(time_unix_nano) AS vlast,
           argMaxState(message, time_unix_nano) AS vmessage, argMaxState('', time_unix_nano) AS vstack, argMaxState('', time_unix_nano) AS vattrs,
           argMaxState(trace_id, time_unix_nano) AS vtrace, argMaxState(span_id, time_unix_nano) AS vspan, argMaxState(CAST(span_name AS String), time_unix_nano) AS vname,
           sumMapState([toInt32(intDiv(toInt64(intDiv(time_unix_nano, 1000000)) - ?, ?))], [toUInt64(1)]) AS vtrend
    FROM ` + schema.ExceptionsTable.Name + `
    WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND source = %s %%s
    GROUP BY service_name, service_namespace, ex_type, version`
)

// GET /api/v1/exceptions: the exceptions spans recorded and logs told,
// grouped by service, namespace, exception type and source, the most frequent first;
// each group with its count, distinct messages, first and last time, a
// trend of counts over the range, and its latest occurrence's message,
// stack trace and span (whose trace the UI opens). Filters: service,
// namespace, type, version (service.version), source (span or log), q
// (text in the type, message or stack trace), and new (only the groups
// first seen within the range).
func (s *Server) listExceptions(c echo.Context) error {
	from, to, limit, err := s.rowsParams(c)
	if err != nil {
		return err
	}
	onlyNew, err := boolParam(c, "new")
	if err != nil {
		return err
	}
	sources := []string{"span", "log"}
	switch v := c.QueryParam("source"); v {
	case "":
	case "span", "log":
		sources = []string{v}
	default:
		return badParam("source", "source is span or log, got %q", v)
	}
	bucket := max(to.Sub(from)/exceptionBuckets, time.Millisecond)
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	// Which groups are new is known once exception_groups holds every
	// stored exception.
	known, since, err := s.deps.Store.ExceptionHistoryComplete(ctx)
	if err != nil {
		return err
	}
	var newSince time.Time
	if onlyNew {
		if !known {
			return badParam("new", "which exceptions are new is not known yet: exception history starts at %s (the upgrade that added it); "+
				"meshscope backfill exception-groups adds the exceptions stored before it", since.Format(time.RFC3339))
		}
		newSince = from
	}

	fromTable, err := s.exceptionsFromTable(ctx, from)
	if err != nil {
		return err
	}

	out := []exceptionJSON{}
	for _, source := range sources {
		listed := len(out)
		inner, text := spanExceptionsByVersion, spanText
		switch {
		case fromTable:
			inner, text = fmt.Sprintf(tableExceptionsByVersion, "'"+source+"'"), tableText
		case source == "log":
			inner, text = logExceptionsByVersion, "concat("+logType+", ' ', "+logMessage+", ' ', "+logStack+")"
		}
		where, fargs := exceptionFilters(c, source, text, newSince)
		cond := ""
		if len(where) > 0 {
			cond = "AND " + strings.Join(where, " AND ")
		}
		args := append([]any{from.UnixMilli(), bucket.Milliseconds(), from.Unix(), to.Unix()}, fargs...)
		err = s.scanAll(ctx, func(scan func(...any) error) error {
			e := exceptionJSON{Source: source}
			var (
				first, last            uint64
				attrs, traceID, spanID string
				buckets                []int32
				counts                 []uint64
				versions               []string
				versionCounts          []uint64
			)
			if err := scan(&e.Service, &e.Namespace, &e.Type, &e.Count, &e.Messages, &first, &last, &e.Message, &e.Stacktrace, &attrs,
				&traceID, &spanID, &e.SpanName, &buckets, &counts, &versions, &versionCounts); err != nil {
				return err
			}
			e.Versions = []exceptionVersion{}
			for i, v := range versions {
				if v != "" && i < len(versionCounts) {
					e.Versions = append(e.Versions, exceptionVersion{v, versionCounts[i]})
				}
			}
			slices.SortFunc(e.Versions, func(a, b exceptionVersion) int {
				return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Version, b.Version))
			})
			e.FirstSeen, e.LastSeen = time.Unix(0, int64(first)).UTC(), time.Unix(0, int64(last)).UTC()
			e.TraceID, e.SpanID = hexID(traceID), hexID(spanID)
			var ev exceptionEvent
			if attrs != "" && json.Unmarshal([]byte(attrs), &ev) == nil {
				e.Message, e.Stacktrace = ev.Message, ev.Stacktrace
				e.Escaped = ev.Escaped == true || ev.Escaped == "true"
			}
			// Events stamped after to (spans started before it) count in
			// the last bucket.
			e.Trend = make([]uint64, exceptionBuckets)
			for i, b := range buckets {
				if i < len(counts) {
					e.Trend[min(max(b, 0), exceptionBuckets-1)] += counts[i]
				}
			}
			out = append(out, e)
			return nil
		}, fmt.Sprintf(exceptionsSQL, fmt.Sprintf(inner, cond)), append(args, limit)...)
		if err != nil {
			return err
		}
		if fromTable {
			if err := s.latestStacks(ctx, source, from, to, out[listed:]); err != nil {
				return err
			}
		}
	}
	slices.SortStableFunc(out, func(a, b exceptionJSON) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Service, b.Service), cmp.Compare(a.Namespace, b.Namespace),
			cmp.Compare(a.Type, b.Type), cmp.Compare(a.Source, b.Source))
	})
	if len(out) > limit {
		out = out[:limit]
	}
	if known {
		first, err := s.exceptionHistory(ctx, out)
		if err != nil {
			return err
		}
		for i := range out {
			e := &out[i]
			if at, ok := first[[4]string{e.Service, e.Namespace, e.Type, e.Source}]; ok {
				e.EverSeen, e.New = &at, !at.Before(from)
			}
		}
	}
	return c.JSON(http.StatusOK, map[string]any{
		"exceptions": out, "from": from.UTC(), "to": to.UTC(), "bucket_seconds": bucket.Seconds(), "new_known": known,
	})
}

// latestStacks fills the stack trace and escaped of the groups' latest
// exceptions (one source's, listed from the exceptions table): the rows
// of their services, types and last times, found by a PREWHERE on those
// light columns, so that only their granules' stack traces are read.
func (s *Server) latestStacks(ctx context.Context, source string, from, to time.Time, groups []exceptionJSON) error {
	if len(groups) == 0 {
		return nil
	}
	type key struct {
		service, namespace, typ string
		at                      uint64
	}
	at := map[key]*exceptionJSON{}
	var tuples []string
	// The rows' timestamps are their spans' starts (or records' times),
	// which may be long before their exceptions: the list's own range
	// bounds them, not the groups' last times.
	for i := range groups {
		e := &groups[i]
		k := key{e.Service, e.Namespace, e.Type, uint64(e.LastSeen.UnixNano())}
		at[k] = e
		tuples = append(tuples, fmt.Sprintf("(%s, %s, %s, %d)", sqlString(k.service), sqlString(k.namespace), sqlString(k.typ), k.at))
	}
	return s.scanAll(ctx, func(scan func(...any) error) error {
		var k key
		var stack, escaped string
		if err := scan(&k.service, &k.namespace, &k.typ, &k.at, &stack, &escaped); err != nil {
			return err
		}
		if e := at[k]; e != nil {
			e.Stacktrace = stack
			e.Escaped = escaped == "true" || escaped == `"true"` // a JSON boolean, or a string as some SDKs write it
		}
		return nil
	}, `SELECT service_name, service_namespace, type, time_unix_nano, stacktrace, visitParamExtractRaw(attrs, 'exception.escaped')
FROM `+schema.ExceptionsTable.Name+`
PREWHERE (service_name, service_namespace, type, time_unix_nano) IN (`+strings.Join(tuples, ", ")+`)
WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND source = ?`, from.Unix(), to.Unix(), source)
}

// exceptionsFromTable is whether the exceptions table holds every
// exception of a range that starts at from (chstore's ExceptionsSince);
// the spans' events and the logs are read otherwise.
func (s *Server) exceptionsFromTable(ctx context.Context, from time.Time) (bool, error) {
	if s.exceptionsFromSources.Load() {
		return false, nil
	}
	since, ok, err := s.deps.Store.ExceptionsSince(ctx)
	return ok && !from.Before(since), err
}

// exceptionTraces is a subquery of the traces with an exception of type
// typ ("*": of any type) recorded or logged within [from, to], and its
// arguments: from the exceptions table where it covers the range, else
// from the spans' events and the logs.
func (s *Server) exceptionTraces(ctx context.Context, typ string, from, to time.Time) (string, []any, error) {
	fromTable, err := s.exceptionsFromTable(ctx, from)
	if err != nil {
		return "", nil, err
	}
	timeCond := rangeCond(from, to)
	typeCond, args := "1", []any(nil)
	if typ != "*" {
		typeCond, args = "type = ?", []any{typ}
	}
	if fromTable {
		return "SELECT trace_id FROM " + schema.ExceptionsTable.Name + " WHERE " + timeCond + " AND " + typeCond, args, nil
	}
	var parts []string
	var all []any
	for _, source := range []string{"span", "log"} {
		parts = append(parts, "SELECT trace_id FROM "+s.exceptionSources(source, timeCond)+" WHERE "+typeCond)
		all = append(all, args...)
	}
	return strings.Join(parts, " UNION ALL "), all, nil
}

// rangeCond keeps the rows whose timestamp is within [from, to].
func rangeCond(from, to time.Time) string {
	return fmt.Sprintf("timestamp >= toDateTime(%d) AND timestamp <= toDateTime(%d)", from.Unix(), to.Unix())
}

// exceptionSources is a subquery with the exceptions table's columns read
// from source's table ("span": the spans' events, "log": the logs) under
// cond, for ranges the table does not cover.
func (s *Server) exceptionSources(source, cond string) string {
	table := schema.SpansTable.Name
	if source == "log" {
		table = schema.LogsTable.Name
	}
	return "(" + schema.ExceptionsSelect(s.deps.Store.RenderOptions(), source, table, cond) + ")"
}

// exceptionOccurrence is one entry of GET /api/v1/exceptions/occurrences.
type exceptionOccurrence struct {
	Time     time.Time `json:"time"`
	Version  string    `json:"version"`
	Message  string    `json:"message"`
	Escaped  bool      `json:"escaped"`
	TraceID  string    `json:"trace_id"`
	SpanID   string    `json:"span_id"`
	SpanName string    `json:"span_name"`
}

// GET /api/v1/exceptions/occurrences: the latest exceptions of one group of
// the list (service, namespace, type, source), the newest first, each with
// its message, version and span, as an error tracker lists a group's
// events.
func (s *Server) listExceptionOccurrences(c echo.Context) error {
	from, to, limit, err := s.rowsParams(c)
	if err != nil {
		return err
	}
	q := c.QueryParams()
	service, source := q.Get("service"), q.Get("source")
	switch {
	case service == "":
		return badParam("service", "service is required")
	case source != "span" && source != "log":
		return badParam("source", "source is span or log, got %q", source)
	case !q.Has("type"):
		return badParam("type", "type is required (empty for the exceptions recorded without one)")
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	fromTable, err := s.exceptionsFromTable(ctx, from)
	if err != nil {
		return err
	}
	timeCond := rangeCond(from, to)
	rows := schema.ExceptionsTable.Name
	if !fromTable {
		rows = s.exceptionSources(source, timeCond)
	}
	where := []string{timeCond, "source = ?", "service_name = ?", "type = ?"}
	args := []any{source, service, q.Get("type")}
	if q.Has("namespace") {
		where, args = append(where, "service_namespace = ?"), append(args, q.Get("namespace"))
	}
	out := []exceptionOccurrence{}
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var o exceptionOccurrence
		var at uint64
		var attrs, traceID, spanID string
		if err := scan(&at, &o.Version, &o.Message, &attrs, &traceID, &spanID, &o.SpanName); err != nil {
			return err
		}
		o.Time, o.TraceID, o.SpanID = time.Unix(0, int64(at)).UTC(), hexID(traceID), hexID(spanID)
		var ev exceptionEvent
		if attrs != "" && json.Unmarshal([]byte(attrs), &ev) == nil {
			o.Message, o.Escaped = ev.Message, ev.Escaped == true || ev.Escaped == "true"
		}
		out = append(out, o)
		return nil
	}, `SELECT time_unix_nano, CAST(service_version AS String), message, attrs, trace_id, span_id, CAST(span_name AS String)
FROM `+rows+`
WHERE `+strings.Join(where, " AND ")+`
ORDER BY time_unix_nano DESC
LIMIT ?`, append(args, limit)...)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"occurrences": out, "from": from.UTC(), "to": to.UTC()})
}

// newExceptionJSON is one entry of GET /api/v1/exceptions/new.
type newExceptionJSON struct {
	Service   string    `json:"service"`
	Namespace string    `json:"namespace"`
	Type      string    `json:"type"`
	Source    string    `json:"source"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Count     uint64    `json:"count"`
}

// GET /api/v1/exceptions/new: the exception types services showed for the
// first time within the range (default: the last hour), the newest first,
// from the exception history alone (no span or record is read, so it is
// cheap enough for the UI to ask every minute). Filters: service,
// namespace. Empty, with new_known false, while the history is incomplete.
func (s *Server) listNewExceptions(c echo.Context) error {
	from, to, limit, err := s.rowsParams(c)
	if err != nil {
		return err
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	out := []newExceptionJSON{}
	known, _, err := s.deps.Store.ExceptionHistoryComplete(ctx)
	if err != nil {
		return err
	}
	if known {
		found, err := s.deps.Store.NewExceptionTypes(ctx, chstore.NewExceptionsQuery{From: from, To: to,
			Service: c.QueryParam("service"), Namespace: c.QueryParam("namespace"), Limit: limit})
		if err != nil {
			return err
		}
		for _, e := range found {
			out = append(out, newExceptionJSON{Service: e.Service, Namespace: e.Namespace, Type: e.Type, Source: e.Source,
				FirstSeen: e.FirstSeen, LastSeen: e.LastSeen, Count: e.Count})
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"exceptions": out, "new_known": known, "from": from.UTC(), "to": to.UTC()})
}
