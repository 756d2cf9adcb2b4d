package query

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chtest"
)

// tempoSearchAnswer is a Tempo search's answer, as Grafana's Tempo data
// source reads it.
type tempoSearchAnswer struct {
	Traces []struct {
		TraceID           string
		RootServiceName   string
		RootTraceName     string
		StartTimeUnixNano string
		DurationMs        uint64
		SpanSets          []struct {
			Matched int
			Spans   []struct {
				SpanID, Name, StartTimeUnixNano, DurationNanos string
				Attributes                                     []struct {
					Key   string
					Value map[string]string
				}
			}
		}
	}
}

// testTempo reads seedClickHouse's spans through Tempo's API: trace A
// (web GET /checkout, its client call POST cart failing, cart's POST /cart
// failing) ten minutes ago, trace B (cart GET /cart, ok) nine.
func testTempo(t *testing.T, c client) {
	rng := fmt.Sprintf("&start=%d&end=%d", testNow.Add(-time.Hour).Unix(), testNow.Unix())
	search := func(q string) tempoSearchAnswer {
		t.Helper()
		var a tempoSearchAnswer
		c.get("/tempo/api/search?q="+url.QueryEscape(q)+rng, &a)
		return a
	}
	ids := func(a tempoSearchAnswer) []string {
		out := []string{}
		for _, tr := range a.Traces {
			out = append(out, tr.TraceID)
		}
		return out
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{`{}`, []string{hexB, hexA}},
		{`{ resource.service.name = "cart" }`, []string{hexB, hexA}},
		{`{ status = error }`, []string{hexA}},
		{`{ status != error && kind = server }`, []string{hexB, hexA}},
		{`{ span.http.route = "/GET /cart" }`, []string{hexB}},
		{`{ .http.route =~ "/POST.*" }`, []string{hexA}},
		{`{ .service.name = "web" }`, []string{hexA}},
		{`{ duration > 100ms && name != "POST cart" }`, []string{hexA}},
		{`{ duration >= 20ms && duration < 21ms }`, []string{hexB}},
		{`{ resource.service.name = "cart" } && { resource.service.name = "web" }`, []string{hexA}},
		{`{ name = "GET /cart" } || { status = error }`, []string{hexB, hexA}},
		{`{ name = "GET /cart" } && { status = error }`, []string{}},
		{`{ span.http.route = "/GET /checkout" || kind = client }`, []string{hexA}},
		{`{ span.absent = "x" }`, []string{}},
		{`{ span.absent = nil && resource.service.name = "cart" }`, []string{hexB, hexA}},
		{`{ span.http.route != nil && status = ok }`, []string{hexB}},
		{`{ span.http.route != "/GET /cart" }`, []string{hexA}},
		// Spans related by the trace's tree.
		{`{ resource.service.name = "web" && kind = server } >> { status = error }`, []string{hexA}},
		{`{ kind = client } > { resource.service.name = "cart" }`, []string{hexA}},
		{`{ kind = server && resource.service.name = "web" } > { resource.service.name = "cart" }`, []string{}},
		{`{ resource.service.name = "cart" } << { kind = server }`, []string{hexA}},
		{`{ status = error } < { name = "GET /checkout" }`, []string{hexA}},
		{`{ kind = client } ~ { kind = server }`, []string{}},
		{`{} >> {}`, []string{hexA}},
		// Aggregates over a trace's matching spans.
		{`{ status = error } | count() >= 2`, []string{hexA}},
		{`{ status = error } | count() > 2`, []string{}},
		{`{} | count() = 1`, []string{hexB}},
		{`{ resource.service.name = "web" } | max(duration) > 250ms`, []string{hexA}},
		{`{} | avg(duration) < 100ms`, []string{hexB}},
		{`{ .http.route != nil } | sum(duration) >= 650ms`, []string{hexA}},
		{`{} | min(span.http.route) > 0`, []string{}},
	} {
		require.Equal(t, tc.want, ids(search(tc.q)), tc.q)
	}

	// A trace's root and duration, its matching spans with what the query
	// reads.
	a := search(`{ status = error && span.http.route =~ "/POST.*" }`)
	require.Len(t, a.Traces, 1)
	tr := a.Traces[0]
	require.Equal(t, "web", tr.RootServiceName)
	require.Equal(t, "GET /checkout", tr.RootTraceName)
	require.Equal(t, fmt.Sprint(testNow.Add(-10*time.Minute).UnixNano()), tr.StartTimeUnixNano)
	require.Equal(t, uint64(300), tr.DurationMs)
	require.Len(t, tr.SpanSets, 1)
	require.Equal(t, 2, tr.SpanSets[0].Matched)
	sp := tr.SpanSets[0].Spans[0]
	require.Equal(t, "POST cart", sp.Name)
	require.Equal(t, "0200000000000000", sp.SpanID)
	require.Equal(t, fmt.Sprint(200*time.Millisecond), fmt.Sprint(time.Duration(mustInt(t, sp.DurationNanos))))
	attrs := map[string]string{}
	for _, kv := range sp.Attributes {
		attrs[kv.Key] = kv.Value["stringValue"]
	}
	require.Equal(t, map[string]string{"service.name": "web", "status": "error", "http.route": "/POST cart"}, attrs)
	// A structural query answers the right set's spans that stand so.
	a = search(`{ name = "GET /checkout" } >> { status = error }`)
	require.Len(t, a.Traces, 1)
	require.Equal(t, 2, a.Traces[0].SpanSets[0].Matched)
	require.Equal(t, "web", a.Traces[0].RootServiceName)
	names := []string{}
	for _, sp := range a.Traces[0].SpanSets[0].Spans {
		names = append(names, sp.Name)
	}
	require.Equal(t, []string{"POST cart", "POST /cart"}, names)
	// select adds fields to the spans' attributes.
	a = search(`{ name = "GET /cart" } | select(resource.service.name, span.http.route, kind)`)
	attrs = map[string]string{}
	for _, kv := range a.Traces[0].SpanSets[0].Spans[0].Attributes {
		attrs[kv.Key] = kv.Value["stringValue"]
	}
	require.Equal(t, map[string]string{"service.name": "cart", "http.route": "/GET /cart", "kind": "server"}, attrs)
	// spss bounds the spans answered, not the count.
	var one tempoSearchAnswer
	c.get("/tempo/api/search?spss=1&q="+url.QueryEscape(`{ status = error }`)+rng, &one)
	require.Len(t, one.Traces[0].SpanSets[0].Spans, 1)
	require.Equal(t, 2, one.Traces[0].SpanSets[0].Matched)
	// The older search: tags and durations.
	var tags tempoSearchAnswer
	c.get("/tempo/api/search?tags="+url.QueryEscape(`service.name=cart http.route="/GET /cart"`)+"&minDuration=10ms"+rng, &tags)
	require.Equal(t, []string{hexB}, ids(tags))
	// limit: the newest.
	var lim tempoSearchAnswer
	c.get("/tempo/api/search?limit=1&q="+url.QueryEscape(`{}`)+rng, &lim)
	require.Equal(t, []string{hexB}, ids(lim))

	// A trace as Grafana asks for it: OTLP protobuf (Tempo's Trace on the
	// wire), v1 and v2 (the trace in field 1); and as JSON.
	get := func(path, accept string) (int, []byte) {
		req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
		require.NoError(t, err)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, b
	}
	status, body := get("/tempo/api/traces/"+hexA, "application/protobuf")
	require.Equal(t, http.StatusOK, status)
	td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(body)
	require.NoError(t, err)
	checkTraceA(t, td)
	status, body = get("/tempo/api/v2/traces/"+hexA, "application/protobuf")
	require.Equal(t, http.StatusOK, status)
	num, typ, n := protowire.ConsumeTag(body)
	require.Equal(t, protowire.Number(1), num)
	require.Equal(t, protowire.BytesType, typ)
	inner, m := protowire.ConsumeBytes(body[n:])
	require.Equal(t, len(body), n+m)
	td, err = (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(inner)
	require.NoError(t, err)
	checkTraceA(t, td)
	status, body = get("/tempo/api/v2/traces/"+hexA, "")
	require.Equal(t, http.StatusOK, status)
	require.True(t, strings.HasPrefix(string(body), `{"trace":{"resourceSpans":[`), string(body))
	status, body = get("/tempo/api/traces/"+hexA, "application/json")
	require.Equal(t, http.StatusOK, status)
	td, err = (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(strings.Replace(string(body), `{"batches":`, `{"resourceSpans":`, 1)))
	require.NoError(t, err)
	checkTraceA(t, td)
	status, body = get("/tempo/api/traces/0102", "application/protobuf")
	require.Equal(t, http.StatusNotFound, status, string(body))

	// Tags and their values, for Grafana's query builder.
	var v1 struct{ TagNames []string }
	c.get("/tempo/api/search/tags?"+rng[1:], &v1)
	require.Equal(t, []string{"http.route", "service.name"}, v1.TagNames)
	var v2 struct {
		Scopes []struct {
			Name string
			Tags []string
		}
	}
	var narrowed struct{ TagNames []string }
	c.get("/tempo/api/search/tags?q="+url.QueryEscape(`{ span.absent = "x" }`)+rng, &narrowed)
	require.Empty(t, narrowed.TagNames, "the tags of the spans the query matches")
	c.get("/tempo/api/v2/search/tags?"+rng[1:], &v2)
	scopes := map[string][]string{}
	for _, s := range v2.Scopes {
		scopes[s.Name] = s.Tags
	}
	require.Equal(t, map[string][]string{"resource": {"service.name"}, "span": {"http.route"}, "intrinsic": {"duration", "kind", "name", "status", "statusMessage"}}, scopes)
	var vals struct{ TagValues []string }
	c.get("/tempo/api/search/tag/service.name/values?"+rng[1:], &vals)
	require.Equal(t, []string{"cart", "web"}, vals.TagValues)
	var typed struct {
		TagValues []struct{ Type, Value string }
	}
	c.get("/tempo/api/v2/search/tag/span.http.route/values?q="+url.QueryEscape(`{ resource.service.name = "cart" }`)+rng, &typed)
	require.Equal(t, []struct{ Type, Value string }{{"string", "/GET /cart"}, {"string", "/POST /cart"}}, typed.TagValues)
	c.get("/tempo/api/v2/search/tag/status/values", &typed)
	require.Len(t, typed.TagValues, 3)
	c.get("/tempo/api/v2/search/tag/name/values?q="+url.QueryEscape(`{ status = error }`)+rng, &typed)
	require.Equal(t, []struct{ Type, Value string }{{"string", "POST /cart"}, {"string", "POST cart"}}, typed.TagValues)

	// TraceQL metrics: series of the matching spans by step, grouped by
	// their fields.
	type metricSeries struct {
		PromLabels string
		Samples    []struct {
			TimestampMs string
			Value       float64
		}
		Value float64
	}
	metrics := func(path, q string) map[string]string {
		t.Helper()
		var a struct{ Series []metricSeries }
		c.get(path+"?step=60&q="+url.QueryEscape(q)+rng, &a)
		out := map[string]string{}
		for _, sr := range a.Series {
			var pts []string
			for _, smp := range sr.Samples {
				ms, _ := strconv.ParseInt(smp.TimestampMs, 10, 64)
				pts = append(pts, fmt.Sprintf("%d:%.6g", (ms-testNow.UnixMilli())/1000, smp.Value))
			}
			if pts == nil {
				pts = []string{fmt.Sprintf("%.6g", sr.Value)}
			}
			out[sr.PromLabels] = strings.Join(pts, " ")
		}
		return out
	}
	rangeQ := "/tempo/api/metrics/query_range"
	require.Equal(t, map[string]string{`{resource.service.name="web"}`: "-600:2", `{resource.service.name="cart"}`: "-600:1 -540:1"},
		metrics(rangeQ, `{} | count_over_time() by (resource.service.name)`))
	require.Equal(t, map[string]string{`{}`: "-600:0.0333333"}, metrics(rangeQ, `{ status = error } | rate()`))
	require.Equal(t, map[string]string{`{resource.service.name="cart", p="0.5"}`: "-600:0.15 -540:0.02"},
		metrics(rangeQ, `{ resource.service.name = "cart" } | quantile_over_time(duration, 0.5) by (resource.service.name)`))
	require.Equal(t, map[string]string{`{__bucket="0.536870912"}`: "-600:1", `{__bucket="0.268435456"}`: "-600:2", `{__bucket="0.033554432"}`: "-540:1"},
		metrics(rangeQ, `{} | histogram_over_time(duration)`))
	require.Equal(t, map[string]string{`{span.http.route="/POST cart"}`: "-600:0.2", `{span.http.route="/POST /cart"}`: "-600:0.15"},
		metrics(rangeQ, `{ status = error } | max_over_time(duration) by (span.http.route)`))
	require.Equal(t, map[string]string{`{status="unset"}`: "0.3", `{status="error"}`: "0.175", `{status="ok"}`: "0.02"},
		metrics("/tempo/api/metrics/query", `{} | avg_over_time(duration) by (status)`))
	require.Equal(t, map[string]string{`{kind="client"}`: "1", `{kind="server"}`: "3"},
		metrics("/tempo/api/metrics/query", `{} | count_over_time() by (kind)`))

	// Grafana's health check, and errors as plain text.
	status, body = get("/tempo/api/echo", "")
	require.Equal(t, "echo", string(body))
	for _, bad := range []struct{ path, want string }{
		{"/tempo/api/search?q=" + url.QueryEscape(`{ status = "error" }`), "compares with a status"},
		{"/tempo/api/search?q=" + url.QueryEscape(`{} !>> {}`), "not supported"},
		{"/tempo/api/search?limit=0&q=" + url.QueryEscape(`{}`), "limit"},
		{"/tempo/api/search?start=x", "start"},
		{"/tempo/api/v2/search/tag/bogus/values", "a tag is"},
		{"/tempo/api/traces/xyz", "hex"},
		{"/tempo/api/search?q=" + url.QueryEscape(`{} | rate()`), "metrics query"},
		{"/tempo/api/metrics/query_range?q=" + url.QueryEscape(`{}`), "metrics function"},
		{"/tempo/api/metrics/query_range?step=0.001&q=" + url.QueryEscape(`{} | rate()`), "step"},
	} {
		status, body := get(bad.path, "")
		require.Equal(t, http.StatusBadRequest, status, bad.path)
		require.Contains(t, string(body), bad.want, bad.path)
		require.False(t, strings.HasPrefix(string(body), "{"), "plain text: %s", body)
	}
}

// checkTraceA says td is trace A as stored: three spans of two services,
// with their parents, kinds, statuses, attributes, events and links.
func checkTraceA(t *testing.T, td ptrace.Traces) {
	t.Helper()
	require.Equal(t, 3, td.SpanCount())
	byName := map[string]ptrace.Span{}
	services := map[string]string{}
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		svc, _ := rss.At(i).Resource().Attributes().Get("service.name")
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			for k := 0; k < sss.At(j).Spans().Len(); k++ {
				sp := sss.At(j).Spans().At(k)
				byName[sp.Name()] = sp
				services[sp.Name()] = svc.Str()
			}
		}
	}
	require.Equal(t, map[string]string{"GET /checkout": "web", "POST cart": "web", "POST /cart": "cart"}, services)
	root, call, declined := byName["GET /checkout"], byName["POST cart"], byName["POST /cart"]
	require.Equal(t, hexA, root.TraceID().String())
	require.True(t, root.ParentSpanID().IsEmpty())
	require.Equal(t, root.SpanID(), call.ParentSpanID())
	require.Equal(t, call.SpanID(), declined.ParentSpanID())
	require.Equal(t, ptrace.SpanKindClient, call.Kind())
	require.Equal(t, ptrace.StatusCodeError, declined.Status().Code())
	require.Equal(t, 300*time.Millisecond, root.EndTimestamp().AsTime().Sub(root.StartTimestamp().AsTime()))
	route, _ := declined.Attributes().Get("http.route")
	require.Equal(t, "/POST /cart", route.Str())
	require.Equal(t, 1, declined.Events().Len())
	require.Equal(t, "exception", declined.Events().At(0).Name())
	typ, _ := declined.Events().At(0).Attributes().Get("exception.type")
	require.Equal(t, "PaymentDeclined", typ.Str())
	require.Equal(t, 1, call.Links().Len())
	require.Equal(t, hexB, call.Links().At(0).TraceID().String())
}

func mustInt(t *testing.T, s string) int64 {
	var n int64
	_, err := fmt.Sscan(s, &n)
	require.NoError(t, err)
	return n
}

// Aggregates of attributes read as numbers, and as durations: a span
// whose attribute is of another form is left out of its trace's.
func TestTempoAttributeAggregates(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	at := testNow.Add(-10 * time.Minute)
	span := func(trace, id byte, size, wait string) schema.SpanRow {
		return schema.SpanRow{StartUnixNano: ns(at.Add(time.Duration(10*int(trace)+int(id)) * time.Millisecond)), DurationNanos: 1e6, TraceID: schema.TraceID{trace}, SpanID: schema.SpanID{id},
			Name: "op", Kind: schema.SpanKindServer, ServiceName: "svc", GRPCStatusCode: -1, AttrKeys: []string{"size", "wait"}, AttrValues: []string{size, wait}}
	}
	require.NoError(t, st.Write(context.Background(), &schema.Batch{Spans: []schema.SpanRow{
		span(1, 1, "10", "100ms"), span(1, 2, "30", "2s"), span(1, 3, "big", "soon"),
		span(2, 1, "5", "50ms"), span(2, 2, "7", "1m"),
	}}))
	c := newTestAPI(t, Config{}, Deps{Store: st}).client.with(t)
	rng := fmt.Sprintf("&start=%d&end=%d", testNow.Add(-time.Hour).Unix(), testNow.Unix())
	t1, t2 := "01000000000000000000000000000000", "02000000000000000000000000000000"
	for q, want := range map[string][]string{
		`{} | avg(span.size) = 20`:        {t1},
		`{} | sum(span.size) < 15`:        {t2},
		`{} | max(.size) >= 30`:           {t1},
		`{} | max(span.wait) > 1.5s`:      {t2, t1},
		`{} | max(span.wait) > 1.5m`:      {},
		`{} | min(span.wait) < 60ms`:      {t2},
		`{ span.size > 6 } | count() = 1`: {t2},
		`{ span.wait >= 2s }`:             {t2, t1},
	} {
		var a tempoSearchAnswer
		c.get("/tempo/api/search?q="+url.QueryEscape(q)+rng, &a)
		got := []string{}
		for _, tr := range a.Traces {
			got = append(got, tr.TraceID)
		}
		require.Equal(t, want, got, q)
	}
}
