package query

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/query/adhoc"
	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
	"github.com/meshscope/meshscope/schema/chtest"
)

var (
	traceA = schema.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	traceB = schema.TraceID{0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}
	traceC = schema.TraceID{0xcc}
)

const (
	hexA = "4bf92f3577b34da6a3ce929d0e0e4736"
	hexB = "00000000000000000102030405060708"
)

func ns(t time.Time) uint64 { return uint64(t.UnixNano()) }

// seedClickHouse writes known spans and requests around testNow.
func seedClickHouse(t *testing.T, st *chstore.Store) {
	t.Helper()
	at := testNow.Add(-10 * time.Minute)
	span := func(trace schema.TraceID, id, parent byte, svc, name string, kind uint8, start time.Time, dur time.Duration, status uint8) schema.SpanRow {
		r := schema.SpanRow{
			StartUnixNano: ns(start), DurationNanos: uint64(dur), TraceID: trace, SpanID: schema.SpanID{id}, Name: name,
			Kind: kind, StatusCode: status, ServiceName: svc, ServiceNamespace: "shop", GRPCStatusCode: -1,
			AttrKeys: []string{"http.route"}, AttrValues: []string{"/" + name}, ResourceKeys: []string{"service.name"}, ResourceValues: []string{svc},
		}
		if parent != 0 {
			r.ParentSpanID = schema.SpanID{parent}
		}
		return r
	}
	root := span(traceA, 1, 0, "web", "GET /checkout", schema.SpanKindServer, at, 300*time.Millisecond, schema.StatusUnset)
	// cart's span of trace A records an exception.
	declined := span(traceA, 3, 2, "cart", "POST /cart", schema.SpanKindServer, at.Add(2*time.Millisecond), 150*time.Millisecond, schema.StatusError)
	declined.EventTimes, declined.EventNames = []uint64{ns(at.Add(100 * time.Millisecond))}, []string{"exception"}
	declined.EventAttrs = []string{`{"exception.type":"PaymentDeclined","exception.message":"insufficient funds"}`}
	root.EventTimes, root.EventNames, root.EventAttrs = []uint64{ns(at) + 1000}, []string{"retry"}, []string{`{"attempt":2}`}
	child := span(traceA, 2, 1, "web", "POST cart", schema.SpanKindClient, at.Add(time.Millisecond), 200*time.Millisecond, schema.StatusError)
	child.LinkTraceIDs, child.LinkSpanIDs, child.LinkAttrs = []schema.TraceID{traceB}, []schema.SpanID{{9}}, []string{""}
	spans := []schema.SpanRow{
		root, child,
		declined,
		span(traceB, 1, 0, "cart", "GET /cart", schema.SpanKindServer, at.Add(time.Minute), 20*time.Millisecond, schema.StatusOK),
		span(traceC, 1, 0, "web", "GET /old", schema.SpanKindServer, testNow.Add(-3*time.Hour), time.Second, schema.StatusUnset),
	}
	req := func(src, dst string, start time.Time, code uint16, flags string, grpc int16, proto, path string) schema.RequestRow {
		return schema.RequestRow{
			StartUnixNano: ns(start), DurationNanos: 1e6, UpstreamServiceTimeNanos: -1, Reporter: "destination",
			Source: src, Destination: dst, Protocol: proto, Method: "GET", Path: path, ResponseCode: code,
			GRPCStatus: grpc, ResponseFlags: flags, TraceID: traceA, RequestID: "r-" + path, UpstreamHost: "10.0.0.2:80",
		}
	}
	web, cart, pay := "service:shop/web", "service:shop/cart", "service:payments/pay"
	var reqs []schema.RequestRow
	for i := range 10 {
		reqs = append(reqs, req(web, cart, at.Add(time.Duration(i)*time.Second), 200, "", -1, "HTTP/1.1", "/api/cart/items"))
	}
	reqs = append(reqs,
		req(web, cart, at, 503, "", -1, "HTTP/1.1", "/api/cart/checkout"),
		req(web, cart, at, 503, "", -1, "HTTP/1.1", "/api/cart/checkout"),
		req(web, cart, at, 503, "UH", -1, "HTTP/1.1", "/api/cart/checkout"),
		req(web, cart, at, 0, "UF,URX", -1, "HTTP/1.1", "/api/cart/checkout"),
		req(web, cart, at, 200, "", 14, "grpc", "/cart.Cart/Get"),
		req(web, cart, at, 404, "", -1, "HTTP/1.1", "/api/cart/missing"),
		req(web, cart, at, 200, "DC", -1, "HTTP/1.1", "/healthz"),
		req(web, pay, at, 502, "", -1, "HTTP/2", "/pay"),
		req(web, cart, testNow.Add(-3*time.Hour), 500, "", -1, "HTTP/1.1", "/api/cart/old"),
	)
	reqs[12].UpstreamHost = "10.0.0.3:80" // the UH one
	// The caller's sidecar logged some of the same calls: two of the 503s
	// and one of the items.
	for _, r := range []schema.RequestRow{reqs[10], reqs[11], reqs[0]} {
		r.Reporter = "source"
		reqs = append(reqs, r)
	}
	logRow := func(svc string, sev uint8, text, body string, at time.Time, trace schema.TraceID, span byte) schema.LogRow {
		r := schema.LogRow{TimeUnixNano: ns(at), TraceID: trace, SeverityNumber: sev, SeverityText: text, ServiceName: svc, ServiceNamespace: "shop",
			Body: body, AttrKeys: []string{"code.function"}, AttrValues: []string{"handle"}, ResourceKeys: []string{"service.name"}, ResourceValues: []string{svc}}
		if span != 0 {
			r.SpanID = schema.SpanID{span}
		}
		return r
	}
	logs := []schema.LogRow{
		logRow("web", 9, "INFO", "checkout started for cart 42", at, traceA, 1),
		logRow("cart", 17, "ERROR", "Payment declined: insufficient funds", at.Add(2*time.Millisecond), traceA, 3),
		logRow("cart", 13, "WARN", "slow query took 1.2s", at.Add(time.Minute), schema.TraceID{}, 0),
		logRow("web", 5, "DEBUG", "cache miss", testNow.Add(-3*time.Hour), schema.TraceID{}, 0),
	}
	// The slow query's record names its pod.
	logs[2].ResourceKeys, logs[2].ResourceValues = append(logs[2].ResourceKeys, "k8s.pod.name"), append(logs[2].ResourceValues, "cart-7d9f")
	// Trace A's spans arrive in three inserts, as spans of one trace from
	// several services do, so that its summary rows are merged when read.
	for _, b := range []*schema.Batch{{Spans: spans[:1]}, {Spans: spans[1:2]}, {Spans: spans[2:], Requests: reqs, Logs: logs}} {
		require.NoError(t, st.Write(context.Background(), b))
	}
}

// TestClickHouseEndpoints tests the endpoints that read ClickHouse against a
// real server with known rows.
func TestClickHouseEndpoints(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	seedClickHouse(t, st)
	api := newTestAPI(t, Config{SQL: adhocLimits()}, Deps{Store: st})
	t.Run("TraceByID", func(t *testing.T) { testTraceByID(t, api.client.with(t)) })
	t.Run("TraceSearch", func(t *testing.T) {
		// A database created with the summaries: they hold every span,
		// and every search reads them.
		testTraceSearch(t, api.client.with(t))
		require.Zero(t, testutil.ToFloat64(api.srv.metrics.traceSearch.WithLabelValues("spans")))
		require.Positive(t, testutil.ToFloat64(api.srv.metrics.traceSearch.WithLabelValues("trace_summaries")))
	})
	t.Run("TraceSearchSpans", func(t *testing.T) {
		// Ranges that start before the summaries do group spans, and
		// answer the same.
		old := newTestAPI(t, Config{}, Deps{Store: st})
		old.srv.summariesSince.Store(time.Now().Add(time.Hour).Unix())
		old.srv.exceptionsFromSources.Store(true)
		testTraceSearch(t, old.client.with(t))
		require.Positive(t, testutil.ToFloat64(old.srv.metrics.traceSearch.WithLabelValues("spans")))
		require.Zero(t, testutil.ToFloat64(old.srv.metrics.traceSearch.WithLabelValues("trace_summaries")))
	})
	t.Run("TraceSummariesSince", func(t *testing.T) {
		fresh := newTestAPI(t, Config{}, Deps{Store: st})
		since, ok := fresh.srv.traceSummariesSince(context.Background())
		require.True(t, ok)
		require.Equal(t, time.Unix(summariesCoverAll, 0), since, "created with the summaries: they cover everything")
		// A database upgraded to them: they start when migration 5 ran
		// (here, a record written an hour after the core tables').
		upgraded, _ := chtest.Store(t, "meshscope")
		later := time.Now().Add(time.Hour).Truncate(time.Second)
		require.NoError(t, upgraded.InsertColumns(context.Background(), schema.MigrationsTable,
			[]any{[]uint32{schema.TraceSummariesMigration}, []string{"trace summaries"}, []time.Time{later}}))
		up := newTestAPI(t, Config{}, Deps{Store: upgraded})
		since, ok = up.srv.traceSummariesSince(context.Background())
		require.True(t, ok)
		require.True(t, later.Equal(since), "%v", since)
	})
	t.Run("Jaeger", func(t *testing.T) {
		testJaeger(t, api.client.with(t))
		q := api.history.last()
		require.Equal(t, graph.GranularityService, q.Granularity)
		require.Equal(t, testNow.Add(-time.Hour), q.From, "dependencies over endTs minus lookback")
		require.Equal(t, testNow, q.To)
	})
	t.Run("Loki", func(t *testing.T) { testLoki(t, api.client.with(t)) })
	t.Run("Tempo", func(t *testing.T) { testTempo(t, api.client.with(t)) })
	t.Run("TempoSpans", func(t *testing.T) {
		// Traces described from their spans where the summaries do not
		// cover the range's margin: the same answers.
		old := newTestAPI(t, Config{}, Deps{Store: st})
		old.srv.summariesSince.Store(time.Now().Add(time.Hour).Unix())
		testTempo(t, old.client.with(t))
	})
	t.Run("LogQLVector", func(t *testing.T) { testLogQLVector(t, api.srv) })
	t.Run("Requests", func(t *testing.T) { testRequests(t, api.client.with(t)) })
	t.Run("Logs", func(t *testing.T) { testLogs(t, api.client.with(t)) })
	t.Run("RequestFailedRule", func(t *testing.T) { testRequestFailedRule(t, st) })
	t.Run("EdgeErrorsByCode", func(t *testing.T) { testEdgeErrors(t, api.client.with(t)) })
	t.Run("SQL", func(t *testing.T) { testSQL(t, api.client.with(t)) })
	t.Run("SQLTables", func(t *testing.T) { testSQLTables(t, api.client.with(t)) })
	t.Run("Storage", func(t *testing.T) { testStorage(t, st, api.client.with(t)) })
}

// testStorage reads what each table holds, as the server's parts say.
func testStorage(t *testing.T, st *chstore.Store, c client) {
	var got struct {
		Tables []struct {
			Name        string
			Rows        uint64
			BytesOnDisk uint64  `json:"bytes_on_disk"`
			BytesPerRow float64 `json:"bytes_per_row"`
			Partitions  uint64
			Oldest      *time.Time
			Newest      *time.Time
		}
		BytesOnDisk uint64 `json:"bytes_on_disk"`
	}
	c.get("/api/v1/storage", &got)
	var sum uint64
	seen := map[string]bool{}
	for _, tb := range got.Tables {
		sum += tb.BytesOnDisk
		seen[tb.Name] = true
		if tb.Name != "spans" {
			continue
		}
		var n uint64
		require.NoError(t, st.Conn().QueryRow(context.Background(), "SELECT count() FROM spans").Scan(&n))
		require.Equal(t, n, tb.Rows)
		require.InDelta(t, float64(tb.BytesOnDisk)/float64(n), tb.BytesPerRow, 1e-9)
		require.NotNil(t, tb.Oldest)
		require.True(t, tb.Oldest.Equal(testNow.Add(-3*time.Hour).Truncate(time.Second)), "the oldest span, 3 hours ago: %v", tb.Oldest)
		require.False(t, tb.Newest.Before(*tb.Oldest))
	}
	require.Equal(t, sum, got.BytesOnDisk)
	for _, name := range []string{"spans", "logs", "requests", "schema_migrations"} {
		require.True(t, seen[name], name)
	}

	// The same on /metrics, a gauge per table.
	reg := prometheus.NewRegistry()
	srv, err := NewServer(Config{}, Deps{Store: st, Registerer: reg})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	families, err := reg.Gather()
	require.NoError(t, err)
	gauges := map[string]map[string]float64{}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "meshscope_storage_") {
			continue
		}
		for _, m := range f.GetMetric() {
			if gauges[f.GetName()] == nil {
				gauges[f.GetName()] = map[string]float64{}
			}
			gauges[f.GetName()][m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
		}
	}
	var n uint64
	require.NoError(t, st.Conn().QueryRow(context.Background(), "SELECT count() FROM spans").Scan(&n))
	require.Equal(t, float64(n), gauges["meshscope_storage_rows"]["spans"])
	require.Positive(t, gauges["meshscope_storage_bytes"]["spans"])
	require.Len(t, gauges["meshscope_storage_bytes"], len(got.Tables))
}

// TestTraceSearchOnCluster runs the trace searches on a two-shard cluster
// through either node, over spans and over the summaries (both need GLOBAL
// IN: ClickHouse refuses a plain IN over a Distributed table in a query
// over another).
func TestTraceSearchOnCluster(t *testing.T) {
	stores := chtest.Cluster(t)
	seedClickHouse(t, stores[0])
	// The Distributed table forwards the rows to their shard in the
	// background.
	require.Eventually(t, func() bool {
		var n uint64
		err := stores[1].Conn().QueryRow(context.Background(), "SELECT count() FROM spans").Scan(&n)
		return err == nil && n == 5
	}, time.Minute, 20*time.Millisecond)
	for i, st := range stores {
		for _, summaries := range []bool{false, true} {
			t.Run(fmt.Sprintf("node-%d/summaries=%t", i+1, summaries), func(t *testing.T) {
				api := newTestAPI(t, Config{}, Deps{Store: st})
				table := "trace_summaries" // each node was created with them
				if !summaries {
					api.srv.summariesSince.Store(time.Now().Add(time.Hour).Unix())
					api.srv.exceptionsFromSources.Store(true)
					table = "spans"
				}
				testTraceSearch(t, api.client.with(t))
				require.Positive(t, testutil.ToFloat64(api.srv.metrics.traceSearch.WithLabelValues(table)))
				if summaries {
					testJaeger(t, api.client.with(t))
				}
			})
		}
	}
}

// The table browser's list is what the server holds: every table with
// exactly its columns, in order, with their types (as SQL reads them from
// system.columns).
func testSQLTables(t *testing.T, c client) {
	status, _, body := c.do(http.MethodGet, "/api/v1/sql/tables", nil)
	require.Equal(t, http.StatusOK, status, string(body))
	var res struct {
		Tables []struct {
			Name, Doc string
			Columns   []struct{ Name, Type, Doc string }
		}
	}
	require.NoError(t, json.Unmarshal(body, &res))
	var names []string
	for _, tb := range res.Tables {
		names = append(names, tb.Name)
		require.NotEmpty(t, tb.Doc, tb.Name)
		status, _, body := c.postSQL("SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = '"+tb.Name+"'", "json")
		require.Equal(t, http.StatusOK, status, string(body))
		var cols struct{ Rows [][]string }
		require.NoError(t, json.Unmarshal(body, &cols))
		var listed, held [][]string
		for _, col := range tb.Columns {
			require.NotEmpty(t, col.Doc, "%s.%s", tb.Name, col.Name)
			listed = append(listed, []string{col.Name, col.Type})
		}
		for _, r := range cols.Rows {
			typ := r[1]
			if inner, ok := strings.CutPrefix(typ, "LowCardinality("); ok {
				typ = strings.TrimSuffix(inner, ")")
			}
			held = append(held, []string{r[0], typ})
		}
		require.Equal(t, held, listed, tb.Name)
	}
	require.Subset(t, names, []string{"spans", "logs", "metric_series", "metric_samples", "requests", "edges_10s", "edges_1m", "edges_1h", "slo_alerts", "schema_migrations"})
}

func testTraceByID(t *testing.T, c client) {
	var tr struct {
		TraceID string `json:"trace_id"`
		Spans   []struct {
			TraceID       string            `json:"trace_id"`
			SpanID        string            `json:"span_id"`
			ParentSpanID  string            `json:"parent_span_id"`
			Name          string            `json:"name"`
			Kind          string            `json:"kind"`
			Service       string            `json:"service"`
			StartUnixNano uint64            `json:"start_unix_nano"`
			DurationNs    uint64            `json:"duration_ns"`
			StatusCode    string            `json:"status_code"`
			Attributes    map[string]string `json:"attributes"`
			Resource      map[string]string `json:"resource"`
			Events        []struct {
				Name       string         `json:"name"`
				Attributes map[string]any `json:"attributes"`
			} `json:"events"`
			Links []struct {
				TraceID string `json:"trace_id"`
				SpanID  string `json:"span_id"`
			} `json:"links"`
		} `json:"spans"`
	}
	c.get("/api/v1/traces/"+strings.ToUpper(hexA), &tr)
	require.Equal(t, hexA, tr.TraceID)
	require.Len(t, tr.Spans, 3)
	root, child := tr.Spans[0], tr.Spans[1]
	require.Equal(t, hexA, root.TraceID)
	require.Equal(t, "0100000000000000", root.SpanID)
	require.Empty(t, root.ParentSpanID)
	require.Equal(t, "0100000000000000", child.ParentSpanID)
	require.Equal(t, "GET /checkout", root.Name)
	require.Equal(t, "server", root.Kind)
	require.Equal(t, "client", child.Kind)
	require.Equal(t, "web", root.Service)
	require.Equal(t, ns(testNow.Add(-10*time.Minute)), root.StartUnixNano)
	require.EqualValues(t, 300*time.Millisecond, root.DurationNs)
	require.Equal(t, "unset", root.StatusCode)
	require.Equal(t, "error", child.StatusCode)
	require.Equal(t, map[string]string{"http.route": "/GET /checkout"}, root.Attributes)
	require.Equal(t, map[string]string{"service.name": "web"}, root.Resource)
	require.Len(t, root.Events, 1)
	require.Equal(t, "retry", root.Events[0].Name)
	require.EqualValues(t, 2, root.Events[0].Attributes["attempt"])
	require.Len(t, child.Links, 1)
	require.Equal(t, hexB, child.Links[0].TraceID)

	// A 64-bit id is the low half of a 128-bit one.
	c.get("/api/v1/traces/0102030405060708", &tr)
	require.Equal(t, hexB, tr.TraceID)
	require.Len(t, tr.Spans, 1)

	c.fail("/api/v1/traces/nothex", http.StatusBadRequest, "traceId")
	c.fail("/api/v1/traces/"+strings.Repeat("zz", 16), http.StatusBadRequest, "traceId")
	c.fail("/api/v1/traces/"+strings.Repeat("ab", 16), http.StatusNotFound, "traceId")
}

type traceList struct {
	Traces []struct {
		TraceID       string `json:"trace_id"`
		RootService   string `json:"root_service"`
		RootName      string `json:"root_name"`
		StartUnixNano uint64 `json:"start_unix_nano"`
		DurationNs    uint64 `json:"duration_ns"`
		Spans         uint64 `json:"spans"`
		Errors        uint64 `json:"errors"`
	} `json:"traces"`
}

func (l traceList) ids() []string {
	var out []string
	for _, t := range l.Traces {
		out = append(out, t.TraceID)
	}
	return out
}

func testTraceSearch(t *testing.T, c client) {
	var l traceList
	c.get("/api/v1/traces", &l)
	require.Equal(t, []string{hexB, hexA}, l.ids(), "the last hour, newest first")
	a := l.Traces[1]
	require.Equal(t, "web", a.RootService)
	require.Equal(t, "GET /checkout", a.RootName)
	require.EqualValues(t, 3, a.Spans)
	require.EqualValues(t, 2, a.Errors)
	require.EqualValues(t, 300*time.Millisecond, a.DurationNs)
	require.Equal(t, ns(testNow.Add(-10*time.Minute)), a.StartUnixNano)

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"service=cart", []string{hexB, hexA}},
		{"service=web", []string{hexA}},
		{"service=nobody", nil},
		{"min_duration=250ms", []string{hexA}},
		{"min_duration=1s", nil},
		{"max_duration=100ms", []string{hexB}},
		{"min_duration=10ms&max_duration=1s&from=now-4h", []string{hexB, hexA, "cc000000000000000000000000000000"}},
		{"max_duration=999ms&from=now-4h", []string{hexB, hexA}},
		{"error=true", []string{hexA}},
		{"error=false", []string{hexB, hexA}},
		{"limit=1", []string{hexB}},
		{"from=now-4h", []string{hexB, hexA, "cc000000000000000000000000000000"}},
		{"from=now-4h&to=now-2h", []string{"cc000000000000000000000000000000"}},
		{"service=cart&error=true", []string{hexA}},
		{"service=web&from=now-4h", []string{hexA, "cc000000000000000000000000000000"}},
		{"service=cart&from=now-4h&to=now-2h", nil},
		{"operation=POST+cart", []string{hexA}},
		{"service=cart&operation=GET+%2Fcart", []string{hexB}},
		{"service=web&operation=GET+%2Fcart", nil}, // the operation of another service
		// Tags, on one span with the service and operation asked.
		{"tags=" + url.QueryEscape(`{"http.route":"/GET /cart"}`), []string{hexB}},
		{"tag=" + url.QueryEscape("http.route:/POST cart"), []string{hexA}},
		{"tags=" + url.QueryEscape(`{"service.name":"cart"}`), []string{hexB, hexA}},
		{"service=web&tags=" + url.QueryEscape(`{"http.route":"/POST cart"}`), []string{hexA}},
		{"service=web&tags=" + url.QueryEscape(`{"http.route":"/GET /cart"}`), nil},
		{"tags=" + url.QueryEscape(`{"error":true,"span.kind":"server"}`), []string{hexA}},
		// An exception recorded in the trace, of a type or any.
		{"exception=PaymentDeclined", []string{hexA}},
		{"exception=*", []string{hexA}},
		{"exception=Timeout", nil},
		{"service=web&exception=PaymentDeclined", []string{hexA}},
		{"exception=PaymentDeclined&from=now-4h&to=now-2h", nil},
		// A TraceQL query, with the other filters.
		{"traceql=" + url.QueryEscape(`{ status = error && resource.service.name = "cart" }`), []string{hexA}},
		{"traceql=" + url.QueryEscape(`{ resource.service.name = "cart" } && { resource.service.name = "web" }`), []string{hexA}},
		{"traceql=" + url.QueryEscape(`{} | count() = 1`), []string{hexB}},
		{"service=cart&traceql=" + url.QueryEscape(`{ span.http.route =~ "/GET.*" }`), []string{hexB, hexA}},
		{"error=true&traceql=" + url.QueryEscape(`{ kind = server }`), []string{hexA}},
		{"traceql=" + url.QueryEscape(`{ kind = client } > { resource.service.name = "cart" }`), []string{hexA}},
		{"traceql=" + url.QueryEscape(`{ resource.service.name = "cart" } > {}`), nil},
	} {
		t.Run(tc.query, func(t *testing.T) {
			var l traceList
			c.with(t).get("/api/v1/traces?"+tc.query, &l)
			require.Equal(t, tc.want, l.ids())
		})
	}
	// A service's operations, busiest first.
	var ops struct {
		Operations []struct {
			Name  string `json:"name"`
			Spans uint64 `json:"spans"`
		} `json:"operations"`
	}
	c.get("/api/v1/traces/operations?service=web&from=now-4h", &ops)
	require.Len(t, ops.Operations, 3)
	for _, o := range ops.Operations {
		require.EqualValues(t, 1, o.Spans, o.Name)
	}
	require.Equal(t, "GET /checkout", ops.Operations[0].Name, "equal counts sort by name")
	c.get("/api/v1/traces/operations?service=web", &ops)
	require.Len(t, ops.Operations, 2, "the last hour by default")
	c.fail("/api/v1/traces?traceql="+url.QueryEscape(`{ status = "error" }`), http.StatusBadRequest, "traceql")
	c.fail("/api/v1/traces/operations", http.StatusBadRequest, "service")
	c.fail("/api/v1/traces/operations?service=web&kind=server,sideways", http.StatusBadRequest, "kind")

	// The calls a service serves, with their rate, errors and latency.
	var red struct{ Operations []operation }
	c.get("/api/v1/traces/operations?service=cart&namespace=shop&kind=server,consumer", &red)
	require.Equal(t, []operation{
		{Name: "GET /cart", Spans: 1, Rate: 1.0 / 3600, P50Ns: 20e6, P95Ns: 20e6, P99Ns: 20e6},
		{Name: "POST /cart", Spans: 1, Rate: 1.0 / 3600, Errors: 1, ErrorRate: 1, P50Ns: 150e6, P95Ns: 150e6, P99Ns: 150e6},
	}, red.Operations)
	c.get("/api/v1/traces/operations?service=web&kind=client", &red)
	require.Len(t, red.Operations, 1)
	require.Equal(t, "POST cart", red.Operations[0].Name)
	c.get("/api/v1/traces/operations?service=web&namespace=elsewhere", &red)
	require.Empty(t, red.Operations)

	// A trace found by one service's spans is summed over all its spans.
	c.get("/api/v1/traces?service=cart", &l)
	require.Equal(t, []string{hexB, hexA}, l.ids())
	require.EqualValues(t, 3, l.Traces[1].Spans)
	require.Equal(t, "web", l.Traces[1].RootService)
	for _, tc := range []struct{ query, field string }{
		{"min_duration=fast", "min_duration"},
		{"max_duration=slow", "max_duration"},
		{"error=maybe", "error"},
		{"limit=0", "limit"},
		{"limit=100000", "limit"},
		{"from=tomorrow", "from"},
		{"tags=notjson", "tags"},
		{"tag=novalue", "tag"},
		{"tags=" + url.QueryEscape(`{"span.kind":"sideways"}`), "tags"},
	} {
		t.Run(tc.query, func(t *testing.T) { c.with(t).fail("/api/v1/traces?"+tc.query, http.StatusBadRequest, tc.field) })
	}
}

func testRequests(t *testing.T, c client) {
	type row = map[string]any
	var l struct{ Requests []row }
	c.get("/api/v1/requests", &l)
	require.Len(t, l.Requests, 21, "the last hour")
	first := l.Requests[0]
	for _, col := range schema.RequestsTable.Columns {
		require.Contains(t, first, col.Name, "every column of the table")
	}
	require.Equal(t, hexA, first["trace_id"], "FixedString in hex")
	require.Equal(t, testNow.Add(-10*time.Minute+9*time.Second).Format(time.RFC3339), first["timestamp"], "newest first")

	for _, tc := range []struct {
		query string
		n     int
	}{
		{"destination=service:payments/pay", 1},
		{"source=service:shop/web&destination=service:shop/cart", 20},
		{"code=503", 5},
		{"code=5xx", 6},
		{"code=0", 1},
		{"flags=UH", 1},
		{"flags=URX", 1},
		{"flags=UH,UF", 2},
		{"path_prefix=/api/cart/check", 6},
		{"path_prefix=/api/cart/check&code=503&flags=UH", 1},
		{"upstream_host=10.0.0.3:80", 1},
		{"limit=5", 5},
		{"from=now-4h&to=now-2h", 1},
		// 404 and the DC flag are not failures; 0 with UF,URX, a gRPC
		// status and the 5xx are.
		{"failed=true", 8},
		{"failed=false", 13},
		{"failed=true&destination=service:shop/cart", 7},
	} {
		t.Run(tc.query, func(t *testing.T) {
			var l struct{ Requests []row }
			c.with(t).get("/api/v1/requests?"+tc.query, &l)
			require.Len(t, l.Requests, tc.n)
		})
	}
	// The volume by outcome: failed by the graph's rule, else by status
	// class, over the whole hour's 21 entries.
	var v struct {
		BucketSeconds float64 `json:"bucket_seconds"`
		Outcomes      map[string][]uint64
	}
	c.get("/api/v1/requests/volume", &v)
	require.Equal(t, 60.0, v.BucketSeconds)
	totals := map[string]uint64{}
	for outcome, counts := range v.Outcomes {
		require.Len(t, counts, volumeBuckets, outcome)
		for _, n := range counts {
			totals[outcome] += n
		}
	}
	require.Equal(t, map[string]uint64{"failed": 8, "4xx": 1, "2xx": 12}, totals, "as failed=true and failed=false count them; the 404 not failed")
	v.Outcomes = nil
	c.get("/api/v1/requests/volume?code=5xx&from=now-4h", &v)
	require.Len(t, v.Outcomes, 1)
	require.Contains(t, v.Outcomes, "failed")
	c.fail("/api/v1/requests/volume?code=9xx", http.StatusBadRequest, "code")
	// Each entry says whether it failed, by graph.IsError.
	for _, r := range l.Requests {
		st := requestStatus(uint16(r["response_code"].(float64)), r["response_flags"].(string), int16(r["grpc_status"].(float64)), r["protocol"].(string))
		require.Equal(t, graph.IsError(st), r["failed"] == 1.0, "%v", r)
	}
	for _, tc := range []struct{ query, field string }{
		{"code=abc", "code"},
		{"code=6xx", "code"},
		{"flags=uh", "flags"},
		{"flags=UH%3BDROP", "flags"},
		{"limit=-1", "limit"},
		{"to=now-1h", "from"},
		{"failed=maybe", "failed"},
	} {
		t.Run(tc.query, func(t *testing.T) { c.with(t).fail("/api/v1/requests?"+tc.query, http.StatusBadRequest, tc.field) })
	}
	// Values are bound, not pasted: quotes in a filter are data.
	t.Run("quoted filter", func(t *testing.T) {
		var l struct{ Requests []row }
		c.with(t).get("/api/v1/requests?path_prefix='%20OR%201%3D1%20--", &l)
		require.Empty(t, l.Requests)
	})
}

// The request explorer's SQL rule agrees with graph.IsError on every
// failure flag, flags that are not failures, codes and protocols.
func testRequestFailedRule(t *testing.T, st *chstore.Store) {
	type entry struct {
		proto, flags string
		code         uint16
		grpc         int16
	}
	cases := []entry{
		{"HTTP/1.1", "-", 200, -1}, {"HTTP/1.1", "", 404, -1}, {"HTTP/1.1", "-", 499, -1}, {"HTTP/1.1", "-", 500, -1},
		{"HTTP/2", "-", 0, -1}, {"tcp", "-", 0, -1}, {"TCP", "UF", 0, -1}, {"grpc", "-", 200, 0}, {"grpc", "-", 200, 14},
		{"HTTP/1.1", "DC", 200, -1}, {"HTTP/1.1", "DC,UH", 200, -1}, {"HTTP/1.1", "DC, URX", 200, -1}, {"HTTP/1.1", "UHX", 200, -1},
	}
	for _, f := range graph.EnvoyFailureFlags() {
		cases = append(cases, entry{"HTTP/1.1", f, 200, -1}, entry{"tcp", "DC," + f, 0, -1})
	}
	for _, e := range cases {
		var got uint8
		require.NoError(t, st.Conn().QueryRow(context.Background(), "SELECT "+requestFailed+
			" FROM (SELECT ? AS protocol, toUInt16(?) AS response_code, toInt16(?) AS grpc_status, ? AS response_flags)",
			e.proto, e.code, e.grpc, e.flags).Scan(&got))
		require.Equal(t, graph.IsError(requestStatus(e.code, e.flags, e.grpc, e.proto)), got == 1, "%+v", e)
	}
}

func testLogs(t *testing.T, c client) {
	var l struct{ Logs []logJSON }
	c.get("/api/v1/logs", &l)
	require.Len(t, l.Logs, 3, "the last hour")
	bodies := func() []string {
		var out []string
		for _, r := range l.Logs {
			out = append(out, r.Body)
		}
		return out
	}
	require.Equal(t, []string{"slow query took 1.2s", "Payment declined: insufficient funds", "checkout started for cart 42"}, bodies(), "newest first")
	declined := l.Logs[1]
	require.Equal(t, logJSON{
		Timestamp: testNow.Add(-10 * time.Minute), TimeUnixNano: ns(testNow.Add(-10*time.Minute + 2*time.Millisecond)),
		Service: "cart", Namespace: "shop", SeverityNumber: 17, SeverityText: "ERROR", Body: "Payment declined: insufficient funds",
		TraceID: hexA, SpanID: "0300000000000000", Attributes: map[string]string{"code.function": "handle"}, Resource: map[string]string{"service.name": "cart"},
	}, declined)
	require.Empty(t, l.Logs[0].TraceID, "no trace: empty, not zeros")

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"service=web", []string{"checkout started for cart 42"}},
		{"service=cart&namespace=shop", []string{"slow query took 1.2s", "Payment declined: insufficient funds"}},
		{"namespace=elsewhere", nil},
		{"severity=warn", []string{"slow query took 1.2s", "Payment declined: insufficient funds"}},
		{"severity=ERROR", []string{"Payment declined: insufficient funds"}},
		{"severity=18", nil},
		{"q=PAYMENT", []string{"Payment declined: insufficient funds"}},
		{"q=%25", nil}, // text, not a pattern
		{"q=_", nil},
		{"q=" + url.QueryEscape(`\`), nil},
		{"q=took+1.2", []string{"slow query took 1.2s"}},
		{"trace_id=" + hexA, []string{"Payment declined: insufficient funds", "checkout started for cart 42"}},
		{"trace_id=" + strings.ToUpper(hexA) + "&span_id=0100000000000000", []string{"checkout started for cart 42"}},
		{"from=now-4h&to=now-2h", []string{"cache miss"}},
		{"limit=1", []string{"slow query took 1.2s"}},
		{"direction=forward&limit=2", []string{"checkout started for cart 42", "Payment declined: insufficient funds"}},
		{"direction=BACKWARD&limit=1", []string{"slow query took 1.2s"}},
		{"resource=k8s.pod.name:cart-7d9f", []string{"slow query took 1.2s"}},
		{"resource=service.name:web&attr=code.function:handle", []string{"checkout started for cart 42"}},
		{"resource=service.name:web&resource=service.name:cart", nil},
		{"attr=code.function:other", nil},
		{"attr=absent:", nil}, // an absent key is no empty value
		{"attr=" + url.QueryEscape("code.function:handle:x"), nil},
	} {
		t.Run(tc.query, func(t *testing.T) {
			c.with(t).get("/api/v1/logs?"+tc.query, &l)
			require.Equal(t, tc.want, bodies())
		})
	}
	// The volume: the search's records by level and minute of the hour.
	type volume struct {
		BucketSeconds float64 `json:"bucket_seconds"`
		Levels        map[string][]uint64
	}
	nonZero := func(v volume) map[string]map[int]uint64 {
		out := map[string]map[int]uint64{}
		for level, counts := range v.Levels {
			require.Len(t, counts, volumeBuckets, level)
			for i, n := range counts {
				if n > 0 {
					if out[level] == nil {
						out[level] = map[int]uint64{}
					}
					out[level][i] = n
				}
			}
		}
		return out
	}
	var v volume
	c.get("/api/v1/logs/volume", &v)
	require.Equal(t, 60.0, v.BucketSeconds)
	require.Equal(t, map[string]map[int]uint64{"info": {50: 1}, "error": {50: 1}, "warn": {51: 1}}, nonZero(v), "10 and 9 minutes ago")
	v = volume{}
	c.get("/api/v1/logs/volume?severity=warn&service=cart", &v)
	require.Equal(t, map[string]map[int]uint64{"error": {50: 1}, "warn": {51: 1}}, nonZero(v))
	v = volume{}
	c.get("/api/v1/logs/volume?q=cache&from=now-4h&to=now-2h", &v)
	require.Equal(t, map[string]map[int]uint64{"debug": {30: 1}}, nonZero(v), "3 hours ago: the middle of two hours")
	c.fail("/api/v1/logs/volume?severity=loud", http.StatusBadRequest, "severity")

	for _, tc := range []struct{ query, field string }{
		{"severity=loud", "severity"},
		{"severity=25", "severity"},
		{"severity=0", "severity"},
		{"trace_id=xyz", "trace_id"},
		{"span_id=" + hexA, "span_id"},
		{"limit=0", "limit"},
		{"direction=up", "direction"},
		{"attr=code.function", "attr"},
		{"resource=:cart", "resource"},
	} {
		t.Run(tc.query, func(t *testing.T) { c.with(t).fail("/api/v1/logs?"+tc.query, http.StatusBadRequest, tc.field) })
	}
}

// An edge's failures by code and its busiest paths count a call both
// sidecars logged once.
func testEdgeErrors(t *testing.T, c client) {
	var d struct {
		ErrorsByCode map[string]uint64 `json:"errors_by_code"`
		TopPaths     []edgePath        `json:"top_paths"`
	}
	c.get("/api/v1/edges?source=service:shop/web&destination=service:shop/cart", &d)
	require.Equal(t, map[string]uint64{"503": 2, "UH": 1, "UF,URX": 1, "grpc-14": 1}, d.ErrorsByCode,
		"404 and the DC flag are not failures")
	require.Equal(t, []edgePath{
		{Method: "GET", Path: "/api/cart/items", Requests: 10, P50Ms: 1, P99Ms: 1},
		{Method: "GET", Path: "/api/cart/checkout", Requests: 4, Failed: 4, ErrorRate: 1, P50Ms: 1, P99Ms: 1},
		{Method: "GET", Path: "/api/cart/missing", Requests: 1, P50Ms: 1, P99Ms: 1},
		{Method: "GET", Path: "/cart.Cart/Get", Requests: 1, Failed: 1, ErrorRate: 1, P50Ms: 1, P99Ms: 1},
		{Method: "GET", Path: "/healthz", Requests: 1, P50Ms: 1, P99Ms: 1},
	}, d.TopPaths)
}

func testSQL(t *testing.T, c client) {
	t.Run("json", func(t *testing.T) {
		status, h, body := c.postSQL("SELECT service_name, count() AS n, any(trace_id) AS id FROM spans WHERE trace_id = unhex('"+hexA+"') GROUP BY service_name ORDER BY service_name", "json")
		require.Equal(t, http.StatusOK, status, string(body))
		require.Equal(t, "application/json", h.Get("Content-Type"))
		var res struct {
			Columns  []struct{ Name, Type string }
			Rows     [][]any
			RowsRead uint64  `json:"rows_read"`
			Elapsed  float64 `json:"elapsed_ms"`
		}
		require.NoError(t, json.Unmarshal(body, &res))
		require.Equal(t, "n", res.Columns[1].Name)
		require.Equal(t, "UInt64", res.Columns[1].Type)
		require.Equal(t, [][]any{{"cart", 1.0, hexA}, {"web", 2.0, hexA}}, res.Rows)
		require.Positive(t, res.RowsRead)
	})
	t.Run("csv", func(t *testing.T) {
		status, h, body := c.postSQL("SELECT name, kind FROM spans WHERE trace_id = unhex('"+hexA+"') ORDER BY start_time_unix_nano", "csv")
		require.Equal(t, http.StatusOK, status, string(body))
		require.Equal(t, "text/csv; charset=utf-8", h.Get("Content-Type"))
		records, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		require.NoError(t, err)
		require.Equal(t, [][]string{{"name", "kind"}, {"GET /checkout", "2"}, {"POST cart", "3"}, {"POST /cart", "2"}}, records)
	})
	for _, tc := range []struct {
		name, query, format string
		status              int
		field, contains     string
	}{
		{"refused by the guard", "DROP TABLE spans", "json", http.StatusBadRequest, "query", "DROP"},
		{"multiple statements", "SELECT 1; SELECT 2", "json", http.StatusBadRequest, "query", "multiple statements"},
		{"table function", "SELECT * FROM url('http://x', CSV, 'a String')", "json", http.StatusBadRequest, "query", "url()"},
		{"refused by the server", "SELECT * FROM numbers(3)", "json", http.StatusBadRequest, "query", "code 164"},
		{"syntax error", "SELECT FROM WHERE", "json", http.StatusBadRequest, "query", "code 62"},
		{"unknown table", "SELECT * FROM nowhere", "json", http.StatusBadRequest, "query", "code 60"},
		{"too many rows", "SELECT number FROM system.numbers LIMIT 2000", "json", http.StatusBadRequest, "query", "code 396"},
		{"unknown format", "SELECT 1", "xml", http.StatusBadRequest, "format", "xml"},
		{"empty", "", "json", http.StatusBadRequest, "query", "required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := c.with(t).postSQL(tc.query, tc.format)
			require.Equal(t, tc.status, status, string(body))
			var e apiErr
			require.NoError(t, json.Unmarshal(body, &e))
			require.Equal(t, tc.field, *e.Field)
			require.Contains(t, *e.Error, tc.contains)
		})
	}
	t.Run("bad body", func(t *testing.T) {
		for _, body := range []string{`not json`, `{"query": 1}`, `{"query":"SELECT 1","extra":true}`, `{"query":"SELECT 1"} {}`} {
			status, _, _ := c.do(http.MethodPost, "/api/v1/sql", strings.NewReader(body))
			require.Equal(t, http.StatusBadRequest, status, body)
		}
	})
	t.Run("too long", func(t *testing.T) {
		status, _, body := c.postSQL("SELECT '"+strings.Repeat("x", 70<<10)+"'", "json")
		require.Equal(t, http.StatusRequestEntityTooLarge, status, string(body))
	})
}

func adhocLimits() adhoc.Limits {
	return adhoc.Limits{MaxResultRows: 1000, MaxExecutionTime: 5 * time.Second}
}

// An edge's errors and paths count each call once by the SLIs' rule (one
// rule, schema.RequestDuplicateSQL): where the destination's sidecar logged
// calls of the pair, the caller's rows count only for calls that never
// reached it; a pair whose callee logs nothing counts the caller's rows.
func TestEdgeCountsEachCallOnce(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	at := testNow.Add(-10 * time.Minute)
	row := func(src, dst, reporter string, code uint16, flags, path string) schema.RequestRow {
		return schema.RequestRow{StartUnixNano: ns(at), DurationNanos: 1e6, UpstreamServiceTimeNanos: -1, Reporter: reporter,
			Source: src, Destination: dst, Protocol: "HTTP/1.1", Method: "GET", Path: path, ResponseCode: code, GRPCStatus: -1, ResponseFlags: flags}
	}
	web, pay, cart := "service:shop/web", "service:payments/pay", "service:shop/cart"
	var reqs []schema.RequestRow
	for _, reporter := range []string{"destination", "source"} {
		for range 3 {
			reqs = append(reqs, row(web, pay, reporter, 200, "", "/pay"))
		}
		for range 2 {
			reqs = append(reqs, row(web, pay, reporter, 503, "", "/pay"))
		}
	}
	reqs = append(reqs,
		// Never reached pay: only the caller logged it.
		row(web, pay, "source", 0, "UF", "/pay"),
		// Reached pay by the caller's account, yet pay logged no such
		// call: the destination's rows stand for the pair's calls.
		row(web, pay, "source", 503, "", "/pay"),
		// cart's sidecar logs nothing here: the caller's rows count.
		row(web, cart, "source", 503, "", "/cart"),
		row(web, cart, "source", 200, "", "/cart"),
	)
	require.NoError(t, st.Write(context.Background(), &schema.Batch{Requests: reqs}))
	c := newTestAPI(t, Config{}, Deps{Store: st}).client
	var d struct {
		ErrorsByCode map[string]uint64 `json:"errors_by_code"`
		TopPaths     []edgePath        `json:"top_paths"`
	}
	c.get("/api/v1/edges?source="+web+"&destination="+pay, &d)
	require.Equal(t, map[string]uint64{"503": 2, "UF": 1}, d.ErrorsByCode)
	require.Equal(t, []edgePath{{Method: "GET", Path: "/pay", Requests: 6, Failed: 3, ErrorRate: 0.5, P50Ms: 1, P99Ms: 1}}, d.TopPaths)
	d.ErrorsByCode, d.TopPaths = nil, nil
	c.get("/api/v1/edges?source="+web+"&destination="+cart, &d)
	require.Equal(t, map[string]uint64{"503": 1}, d.ErrorsByCode)
	require.Equal(t, []edgePath{{Method: "GET", Path: "/cart", Requests: 2, Failed: 1, ErrorRate: 0.5, P50Ms: 1, P99Ms: 1}}, d.TopPaths)
}
