package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/meshscope/meshscope/graph"
)

// callTraces builds n traces web -> cart (client span in web, server span
// in cart, of cart's version v3), errors of them failing with status ERROR.
func callTraces(n, errors int) ptrace.Traces { return versionTraces("v3", n, errors, time.Now()) }

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
	waitForEdge(t, "historical edge", 90*time.Second, fmt.Sprintf("http://%s/api/v1/graph?from=%d&to=now", srv.httpAddr, from), id, 40, 4)

	// The service's series by version: cart's v3 took its first calls in
	// the range with cart's own, so v3 is no deploy to mark.
	var detail struct{ Series graph.Series }
	getJSON(t, fmt.Sprintf("http://%s/api/v1/services/shop/cart?from=%d&to=now&versions=true", srv.httpAddr, from), &detail)
	require.Len(t, detail.Series.Versions, 1)
	v := detail.Series.Versions[0]
	require.Equal(t, "v3", v.Version)
	require.False(t, v.New)
	require.EqualValues(t, 40, v.TotalRequests)
	require.EqualValues(t, 4, v.TotalErrors)
	require.GreaterOrEqual(t, v.FirstSeen, from)

	srv.stop()
	srv.start(true)
	waitForEdge(t, "the live edge after a restart", 30*time.Second, "http://"+srv.httpAddr+"/api/v1/graph", id, 40, 4)
}

// kill -9 before the calls' bucket is written: the restarted server restores
// the buckets of its last snapshot, shows the calls live again and writes
// them to the history when due, each once.
func TestKill9KeepsTheGraphsOpenBuckets(t *testing.T) {
	srv := startServer(t, t.TempDir(), true, "--span-wait", "1s", "--edge-flush-delay", "30s", "--window", "10m")
	client := grpcTraceClient(t, srv.grpcAddr)
	_, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(callTraces(40, 4)))
	require.NoError(t, err)
	acked := time.Now().Unix()
	const id = "service:shop/web->service:shop/cart"
	// A snapshot taken after the calls, long before their bucket is due.
	eventually(t, "a snapshot after the calls", 30*time.Second, func() (bool, string) {
		taken := int64(srv.metric("meshscope_graph_snapshot_taken_timestamp_seconds"))
		return taken > acked, fmt.Sprintf("taken at %d, calls at %d", taken, acked)
	})
	require.Zero(t, srv.metric("meshscope_graph_flushed_rows_total"), "nothing written yet")
	srv.kill()
	srv.start(true)

	waitForEdge(t, "the live edge after kill -9", 30*time.Second, "http://"+srv.httpAddr+"/api/v1/graph", id, 40, 4)
	from := time.Now().Add(-10 * time.Minute).Unix()
	waitForEdge(t, "the historical edge, once", 90*time.Second, fmt.Sprintf("http://%s/api/v1/graph?from=%d&to=now", srv.httpAddr, from), id, 40, 4)
}

// waitForEdge waits until the graph at url has edge id with requests calls,
// errors of them failed.
func waitForEdge(t *testing.T, what string, timeout time.Duration, url, id string, requests, errors uint64) {
	t.Helper()
	eventually(t, what, timeout, func() (bool, string) {
		g := getGraph(t, url)
		e := findEdge(g, id)
		if e == nil {
			return false, fmt.Sprintf("%d edges", len(g.Edges))
		}
		return e.Requests == requests && e.Errors == errors, fmt.Sprintf("requests %d errors %d", e.Requests, e.Errors)
	})
}

// versionTraces builds n traces web -> cart whose server spans come from
// cart's version, at about at, the first errors of them failing.
func versionTraces(version string, n, errors int, at time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	res := func(svc, ver string) ptrace.SpanSlice {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", svc)
		rs.Resource().Attributes().PutStr("k8s.namespace.name", "shop")
		rs.Resource().Attributes().PutStr("service.version", ver)
		return rs.ScopeSpans().AppendEmpty().Spans()
	}
	web, cart := res("web", "v1"), res("cart", version)
	for i := range n {
		tid := pcommon.TraceID{9, version[len(version)-1], byte(at.Unix()), byte(i >> 8), byte(i)}
		client := web.AppendEmpty()
		client.SetTraceID(tid)
		client.SetSpanID(pcommon.SpanID{1, byte(i >> 8), byte(i)})
		client.SetKind(ptrace.SpanKindClient)
		client.SetName("GET /cart")
		client.SetStartTimestamp(pcommon.NewTimestampFromTime(at))
		client.SetEndTimestamp(pcommon.NewTimestampFromTime(at.Add(20 * time.Millisecond)))
		server := cart.AppendEmpty()
		server.SetTraceID(tid)
		server.SetSpanID(pcommon.SpanID{2, byte(i >> 8), byte(i)})
		server.SetParentSpanID(client.SpanID())
		server.SetKind(ptrace.SpanKindServer)
		server.SetName("GET /cart")
		server.SetStartTimestamp(pcommon.NewTimestampFromTime(at.Add(time.Millisecond)))
		server.SetEndTimestamp(pcommon.NewTimestampFromTime(at.Add(19 * time.Millisecond)))
		if i < errors {
			server.Status().SetCode(ptrace.StatusCodeError)
		}
	}
	return td
}

// serve --deployment-alerts (two evaluations in a row): a version of cart deployed after v1 that fails
// more often is listed by /api/v1/deployments and alerted on to a webhook.
func TestDeploymentRegressionAlertThroughServe(t *testing.T) {
	hook, received := webhookRecorder(t)
	srv := startServer(t, t.TempDir(), true, "--span-wait", "1s", "--edge-flush-delay", "2s", "--window", "10m",
		"--deployment-alerts", "--deployment-alert-checks", "2", "--slo-interval", "1s", "--slo-webhook-url", hook)
	client := grpcTraceClient(t, srv.grpcAddr)
	now := time.Now()
	_, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(versionTraces("v1", 50, 0, now.Add(-40*time.Second))))
	require.NoError(t, err)
	_, err = client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(versionTraces("v2", 50, 25, now.Add(-15*time.Second))))
	require.NoError(t, err)
	// v1 keeps taking calls beside the canary: its calls since v2's first
	// are what v2 is compared with.
	_, err = client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(versionTraces("v1", 50, 0, now.Add(-14*time.Second))))
	require.NoError(t, err)

	var body string
	eventually(t, "a deployment regression alert at the webhook", 90*time.Second, func() (bool, string) {
		bodies := received()
		for _, b := range bodies {
			if strings.Contains(b, `"alertname":"MeshscopeDeploymentRegression"`) {
				body = b
				return true, ""
			}
		}
		resp, err := http.Get("http://" + srv.httpAddr + "/api/v1/deployments?from=now-5m")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		d, _ := io.ReadAll(resp.Body)
		return false, fmt.Sprintf("%d webhook calls; deployments: %s", len(bodies), d)
	})
	require.Contains(t, body, `"version":"v2"`)
	require.Contains(t, body, `"regression":"errors"`)
	require.Contains(t, body, "cart v2 fails more often than its other versions")

	var deployments struct {
		Deployments []struct{ Service, Version string }
	}
	getJSON(t, "http://"+srv.httpAddr+"/api/v1/deployments?from=now-5m", &deployments)
	require.Len(t, deployments.Deployments, 1)
	require.Equal(t, "v2", deployments.Deployments[0].Version)
	var alerts struct {
		DeploymentAlerts []struct{ Service, Version, Regression string } `json:"deployment_alerts"`
	}
	getJSON(t, "http://"+srv.httpAddr+"/api/v1/alerts", &alerts)
	require.NotEmpty(t, alerts.DeploymentAlerts)
	require.Equal(t, "cart", alerts.DeploymentAlerts[0].Service)
}
