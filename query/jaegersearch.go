package query

// Jaeger's trace search (GET /jaeger/api/traces): its parameters, its tag
// conditions, and the search that picks traces by a matching span and
// answers them whole.

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/meshscope/meshscope/schema"
)

// jaegerSearchQuery is a search: the spans that match, and the range.
type jaegerSearchQuery struct {
	from, to time.Time
	where    []string
	args     []any
	limit    int
	// spanConds is whether where asks more of a span than its time (a
	// service, operation, duration or tag).
	spanConds bool
}

func (q *jaegerSearchQuery) add(cond string, args ...any) {
	q.spanConds = q.spanConds || len(q.where) > 0
	q.where = append(q.where, cond)
	q.args = append(q.args, args...)
}

// jaegerSearchParams reads a search as the Jaeger UI and Grafana send it:
// service, operation, tags (a JSON object, or tag=key:value repeated),
// start and end (µs since the epoch; start defaults to end minus
// lookback, 1h by default), minDuration and maxDuration (of the matching
// span: "1.2s", "100ms"), limit.
func (s *Server) jaegerSearchParams(c echo.Context) (*jaegerSearchQuery, error) {
	q := &jaegerSearchQuery{limit: jaegerDefaultLimit, to: s.now()}
	micros := func(name string) (time.Time, bool, error) {
		v := c.QueryParam(name)
		if v == "" {
			return time.Time{}, false, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return time.Time{}, false, badParam(name, "%s is microseconds since the epoch, got %q", name, v)
		}
		return time.UnixMicro(n), true, nil
	}
	end, ok, err := micros("end")
	if err != nil {
		return nil, err
	}
	if ok {
		q.to = end
	}
	lookback := time.Hour
	if v := c.QueryParam("lookback"); v != "" && v != "custom" {
		if lookback, err = ParseDuration(v); err != nil {
			return nil, badParam("lookback", "lookback: %v", err)
		}
	}
	q.from = q.to.Add(-lookback)
	start, ok, err := micros("start")
	if err != nil {
		return nil, err
	}
	if ok {
		q.from = start
	}
	if !q.from.Before(q.to) {
		return nil, badParam("start", "start (%d) must be before end (%d)", q.from.UnixMicro(), q.to.UnixMicro())
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > jaegerMaxLimit {
			return nil, badParam("limit", "limit is a number of traces up to %d, got %q", jaegerMaxLimit, v)
		}
		if n > 0 {
			q.limit = n
		}
	}
	q.add("timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)", q.from.Unix(), q.to.Unix())
	if v := c.QueryParam("service"); v != "" {
		q.add("service_name = ?", v)
	}
	if v := c.QueryParam("operation"); v != "" {
		q.add("name = ?", v)
	}
	for _, d := range []struct{ name, op string }{{"minDuration", ">="}, {"maxDuration", "<="}} {
		if v := c.QueryParam(d.name); v != "" {
			dur, err := ParseDuration(v)
			if err != nil {
				return nil, badParam(d.name, "%s: %v", d.name, err)
			}
			q.add("duration_ns "+d.op+" ?", uint64(dur))
		}
	}
	tags, err := spanTags(c)
	if err != nil {
		return nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		cond, args, err := spanTagCond(k, tags[k])
		if err != nil {
			return nil, err
		}
		q.add(cond, args...)
	}
	return q, nil
}

// jaegerTags reads tags={"k":"v",...} and tag=k:v.
func spanTags(c echo.Context) (map[string]string, error) {
	tags := map[string]string{}
	if v := c.QueryParam("tags"); v != "" {
		var raw map[string]any
		if err := json.Unmarshal([]byte(v), &raw); err != nil {
			return nil, badParam("tags", "tags is a JSON object of tag values, got %q: %v", v, err)
		}
		for k, x := range raw {
			switch x := x.(type) {
			case string:
				tags[k] = x
			case bool, float64:
				tags[k] = fmt.Sprint(x)
			default:
				return nil, badParam("tags", "tag %q: a value is a string, number or boolean", k)
			}
		}
	}
	for _, v := range c.QueryParams()["tag"] {
		k, val, ok := strings.Cut(v, ":")
		if !ok || k == "" {
			return nil, badParam("tag", "tag is key:value, got %q", v)
		}
		tags[k] = val
	}
	return tags, nil
}

// spanTagCond is the condition a span meets with tag key = value (Jaeger's
// search and the trace search): the tags meshscope derives (error,
// span.kind, otel.status_code) from their columns, any other from the
// span's attributes or its resource's.
func spanTagCond(key, value string) (string, []any, error) {
	switch key {
	case "error":
		b, err := strconv.ParseBool(value)
		if err != nil {
			return "", nil, badParam("tags", "tag error is true or false, got %q", value)
		}
		if b {
			return fmt.Sprintf("status_code = %d", schema.StatusError), nil, nil
		}
		return fmt.Sprintf("status_code != %d", schema.StatusError), nil, nil
	case "span.kind":
		k := slices.Index(spanKinds, strings.ToLower(value))
		if k < 0 {
			return "", nil, badParam("tags", "tag span.kind is one of %s, got %q", strings.Join(spanKinds, ", "), value)
		}
		return "kind = " + strconv.Itoa(k), nil, nil
	case "otel.status_code":
		k := slices.Index(spanStatuses, strings.ToLower(value))
		if k < 0 {
			return "", nil, badParam("tags", "tag otel.status_code is one of OK, ERROR, got %q", value)
		}
		return "status_code = " + strconv.Itoa(k), nil, nil
	}
	return "(has(attr_keys, ?) AND attr_values[indexOf(attr_keys, ?)] = ? OR has(resource_keys, ?) AND resource_values[indexOf(resource_keys, ?)] = ?)",
		[]any{key, key, value, key, key, value}, nil
}

// GET /jaeger/api/traces: the newest traces with a span that matches,
// whole. traceID=... (repeated) asks for traces by id instead.
func (s *Server) jaegerSearch(c echo.Context) error {
	ids := c.QueryParams()["traceID"]
	var q *jaegerSearchQuery
	if len(ids) == 0 {
		var err error
		if q, err = s.jaegerSearchParams(c); err != nil {
			return err
		}
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	if len(ids) > 0 {
		if len(ids) > jaegerMaxLimit {
			return badParam("traceID", "at most %d trace ids", jaegerMaxLimit)
		}
		marks, args := make([]string, len(ids)), make([]any, len(ids))
		for i, v := range ids {
			id, err := jaegerTraceID("traceID", v)
			if err != nil {
				return err
			}
			marks[i], args[i] = "unhex(?)", id
		}
		traces, err := s.jaegerTraces(ctx, min(maxTraceSpans*len(ids), jaegerMaxSpans), "trace_id IN ("+strings.Join(marks, ", ")+")", args...)
		if err != nil {
			return err
		}
		return jaegerData(c, traces)
	}
	picked, err := s.jaegerPick(ctx, q)
	if err != nil {
		return err
	}
	if len(picked) == 0 {
		return jaegerData[jaegerTrace](c, nil)
	}
	inIDs := "trace_id IN (" + strings.TrimSuffix(strings.Repeat("unhex(?), ", len(picked)), ", ") + ")"
	// A trace's spans are read from an hour either side of the range; where
	// the trace summaries cover that margin, they tell when the picked
	// traces start and end, and their spans are read from those seconds
	// only.
	from, to := q.from.Add(-jaegerTraceMargin), q.to.Add(jaegerTraceMargin)
	if since, ok := s.traceSummariesSince(ctx); ok && !from.Before(since) {
		var first, last uint64
		err := s.deps.Store.Conn().QueryRow(ctx, `
SELECT min(start), max(end) FROM (
    SELECT minMerge(start_unix_nano) AS start, maxMerge(end_unix_nano) AS end
    FROM `+schema.TraceSummariesTable.Name+`
    WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND `+inIDs+`
    GROUP BY trace_id)`, append([]any{from.Unix(), to.Unix()}, picked...)...).Scan(&first, &last)
		if err != nil {
			return err
		}
		if last >= first && first > 0 {
			from, to = time.Unix(0, int64(first)), time.Unix(0, int64(last))
		}
	}
	where := "timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND " + inIDs
	traces, err := s.jaegerTraces(ctx, min(maxTraceSpans*q.limit, jaegerMaxSpans), where, append([]any{from.Unix(), to.Unix()}, picked...)...)
	if err != nil {
		return err
	}
	// Newest first, as the pick was.
	slices.SortStableFunc(traces, func(a, b jaegerTrace) int { return cmp.Compare(traceStart(b), traceStart(a)) })
	return jaegerData(c, traces)
}

// jaegerPick picks a search's traces (hex ids): those with the newest
// matching spans. A search of every trace of a range (no service,
// operation, duration or tag) picks the traces that start newest within
// it, from the trace summaries where they cover the range (a row per
// trace and second, not every span of it); other searches, and ranges
// before the summaries, group the matching spans.
func (s *Server) jaegerPick(ctx context.Context, q *jaegerSearchQuery) ([]any, error) {
	newest := "max(start_time_unix_nano)"
	if !q.spanConds {
		newest = "min(start_time_unix_nano)"
	}
	query := `
SELECT trace_id FROM (
    SELECT trace_id, ` + newest + ` AS newest FROM spans
    WHERE ` + strings.Join(q.where, "\n      AND ") + `
    GROUP BY trace_id ORDER BY newest DESC LIMIT ?)`
	table := "spans"
	if !q.spanConds {
		if since, ok := s.traceSummariesSince(ctx); ok && !q.from.Before(since) {
			table, query = schema.TraceSummariesTable.Name, `
SELECT trace_id FROM (
    SELECT trace_id, minMerge(start_unix_nano) AS start FROM `+schema.TraceSummariesTable.Name+`
    WHERE `+q.where[0]+`
    GROUP BY trace_id ORDER BY start DESC LIMIT ?)`
		}
	}
	s.metrics.traceSearch.WithLabelValues(table).Inc()
	var picked []any
	err := s.scanAll(ctx, func(scan func(...any) error) error {
		var id string
		if err := scan(&id); err != nil {
			return err
		}
		picked = append(picked, hex.EncodeToString([]byte(id)))
		return nil
	}, query, append(slices.Clone(q.args), q.limit)...)
	return picked, err
}

func traceStart(t jaegerTrace) uint64 {
	if len(t.Spans) == 0 {
		return 0
	}
	return t.Spans[0].StartTime
}
