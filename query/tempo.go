package query

// Tempo's HTTP API under /tempo/api, over the stored spans, so that
// Grafana's Tempo data source (URL http://HOST:8080/tempo) searches them
// with TraceQL (the subset of query/traceql, run by ClickHouse), lists
// their tags and values for its query builder, and shows a trace: as
// OTLP protobuf (what Grafana asks for; Tempo's Trace message is OTLP's
// TracesData on the wire) or OTLP JSON. Errors are plain text, as Tempo's.

import (
	"context"
	"encoding/hex"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-logfmt/logfmt"
	"github.com/labstack/echo/v4"

	"github.com/meshscope/meshscope/query/traceql"
	"github.com/meshscope/meshscope/schema"
)

// tempoPrefix is where the Tempo API is mounted.
const tempoPrefix = "/tempo"

const (
	tempoDefaultLimit = 20
	tempoMaxLimit     = 1000
	// tempoDefaultSpans is how many matching spans of a trace a search
	// answers (spss).
	tempoDefaultSpans = 3
	tempoMaxSpans     = 100
	// tempoMaxTags bounds the tag names and values listed.
	tempoMaxTags = 10_000
)

func (s *Server) tempoRoutes() {
	g := s.e.Group(tempoPrefix + "/api")
	g.GET("/echo", func(c echo.Context) error { return c.String(http.StatusOK, "echo") })
	g.GET("/status/buildinfo", func(c echo.Context) error {
		// The release whose API this follows.
		return c.JSON(http.StatusOK, map[string]string{"version": "2.6.0", "revision": "", "branch": "", "buildUser": "", "buildDate": "", "goVersion": runtime.Version()})
	})
	g.GET("/search", s.tempoSearch)
	g.GET("/traces/:traceId", s.tempoTrace)
	g.GET("/v2/traces/:traceId", s.tempoTrace)
	g.GET("/search/tags", s.tempoTags)
	g.GET("/v2/search/tags", s.tempoTags)
	g.GET("/search/tag/:name/values", s.tempoTagValues)
	g.GET("/v2/search/tag/:name/values", s.tempoTagValues)
	g.GET("/metrics/query_range", s.tempoMetricsRange)
	g.GET("/metrics/query", s.tempoMetricsInstant)
}

// tempoRange reads start and end: Unix seconds (Tempo's), nanoseconds
// past 10^12, or what ParseTime reads (RFC 3339, now-1h); by default the
// hour before now.
func (s *Server) tempoRange(c echo.Context) (time.Time, time.Time, error) {
	now := s.now()
	end, start := now, time.Time{}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"end", &end}, {"start", &start}} {
		v := c.QueryParam(p.name)
		if v == "" {
			continue
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 1e12 {
			*p.t = time.Unix(0, n)
			continue
		}
		t, err := ParseTime(v, now)
		if err != nil {
			return start, end, badParam(p.name, "%s is Unix seconds, RFC 3339 or relative (now-1h): %v", p.name, err)
		}
		*p.t = t
	}
	if start.IsZero() {
		start = end.Add(-time.Hour)
	}
	if end.Before(start) {
		return start, end, badParam("end", "end must not be before start")
	}
	return start, end, nil
}

// tempoCode is the spans table's code of a status or kind TraceQL names
// (spanStatuses and spanKinds are in code order).
func tempoCode(names []string, name string) uint8 { return uint8(max(slices.Index(names, name), 0)) }

// tempoAttr is the SQL of an attribute a field names: whether the span
// has it, and its value.
func tempoAttr(f traceql.Field) (has, value sqlExpr) {
	span := func() (sqlExpr, sqlExpr) {
		return sqlExpr{"has(attr_keys, ?)", []any{f.Name}}, sqlExpr{"attr_values[indexOf(attr_keys, ?)]", []any{f.Name}}
	}
	resource := func() (sqlExpr, sqlExpr) {
		if f.Name == "service.name" {
			return sqlExpr{"1", nil}, sqlExpr{"service_name", nil}
		}
		return sqlExpr{"has(resource_keys, ?)", []any{f.Name}}, sqlExpr{"resource_values[indexOf(resource_keys, ?)]", []any{f.Name}}
	}
	switch f.Scope {
	case "span":
		return span()
	case "resource":
		return resource()
	}
	sh, sv := span()
	rh, rv := resource()
	return sqlExpr{"(" + sh.sql + " OR " + rh.sql + ")", append(sh.args, rh.args...)},
		sqlExpr{"if(" + sh.sql + ", " + sv.sql + ", " + rv.sql + ")", slices.Concat(sh.args, sv.args, rv.args)}
}

// tempoCond is the SQL condition of a spanset filter over a span.
func tempoCond(e *traceql.Expr) sqlExpr {
	if e == nil {
		return sqlExpr{"1", nil}
	}
	if e.Left != nil {
		l, r := tempoCond(e.Left), tempoCond(e.Right)
		op := map[string]string{"&&": " AND ", "||": " OR "}[e.Op]
		return sqlExpr{"(" + l.sql + op + r.sql + ")", append(l.args, r.args...)}
	}
	// The parser let through only what compares: orders on numbers and
	// durations, = and != on status and kind, regular expressions on
	// strings.
	op, f, v := e.Op, e.Field, e.Value
	if f.Scope == "intrinsic" {
		switch f.Name {
		case "status":
			return sqlExpr{"status_code " + op + " ?", []any{tempoCode(spanStatuses, v.Str)}}
		case "kind":
			return sqlExpr{"kind " + op + " ?", []any{tempoCode(spanKinds, v.Str)}}
		case "duration":
			return sqlExpr{"duration_ns " + op + " ?", []any{uint64(max(v.Num, 0))}}
		}
		col := map[string]string{"name": "name", "statusMessage": "status_message"}[f.Name]
		return tempoString(sqlExpr{"1", nil}, sqlExpr{col, nil}, e.Op, v.Str)
	}
	has, value := tempoAttr(f)
	switch v.Kind {
	case "nil":
		if e.Op == "=" {
			return sqlExpr{"NOT " + has.sql, has.args}
		}
		return has
	case "string", "bool": // a boolean is stored as its text
		return tempoString(has, value, e.Op, v.Str)
	}
	// A number, or a duration (an attribute holding one, 250ms, read in
	// seconds); an attribute of another form does not compare.
	unit, n := "", v.Num
	if v.Kind == "duration" {
		unit, n = "duration", v.Num/1e9
	}
	valid, num := lokiNumeric(value, unit)
	return sqlExpr{"(" + has.sql + " AND " + valid.sql + " AND " + num.sql + " " + op + " ?)", slices.Concat(has.args, valid.args, num.args, []any{n})}
}

// tempoString compares a string: = and != (the attribute present), =~ and
// !~ (anchored, as Tempo's).
func tempoString(has, value sqlExpr, op, s string) sqlExpr {
	switch op {
	case "=~":
		return sqlExpr{"(" + has.sql + " AND match(" + value.sql + ", ?))", slices.Concat(has.args, value.args, []any{"^(?:" + s + ")$"})}
	case "!~":
		return sqlExpr{"(" + has.sql + " AND NOT match(" + value.sql + ", ?))", slices.Concat(has.args, value.args, []any{"^(?:" + s + ")$"})}
	}
	return sqlExpr{"(" + has.sql + " AND " + value.sql + " " + op + " ?)", slices.Concat(has.args, value.args, []any{s})}
}

// tempoMatch is the SQL of a query over a trace's spans: the condition a
// span of it must meet (any spanset's), and the HAVING clause of the
// grouping by trace (with &&, spans of every set; the pipeline's
// aggregate filters), empty when none.
func tempoMatch(q *traceql.Query) (match, having sqlExpr) {
	conds := make([]sqlExpr, len(q.Sets))
	var either []string
	for i, set := range q.Sets {
		conds[i] = tempoCond(set)
		either, match.args = append(either, conds[i].sql), append(match.args, conds[i].args...)
	}
	match.sql = "(" + strings.Join(either, " OR ") + ")"
	var each []string
	if q.Op == "&&" {
		for _, cd := range conds {
			each, having.args = append(each, "countIf("+cd.sql+") > 0"), append(having.args, cd.args...)
		}
	}
	for _, a := range q.Aggregates {
		h := tempoAggregate(a, conds[0])
		each, having.args = append(each, h.sql), append(having.args, h.args...)
	}
	if len(each) > 0 {
		having.sql = "HAVING " + strings.Join(each, " AND ")
	}
	return match, having
}

// tempoAggregate is the HAVING condition of a pipeline's aggregate
// filter over a trace's spans that match cond: count() of them, or avg,
// min, max, sum of their duration (nanoseconds) or of an attribute read
// as a number (a duration of one unit in seconds when compared with a
// duration; spans without it, or with another form, left out).
func tempoAggregate(a traceql.Aggregate, cond sqlExpr) sqlExpr {
	op := a.Op
	if a.Fn == "count" {
		return sqlExpr{"countIf(" + cond.sql + ") " + op + " ?", append(slices.Clone(cond.args), a.Value.Num)}
	}
	if a.Field.Scope == "intrinsic" { // duration
		return sqlExpr{a.Fn + "If(duration_ns, " + cond.sql + ") " + op + " ?", append(slices.Clone(cond.args), a.Value.Num)}
	}
	has, value := tempoAttr(a.Field)
	unit, n := "", a.Value.Num
	if a.Value.Kind == "duration" {
		unit, n = "duration", a.Value.Num/1e9
	}
	valid, num := lokiNumeric(value, unit)
	return sqlExpr{a.Fn + "If(" + num.sql + ", " + cond.sql + " AND " + has.sql + " AND " + valid.sql + ") " + op + " ?",
		slices.Concat(num.args, cond.args, has.args, valid.args, []any{n})}
}

// tempoTagsQuery reads the older search's tags (logfmt: service.name=cart
// http.status_code=500), minDuration and maxDuration as one spanset
// filter.
func tempoTagsQuery(c echo.Context) (*traceql.Query, error) {
	var e *traceql.Expr
	and := func(x *traceql.Expr) {
		if e == nil {
			e = x
		} else {
			e = &traceql.Expr{Op: "&&", Left: e, Right: x}
		}
	}
	if v := c.QueryParam("tags"); v != "" {
		pairs := logfmtMap(v)
		if pairs == nil {
			return nil, badParam("tags", "tags are key=value pairs (logfmt), got %q", v)
		}
		for _, k := range slices.Sorted(maps.Keys(pairs)) {
			and(&traceql.Expr{Op: "=", Field: traceql.Field{Name: k}, Value: traceql.Value{Kind: "string", Str: pairs[k]}})
		}
	}
	for _, p := range []struct{ name, op string }{{"minDuration", ">="}, {"maxDuration", "<="}} {
		if v := c.QueryParam(p.name); v != "" {
			d, err := ParseDuration(v)
			if err != nil {
				return nil, badParam(p.name, "%s: %v", p.name, err)
			}
			and(&traceql.Expr{Op: p.op, Field: traceql.Field{Scope: "intrinsic", Name: "duration"}, Value: traceql.Value{Kind: "duration", Num: float64(d)}})
		}
	}
	return &traceql.Query{Sets: []*traceql.Expr{e}}, nil
}

// tempoSpan is a span of a search's answer.
type tempoSpan struct {
	SpanID            string          `json:"spanID"`
	Name              string          `json:"name"`
	StartTimeUnixNano string          `json:"startTimeUnixNano"`
	DurationNanos     string          `json:"durationNanos"`
	Attributes        []tempoKeyValue `json:"attributes"`
}

type tempoKeyValue struct {
	Key   string            `json:"key"`
	Value map[string]string `json:"value"`
}

type tempoSpanSet struct {
	Spans   []tempoSpan `json:"spans"`
	Matched int         `json:"matched"`
}

type tempoTrace struct {
	TraceID           string         `json:"traceID"`
	RootServiceName   string         `json:"rootServiceName"`
	RootTraceName     string         `json:"rootTraceName"`
	StartTimeUnixNano string         `json:"startTimeUnixNano"`
	DurationMs        uint64         `json:"durationMs"`
	SpanSet           *tempoSpanSet  `json:"spanSet,omitempty"`
	SpanSets          []tempoSpanSet `json:"spanSets"`
	newest            uint64
}

// GET /tempo/api/search?q=TRACEQL&start=&end=&limit=&spss= (or the older
// tags=, minDuration=, maxDuration=): the traces with the newest matching
// spans, each with its root span's service and name, its start and
// duration, and up to spss of its matching spans.
func (s *Server) tempoSearch(c echo.Context) error {
	var (
		q   *traceql.Query
		err error
	)
	if v := c.QueryParam("q"); v != "" {
		if q, err = traceql.Parse(v); err != nil {
			return badParam("q", "%v", err)
		}
		if q.Metrics != nil {
			return badParam("q", "a metrics query (| %s) is answered by /api/metrics/query_range", q.Metrics.Fn)
		}
	} else if q, err = tempoTagsQuery(c); err != nil {
		return err
	}
	start, end, err := s.tempoRange(c)
	if err != nil {
		return err
	}
	limit, err := intParam(c, "limit", tempoDefaultLimit, 1, tempoMaxLimit)
	if err != nil {
		return err
	}
	spss, err := intParam(c, "spss", tempoDefaultSpans, 1, tempoMaxSpans)
	if err != nil {
		return err
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()

	if traceql.Structural(q.Op) {
		return s.tempoStructuralSearch(ctx, c, q, start, end, limit, spss)
	}
	match, having := tempoMatch(q)
	timeWhere := "timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)"
	byID := map[string]*tempoTrace{}
	var traces []*tempoTrace
	var ids []any
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var (
			id      string
			newest  uint64
			matched uint64
		)
		if err := scan(&id, &newest, &matched); err != nil {
			return err
		}
		t := &tempoTrace{TraceID: hex.EncodeToString([]byte(id)), newest: newest, SpanSets: []tempoSpanSet{{Spans: []tempoSpan{}, Matched: int(matched)}}}
		byID[id] = t
		traces, ids = append(traces, t), append(ids, t.TraceID)
		return nil
	}, `SELECT trace_id, max(start_time_unix_nano) AS newest, countIf(`+match.sql+`) FROM spans
WHERE `+timeWhere+` AND `+match.sql+`
GROUP BY trace_id `+having.sql+`
ORDER BY newest DESC LIMIT ?`, slices.Concat(match.args, []any{start.Unix(), end.Unix()}, match.args, having.args, []any{limit})...)
	if err != nil {
		return err
	}
	s.metrics.traceSearch.WithLabelValues("tempo").Inc()
	if len(traces) > 0 {
		inIDs := "trace_id IN (" + strings.TrimSuffix(strings.Repeat("unhex(?), ", len(ids)), ", ") + ")"
		if err := s.tempoDescribe(ctx, byID, inIDs, ids, start, end); err != nil {
			return err
		}
		if err := s.tempoMatchedSpans(ctx, byID, q, match, inIDs, ids, start, end, spss); err != nil {
			return err
		}
	}
	return tempoAnswer(c, traces)
}

// tempoAnswer answers a search's traces in Tempo's shape.
func tempoAnswer(c echo.Context, traces []*tempoTrace) error {
	for _, t := range traces {
		t.SpanSet = &t.SpanSets[0]
	}
	if traces == nil {
		traces = []*tempoTrace{}
	}
	return c.JSON(http.StatusOK, map[string]any{"traces": traces, "metrics": map[string]any{"completedJobs": 1, "totalJobs": 1}})
}

// tempoDescribe fills each trace's root service and name, start and
// duration, from its spans of an hour either side of the range: from the
// trace summaries where they cover that margin (a row per trace and
// second), else from the spans.
func (s *Server) tempoDescribe(ctx context.Context, byID map[string]*tempoTrace, inIDs string, ids []any, start, end time.Time) error {
	from, to := start.Add(-jaegerTraceMargin), end.Add(jaegerTraceMargin)
	query := `SELECT trace_id, min(start_time_unix_nano), max(start_time_unix_nano + duration_ns),
       argMin(service_name, (parent_span_id != unhex('0000000000000000'), start_time_unix_nano)),
       argMin(name, (parent_span_id != unhex('0000000000000000'), start_time_unix_nano))
FROM spans WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND ` + inIDs + `
GROUP BY trace_id`
	if since, ok := s.traceSummariesSince(ctx); ok && !from.Before(since) {
		query = `SELECT trace_id, minMerge(start_unix_nano), maxMerge(end_unix_nano), argMinMerge(root_service), argMinMerge(root_name)
FROM ` + schema.TraceSummariesTable.Name + ` WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND ` + inIDs + `
GROUP BY trace_id`
	}
	return s.scanAll(ctx, func(scan func(...any) error) error {
		var (
			id, svc, name string
			first, last   uint64
		)
		if err := scan(&id, &first, &last, &svc, &name); err != nil {
			return err
		}
		if t := byID[id]; t != nil {
			t.RootServiceName, t.RootTraceName = svc, name
			t.StartTimeUnixNano = strconv.FormatUint(first, 10)
			t.DurationMs = (last - first) / 1e6
		}
		return nil
	}, query, append([]any{from.Unix(), to.Unix()}, ids...)...)
}

// tempoFields are the fields a query reads or selects, which the
// answer's spans show.
func tempoFields(q *traceql.Query) []traceql.Field {
	var fields []traceql.Field
	for _, set := range q.Sets {
		for _, f := range append(set.Fields(), q.Select...) {
			if !slices.Contains(fields, f) {
				fields = append(fields, f)
			}
		}
	}
	return fields
}

// tempoAnswerSpan is a span as a search answers it: its service and the
// fields the query reads among its intrinsics and attributes.
func tempoAnswerSpan(sp *structSpan, fields []traceql.Field) tempoSpan {
	out := tempoSpan{SpanID: hex.EncodeToString([]byte(sp.id)), Name: sp.name, StartTimeUnixNano: strconv.FormatUint(sp.start, 10),
		DurationNanos: strconv.FormatUint(sp.dur, 10), Attributes: []tempoKeyValue{{Key: "service.name", Value: map[string]string{"stringValue": sp.svc}}}}
	attrs, res := attrMap(sp.ak, sp.av), attrMap(sp.rk, sp.rv)
	for _, f := range fields {
		var v string
		var ok bool
		switch f.Scope {
		case "intrinsic":
			switch f.Name {
			case "status":
				v, ok = nameOf(spanStatuses, sp.status), true
			case "kind":
				v, ok = nameOf(spanKinds, sp.kind), true
			}
		case "span":
			v, ok = attrs[f.Name]
		case "resource":
			v, ok = res[f.Name]
		default:
			if v, ok = attrs[f.Name]; !ok {
				v, ok = res[f.Name]
			}
		}
		if ok && !(f.Scope != "intrinsic" && f.Name == "service.name") {
			out.Attributes = append(out.Attributes, tempoKeyValue{Key: f.Name, Value: map[string]string{"stringValue": v}})
		}
	}
	return out
}

// tempoMatchedSpans fills each trace's spanset with its first spss
// matching spans, their service and the attributes the query reads.
func (s *Server) tempoMatchedSpans(ctx context.Context, byID map[string]*tempoTrace, q *traceql.Query, match sqlExpr, inIDs string, ids []any, start, end time.Time, spss int) error {
	fields := tempoFields(q)
	return s.scanAll(ctx, func(scan func(...any) error) error {
		var id string
		var sp structSpan
		if err := scan(&id, &sp.id, &sp.name, &sp.svc, &sp.start, &sp.dur, &sp.kind, &sp.status, &sp.ak, &sp.av, &sp.rk, &sp.rv); err != nil {
			return err
		}
		if t := byID[id]; t != nil {
			t.SpanSets[0].Spans = append(t.SpanSets[0].Spans, tempoAnswerSpan(&sp, fields))
		}
		return nil
	}, `SELECT trace_id, span_id, name, service_name, start_time_unix_nano, duration_ns, kind, status_code,
       attr_keys, attr_values, resource_keys, resource_values
FROM spans WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND `+inIDs+` AND `+match.sql+`
ORDER BY trace_id, start_time_unix_nano LIMIT ? BY trace_id`, slices.Concat([]any{start.Unix(), end.Unix()}, ids, match.args, []any{spss})...)
}

// tempoIntrinsicValues are the values the intrinsics with a fixed set
// take.
var tempoIntrinsicValues = map[string][]string{"status": spanStatuses, "kind": spanKinds}

// GET /tempo/api/search/tags (the span and resource attribute names) and
// /tempo/api/v2/search/tags?scope= (by scope, with the intrinsics), over
// the range's spans.
func (s *Server) tempoTags(c echo.Context) error {
	start, end, err := s.tempoRange(c)
	if err != nil {
		return err
	}
	scope := c.QueryParam("scope")
	switch scope {
	case "", "all", "span", "resource", "intrinsic":
	default:
		return badParam("scope", "scope is span, resource, intrinsic or all, got %q", scope)
	}
	where := tempoTagsWhere(c)
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	names := map[string][]string{}
	for _, sc := range []struct{ name, keys string }{{"span", "attr_keys"}, {"resource", "resource_keys"}} {
		if scope != "" && scope != "all" && scope != sc.name {
			continue
		}
		err := s.scanAll(ctx, func(scan func(...any) error) error {
			var k string
			if err := scan(&k); err != nil {
				return err
			}
			names[sc.name] = append(names[sc.name], k)
			return nil
		}, `SELECT DISTINCT arrayJoin(`+sc.keys+`) AS k FROM spans WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND `+where.sql+` ORDER BY k LIMIT ?`,
			slices.Concat([]any{start.Unix(), end.Unix()}, where.args, []any{tempoMaxTags})...)
		if err != nil {
			return err
		}
	}
	if !strings.Contains(c.Path(), "/v2/") {
		all := slices.Compact(slices.Sorted(slices.Values(append(names["span"], names["resource"]...))))
		if all == nil {
			all = []string{}
		}
		return c.JSON(http.StatusOK, map[string]any{"tagNames": all})
	}
	type scoped struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	out := []scoped{}
	for _, sc := range []string{"resource", "span"} {
		if scope == "" || scope == "all" || scope == sc {
			out = append(out, scoped{sc, append([]string{}, names[sc]...)})
		}
	}
	if scope == "" || scope == "all" || scope == "intrinsic" {
		out = append(out, scoped{"intrinsic", traceql.Intrinsics})
	}
	return c.JSON(http.StatusOK, map[string]any{"scopes": out})
}

// GET /tempo/api/search/tag/{name}/values (an attribute of spans or their
// resources) and /tempo/api/v2/search/tag/{scoped name}/values
// (resource.service.name, span.http.route, name, status, kind), over the
// range's spans; v2 takes q, a TraceQL query whose spans' values only are
// listed (a query that does not parse lists every span's).
func (s *Server) tempoTagValues(c echo.Context) error {
	start, end, err := s.tempoRange(c)
	if err != nil {
		return err
	}
	v2 := strings.Contains(c.Path(), "/v2/")
	name := c.Param("name")
	var value sqlExpr
	where := tempoTagsWhere(c)
	if v2 {
		switch {
		case tempoIntrinsicValues[name] != nil:
			return tempoValues(c, true, tempoIntrinsicValues[name])
		case name == "name":
			value = sqlExpr{"name", nil}
		case name == "statusMessage":
			value = sqlExpr{"status_message", nil}
		case strings.HasPrefix(name, "span."):
			_, value = tempoAttr(traceql.Field{Scope: "span", Name: strings.TrimPrefix(name, "span.")})
		case strings.HasPrefix(name, "resource."):
			_, value = tempoAttr(traceql.Field{Scope: "resource", Name: strings.TrimPrefix(name, "resource.")})
		case strings.HasPrefix(name, "."):
			_, value = tempoAttr(traceql.Field{Name: strings.TrimPrefix(name, ".")})
		default:
			return badParam("name", "a tag is an intrinsic (%s) or span.NAME, resource.NAME or .NAME, got %q", strings.Join(traceql.Intrinsics, ", "), name)
		}
	} else {
		_, value = tempoAttr(traceql.Field{Name: name})
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	values := []string{}
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var v string
		if err := scan(&v); err != nil {
			return err
		}
		values = append(values, v)
		return nil
	}, `SELECT DISTINCT toString(`+value.sql+`) AS v FROM spans
WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND `+where.sql+` AND v != '' ORDER BY v LIMIT ?`,
		slices.Concat(value.args, []any{start.Unix(), end.Unix()}, where.args, []any{tempoMaxTags})...)
	if err != nil {
		return err
	}
	return tempoValues(c, v2, values)
}

// tempoTagsWhere is the condition on the spans whose tags and values are
// listed: those q (a TraceQL query of one spanset, as Grafana's query
// builder sends the query so far) matches; every span without one, or
// when it does not parse (it is being written).
func tempoTagsWhere(c echo.Context) sqlExpr {
	if q, err := traceql.Parse(c.QueryParam("q")); err == nil && len(q.Sets) == 1 {
		return tempoCond(q.Sets[0])
	}
	return sqlExpr{"1", nil}
}

// tempoValues answers tag values: strings (v1), typed (v2).
func tempoValues(c echo.Context, v2 bool, values []string) error {
	if !v2 {
		return c.JSON(http.StatusOK, map[string]any{"tagValues": values})
	}
	type typed struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	}
	out := make([]typed, len(values))
	for i, v := range values {
		out[i] = typed{"string", v}
	}
	return c.JSON(http.StatusOK, map[string]any{"tagValues": out})
}

// logfmtMap reads key=value pairs as logfmt writes them, the keys as they
// are; nil when there are none or they do not parse.
func logfmtMap(s string) map[string]string {
	out := map[string]string{}
	d := logfmt.NewDecoder(strings.NewReader(s))
	for d.ScanRecord() {
		for d.ScanKeyval() {
			out[string(d.Key())] = string(d.Value())
		}
	}
	if d.Err() != nil || len(out) == 0 {
		return nil
	}
	return out
}
