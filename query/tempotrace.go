package query

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/meshscope/meshscope/schema"
)

// spanRows reads the spans that pass where, every column a trace's view
// shows, by start time.
func (s *Server) spanRows(ctx context.Context, maxSpans int, where string, args ...any) ([]schema.SpanRow, error) {
	var rows []schema.SpanRow
	err := s.scanAll(ctx, func(scan func(...any) error) error {
		var (
			r                         schema.SpanRow
			traceID, spanID, parentID string
			linkTraces, linkSpans     []string
		)
		if err := scan(&traceID, &spanID, &parentID, &r.TraceState, &r.Name, &r.Kind, &r.ServiceName,
			&r.ScopeName, &r.ScopeVersion, &r.StartUnixNano, &r.DurationNanos, &r.StatusCode, &r.StatusMessage,
			&r.AttrKeys, &r.AttrValues, &r.ResourceKeys, &r.ResourceValues,
			&r.EventTimes, &r.EventNames, &r.EventAttrs, &linkTraces, &linkSpans, &r.LinkAttrs); err != nil {
			return err
		}
		copy(r.TraceID[:], traceID)
		copy(r.SpanID[:], spanID)
		copy(r.ParentSpanID[:], parentID)
		for i, lt := range linkTraces {
			if i < len(linkSpans) {
				var t schema.TraceID
				var sp schema.SpanID
				copy(t[:], lt)
				copy(sp[:], linkSpans[i])
				r.LinkTraceIDs, r.LinkSpanIDs = append(r.LinkTraceIDs, t), append(r.LinkSpanIDs, sp)
			}
		}
		rows = append(rows, r)
		return nil
	}, `
SELECT trace_id, span_id, parent_span_id, trace_state, name, kind, service_name, scope_name, scope_version,
       start_time_unix_nano, duration_ns, status_code, status_message,
       attr_keys, attr_values, resource_keys, resource_values,
       event_time_unix_nano, event_names, event_attrs, link_trace_ids, link_span_ids, link_attrs
FROM spans
WHERE `+where+`
ORDER BY start_time_unix_nano, span_id
LIMIT ?`, append(args, maxSpans)...)
	return rows, err
}

// otlpTraces are spans as OTLP: a ResourceSpans per service and resource,
// a ScopeSpans per instrumentation scope. Attributes are strings, as the
// spans table keeps them; event and link attributes as their JSON read.
func otlpTraces(rows []schema.SpanRow) ptrace.Traces {
	td := ptrace.NewTraces()
	resources := map[string]ptrace.ResourceSpans{}
	scopes := map[string]ptrace.ScopeSpans{}
	for i := range rows {
		r := &rows[i]
		rkey := r.ServiceName + "\x00" + strings.Join(r.ResourceKeys, "\x00") + "\x00" + strings.Join(r.ResourceValues, "\x00")
		rs, ok := resources[rkey]
		if !ok {
			rs = td.ResourceSpans().AppendEmpty()
			attrs := rs.Resource().Attributes()
			for j, k := range r.ResourceKeys {
				if j < len(r.ResourceValues) {
					attrs.PutStr(k, r.ResourceValues[j])
				}
			}
			if _, ok := attrs.Get("service.name"); !ok {
				attrs.PutStr("service.name", r.ServiceName)
			}
			resources[rkey] = rs
		}
		skey := rkey + "\x00\x00" + r.ScopeName + "\x00" + r.ScopeVersion
		ss, ok := scopes[skey]
		if !ok {
			ss = rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName(r.ScopeName)
			ss.Scope().SetVersion(r.ScopeVersion)
			scopes[skey] = ss
		}
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(pcommon.TraceID(r.TraceID))
		sp.SetSpanID(pcommon.SpanID(r.SpanID))
		sp.SetParentSpanID(pcommon.SpanID(r.ParentSpanID))
		sp.TraceState().FromRaw(r.TraceState)
		sp.SetName(r.Name)
		sp.SetKind(ptrace.SpanKind(r.Kind))
		sp.SetStartTimestamp(pcommon.Timestamp(r.StartUnixNano))
		sp.SetEndTimestamp(pcommon.Timestamp(r.StartUnixNano + r.DurationNanos))
		sp.Status().SetCode(ptrace.StatusCode(r.StatusCode))
		sp.Status().SetMessage(r.StatusMessage)
		attrs := sp.Attributes()
		attrs.EnsureCapacity(len(r.AttrKeys))
		for j, k := range r.AttrKeys {
			if j < len(r.AttrValues) {
				attrs.PutStr(k, r.AttrValues[j])
			}
		}
		for j, t := range r.EventTimes {
			ev := sp.Events().AppendEmpty()
			ev.SetTimestamp(pcommon.Timestamp(t))
			if j < len(r.EventNames) {
				ev.SetName(r.EventNames[j])
			}
			if j < len(r.EventAttrs) {
				putJSONAttrs(ev.Attributes(), r.EventAttrs[j])
			}
		}
		for j, lt := range r.LinkTraceIDs {
			l := sp.Links().AppendEmpty()
			l.SetTraceID(pcommon.TraceID(lt))
			l.SetSpanID(pcommon.SpanID(r.LinkSpanIDs[j]))
			if j < len(r.LinkAttrs) {
				putJSONAttrs(l.Attributes(), r.LinkAttrs[j])
			}
		}
	}
	return td
}

// putJSONAttrs puts the attributes a JSON object holds (an event's or a
// link's, as stored); nothing for anything else.
func putJSONAttrs(m pcommon.Map, s string) {
	var raw map[string]any
	if s == "" || json.Unmarshal([]byte(s), &raw) != nil {
		return
	}
	_ = m.FromRaw(raw)
}

// GET /tempo/api/traces/{traceId} and /tempo/api/v2/traces/{traceId}: a
// trace as OTLP, protobuf when asked (Accept: application/protobuf, as
// Grafana asks) else JSON. The first answers Tempo's Trace ({"batches":
// [ResourceSpans]}, on the wire OTLP's TracesData); v2 wraps it as
// {"trace": {"resourceSpans": [...]}}, its field 1 on the wire.
func (s *Server) tempoTrace(c echo.Context) error {
	rows, err := s.traceByIDRows(c)
	if err != nil {
		return err
	}
	td := otlpTraces(rows)
	v2 := strings.Contains(c.Path(), "/v2/")
	if strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "application/protobuf") {
		b, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
		if err != nil {
			return err
		}
		if v2 {
			b = protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), b)
		}
		return c.Blob(http.StatusOK, "application/protobuf", b)
	}
	b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		return err
	}
	var data struct {
		ResourceSpans json.RawMessage `json:"resourceSpans"`
	}
	if err := json.Unmarshal(b, &data); err != nil {
		return err
	}
	if data.ResourceSpans == nil {
		data.ResourceSpans = json.RawMessage("[]")
	}
	if v2 {
		return c.JSON(http.StatusOK, map[string]any{"trace": map[string]any{"resourceSpans": data.ResourceSpans}})
	}
	return c.JSON(http.StatusOK, map[string]any{"batches": data.ResourceSpans})
}
