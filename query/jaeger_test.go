package query

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chtest"
)

// The shapes Jaeger's query API answers (its UI's and Grafana's Jaeger
// data source's model), written out here as Jaeger documents them, so
// that the test reads the answers as those clients do.
type (
	jEnvelope[T any] struct {
		Data   T `json:"data"`
		Total  int
		Errors []struct {
			Code int    `json:"code"`
			Msg  string `json:"msg"`
		} `json:"errors"`
	}
	jKV struct {
		Key   string `json:"key"`
		Type  string `json:"type"`
		Value any    `json:"value"`
	}
	jSpan struct {
		TraceID       string `json:"traceID"`
		SpanID        string `json:"spanID"`
		OperationName string `json:"operationName"`
		References    []struct {
			RefType string `json:"refType"`
			TraceID string `json:"traceID"`
			SpanID  string `json:"spanID"`
		} `json:"references"`
		StartTime uint64 `json:"startTime"`
		Duration  uint64 `json:"duration"`
		Tags      []jKV  `json:"tags"`
		Logs      []struct {
			Timestamp uint64 `json:"timestamp"`
			Fields    []jKV  `json:"fields"`
		} `json:"logs"`
		ProcessID string `json:"processID"`
	}
	jTrace struct {
		TraceID   string  `json:"traceID"`
		Spans     []jSpan `json:"spans"`
		Processes map[string]struct {
			ServiceName string `json:"serviceName"`
			Tags        []jKV  `json:"tags"`
		} `json:"processes"`
	}
)

func (s jSpan) tag(key string) (jKV, bool) {
	for _, kv := range s.Tags {
		if kv.Key == key {
			return kv, true
		}
	}
	return jKV{}, false
}

func jaegerIDs(traces []jTrace) []string {
	ids := []string{}
	for _, t := range traces {
		ids = append(ids, t.TraceID)
	}
	return ids
}

// jaegerFail checks that path answers status in Jaeger's error envelope.
func jaegerFail(t *testing.T, c client, path string, status int) string {
	t.Helper()
	got, _, body := c.do(http.MethodGet, path, nil)
	require.Equal(t, status, got, "GET %s: %s", path, body)
	var e jEnvelope[any]
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	require.Len(t, e.Errors, 1, string(body))
	require.Equal(t, status, e.Errors[0].Code)
	require.NotEmpty(t, e.Errors[0].Msg)
	return e.Errors[0].Msg
}

// testJaeger reads seedClickHouse's spans through Jaeger's query API.
func testJaeger(t *testing.T, c client) {
	var services jEnvelope[[]string]
	c.get("/jaeger/api/services", &services)
	require.Equal(t, []string{"cart", "web"}, services.Data)
	require.Equal(t, 2, services.Total)

	var ops jEnvelope[[]string]
	c.get("/jaeger/api/services/web/operations", &ops)
	require.Equal(t, []string{"GET /checkout", "GET /old", "POST cart"}, ops.Data)
	var kinds jEnvelope[[]struct{ Name, SpanKind string }]
	c.get("/jaeger/api/operations?service=web&spanKind=client", &kinds)
	require.Equal(t, []struct{ Name, SpanKind string }{{"POST cart", "client"}}, kinds.Data)
	require.Contains(t, jaegerFail(t, c, "/jaeger/api/operations?service=web&spanKind=sideways", http.StatusBadRequest), "spanKind")
	require.Contains(t, jaegerFail(t, c, "/jaeger/api/operations", http.StatusBadRequest), "service")

	// A trace by id: spans in start order, the parent and the link as
	// references, the kind and status as tags, events as logs, one process
	// per service.
	var tr jEnvelope[[]jTrace]
	c.get("/jaeger/api/traces/"+hexA, &tr)
	require.Len(t, tr.Data, 1)
	trace := tr.Data[0]
	require.Equal(t, hexA, trace.TraceID)
	require.Len(t, trace.Spans, 3)
	require.Len(t, trace.Processes, 2)
	root, child, server := trace.Spans[0], trace.Spans[1], trace.Spans[2]
	require.Equal(t, "GET /checkout", root.OperationName)
	require.Equal(t, "0100000000000000", root.SpanID)
	require.Equal(t, uint64(testNow.Add(-10*time.Minute).UnixMicro()), root.StartTime)
	require.Equal(t, uint64(300_000), root.Duration)
	require.Empty(t, root.References)
	require.Equal(t, "web", trace.Processes[root.ProcessID].ServiceName)
	require.Empty(t, trace.Processes[root.ProcessID].Tags, "service.name is the process's serviceName")
	require.Equal(t, "cart", trace.Processes[server.ProcessID].ServiceName)
	require.Equal(t, root.ProcessID, child.ProcessID)
	kv, ok := root.tag("http.route")
	require.True(t, ok)
	require.Equal(t, jKV{"http.route", "string", "/GET /checkout"}, kv)
	kv, _ = root.tag("span.kind")
	require.Equal(t, "server", kv.Value)
	_, ok = root.tag("error")
	require.False(t, ok, "the root did not fail")
	require.Len(t, root.Logs, 1)
	require.Equal(t, root.StartTime+1, root.Logs[0].Timestamp)
	require.Equal(t, []jKV{{"event", "string", "retry"}, {"attempt", "int64", float64(2)}}, root.Logs[0].Fields)

	require.Len(t, child.References, 2)
	require.Equal(t, "CHILD_OF", child.References[0].RefType)
	require.Equal(t, "0100000000000000", child.References[0].SpanID)
	require.Equal(t, hexA, child.References[0].TraceID)
	require.Equal(t, "FOLLOWS_FROM", child.References[1].RefType)
	require.Equal(t, hexB, child.References[1].TraceID)
	kv, _ = child.tag("error")
	require.Equal(t, jKV{"error", "bool", true}, kv)
	kv, _ = child.tag("otel.status_code")
	require.Equal(t, "ERROR", kv.Value)
	kv, _ = child.tag("span.kind")
	require.Equal(t, "client", kv.Value)

	// Jaeger drops an id's leading zeros.
	c.get("/jaeger/api/traces/102030405060708", &tr)
	require.Equal(t, []string{hexB}, jaegerIDs(tr.Data))
	require.Contains(t, jaegerFail(t, c, "/jaeger/api/traces/"+hexA[:30]+"ff", http.StatusNotFound), "not found")
	require.Contains(t, jaegerFail(t, c, "/jaeger/api/traces/xyz", http.StatusBadRequest), "traceID")
	c.get("/jaeger/api/traces?traceID="+hexA+"&traceID="+hexB, &tr)
	require.ElementsMatch(t, []string{hexA, hexB}, jaegerIDs(tr.Data))

	// Searches: the traces with a span that matches, whole, newest first.
	µs := func(at time.Time) string { return fmt.Sprint(at.UnixMicro()) }
	rng := "&start=" + µs(testNow.Add(-time.Hour)) + "&end=" + µs(testNow)
	search := func(query string) []jTrace {
		t.Helper()
		var res jEnvelope[[]jTrace]
		c.get("/jaeger/api/traces?"+query, &res)
		return res.Data
	}
	found := search("service=cart" + rng)
	require.Equal(t, []string{hexB, hexA}, jaegerIDs(found))
	require.Len(t, found[1].Spans, 3, "a trace found by one span is answered whole")
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"service=cart&operation=GET+/cart" + rng, []string{hexB}},
		{"service=cart&tags=" + url.QueryEscape(`{"error":"true"}`) + rng, []string{hexA}},
		{"service=cart&tags=" + url.QueryEscape(`{"error":false}`) + rng, []string{hexB}},
		{"service=web&tags=" + url.QueryEscape(`{"span.kind":"client","otel.status_code":"ERROR"}`) + rng, []string{hexA}},
		{"tags=" + url.QueryEscape(`{"http.route":"/GET /cart"}`) + rng, []string{hexB}},
		{"tag=" + url.QueryEscape("http.route:/POST /cart") + rng, []string{hexA}},
		{"tag=" + url.QueryEscape("service.name:cart") + rng, []string{hexB, hexA}},
		{"service=cart&minDuration=100ms" + rng, []string{hexA}},
		{"service=cart&maxDuration=50ms" + rng, []string{hexB}},
		{"service=cart&limit=1" + rng, []string{hexB}},
		{"service=web" + rng, []string{hexA}},
		{"service=web&lookback=4h&end=" + µs(testNow), []string{hexA, "cc000000000000000000000000000000"}},
		{"service=web", []string{hexA}}, // the last hour
		{"service=nobody" + rng, []string{}},
	} {
		require.Equal(t, c.want, jaegerIDs(search(c.query)), c.query)
	}
	for _, bad := range []struct{ query, field string }{
		{"tags=" + url.QueryEscape(`{"a":`), "tags"},
		{"tags=" + url.QueryEscape(`{"a":[1]}`), "tag \"a\""},
		{"tags=" + url.QueryEscape(`{"error":"maybe"}`), "error"},
		{"tag=novalue", "tag"},
		{"start=" + µs(testNow) + "&end=" + µs(testNow.Add(-time.Hour)), "start"},
		{"start=yesterday", "start"},
		{"limit=-1", "limit"},
		{"limit=1501", "limit"},
		{"minDuration=fast", "minDuration"},
		{"lookback=forever", "lookback"},
	} {
		require.Contains(t, jaegerFail(t, c, "/jaeger/api/traces?"+bad.query, http.StatusBadRequest), bad.field, bad.query)
	}

	// Dependencies: the service graph of the range, per pair of names.
	var deps jEnvelope[[]struct {
		Parent, Child string
		CallCount     uint64 `json:"callCount"`
	}]
	c.get(fmt.Sprintf("/jaeger/api/dependencies?endTs=%d&lookback=%d", testNow.UnixMilli(), time.Hour.Milliseconds()), &deps)
	require.Len(t, deps.Data, 5)
	require.Equal(t, "cart", deps.Data[0].Parent)
	require.Equal(t, "legacy", deps.Data[0].Child)
	require.Equal(t, uint64(600), deps.Data[0].CallCount)
	require.Contains(t, jaegerFail(t, c, "/jaeger/api/dependencies?lookback=soon", http.StatusBadRequest), "lookback")
}

// A search answers the traces it finds whole, their spans up to an hour
// either side of its range: read from the seconds the trace summaries say
// the traces span, or, where the summaries do not cover that margin, from
// the margin's spans.
func TestJaegerSearchReadsWholeTraces(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	span := func(trace, id byte, svc string, start time.Time, parent byte) schema.SpanRow {
		r := schema.SpanRow{StartUnixNano: ns(start), DurationNanos: uint64(time.Millisecond), TraceID: schema.TraceID{trace},
			SpanID: schema.SpanID{trace, id}, Name: "GET /" + svc, Kind: schema.SpanKindServer, ServiceName: svc, GRPCStatusCode: -1}
		if parent != 0 {
			r.ParentSpanID = schema.SpanID{trace, parent}
		}
		return r
	}
	// Trace 1: its root 50 minutes ago, its cart span 10 minutes ago, a
	// span two hours ago beyond the margin. Trace 2: another cart call,
	// 5 minutes ago, alone.
	spans := []schema.SpanRow{
		span(1, 1, "web", testNow.Add(-50*time.Minute), 0),
		span(1, 2, "cart", testNow.Add(-10*time.Minute), 1),
		span(1, 3, "batch", testNow.Add(-2*time.Hour), 1),
		span(2, 1, "cart", testNow.Add(-5*time.Minute), 0),
	}
	require.NoError(t, st.Write(context.Background(), &schema.Batch{Spans: spans}))
	for _, summaries := range []bool{true, false} {
		t.Run(fmt.Sprintf("summaries=%t", summaries), func(t *testing.T) {
			api := newTestAPI(t, Config{}, Deps{Store: st})
			if !summaries {
				api.srv.summariesSince.Store(time.Now().Add(time.Hour).Unix())
			}
			var res jEnvelope[[]jTrace]
			api.client.with(t).get(fmt.Sprintf("/jaeger/api/traces?service=cart&start=%d&end=%d",
				testNow.Add(-30*time.Minute).UnixMicro(), testNow.UnixMicro()), &res)
			require.Equal(t, []string{"02000000000000000000000000000000", "01000000000000000000000000000000"}, jaegerIDs(res.Data))
			services := []string{}
			for _, s := range res.Data[1].Spans {
				services = append(services, res.Data[1].Processes[s.ProcessID].ServiceName)
			}
			require.ElementsMatch(t, []string{"web", "cart"}, services, "the root within the margin, not the span beyond it")
			require.Len(t, res.Data[0].Spans, 1)

			// Every trace of a range: those starting newest within it,
			// answered whole, from the summaries where they cover it; the
			// spans of the first trace answered.
			const t1, t2 = "01000000000000000000000000000000", "02000000000000000000000000000000"
			for _, r := range []struct {
				from, to time.Duration
				limit    int
				want     []string
				spans    int
			}{
				{-30 * time.Minute, 0, 0, []string{t2, t1}, 1},
				{-30 * time.Minute, 0, 1, []string{t2}, 1},
				// Trace 1 starts within this range, its span two hours
				// ago within the margin.
				{-61 * time.Minute, -8 * time.Minute, 1, []string{t1}, 3},
				{-9 * time.Minute, -6 * time.Minute, 0, []string{}, 0},
			} {
				u := fmt.Sprintf("/jaeger/api/traces?start=%d&end=%d", testNow.Add(r.from).UnixMicro(), testNow.Add(r.to).UnixMicro())
				if r.limit > 0 {
					u += fmt.Sprintf("&limit=%d", r.limit)
				}
				api.client.with(t).get(u, &res)
				require.Equal(t, r.want, jaegerIDs(res.Data), u)
				if r.spans > 0 {
					require.Len(t, res.Data[0].Spans, r.spans, u)
				}
			}
			want := 0.0
			if summaries {
				want = 4
			}
			require.Equal(t, want, testutil.ToFloat64(api.srv.metrics.traceSearch.WithLabelValues("trace_summaries")),
				"the searches of every trace read the summaries where they cover the range")
		})
	}
}
