package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshscope/meshscope/ui"
	"github.com/meshscope/meshscope/ui/uitest"
)

// chainTraces builds n traces through a chain of services in namespace ns:
// svcs[0] calls svcs[1], which calls svcs[2], and so on.
func chainTraces(ns string, svcs []string, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	spans := map[string]ptrace.SpanSlice{}
	for _, s := range svcs {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", s)
		rs.Resource().Attributes().PutStr("k8s.namespace.name", ns)
		spans[s] = rs.ScopeSpans().AppendEmpty().Spans()
	}
	now := time.Now()
	for i := range n {
		tid := pcommon.TraceID{byte(len(svcs)), byte(i >> 8), byte(i), 9}
		var parent pcommon.SpanID
		for j := 0; j+1 < len(svcs); j++ {
			c := spans[svcs[j]].AppendEmpty()
			c.SetTraceID(tid)
			c.SetSpanID(pcommon.SpanID{byte(j), 1, byte(i >> 8), byte(i), byte(len(svcs))})
			c.SetParentSpanID(parent)
			c.SetKind(ptrace.SpanKindClient)
			c.SetName("call")
			c.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
			c.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(10 * time.Millisecond)))
			s := spans[svcs[j+1]].AppendEmpty()
			s.SetTraceID(tid)
			s.SetSpanID(pcommon.SpanID{byte(j), 2, byte(i >> 8), byte(i), byte(len(svcs))})
			s.SetParentSpanID(c.SpanID())
			s.SetKind(ptrace.SpanKindServer)
			s.SetName("handle")
			s.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
			s.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(9 * time.Millisecond)))
			parent = s.SpanID()
		}
	}
	return td
}

func evalJS[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	require.NoError(t, err, expr)
	return v
}

func waitJS(t *testing.T, ctx context.Context, expr string, timeout time.Duration) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool]("!!("+expr+")", chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond)))
	require.NoError(t, err, "waiting for %s", expr)
}

// The UI in a real headless Chromium against a real `meshscope serve`: it
// draws exactly the API's graph, a live change adds an edge without moving
// existing nodes, a click opens the node's panel, and the SQL console runs a
// query against ClickHouse.
func TestUIAgainstRealServer(t *testing.T) {
	if !ui.Built() {
		if os.Getenv(uitest.RequireBrowserEnv) != "" {
			t.Fatal("UI assets are not built: run `make ui` before the tests")
		}
		t.Skip("UI assets are not built (make ui)")
	}
	srv := startServer(t, t.TempDir(), true, "--span-wait", "1s")
	client := grpcTraceClient(t, srv.grpcAddr)
	_, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(
		chainTraces("shop", []string{"web", "cart", "checkout", "payment"}, 30)))
	require.NoError(t, err)
	api := "http://" + srv.httpAddr + "/api/v1/graph"
	eventually(t, "three live edges", 30*time.Second, func() (bool, string) {
		g := getGraph(t, api)
		return len(g.Edges) == 3, fmt.Sprintf("%d edges", len(g.Edges))
	})

	ctx := uitest.NewBrowser(t)
	var consoleErrors []string
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				consoleErrors = append(consoleErrors, m.Text+" "+m.URL)
			}
		}
	}()
	// The whole walk; each wait below is bounded on its own too. Under the
	// full suite's load (two cores, other packages' servers and browsers)
	// a page can take many seconds.
	tctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	require.NoError(t, chromedp.Do(tctx, chromedp.EmulateViewport(1400, 900), chromedp.Navigate("http://"+srv.httpAddr+"/")))
	waitJS(t, tctx, "window.meshscope && window.meshscope.ready && window.meshscope.edgeCount() === 3", 60*time.Second)
	g := getGraph(t, api)
	require.Equal(t, len(g.Nodes), evalJS[int](t, tctx, "window.meshscope.nodeCount()"))
	require.Equal(t, len(g.Edges), evalJS[int](t, tctx, "window.meshscope.edgeCount()"))

	var before map[string][2]float64
	require.NoError(t, json.Unmarshal(evalJS[json.RawMessage](t, tctx, "window.meshscope.positions()"), &before))

	// A new caller appears: the delta adds it without moving anyone.
	_, err = client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(
		chainTraces("shop", []string{"mobile", "cart"}, 10)))
	require.NoError(t, err)
	waitJS(t, tctx, "window.meshscope.edgeCount() === 4 && window.meshscope.ready", 60*time.Second)
	var after map[string][2]float64
	require.NoError(t, json.Unmarshal(evalJS[json.RawMessage](t, tctx, "window.meshscope.positions()"), &after))
	for id, xy := range before {
		require.Equal(t, xy, after[id], "node %s moved", id)
	}
	require.Contains(t, after, "service:shop/mobile")

	// Clicking a node opens its panel with its numbers.
	xy := evalJS[[]float64](t, tctx, `window.meshscope.nodeScreenPosition("service:shop/checkout")`)
	require.Len(t, xy, 2)
	require.NoError(t, chromedp.Do(tctx, chromedp.MouseClickXY(xy[0], xy[1])))
	waitJS(t, tctx, "!document.getElementById('panel').hidden", 20*time.Second)
	require.Contains(t, evalJS[string](t, tctx, "document.getElementById('panel').innerText"), "checkout")

	// The SQL console runs a query against ClickHouse and shows its rows.
	require.NoError(t, chromedp.Do(tctx, chromedp.Navigate("http://"+srv.httpAddr+"/#/sql")))
	waitJS(t, tctx, "document.getElementById('sql-editor')", 20*time.Second)
	require.NoError(t, chromedp.Do(tctx,
		chromedp.SetValue(chromedp.ID("sql-editor"), "SELECT service_name, count() AS spans FROM spans GROUP BY service_name ORDER BY service_name"),
		chromedp.Focus(chromedp.ID("sql-editor")),
		chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl))))
	waitJS(t, tctx, "document.querySelectorAll('#sql-results tbody tr').length === 5", 20*time.Second)
	results := evalJS[string](t, tctx, "document.getElementById('sql-results').innerText")
	require.Contains(t, results, "checkout")
	require.Contains(t, results, "mobile")

	// The Metrics page charts a counter sent by remote_write as a rate.
	remoteWrite(t, srv.httpAddr, 100, time.Now().Add(-40*time.Second))
	remoteWrite(t, srv.httpAddr, 160, time.Now().Add(-10*time.Second))
	eventually(t, "the counter's samples stored", 30*time.Second, func() (bool, string) {
		resp, err := http.Get("http://" + srv.httpAddr + "/api/v1/metrics/query?name=istio_requests_total&from=now-5m&step=30s")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		var m struct {
			Series []struct{ Points [][2]float64 }
		}
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode == http.StatusOK && len(m.Series) == 1 && len(m.Series[0].Points) > 0, fmt.Sprintf("%d %+v", resp.StatusCode, m.Series)
	})
	require.NoError(t, chromedp.Do(tctx, chromedp.Navigate("http://"+srv.httpAddr+"/#/metrics?name=istio_requests_total&from=now-5m")))
	waitJS(t, tctx, "document.querySelectorAll('#metric-lines tbody tr').length === 1 && document.querySelector('#metric-view figure.chart canvas')", 20*time.Second)
	require.Contains(t, evalJS[string](t, tctx, "document.querySelector('#metric-lines tbody').innerText"), "destination_service_name=cart")
	require.Contains(t, evalJS[string](t, tctx, "document.getElementById('metric-list').innerText"), "istio_requests_total")
	require.Contains(t, evalJS[string](t, tctx, "document.getElementById('metric-promql').textContent"), "rate(istio_requests_total")

	// An OTLP histogram charted as a quantile: the PromQL the page offers
	// for Grafana names it as the Prometheus API knows it, and answers.
	mp, reader := otlpMeters(t, srv.grpcAddr, sdkmetric.WithResource(resource.NewSchemaless(attribute.String("service.name", "cart"))))
	dur, err := mp.Meter("net/http").Float64Histogram("http.server.request.duration", metric.WithUnit("s"))
	require.NoError(t, err)
	for range 2 { // two cumulative points: a rate
		for i := range 20 {
			dur.Record(context.Background(), 0.01*float64(i+1), metric.WithAttributes(attribute.String("http.request.method", "GET")))
		}
		require.NoError(t, reader.ForceFlush(context.Background()))
		time.Sleep(time.Second) // the two points a second apart
	}
	eventuallyListed(t, "http://"+srv.httpAddr+"/api/v1/metrics?q=http.server.request.duration", "metrics", 1)
	require.NoError(t, chromedp.Do(tctx, chromedp.Navigate("http://"+srv.httpAddr+
		"/#/metrics?name=http.server.request.duration&quantile=0.99&group_by=http.request.method&from=now-5m")))
	waitJS(t, tctx, "document.getElementById('metric-promql') && document.getElementById('metric-promql').textContent.includes('histogram_quantile')", 20*time.Second)
	promql := evalJS[string](t, tctx, "document.getElementById('metric-promql').textContent")
	require.Contains(t, promql, "http_server_request_duration_seconds_bucket")
	require.Contains(t, promql, "http_request_method")
	var answer struct {
		Status string
		Data   struct{ Result []any }
	}
	getJSON(t, "http://"+srv.httpAddr+"/prometheus/api/v1/query?query="+url.QueryEscape(promql), &answer)
	require.Equal(t, "success", answer.Status, promql)
	require.NotEmpty(t, answer.Data.Result, promql)

	// The Exceptions page groups an exception a span recorded and shows
	// its stack trace.
	td := chainTraces("shop", []string{"web", "pricing"}, 1)
	failed := td.ResourceSpans().At(1).ScopeSpans().At(0).Spans().At(0)
	ev := failed.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(failed.EndTimestamp())
	ev.Attributes().PutStr("exception.type", "java.lang.ArithmeticException")
	ev.Attributes().PutStr("exception.message", "/ by zero")
	ev.Attributes().PutStr("exception.stacktrace", "java.lang.ArithmeticException: / by zero\n\tat com.example.Pricing.quote(Pricing.java:12)")
	_, err = client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td))
	require.NoError(t, err)
	eventuallyListed(t, "http://"+srv.httpAddr+"/api/v1/exceptions?service=pricing", "exceptions", 1)
	require.NoError(t, chromedp.Do(tctx, chromedp.Navigate("http://"+srv.httpAddr+"/#/exceptions?service=pricing")))
	waitJS(t, tctx, "document.querySelectorAll('#exceptions-table tbody tr').length === 1", 60*time.Second)
	require.NoError(t, chromedp.Do(tctx, chromedp.Click(chromedp.CSS("#exceptions-table tbody tr"))))
	waitJS(t, tctx, "document.querySelector('#exception-detail pre.stacktrace')", 10*time.Second)
	require.Contains(t, evalJS[string](t, tctx, "document.querySelector('#exception-detail pre.stacktrace').textContent"), "at com.example.Pricing.quote(Pricing.java:12)")
	require.Contains(t, evalJS[string](t, tctx, "document.querySelector('#exceptions-table tbody').innerText"), "java.lang.ArithmeticException")

	// The Traces page charts the matching spans by any field, from the
	// Tempo API's TraceQL metrics: every service's rate, then one
	// service's server spans' p99 by name.
	require.NoError(t, chromedp.Do(tctx, chromedp.Navigate("http://"+srv.httpAddr+"/#/traces?from=now-15m")))
	waitJS(t, tctx, "document.getElementById('span-metrics-chart')", 20*time.Second)
	require.NoError(t, chromedp.Do(tctx, chromedp.Click(chromedp.ID("span-metrics-chart"))))
	waitJS(t, tctx, "document.querySelector('#span-metrics .u-legend') && document.querySelector('#span-metrics .u-legend').textContent.includes('payment')", 20*time.Second)
	require.Equal(t, "{} | rate() by (resource.service.name)", evalJS[string](t, tctx, "document.getElementById('span-metrics-query').textContent"))
	legend := evalJS[string](t, tctx, "document.querySelector('#span-metrics .u-legend').textContent")
	for _, svc := range []string{"web", "cart", "checkout", "payment"} {
		require.Contains(t, legend, svc)
	}
	require.NoError(t, chromedp.Do(tctx,
		chromedp.SetValue(chromedp.CSS("input[name=service]"), "cart"),
		chromedp.SetValue(chromedp.CSS("input[name=traceql]"), "{ kind = server }"),
		chromedp.SetValue(chromedp.CSS("select[name=span-metrics-metric]"), "p99"),
		chromedp.SetValue(chromedp.CSS("input[name=span-by]"), "name"),
		chromedp.Click(chromedp.ID("span-metrics-chart"))))
	want := `{ (kind = server) && resource.service.name = "cart" } | quantile_over_time(duration, 0.99) by (name)`
	waitJS(t, tctx, fmt.Sprintf("document.getElementById('span-metrics-query').textContent === %q && document.querySelector('#span-metrics figure.chart')", want), 20*time.Second)
	require.Contains(t, evalJS[string](t, tctx, "document.querySelector('#span-metrics figure.chart').getAttribute('aria-label')"), "p99 duration by name")
	require.True(t, evalJS[bool](t, tctx, "!!document.querySelector('#span-metrics .chart-plot')"), "a line drawn, not 'no data'")

	// The Logs page charts a field of logfmt bodies by another, from the
	// Loki API's LogQL metrics: the p99 of each path's durations.
	conn, err := grpc.NewClient(srv.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "gateway")
	recs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i, body := range []string{"path=/a duration=120ms", "path=/a duration=80ms", "path=/b duration=2s"} {
		r := recs.AppendEmpty()
		r.SetTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(-time.Duration(i) * time.Second)))
		r.SetSeverityNumber(plog.SeverityNumberInfo)
		r.Body().SetStr(body)
	}
	_, err = plogotlp.NewGRPCClient(conn).Export(context.Background(), plogotlp.NewExportRequestFromLogs(ld))
	require.NoError(t, err)
	eventuallyListed(t, "http://"+srv.httpAddr+"/api/v1/logs?service=gateway", "logs", 3)
	require.NoError(t, chromedp.Do(tctx, chromedp.Navigate("http://"+srv.httpAddr+"/#/logs?service=gateway&from=now-15m")))
	waitJS(t, tctx, "document.getElementById('field-metrics-chart')", 20*time.Second)
	require.NoError(t, chromedp.Do(tctx,
		chromedp.SetValue(chromedp.CSS("select[name=field-metrics-metric]"), "p99"),
		chromedp.SetValue(chromedp.CSS("input[name=field-name]"), "duration"),
		chromedp.SetValue(chromedp.CSS("select[name=field-unit]"), "duration"),
		chromedp.SetValue(chromedp.CSS("input[name=field-by]"), "path"),
		chromedp.Click(chromedp.ID("field-metrics-chart"))))
	waitJS(t, tctx, "document.querySelector('#field-metrics .u-legend') && document.querySelector('#field-metrics .u-legend').textContent.includes('/b')", 20*time.Second)
	require.Equal(t, `quantile_over_time(0.99, {service_name="gateway"} | json | logfmt | unwrap duration(duration) [1m]) by (path)`,
		evalJS[string](t, tctx, "document.getElementById('field-metrics-query').textContent"))
	require.Contains(t, evalJS[string](t, tctx, "document.querySelector('#field-metrics .u-legend').textContent"), "/a")
	// Over a day, a point every 6 minutes, each counting the 6 before it.
	require.NoError(t, chromedp.Do(tctx, chromedp.SetValue(chromedp.CSS("input[name=from]"), "now-24h"), chromedp.Click(chromedp.ID("field-metrics-chart"))))
	waitJS(t, tctx, "document.getElementById('field-metrics-query').textContent.includes('[6m]') && document.querySelector('#field-metrics .u-legend')", 20*time.Second)
	require.Empty(t, consoleErrors)
}

// eventuallyListed waits for url to answer a JSON object whose list key
// has n entries.
func eventuallyListed(t *testing.T, url, key string, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d %s at %s", n, key, url), 30*time.Second, func() (bool, string) {
		resp, err := http.Get(url)
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		var body map[string]json.RawMessage
		var list []json.RawMessage
		if json.NewDecoder(resp.Body).Decode(&body) == nil {
			_ = json.Unmarshal(body[key], &list)
		}
		return len(list) == n, fmt.Sprintf("%s: %d %s", resp.Status, len(list), key)
	})
}
