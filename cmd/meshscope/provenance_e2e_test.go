package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/meshscope/meshscope/graph"
)

// knownTraces builds a known call structure at start: web calls cart n
// times (paired client/server spans without HTTP attributes), cart queries
// postgres db times (a database span), calls the uninstrumented service
// legacy legacy times (a client span naming its host), and produces to kafka
// "orders" that worker consumes q times.
func knownTraces(start time.Time, n, db, legacy, q int) ptrace.Traces {
	td := ptrace.NewTraces()
	spans := map[string]ptrace.SpanSlice{}
	for _, s := range []string{"web", "cart", "worker"} {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", s)
		rs.Resource().Attributes().PutStr("k8s.namespace.name", "shop")
		spans[s] = rs.ScopeSpans().AppendEmpty().Spans()
	}
	id := 0
	add := func(svc string, tid pcommon.TraceID, parent pcommon.SpanID, kind ptrace.SpanKind, at time.Time, attrs map[string]string) ptrace.Span {
		id++
		sp := spans[svc].AppendEmpty()
		sp.SetTraceID(tid)
		sp.SetSpanID(pcommon.SpanID{0xee, byte(id >> 8), byte(id)})
		sp.SetParentSpanID(parent)
		sp.SetKind(kind)
		sp.SetName("op")
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(at))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(at.Add(15 * time.Millisecond)))
		for k, v := range attrs {
			sp.Attributes().PutStr(k, v)
		}
		return sp
	}
	for i := range max(n, db, legacy, q) {
		tid := pcommon.TraceID{0xee, byte(i >> 8), byte(i)}
		at := start.Add(time.Duration(i) * 100 * time.Millisecond)
		var server ptrace.Span
		if i < n {
			c := add("web", tid, pcommon.SpanID{}, ptrace.SpanKindClient, at, nil)
			server = add("cart", tid, c.SpanID(), ptrace.SpanKindServer, at, nil)
		} else {
			server = add("cart", tid, pcommon.SpanID{}, ptrace.SpanKindServer, at, nil)
		}
		if i < db {
			add("cart", tid, server.SpanID(), ptrace.SpanKindClient, at, map[string]string{"db.system": "postgresql", "db.name": "carts"})
		}
		if i < legacy {
			add("cart", tid, server.SpanID(), ptrace.SpanKindClient, at, map[string]string{"server.address": "legacy.shop.svc.cluster.local"})
		}
		if i < q {
			p := add("cart", tid, server.SpanID(), ptrace.SpanKindProducer, at, map[string]string{"messaging.system": "kafka", "messaging.destination.name": "orders"})
			add("worker", tid, p.SpanID(), ptrace.SpanKindConsumer, at.Add(50*time.Millisecond), map[string]string{"messaging.system": "kafka", "messaging.destination.name": "orders"})
		}
	}
	return td
}

// istioLines are a sidecar's outbound entries (Istio's default text format)
// for n calls to service at start, one every 100 ms: they know the callee
// by its service only.
func istioLines(start time.Time, n int, service string) string {
	var b strings.Builder
	for i := range n {
		at := start.Add(time.Duration(i) * 100 * time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z")
		fmt.Fprintf(&b, `[%s] "GET /%s HTTP/1.1" 200 - via_upstream - "-" 0 120 15 14 "-" "curl/8" "%s-%d" "%s:8080" "10.0.0.2:8080" outbound|8080||%s.shop.svc.cluster.local 10.0.0.1:40000 10.96.0.5:8080 10.0.0.1:%d - default`+"\n",
			at, service, service, i, service, service, 41000+i)
	}
	return b.String()
}

func postLines(t *testing.T, addr, emitter, body string) {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/api/v1/accesslogs?format=istio&emitter="+emitter, "text/plain", strings.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
}

// remoteWrite sends one istio_requests_total sample for web -> cart, as
// Istio labels it without canonical revisions: workloads, no versions.
func remoteWrite(t *testing.T, addr string, value float64, at time.Time) {
	t.Helper()
	labels := map[string]string{"__name__": "istio_requests_total", "reporter": "destination", "source_workload": "web-v1",
		"source_canonical_service": "web", "source_workload_namespace": "shop", "destination_workload": "cart-v1",
		"destination_canonical_service": "cart", "destination_service_name": "cart", "destination_workload_namespace": "shop",
		"destination_service_namespace": "shop", "destination_service": "cart.shop.svc.cluster.local", "response_code": "200",
		"request_protocol": "http", "connection_security_policy": "mutual_tls", "response_flags": "-"}
	var ls []prompb.Label
	for k, v := range labels {
		ls = append(ls, prompb.Label{Name: k, Value: v})
	}
	slices.SortFunc(ls, func(a, b prompb.Label) int { return strings.Compare(a.Name, b.Name) })
	req := prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{Labels: ls, Samples: []prompb.Sample{{Value: value, Timestamp: at.UnixMilli()}}}}}
	raw, err := req.Marshal()
	require.NoError(t, err)
	hreq, err := http.NewRequest("POST", "http://"+addr+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	require.NoError(t, err)
	hreq.Header.Set("Content-Encoding", "snappy")
	hreq.Header.Set("Content-Type", "application/x-protobuf")
	hreq.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := http.DefaultClient.Do(hreq)
	require.NoError(t, err)
	resp.Body.Close()
	require.Less(t, resp.StatusCode, 300)
}

// A known call structure arrives as spans over OTLP; the calls web -> cart
// also as the caller's sidecar's access log lines and an Istio metric
// delta, the calls to the uninstrumented legacy service also as cart's
// sidecar's lines. Each input describes the calls with its own detail
// (spans without HTTP attributes, lines naming the callee by service,
// series without versions). Live and from ClickHouse, the graph is the
// expected one, with every call counted once.
func TestSameCallsFromEveryInputCountOnce(t *testing.T) {
	srv := startServer(t, t.TempDir(), true, "--span-wait", "1s", "--accesslog-wait", "1s", "--edge-flush-delay", "10s")
	start := time.Now().Add(-3 * time.Second)
	remoteWrite(t, srv.httpAddr, 100, time.Now()) // the counter's baseline
	_, err := grpcTraceClient(t, srv.grpcAddr).Export(context.Background(),
		ptraceotlp.NewExportRequestFromTraces(knownTraces(start, 20, 5, 3, 4)))
	require.NoError(t, err)
	postLines(t, srv.httpAddr, "shop/web-v1", istioLines(start, 20, "cart"))
	postLines(t, srv.httpAddr, "shop/cart-v1", istioLines(start, 3, "legacy"))

	api := "http://" + srv.httpAddr + "/api/v1/graph"
	const webCart = "service:shop/web->service:shop/cart"
	eventually(t, "access logs on the edges", 30*time.Second, func() (bool, string) {
		g := getGraph(t, api)
		var ids []string
		for _, x := range g.Edges {
			ids = append(ids, fmt.Sprintf("%s %d %v", x.ID, x.Requests, x.Provenance))
		}
		a, b := findEdge(g, webCart), findEdge(g, "service:shop/cart->service:shop/legacy")
		return a != nil && b != nil && slices.Contains(a.Provenance, "accesslog") && slices.Contains(b.Provenance, "accesslog"),
			fmt.Sprintf("%s; late observations: %v", strings.Join(ids, "; "), srv.metric(`meshscope_graph_observations_dropped_total{reason="late"}`))
	})
	remoteWrite(t, srv.httpAddr, 120, time.Now()) // +20: the same calls
	eventually(t, "metric on the edge", 30*time.Second, func() (bool, string) {
		e := findEdge(getGraph(t, api), webCart)
		return e != nil && slices.Contains(e.Provenance, "metric"), fmt.Sprintf("%+v", e)
	})

	want := map[string]uint64{
		webCart: 20,
		"service:shop/cart->database:postgresql/carts": 5,
		"service:shop/cart->service:shop/legacy":       3,
		"service:shop/cart->service:shop/worker":       4,
	}
	// The graph is exactly the expected one: no other edge.
	check := func(g graph.Graph) (bool, string) {
		var diffs []string
		for _, e := range g.Edges {
			if _, ok := want[e.ID]; !ok {
				diffs = append(diffs, fmt.Sprintf("unexpected %s: %d %v", e.ID, e.Requests, e.Provenance))
			}
		}
		for id, n := range want {
			e := findEdge(g, id)
			switch {
			case e == nil:
				diffs = append(diffs, id+" missing")
			case e.Requests != n:
				diffs = append(diffs, fmt.Sprintf("%s: %d, want %d", id, e.Requests, n))
			}
		}
		return len(diffs) == 0, strings.Join(diffs, "; ")
	}
	live := getGraph(t, api)
	ok, msg := check(live)
	require.True(t, ok, "live graph: %s", msg)
	e := findEdge(live, webCart)
	require.Equal(t, []string{"span", "accesslog", "metric"}, e.Provenance)
	require.Equal(t, []string{"span", "accesslog"}, findEdge(live, "service:shop/cart->service:shop/legacy").Provenance)
	// Finer granularities count the same calls.
	for _, g := range []string{"workload", "version"} {
		var total uint64
		for _, e := range getGraph(t, api+"?granularity="+g).Edges {
			total += e.Requests
		}
		require.EqualValues(t, 20+5+3+4, total, g)
	}

	from := start.Add(-time.Minute).Unix()
	eventually(t, "the ClickHouse-backed graph of the range", 60*time.Second, func() (bool, string) {
		return check(getGraph(t, fmt.Sprintf("%s?from=%d&to=now", api, from)))
	})
}
