package query

// Jaeger's query API: the JSON API of jaeger-query that the Jaeger UI and
// Grafana's Jaeger data source read, over the spans meshscope stores, so
// that a Grafana pointed at http://HOST:8080/jaeger searches and shows
// meshscope's traces and draws its service dependencies. Its shapes (the
// "data"/"errors" envelope, times in microseconds, tags as typed key-value
// lists, processes referenced by id) are Jaeger's, not the rest of the API's.
//
// OpenTelemetry spans become Jaeger spans as Jaeger's own OTLP receiver
// translates them: the parent and links are CHILD_OF and FOLLOWS_FROM
// references, events are logs (their name under "event"), the resource is
// the process, and the kind and status are the tags span.kind,
// otel.status_code, otel.status_description and error.

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/query/nsfilter"
	"github.com/meshscope/meshscope/schema"
)

// jaegerPrefix is where the Jaeger API is mounted: a Jaeger data source's
// URL is the server's address followed by /jaeger.
const jaegerPrefix = "/jaeger/api"

const (
	// jaegerDefaultLimit is the number of traces a search answers without
	// a limit (the Jaeger UI's default).
	jaegerDefaultLimit = 20
	// jaegerLookback is how far back the services and operations lists
	// look (Jaeger's lists have no range).
	jaegerLookback = 24 * time.Hour
	// jaegerMaxLimit is the most traces one search answers (the Jaeger
	// UI's largest choice), and jaegerMaxSpans the most spans all of them
	// together: whole traces are held in memory to be encoded.
	jaegerMaxLimit = 1500
	jaegerMaxSpans = 200_000
	// jaegerTraceMargin is how far around a search's range the spans of
	// the traces it finds are read: a trace is found by one of its spans
	// in the range and answered whole, as far as its other spans lie
	// within this margin of the range.
	jaegerTraceMargin = time.Hour
)

// jaegerResponse is the envelope of every answer.
type jaegerResponse struct {
	Data   any           `json:"data"`
	Total  int           `json:"total"`
	Limit  int           `json:"limit"`
	Offset int           `json:"offset"`
	Errors []jaegerError `json:"errors"`
}

type jaegerError struct {
	Code    int    `json:"code"`
	Msg     string `json:"msg"`
	TraceID string `json:"traceID,omitempty"`
}

type jaegerTrace struct {
	TraceID   string                   `json:"traceID"`
	Spans     []jaegerSpan             `json:"spans"`
	Processes map[string]jaegerProcess `json:"processes"`
	Warnings  []string                 `json:"warnings"`
}

type jaegerSpan struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	OperationName string      `json:"operationName"`
	References    []jaegerRef `json:"references"`
	StartTime     uint64      `json:"startTime"` // µs since the epoch
	Duration      uint64      `json:"duration"`  // µs
	Tags          []jaegerKV  `json:"tags"`
	Logs          []jaegerLog `json:"logs"`
	ProcessID     string      `json:"processID"`
	Warnings      []string    `json:"warnings"`
}

type jaegerRef struct {
	RefType string `json:"refType"` // CHILD_OF or FOLLOWS_FROM
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

// jaegerKV is a tag: Type is string, bool, int64 or float64.
type jaegerKV struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

type jaegerLog struct {
	Timestamp uint64     `json:"timestamp"`
	Fields    []jaegerKV `json:"fields"`
}

type jaegerProcess struct {
	ServiceName string     `json:"serviceName"`
	Tags        []jaegerKV `json:"tags"`
}

type jaegerOperation struct {
	Name     string `json:"name"`
	SpanKind string `json:"spanKind"`
}

type jaegerDependency struct {
	Parent    string `json:"parent"`
	Child     string `json:"child"`
	CallCount uint64 `json:"callCount"`
}

func (s *Server) jaegerRoutes() {
	j := s.e.Group(jaegerPrefix)
	j.GET("/services", s.jaegerServices)
	j.GET("/services/:service/operations", s.jaegerServiceOperations)
	j.GET("/operations", s.jaegerOperations)
	j.GET("/traces", s.jaegerSearch)
	j.GET("/traces/:traceId", s.jaegerTrace)
	j.GET("/dependencies", s.jaegerDependencies)
}

// jaegerData answers data in Jaeger's envelope.
func jaegerData[T any](c echo.Context, data []T) error {
	if data == nil {
		data = []T{}
	}
	return c.JSON(http.StatusOK, jaegerResponse{Data: data, Total: len(data)})
}

// GET /jaeger/api/services: the services that stored spans in the last
// day.
func (s *Server) jaegerServices(c echo.Context) error {
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	var names []string
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var n string
		if err := scan(&n); err != nil {
			return err
		}
		names = append(names, n)
		return nil
	}, `SELECT service_name FROM spans WHERE timestamp >= toDateTime(?) GROUP BY service_name ORDER BY service_name`,
		s.now().Add(-jaegerLookback).Unix())
	if err != nil {
		return err
	}
	return jaegerData(c, names)
}

// operations of a service in the last day, by name, with their kinds.
func (s *Server) jaegerOps(c echo.Context, service, kind string) ([]jaegerOperation, error) {
	if service == "" {
		return nil, badParam("service", "service is required")
	}
	where, args := "service_name = ? AND timestamp >= toDateTime(?)", []any{service, s.now().Add(-jaegerLookback).Unix()}
	if kind != "" {
		k := slices.Index(spanKinds, strings.ToLower(kind))
		if k < 0 {
			return nil, badParam("spanKind", "spanKind is one of %s, got %q", strings.Join(spanKinds, ", "), kind)
		}
		where += " AND kind = " + strconv.Itoa(k)
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return nil, err
	}
	defer cancel()
	var out []jaegerOperation
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var (
			o jaegerOperation
			k uint8
		)
		if err := scan(&o.Name, &k); err != nil {
			return err
		}
		o.SpanKind = nameOf(spanKinds, k)
		out = append(out, o)
		return nil
	}, `SELECT name, kind FROM spans WHERE `+where+` GROUP BY name, kind ORDER BY name, kind`, args...)
	return out, err
}

// GET /jaeger/api/services/{service}/operations: span names only.
func (s *Server) jaegerServiceOperations(c echo.Context) error {
	ops, err := s.jaegerOps(c, c.Param("service"), "")
	if err != nil {
		return err
	}
	var names []string
	for _, o := range ops {
		if len(names) == 0 || names[len(names)-1] != o.Name {
			names = append(names, o.Name)
		}
	}
	return jaegerData(c, names)
}

// GET /jaeger/api/operations?service=&spanKind=
func (s *Server) jaegerOperations(c echo.Context) error {
	ops, err := s.jaegerOps(c, c.QueryParam("service"), c.QueryParam("spanKind"))
	if err != nil {
		return err
	}
	return jaegerData(c, ops)
}

// jaegerTraceID reads a trace id of 1 to 32 hex digits (Jaeger drops
// leading zeros) as 32.
func jaegerTraceID(field, v string) (string, error) {
	v = strings.ToLower(strings.TrimSpace(v))
	if len(v) == 0 || len(v) > 32 {
		return "", badParam(field, "%s is 1 to 32 hex digits, got %q", field, v)
	}
	if _, err := hex.DecodeString(strings.Repeat("0", len(v)%2) + v); err != nil {
		return "", badParam(field, "%s is 1 to 32 hex digits, got %q", field, v)
	}
	return strings.Repeat("0", 32-len(v)) + v, nil
}

// GET /jaeger/api/traces/{traceId}
func (s *Server) jaegerTrace(c echo.Context) error {
	rows, err := s.traceByIDRows(c)
	if err != nil {
		return err
	}
	return jaegerData(c, jaegerFromRows(rows))
}

// traceByIDRows reads the spans of the trace the path's traceId names (1
// to 32 hex digits, as Jaeger and Tempo take them); not found when none
// are stored.
func (s *Server) traceByIDRows(c echo.Context) ([]schema.SpanRow, error) {
	id, err := jaegerTraceID("traceID", c.Param("traceId"))
	if err != nil {
		return nil, err
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return nil, err
	}
	defer cancel()
	rows, err := s.spanRows(ctx, maxTraceSpans, "trace_id = unhex(?)", id)
	if err == nil && len(rows) == 0 {
		err = notFound("traceID", "trace not found")
	}
	return rows, err
}

// jaegerTraces reads the spans that pass where, grouped into traces in
// the order their first spans come (spans by start time within each).
func (s *Server) jaegerTraces(ctx context.Context, maxSpans int, where string, args ...any) ([]jaegerTrace, error) {
	rows, err := s.spanRows(ctx, maxSpans, where, args...)
	if err != nil {
		return nil, err
	}
	return jaegerFromRows(rows), nil
}

// jaegerFromRows groups spans (by start time) into Jaeger's traces, in
// the order their first spans come.
func jaegerFromRows(rows []schema.SpanRow) []jaegerTrace {
	var (
		traces []jaegerTrace
		index  = map[string]int{}
		procs  = map[string]map[string]string{} // trace id → process key → id
	)
	for k := range rows {
		r := &rows[k]
		tid := hex.EncodeToString(r.TraceID[:])
		i, ok := index[tid]
		if !ok {
			i = len(traces)
			index[tid] = i
			traces = append(traces, jaegerTrace{TraceID: tid, Processes: map[string]jaegerProcess{}})
			procs[tid] = map[string]string{}
		}
		t := &traces[i]
		// Spans of one service with the same resource share a process.
		key := r.ServiceName + "\x00" + strings.Join(r.ResourceKeys, "\x00") + "\x00" + strings.Join(r.ResourceValues, "\x00")
		pid, ok := procs[tid][key]
		if !ok {
			pid = "p" + strconv.Itoa(len(procs[tid])+1)
			procs[tid][key] = pid
			t.Processes[pid] = jaegerProcess{ServiceName: r.ServiceName, Tags: jaegerResourceTags(r.ResourceKeys, r.ResourceValues)}
		}
		sp := jaegerSpan{
			TraceID: tid, SpanID: hex.EncodeToString(r.SpanID[:]), OperationName: r.Name,
			References: []jaegerRef{}, StartTime: r.StartUnixNano / 1000, Duration: r.DurationNanos / 1000,
			Tags: jaegerSpanTags(r), Logs: jaegerLogs(r), ProcessID: pid,
		}
		if p := hexID(string(r.ParentSpanID[:])); p != "" {
			sp.References = append(sp.References, jaegerRef{RefType: "CHILD_OF", TraceID: tid, SpanID: p})
		}
		for i, lt := range r.LinkTraceIDs {
			sp.References = append(sp.References, jaegerRef{RefType: "FOLLOWS_FROM", TraceID: hex.EncodeToString(lt[:]), SpanID: hex.EncodeToString(r.LinkSpanIDs[i][:])})
		}
		t.Spans = append(t.Spans, sp)
	}
	return traces
}

// jaegerSpanTags are a span's attributes (as strings: the spans table
// keeps them so) and the tags Jaeger derives from its kind, status,
// instrumentation scope and trace state.
func jaegerSpanTags(r *schema.SpanRow) []jaegerKV {
	tags := make([]jaegerKV, 0, len(r.AttrKeys)+6)
	for i, k := range r.AttrKeys {
		if i < len(r.AttrValues) {
			tags = append(tags, jaegerKV{Key: k, Type: "string", Value: r.AttrValues[i]})
		}
	}
	str := func(k, v string) {
		if v != "" {
			tags = append(tags, jaegerKV{Key: k, Type: "string", Value: v})
		}
	}
	if r.Kind != schema.SpanKindUnspecified {
		str("span.kind", nameOf(spanKinds, r.Kind))
	}
	if r.StatusCode != schema.StatusUnset {
		str("otel.status_code", strings.ToUpper(nameOf(spanStatuses, r.StatusCode)))
	}
	if r.StatusCode == schema.StatusError {
		tags = append(tags, jaegerKV{Key: "error", Type: "bool", Value: true})
	}
	str("otel.status_description", r.StatusMessage)
	str("otel.scope.name", r.ScopeName)
	str("otel.scope.version", r.ScopeVersion)
	str("w3c.tracestate", r.TraceState)
	return tags
}

// jaegerResourceTags are a resource's attributes but service.name, which
// is the process's serviceName.
func jaegerResourceTags(keys, values []string) []jaegerKV {
	tags := make([]jaegerKV, 0, len(keys))
	for i, k := range keys {
		if k != "service.name" && i < len(values) {
			tags = append(tags, jaegerKV{Key: k, Type: "string", Value: values[i]})
		}
	}
	return tags
}

// jaegerLogs are a span's events: each a log with its name under "event"
// and its attributes, typed as their JSON values are.
func jaegerLogs(r *schema.SpanRow) []jaegerLog {
	logs := make([]jaegerLog, 0, len(r.EventNames))
	for i, name := range r.EventNames {
		l := jaegerLog{Fields: []jaegerKV{{Key: "event", Type: "string", Value: name}}}
		if i < len(r.EventTimes) {
			l.Timestamp = r.EventTimes[i] / 1000
		}
		if i < len(r.EventAttrs) {
			var attrs map[string]any
			if json.Unmarshal([]byte(r.EventAttrs[i]), &attrs) == nil {
				for _, k := range slices.Sorted(maps.Keys(attrs)) {
					l.Fields = append(l.Fields, jaegerValue(k, attrs[k]))
				}
			}
		}
		logs = append(logs, l)
	}
	return logs
}

// jaegerValue types a JSON value as a Jaeger tag.
func jaegerValue(k string, v any) jaegerKV {
	switch v := v.(type) {
	case string:
		return jaegerKV{Key: k, Type: "string", Value: v}
	case bool:
		return jaegerKV{Key: k, Type: "bool", Value: v}
	case float64:
		if v == float64(int64(v)) {
			return jaegerKV{Key: k, Type: "int64", Value: int64(v)}
		}
		return jaegerKV{Key: k, Type: "float64", Value: v}
	}
	b, _ := json.Marshal(v)
	return jaegerKV{Key: k, Type: "string", Value: string(b)}
}

// GET /jaeger/api/dependencies?endTs=&lookback= (milliseconds): the
// service graph of the range, calls summed per pair of service names
// (Jaeger has no namespaces).
func (s *Server) jaegerDependencies(c echo.Context) error {
	end, lookback := s.now(), jaegerLookback
	for _, p := range []struct {
		name string
		set  func(int64)
	}{
		{"endTs", func(ms int64) { end = time.UnixMilli(ms).UTC() }},
		{"lookback", func(ms int64) { lookback = time.Duration(ms) * time.Millisecond }},
	} {
		if v := c.QueryParam(p.name); v != "" {
			ms, err := strconv.ParseInt(v, 10, 64)
			if err != nil || ms <= 0 {
				return badParam(p.name, "%s is a positive number of milliseconds, got %q", p.name, v)
			}
			p.set(ms)
		}
	}
	g, err := s.rangeGraph(c.Request().Context(), end.Add(-lookback), end, graph.GranularityService, nsfilter.Set{})
	if err != nil {
		return err
	}
	return jaegerData(c, jaegerDeps(g))
}

// jaegerDeps sums a graph's calls per pair of node names, busiest first.
func jaegerDeps(g *graph.Graph) []jaegerDependency {
	names := make(map[string]string, len(g.Nodes))
	for _, n := range g.Nodes {
		names[n.ID] = cmp.Or(n.Name, n.ID)
	}
	type pair struct{ parent, child string }
	calls := map[pair]uint64{}
	for _, e := range g.Edges {
		calls[pair{cmp.Or(names[e.Source], e.Source), cmp.Or(names[e.Target], e.Target)}] += e.Requests
	}
	out := make([]jaegerDependency, 0, len(calls))
	for p, n := range calls {
		out = append(out, jaegerDependency{Parent: p.parent, Child: p.child, CallCount: n})
	}
	slices.SortFunc(out, func(a, b jaegerDependency) int {
		if c := cmp.Compare(b.CallCount, a.CallCount); c != 0 {
			return c
		}
		return strings.Compare(a.Parent+"\x00"+a.Child, b.Parent+"\x00"+b.Child)
	})
	return out
}
