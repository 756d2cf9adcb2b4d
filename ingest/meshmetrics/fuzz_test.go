package meshmetrics

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/schema"
)

// fuzzNames are the metric names of every family and role, and one the
// deriver does not want.
var fuzzNames = []string{
	"istio_requests_total", "istio_request_duration_milliseconds_bucket", "istio_request_duration_milliseconds_count",
	"istio_request_duration_milliseconds_sum", "istio_request_duration_milliseconds", "istio_request_bytes_sum",
	"istio_response_bytes_sum", "istio_tcp_received_bytes_total", "istio_tcp_sent_bytes_total", "istio_tcp_connections_opened_total",
	"request_total", "response_total", "response_latency_ms_bucket", "response_latency_ms_count", "response_latency_ms_sum",
	"response_latency_ms", "tcp_open_total", "tcp_read_bytes_total", "tcp_write_bytes_total", "tcp_close_total", "envoy_cluster_upstream_rq_total", "envoy_cluster_upstream_rq_xx", "envoy_cluster_upstream_rq_time_bucket",
	"envoy_cluster_upstream_rq_time_count", "envoy_cluster_upstream_rq_time_sum", "envoy_cluster_upstream_rq_time",
	"envoy_cluster_upstream_cx_tx_bytes_total", "traces_service_graph_request_total", "traces_service_graph_request_failed_total",
	"traces_service_graph_request_server_seconds_bucket", "traces_service_graph_request_server",
	"http.client.request.duration", "rpc.client.duration", "http_client_request_duration_seconds_bucket",
	"http_client_request_duration_seconds_count", "http.client.response.body.size", "go_goroutines",
}

// fuzzLabels are label names with values each family knows, odd ones
// included.
var fuzzLabels = [][]string{
	{"reporter", "source", "destination", "waypoint"},
	{"source_workload", "productpage-v1", "unknown"},
	{"source_workload_namespace", "default", "unknown"},
	{"source_canonical_service", "productpage", "unknown"},
	{"destination_workload", "reviews-v2", "unknown"},
	{"destination_workload_namespace", "default", "unknown"},
	{"destination_canonical_service", "reviews", "unknown"},
	{"destination_service", "reviews.default.svc.cluster.local", "httpbin.org:443", ""},
	{"destination_service_name", "reviews", "PassthroughCluster", "BlackHoleCluster"},
	{"destination_service_namespace", "default", "unknown"},
	{"request_protocol", "http", "grpc", "tcp"},
	{"response_code", "200", "503", "0", "abc"},
	{"grpc_response_status", "", "0", "14"},
	{"response_flags", "-", "UF,URX", "DC"},
	{"connection_security_policy", "mutual_tls", "none", "unknown"},
	{"direction", "inbound", "outbound"},
	{"peer", "src", "dst"},
	{"target_addr", "10.244.0.21:8080", ""},
	{"dst_deployment", "cart", ""},
	{"dst_namespace", "shop", ""},
	{"deployment", "web", ""},
	{"namespace", "shop", ""},
	{"tls", "true", "no_identity"},
	{"status_code", "200", "500"},
	{"classification", "success", "failure"},
	{"envoy_cluster_name", "outbound|80||cart.shop.svc.cluster.local", "inbound|80||", "foo"},
	{"envoy_response_code", "200", "503"},
	{"envoy_response_code_class", "2xx", "5xx"},
	{"le", "5", "10", "100", "+Inf", "abc"},
	{"client", "frontend", "user", ""},
	{"server", "cart", ""},
	{"connection_type", "", "virtual_node", "database", "messaging_system"},
	{"job", "shop/web", "web", ""},
	{"server.address", "cart.shop.svc.cluster.local", "cart", "api.stripe.com:443", ""},
	{"peer.service", "payments", ""},
	{"http.response.status_code", "200", "503", ""},
	{"rpc.system", "grpc", ""},
	{"error.type", "timeout", ""},
}

// runDeriverOps feeds the deriver samples made from ops: the first bytes
// choose six series (a name and label values each), then every three
// bytes a sample of one of them (growing counters mostly; resets, NaN,
// infinities and negative values too; explicit and exponential histogram
// rows), time
// moving on, and a flush now and then. Nothing may panic, and every
// observation must keep the graph's contract.
func runDeriverOps(t *testing.T, ops []byte) {
	d, clk := newTest(t, Config{})
	const templates = 6
	if len(ops) < templates*len(fuzzLabels) {
		return
	}
	var rows []schema.MetricSeriesRow
	for i := range templates {
		def := ops[i*len(fuzzLabels) : (i+1)*len(fuzzLabels)]
		var kv []string
		for j, l := range fuzzLabels {
			if def[j]%5 == 0 {
				continue // label absent
			}
			kv = append(kv, l[0], l[1+int(def[j])%(len(l)-1)])
		}
		row := seriesRow(fuzzNames[int(def[0])%len(fuzzNames)], kv...)
		switch def[1] % 4 {
		case 1:
			row.Type = schema.MetricHistogram
		case 2:
			row.Type = schema.MetricExponentialHistogram
		}
		rows = append(rows, row)
	}
	ops = ops[templates*len(fuzzLabels):]
	values := make([]float64, templates)
	var obs []graph.Observation
	for len(ops) >= 3 {
		op, x, y := ops[0], ops[1], ops[2]
		ops = ops[3:]
		i := int(op) % templates
		switch {
		case y < 200:
			values[i] += float64(y % 50)
		case y < 220:
			values[i] = float64(y % 7) // a reset
		case y < 230:
			values[i] = math.NaN()
		case y < 240:
			values[i] = math.Inf(int(y%2)*2 - 1)
		default:
			values[i] = -float64(y)
		}
		s := at(rows[i], 0, values[i])
		s.TimeUnixNano = uint64(clk.now().Add(time.Duration(int(x%16)-8) * time.Second).UnixNano())
		switch {
		case x%3 == 0:
			s.BucketBounds = []float64{5, 10, 100}
			s.BucketCounts = []uint64{uint64(x % 4), uint64(y % 3), uint64(op % 5), uint64(x % 2)}
			s.Count = s.BucketCounts[0] + s.BucketCounts[1] + s.BucketCounts[2] + s.BucketCounts[3] + uint64(op%2)
			s.Sum = values[i]
		case x%3 == 1:
			// An exponential histogram whose scale and offset move.
			s.ExpScale, s.ExpPositiveOffset = int32(y%5)-1, int32(op%7)-3
			s.ExpZeroCount = uint64(x % 2)
			s.ExpPositiveCounts = []uint64{uint64(x % 4), uint64(y % 3), uint64(op % 5)}
			s.Count = s.ExpZeroCount + s.ExpPositiveCounts[0] + s.ExpPositiveCounts[1] + s.ExpPositiveCounts[2] + uint64(op%2)
			s.Sum = values[i]
		}
		obs = d.Derive(rows, []schema.MetricSampleRow{s}, obs)
		if op%7 == 0 {
			clk.advance(time.Duration(1+x%20) * time.Second)
		}
		if op%11 == 0 {
			obs = d.Flush(obs)
		}
	}
	obs = d.Flush(obs)
	for _, o := range obs {
		switch {
		case o.Count == 0 && o.BytesSent == 0 && o.BytesReceived == 0:
			t.Fatalf("observation without calls or bytes: %+v", o)
		case o.Errors > o.Count:
			t.Fatalf("more errors than calls: %+v", o)
		case o.MTLS+o.Plaintext > o.Count:
			t.Fatalf("more mTLS and plaintext calls than calls: %+v", o)
		case o.Latency != nil && latencyTotal(o.Latency) != o.Count:
			t.Fatalf("latency histogram of %d calls for %d: %+v", latencyTotal(o.Latency), o.Count, o)
		case o.Provenance != graph.FromMetric:
			t.Fatalf("provenance %v", o.Provenance)
		}
	}
}

func latencyTotal(h *graph.Histogram) (n uint64) {
	for _, c := range h {
		n += c
	}
	return n
}

func FuzzDeriver(f *testing.F) {
	r := rand.New(rand.NewPCG(8, 9))
	for range 10 {
		f.Add(randomDeriverOps(r, 30, 230))
	}
	f.Fuzz(runDeriverOps)
}

// TestDeriverRandom runs random sample sequences through runDeriverOps on
// every test run.
func TestDeriverRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 11))
	for range 300 {
		runDeriverOps(t, randomDeriverOps(r, 10, 310))
	}
}

// randomDeriverOps is six random series and between lo and hi (excluded)
// random samples.
func randomDeriverOps(r *rand.Rand, lo, hi int) []byte {
	ops := make([]byte, 6*len(fuzzLabels)+3*(lo+r.IntN(hi-lo)))
	for i := range ops {
		ops[i] = byte(r.UintN(256))
	}
	return ops
}
