package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/meshscope/meshscope/graph"
)

// callTraces builds n traces web -> cart (client span in web, server span
// in cart), errors of them failing with status ERROR.
func callTraces(n, errors int) ptrace.Traces {
	td := ptrace.NewTraces()
	res := func(svc string) ptrace.SpanSlice {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", svc)
		rs.Resource().Attributes().PutStr("k8s.namespace.name", "shop")
		return rs.ScopeSpans().AppendEmpty().Spans()
	}
	web, cart := res("web"), res("cart")
	now := time.Now()
	for i := range n {
		tid := pcommon.TraceID{7, byte(i >> 8), byte(i)}
		client := web.AppendEmpty()
		client.SetTraceID(tid)
		client.SetSpanID(pcommon.SpanID{1, byte(i >> 8), byte(i)})
		client.SetKind(ptrace.SpanKindClient)
		client.SetName("GET /cart")
		client.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		client.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(20 * time.Millisecond)))
		server := cart.AppendEmpty()
		server.SetTraceID(tid)
		server.SetSpanID(pcommon.SpanID{2, byte(i >> 8), byte(i)})
		server.SetParentSpanID(client.SpanID())
		server.SetKind(ptrace.SpanKindServer)
		server.SetName("GET /cart")
		server.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
		server.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(19 * time.Millisecond)))
		if i < errors {
			server.Status().SetCode(ptrace.StatusCodeError)
		}
	}
	return td
}

func getGraph(t *testing.T, url string) graph.Graph {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	var g graph.Graph
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&g))
	return g
}

func findEdge(g graph.Graph, id string) *graph.Edge {
	for i := range g.Edges {
		if g.Edges[i].ID == id {
			return &g.Edges[i]
		}
	}
	return nil
}

// Spans sent over OTLP become a live edge and, once their bucket is
// flushed, a historical one, with exact counts; after a restart the live
// graph still shows them while they are in its window.
func TestSpansBecomeLiveAndHistoricalEdges(t *testing.T) {
	srv := startServer(t, t.TempDir(), true, "--span-wait", "1s", "--edge-flush-delay", "2s", "--window", "10m")
	client := grpcTraceClient(t, srv.grpcAddr)
	_, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(callTraces(40, 4)))
	require.NoError(t, err)
	const id = "service:shop/web->service:shop/cart"
	var live *graph.Edge
	eventually(t, "live edge", 30*time.Second, func() (bool, string) {
		g := getGraph(t, "http://"+srv.httpAddr+"/api/v1/graph")
		live = findEdge(g, id)
		if live == nil {
			return false, fmt.Sprintf("%d edges", len(g.Edges))
		}
		return live.Requests == 40, fmt.Sprintf("requests %d", live.Requests)
	})
	require.EqualValues(t, 4, live.Errors)
	require.Equal(t, []string{"span"}, live.Provenance)
	require.InDelta(t, 18, live.P50Ms, 18*0.2)

	from := time.Now().Add(-10 * time.Minute).Unix()
	eventually(t, "historical edge", 90*time.Second, func() (bool, string) {
		g := getGraph(t, fmt.Sprintf("http://%s/api/v1/graph?from=%d&to=now", srv.httpAddr, from))
		e := findEdge(g, id)
		if e == nil {
			return false, fmt.Sprintf("%d edges", len(g.Edges))
		}
		return e.Requests == 40 && e.Errors == 4, fmt.Sprintf("requests %d errors %d", e.Requests, e.Errors)
	})

	srv.stop()
	srv.start(true)
	eventually(t, "the live edge after a restart", 30*time.Second, func() (bool, string) {
		e := findEdge(getGraph(t, "http://"+srv.httpAddr+"/api/v1/graph"), id)
		if e == nil {
			return false, "no edge"
		}
		return e.Requests == 40 && e.Errors == 4, fmt.Sprintf("requests %d errors %d", e.Requests, e.Errors)
	})
}
