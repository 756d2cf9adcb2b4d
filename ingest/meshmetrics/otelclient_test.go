package meshmetrics

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/schema"
)

// otelRow is an OTLP explicit-bucket histogram series of an SDK client
// metric, its resource a pod of web (shop/web-v1, version v1).
func otelRow(name string, kv ...string) schema.MetricSeriesRow {
	r := seriesRow(name, kv...)
	r.Type = schema.MetricHistogram
	r.ResourceKeys = []string{"k8s.deployment.name", "k8s.namespace.name", "k8s.pod.name", "service.name", "service.version"}
	r.ResourceValues = []string{"web-v1", "shop", "web-v1-7d9f-abcde", "web", "v1"}
	r.SeriesID ^= 0x5eed
	return r
}

// histPoint is a cumulative point of row at sec: counts in buckets bounded
// by bounds, each call taking each's duration (in the row's unit).
func histPoint(row schema.MetricSeriesRow, sec int, bounds []float64, counts []uint64, each float64) schema.MetricSampleRow {
	s := at(row, sec, math.NaN())
	s.BucketBounds, s.BucketCounts = bounds, counts
	for _, c := range counts {
		s.Count += c
	}
	s.Sum = float64(s.Count) * each
	return s
}

// An OpenTelemetry SDK's client duration histograms are the calls of its
// service to the peer each series names, with their latency; their status
// attributes say which failed. Its current names (seconds) and the earlier
// ones (milliseconds), HTTP and gRPC.
func TestOTelClientMetrics(t *testing.T) {
	d, _ := newTest(t, Config{})
	ok := otelRow("http.client.request.duration", "server.address", "cart.shop.svc.cluster.local", "server.port", "8080",
		"http.request.method", "GET", "http.response.status_code", "200")
	unavailable := otelRow("http.client.request.duration", "server.address", "cart.shop.svc.cluster.local", "server.port", "8080",
		"http.request.method", "GET", "http.response.status_code", "503", "error.type", "503")
	timeout := otelRow("http.client.request.duration", "server.address", "api.stripe.com", "error.type", "timeout")
	grpcFail := otelRow("rpc.client.duration", "rpc.system", "grpc", "rpc.service", "pay.v1.Payments", "rpc.method", "Charge",
		"rpc.grpc.status_code", "14", "peer.service", "payments", "server.address", "payments.pay.svc.cluster.local")
	noPeer := otelRow("http.client.request.duration", "http.response.status_code", "200")
	rows := []schema.MetricSeriesRow{ok, unavailable, timeout, grpcFail, noPeer}
	sec := []float64{0.01, 0.1}
	ms := []float64{10, 100}
	scrape := func(s int, n uint64) []schema.MetricSampleRow {
		return []schema.MetricSampleRow{
			histPoint(ok, s, sec, []uint64{n, n, 0}, 0.02),
			histPoint(unavailable, s, sec, []uint64{0, n / 10, 0}, 0.05),
			histPoint(timeout, s, sec, []uint64{0, 0, n / 20}, 1),
			histPoint(grpcFail, s, ms, []uint64{n / 5, 0, 0}, 5),
			histPoint(noPeer, s, sec, []uint64{n, 0, 0}, 0.001),
		}
	}
	require.Empty(t, d.Flush(d.Derive(rows, scrape(0, 100), nil)))
	got := d.Flush(d.Derive(rows, scrape(15, 200), nil))
	require.Len(t, got, 4, "the series without a peer is no call")
	web := graph.Party{Kind: graph.KindService, Namespace: "shop", Name: "web", Workload: "web-v1", Version: "v1"}
	byDst := map[string][]graph.Observation{}
	for _, o := range got {
		require.Equal(t, web, o.Source)
		require.Equal(t, graph.ReporterUnknown, o.Reporter, "an SDK, not a proxy: no evidence of who else calls web")
		require.Equal(t, graph.FromMetric, o.Provenance)
		id := o.Destination.NodeID(graph.GranularityService)
		byDst[id] = append(byDst[id], o)
	}
	cart := byDst["service:shop/cart"]
	require.Len(t, cart, 2)
	if cart[0].Errors > 0 {
		cart[0], cart[1] = cart[1], cart[0]
	}
	require.Equal(t, [2]uint64{200, 0}, [2]uint64{cart[0].Count, cart[0].Errors})
	require.Equal(t, graph.ProtocolHTTP, cart[0].Protocol)
	want := graph.FromBuckets([]float64{0.01e9, 0.1e9}, []uint64{100, 100, 0})
	require.Equal(t, &want, cart[0].Latency)
	require.Equal(t, [2]uint64{10, 10}, [2]uint64{cart[1].Count, cart[1].Errors}, "503s")

	stripe := byDst["external:api.stripe.com"]
	require.Len(t, stripe, 1)
	require.Equal(t, [2]uint64{5, 5}, [2]uint64{stripe[0].Count, stripe[0].Errors}, "timeouts: error.type and no status")

	pay := byDst["service:pay/payments"]
	require.Len(t, pay, 1, "peer.service, its namespace from a Kubernetes host")
	require.Equal(t, graph.ProtocolGRPC, pay[0].Protocol)
	require.Equal(t, [2]uint64{20, 20}, [2]uint64{pay[0].Count, pay[0].Errors}, "UNAVAILABLE")
	want = graph.FromBuckets([]float64{10e6, 100e6}, []uint64{20, 0, 0})
	require.Equal(t, &want, pay[0].Latency)
}

// The same metric through Prometheus (the Collector's Prometheus exporter,
// remote_write): classic _bucket/_count/_sum series, attribute names with
// underscores, the resource as the job (NAMESPACE/NAME).
func TestOTelClientMetricsFromPrometheus(t *testing.T) {
	d, _ := newTest(t, Config{})
	kv := []string{"job", "shop/web", "instance", "web-v1-7d9f-abcde", "server_address", "cart", "http_request_method", "POST",
		"http_response_status_code", "500"}
	var rows []schema.MetricSeriesRow
	scrape := func(sec int, cum []float64, sum float64) []schema.MetricSampleRow {
		var out []schema.MetricSampleRow
		rows = rows[:0]
		for i, le := range []string{"0.01", "0.1", "+Inf"} {
			r := seriesRow("http_client_request_duration_seconds_bucket", with(kv, "le", le)...)
			rows = append(rows, r)
			out = append(out, at(r, sec, cum[i]))
		}
		c := seriesRow("http_client_request_duration_seconds_count", kv...)
		s := seriesRow("http_client_request_duration_seconds_sum", kv...)
		rows = append(rows, c, s)
		return append(out, at(c, sec, cum[2]), at(s, sec, sum))
	}
	s1 := scrape(0, []float64{1, 3, 4}, 0.5)
	require.Empty(t, d.Flush(d.Derive(rows, s1, nil)))
	s2 := scrape(15, []float64{3, 9, 10}, 1.2)
	got := d.Flush(d.Derive(rows, s2, nil))
	require.Len(t, got, 1)
	o := got[0]
	require.Equal(t, "service:shop/web", o.Source.NodeID(graph.GranularityService))
	require.Equal(t, "service:shop/cart", o.Destination.NodeID(graph.GranularityService), "a name without dots, in the caller's namespace")
	require.Equal(t, [2]uint64{6, 6}, [2]uint64{o.Count, o.Errors})
	want := graph.FromBuckets([]float64{0.01e9, 0.1e9}, []uint64{2, 4, 0})
	require.Equal(t, &want, o.Latency)
}
