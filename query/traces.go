package query

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/meshscope/meshscope/query/traceql"
	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
)

// maxTraceSpans bounds the spans returned for one trace.
const maxTraceSpans = 10000

// Span kinds and status codes as the API spells them.
var (
	spanKinds    = []string{"unspecified", "internal", "server", "client", "producer", "consumer"}
	spanStatuses = []string{"unset", "ok", "error"}
)

func nameOf(names []string, i uint8) string {
	if int(i) < len(names) {
		return names[i]
	}
	return "unknown"
}

// spanJSON is one span of GET /api/v1/traces/{traceId}.
type spanJSON struct {
	TraceID       string            `json:"trace_id"`
	SpanID        string            `json:"span_id"`
	ParentSpanID  string            `json:"parent_span_id"`
	Name          string            `json:"name"`
	Kind          string            `json:"kind"`
	Service       string            `json:"service"`
	Namespace     string            `json:"namespace"`
	StartUnixNano uint64            `json:"start_unix_nano"`
	DurationNs    uint64            `json:"duration_ns"`
	StatusCode    string            `json:"status_code"`
	StatusMessage string            `json:"status_message"`
	Attributes    map[string]string `json:"attributes"`
	Resource      map[string]string `json:"resource"`
	Events        []spanEvent       `json:"events"`
	Links         []spanLink        `json:"links"`
}

type spanEvent struct {
	TimeUnixNano uint64          `json:"time_unix_nano"`
	Name         string          `json:"name"`
	Attributes   json.RawMessage `json:"attributes"`
}

type spanLink struct {
	TraceID    string          `json:"trace_id"`
	SpanID     string          `json:"span_id"`
	Attributes json.RawMessage `json:"attributes"`
}

// traceIDParam reads a hex trace id: 32 digits, or 16.
func traceIDParam(s string) (string, error) { return hexIDParam("traceId", s, 16) }

func attrMap(keys, values []string) map[string]string {
	m := make(map[string]string, len(keys))
	for i, k := range keys {
		if i < len(values) {
			m[k] = values[i]
		}
	}
	return m
}

// rawJSON keeps a stored JSON object as it is, or {} when it is not one.
func rawJSON(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return json.RawMessage("{}")
	}
	return json.RawMessage(s)
}

func hexID(b string) string {
	if strings.Trim(b, "\x00") == "" {
		return ""
	}
	return hex.EncodeToString([]byte(b))
}

func (s *Server) store() error {
	if s.deps.Store == nil {
		return unavailable("ClickHouse")
	}
	return nil
}

// storeContext bounds one request's ClickHouse work by RequestTimeout; an
// error when the server runs without ClickHouse.
func (s *Server) storeContext(c echo.Context) (context.Context, context.CancelFunc, error) {
	if err := s.store(); err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.RequestTimeout)
	return ctx, cancel, nil
}

// GET /api/v1/traces/{traceId}
func (s *Server) getTrace(c echo.Context) error {
	id, err := traceIDParam(c.Param("traceId"))
	if err != nil {
		return err
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	rows, err := s.deps.Store.Conn().Query(ctx, `
SELECT trace_id, span_id, parent_span_id, name, kind, service_name, service_namespace,
       start_time_unix_nano, duration_ns, status_code, status_message,
       attr_keys, attr_values, resource_keys, resource_values,
       event_time_unix_nano, event_names, event_attrs, link_trace_ids, link_span_ids, link_attrs
FROM spans
WHERE trace_id = unhex(?)
ORDER BY start_time_unix_nano, span_id
LIMIT ?`, id, maxTraceSpans)
	if err != nil {
		return err
	}
	defer rows.Close()
	spans := []spanJSON{}
	for rows.Next() {
		var (
			sp                              spanJSON
			traceID, spanID, parentID       string
			kind, status                    uint8
			attrK, attrV, resK, resV        []string
			evTimes                         []uint64
			evNames, evAttrs                []string
			linkTraces, linkSpans, linkAttr []string
		)
		if err := rows.Scan(&traceID, &spanID, &parentID, &sp.Name, &kind, &sp.Service, &sp.Namespace,
			&sp.StartUnixNano, &sp.DurationNs, &status, &sp.StatusMessage,
			&attrK, &attrV, &resK, &resV, &evTimes, &evNames, &evAttrs, &linkTraces, &linkSpans, &linkAttr); err != nil {
			return err
		}
		sp.TraceID, sp.SpanID, sp.ParentSpanID = hex.EncodeToString([]byte(traceID)), hex.EncodeToString([]byte(spanID)), hexID(parentID)
		sp.Kind, sp.StatusCode = nameOf(spanKinds, kind), nameOf(spanStatuses, status)
		sp.Attributes, sp.Resource = attrMap(attrK, attrV), attrMap(resK, resV)
		sp.Events, sp.Links = []spanEvent{}, []spanLink{}
		for i, name := range evNames {
			ev := spanEvent{Name: name, Attributes: json.RawMessage("{}")}
			if i < len(evTimes) {
				ev.TimeUnixNano = evTimes[i]
			}
			if i < len(evAttrs) {
				ev.Attributes = rawJSON(evAttrs[i])
			}
			sp.Events = append(sp.Events, ev)
		}
		for i, t := range linkTraces {
			l := spanLink{TraceID: hex.EncodeToString([]byte(t)), Attributes: json.RawMessage("{}")}
			if i < len(linkSpans) {
				l.SpanID = hex.EncodeToString([]byte(linkSpans[i]))
			}
			if i < len(linkAttr) {
				l.Attributes = rawJSON(linkAttr[i])
			}
			sp.Links = append(sp.Links, l)
		}
		spans = append(spans, sp)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(spans) == 0 {
		return notFound("traceId", "no spans of trace %s", id)
	}
	return c.JSON(http.StatusOK, map[string]any{"trace_id": id, "spans": spans})
}

// traceSummary is one entry of GET /api/v1/traces.
type traceSummary struct {
	TraceID       string `json:"trace_id"`
	RootService   string `json:"root_service"`
	RootName      string `json:"root_name"`
	StartUnixNano uint64 `json:"start_unix_nano"`
	DurationNs    uint64 `json:"duration_ns"`
	Spans         uint64 `json:"spans"`
	Errors        uint64 `json:"errors"`
}

// traceSearchSpans summarises traces by grouping their spans; a WHERE over
// timestamp (seconds) and trace_id follows. A root span has no parent; a
// trace whose root was not stored is named after its earliest span.
var traceSearchSpans = fmt.Sprintf(`
SELECT lower(hex(trace_id)) AS id,
       min(start_time_unix_nano) AS start,
       toUInt64(max(start_time_unix_nano + duration_ns) - start) AS duration,
       count() AS span_count,
       countIf(status_code = %d) AS error_count,
       argMin(service_name, (parent_span_id != unhex('0000000000000000'), start_time_unix_nano)) AS root_service,
       argMin(name, (parent_span_id != unhex('0000000000000000'), start_time_unix_nano)) AS root_name
FROM spans
WHERE `, schema.StatusError)

// traceSearchSummaries reads trace summaries in two steps: the traces that
// pass the filters, newest first, from the numeric states alone, then the
// whole summaries (names too) of those only, from the same range's rows.
// Merging every trace's name states first took 1.7 times as long
// (BENCHMARKS.md). %[1]s is the WHERE over timestamp and trace_id, %[2]s
// the HAVING.
const traceSearchSummaries = `
SELECT lower(hex(trace_id)) AS id,
       minMerge(start_unix_nano) AS start,
       toUInt64(maxMerge(end_unix_nano) - start) AS duration,
       countMerge(spans) AS span_count,
       sumMerge(errors) AS error_count,
       argMinMerge(root_service) AS root_service_name,
       argMinMerge(root_name) AS root_span_name
FROM trace_summaries
WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)
  AND trace_id GLOBAL IN (
    SELECT trace_id FROM (
        SELECT trace_id,
               minMerge(start_unix_nano) AS start,
               toUInt64(maxMerge(end_unix_nano) - start) AS duration,
               sumMerge(errors) AS error_count
        FROM trace_summaries
        WHERE %[1]s
        GROUP BY trace_id
        HAVING %[2]s
        ORDER BY start DESC
        LIMIT ?))
GROUP BY trace_id
ORDER BY start DESC`

// summariesCoverAll is summariesSince for a database whose spans are all
// summarised (chstore.SummariesCoverAll).
var summariesCoverAll = chstore.SummariesCoverAll.Unix()

// summariesTTL is how long traceSummariesSince keeps what it read: a
// backfill run while the server runs moves the boundary back.
const summariesTTL = time.Minute

// traceSummariesSince is when trace_summaries started to hold every span
// (chstore's TraceSummariesSince), read at most once a summariesTTL. ok is
// false when that is not known (the lookup failed; the caller then groups
// spans).
func (s *Server) traceSummariesSince(ctx context.Context) (since time.Time, ok bool) {
	if v := s.summariesSince.Load(); v != 0 {
		// A value set without a read time (tests) stays.
		if read := s.summariesRead.Load(); read == 0 || time.Since(time.Unix(0, read)) < summariesTTL {
			return time.Unix(v, 0), true
		}
	}
	at, ok, err := s.deps.Store.TraceSummariesSince(ctx)
	if err != nil {
		s.log.Warn("trace summaries: reading when they start", "err", err)
	}
	if !ok {
		return time.Time{}, false
	}
	s.summariesSince.Store(at.Unix())
	s.summariesRead.Store(time.Now().UnixNano())
	return time.Unix(at.Unix(), 0), true
}

// GET /api/v1/traces
func (s *Server) searchTraces(c echo.Context) error {
	from, to, limit, err := s.rowsParams(c)
	if err != nil {
		return err
	}
	var minDur, maxDur time.Duration
	if v := c.QueryParam("min_duration"); v != "" {
		if minDur, err = ParseDuration(v); err != nil {
			return badParam("min_duration", "min_duration: %v", err)
		}
	}
	if v := c.QueryParam("max_duration"); v != "" {
		if maxDur, err = ParseDuration(v); err != nil {
			return badParam("max_duration", "max_duration: %v", err)
		}
	}
	onlyErrors, err := boolParam(c, "error")
	if err != nil {
		return err
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	// With a service (and an operation, a span name, and tags), the traces
	// that hold such a span are found first through the spans table's primary key,
	// which starts with (service_name, name), so that only their rows are
	// grouped: 4 to 6 times faster than grouping every span of the range
	// (BENCHMARKS.md). GLOBAL, so that on a cluster the subquery over the
	// Distributed table runs once, not once per shard (which ClickHouse
	// refuses).
	where := "timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)"
	args := []any{from.Unix(), to.Unix()}
	// A service, an operation and tags are asked of one span of the trace.
	var sub []string
	var subArgs []any
	for _, f := range []struct{ col, v string }{{"service_name", c.QueryParam("service")}, {"name", c.QueryParam("operation")}} {
		if f.v != "" {
			sub, subArgs = append(sub, f.col+" = ?"), append(subArgs, f.v)
		}
	}
	tags, err := spanTags(c)
	if err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		cond, a, err := spanTagCond(k, tags[k])
		if err != nil {
			return err
		}
		sub, subArgs = append(sub, "("+cond+")"), append(subArgs, a...)
	}
	if len(sub) > 0 {
		where += `
  AND trace_id GLOBAL IN (SELECT trace_id FROM spans
                          WHERE ` + strings.Join(sub, " AND ") + ` AND timestamp >= toDateTime(?) AND timestamp <= toDateTime(?))`
		args = append(append(args, subArgs...), from.Unix(), to.Unix())
	}
	// A TraceQL query the trace answers (as Tempo's search would find it).
	if v := c.QueryParam("traceql"); v != "" {
		tq, err := traceql.Parse(v)
		if err != nil {
			return badParam("traceql", "traceql: %v", err)
		}
		if tq.Metrics != nil {
			return badParam("traceql", "traceql: a metrics query (| %s) finds no traces", tq.Metrics.Fn)
		}
		if traceql.Structural(tq.Op) {
			// The trees are walked in Go: the traces found (the newest
			// tempoStructMaxIDs) by id.
			found, _, _, err := s.tempoStructural(ctx, tq, from, to, tempoStructMaxIDs)
			if err != nil {
				return err
			}
			if len(found) == 0 {
				return c.JSON(http.StatusOK, map[string]any{"traces": []traceSummary{}})
			}
			where += "\n  AND trace_id IN (" + strings.TrimSuffix(strings.Repeat("unhex(?), ", len(found)), ", ") + ")"
			for _, t := range found {
				args = append(args, t.TraceID)
			}
		} else {
			match, having := tempoMatch(tq)
			where += "\n  AND trace_id GLOBAL IN (SELECT trace_id FROM spans WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND " +
				match.sql + " GROUP BY trace_id " + having.sql + ")"
			args = append(append(append(args, from.Unix(), to.Unix()), match.args...), having.args...)
		}
	}
	// An exception type ("*": any) recorded or logged in the trace.
	if v := c.QueryParam("exception"); v != "" {
		cond, a, err := s.exceptionTraces(ctx, v, from, to)
		if err != nil {
			return err
		}
		where += "\n  AND trace_id GLOBAL IN (" + cond + ")"
		args = append(args, a...)
	}
	having := "duration >= ?"
	args = append(args, uint64(minDur))
	if maxDur > 0 {
		having += " AND duration <= ?"
		args = append(args, uint64(maxDur))
	}
	if onlyErrors {
		having += " AND error_count > 0"
	}
	args = append(args, limit)
	// Ranges the trace summaries cover are read from them (one row per
	// trace and second instead of one per span); earlier ones group spans.
	q, table := traceSearchSpans+where+"\nGROUP BY trace_id\nHAVING "+having+"\nORDER BY start DESC\nLIMIT ?", "spans"
	if since, ok := s.traceSummariesSince(ctx); ok && !from.Before(since) {
		q, table = fmt.Sprintf(traceSearchSummaries, where, having), schema.TraceSummariesTable.Name
		args = append([]any{from.Unix(), to.Unix()}, args...)
	}
	s.metrics.traceSearch.WithLabelValues(table).Inc()
	rows, err := s.deps.Store.Conn().Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	out := []traceSummary{}
	for rows.Next() {
		var t traceSummary
		if err := rows.Scan(&t.TraceID, &t.StartUnixNano, &t.DurationNs, &t.Spans, &t.Errors, &t.RootService, &t.RootName); err != nil {
			return err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"traces": out})
}

// operation is a span name of a service with its rate, errors and
// latency over the range.
type operation struct {
	Name  string `json:"name"`
	Spans uint64 `json:"spans"`
	// Rate is spans per second over the range.
	Rate float64 `json:"rps"`
	// Errors are spans with status error.
	Errors    uint64  `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
	// Latency quantiles of the spans' durations (t-digest, about 1 %).
	P50Ns uint64 `json:"p50_ns"`
	P95Ns uint64 `json:"p95_ns"`
	P99Ns uint64 `json:"p99_ns"`
}

// spanKindsParam reads kind=server,consumer into span kind numbers.
func spanKindsParam(v string) ([]string, error) {
	var out []string
	for k := range strings.SplitSeq(v, ",") {
		i := slices.Index(spanKinds, strings.TrimSpace(strings.ToLower(k)))
		if i < 0 {
			return nil, badParam("kind", "kind is a comma-separated list of span kinds (%s), got %q", strings.Join(spanKinds, ", "), v)
		}
		out = append(out, strconv.Itoa(i))
	}
	return out, nil
}

// GET /api/v1/traces/operations: the span names of a service, busiest
// first, with their rate, errors and latency: the trace search's operation
// field, and a service's operations in its panel (kind=server,consumer:
// the calls it serves). The table's key starts with (service_name, name),
// so this reads only the service's spans.
func (s *Server) traceOperations(c echo.Context) error {
	svc := c.QueryParam("service")
	if svc == "" {
		return badParam("service", "service is required")
	}
	from, to, limit, err := s.rowsParams(c)
	if err != nil {
		return err
	}
	where := "service_name = ? AND timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)"
	args := []any{svc, from.Unix(), to.Unix()}
	if ns := c.QueryParam("namespace"); ns != "" {
		where += " AND service_namespace = ?"
		args = append(args, ns)
	}
	if v := c.QueryParam("kind"); v != "" {
		kinds, err := spanKindsParam(v)
		if err != nil {
			return err
		}
		where += " AND kind IN (" + strings.Join(kinds, ", ") + ")" // numbers of spanKinds
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	rows, err := s.deps.Store.Conn().Query(ctx, fmt.Sprintf(`
SELECT name, count() AS spans, countIf(status_code = %d) AS errors,
       quantilesTDigest(0.5, 0.95, 0.99)(duration_ns) AS q
FROM spans
WHERE `+where+`
GROUP BY name
ORDER BY spans DESC, name
LIMIT ?`, schema.StatusError), append(args, limit)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	seconds := max(to.Sub(from).Seconds(), 1)
	out := []operation{}
	for rows.Next() {
		var (
			o operation
			q []float32
		)
		if err := rows.Scan(&o.Name, &o.Spans, &o.Errors, &q); err != nil {
			return err
		}
		o.Rate = float64(o.Spans) / seconds
		if o.Spans > 0 {
			o.ErrorRate = float64(o.Errors) / float64(o.Spans)
		}
		if len(q) == 3 {
			o.P50Ns, o.P95Ns, o.P99Ns = uint64(q[0]), uint64(q[1]), uint64(q[2])
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"operations": out})
}

// scanAll runs query and calls each for every row, with the row's Scan.
func (s *Server) scanAll(ctx context.Context, each func(scan func(dest ...any) error) error, query string, args ...any) error {
	rows, err := s.deps.Store.Conn().Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}
