package query

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chtest"
)

// instancesJSON is GET /api/v1/services/{ns}/{name}/instances.
type instancesJSON struct {
	Source    string
	Instances []struct {
		Instance, Key, Version, Workload string
		Requests, Errors                 uint64
		RPS                              float64
		ErrorRate                        float64 `json:"error_rate"`
		P50Ms                            float64 `json:"p50_ms"`
		P99Ms                            float64 `json:"p99_ms"`
		Share                            float64
		FirstSeen                        time.Time `json:"first_seen"`
		LastSeen                         time.Time `json:"last_seen"`
		Outlier                          []string
		Why                              []string
	}
}

// A service's calls by the pod that served them, from its server spans and,
// for a service without any, from the access log entries of its calls; the
// replica that fails and the one that is slow are marked.
func TestInstances(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	at := testNow.Add(-10 * time.Minute)
	var spans []schema.SpanRow
	n := 0
	span := func(pod, version string, kind uint8, d time.Duration, failed bool, resourceKey string) {
		n++
		row := schema.SpanRow{StartUnixNano: uint64(at.Add(time.Duration(n) * time.Millisecond).UnixNano()), DurationNanos: uint64(d),
			TraceID: schema.TraceID{9, byte(n >> 8), byte(n)}, SpanID: schema.SpanID{9, byte(n >> 8), byte(n)},
			Name: "GET /cart", Kind: kind, ServiceName: "cart", ServiceNamespace: "shop", ServiceVersion: version, Workload: "cart-" + version,
			GRPCStatusCode: -1, ResourceKeys: []string{"service.name", resourceKey}, ResourceValues: []string{"cart", pod}}
		if failed {
			row.StatusCode = schema.StatusError
		}
		spans = append(spans, row)
	}
	// cart-a and cart-b fail 1 in 100 and answer in 10 ms; cart-c, the
	// same version, fails 30 in 100; cart-d (named by its instance id)
	// answers in 50 ms; cart-e, a canary's one pod, fails 20 in 20 and is
	// compared with nothing. cart's client spans and an INTERNAL span do not count.
	for i := range 100 {
		span("cart-a", "v1", schema.SpanKindServer, 10*time.Millisecond, i == 0, "k8s.pod.name")
		span("cart-b", "v1", schema.SpanKindServer, 10*time.Millisecond, i == 0, "k8s.pod.name")
		span("cart-c", "v1", schema.SpanKindServer, 10*time.Millisecond, i < 30, "k8s.pod.name")
		span("cart-a", "v1", schema.SpanKindClient, time.Second, true, "k8s.pod.name")
	}
	for range 50 {
		span("cart-d-instance", "v1", schema.SpanKindConsumer, 50*time.Millisecond, false, "service.instance.id")
	}
	for range 20 {
		span("cart-e", "v2", schema.SpanKindServer, 10*time.Millisecond, true, "k8s.pod.name")
	}
	span("cart-a", "v1", schema.SpanKindInternal, time.Second, true, "k8s.pod.name")

	// pay has no spans: its sidecars' entries name its pods by their
	// address (10.0.0.2 fails 20 in 40); its callers' entries for the same
	// calls are not counted again. legacy has no sidecar: its callers'
	// entries name the upstream hosts.
	var requests []schema.RequestRow
	request := func(dst, reporter, local, upstream string, code uint16) {
		n++
		requests = append(requests, schema.RequestRow{StartUnixNano: uint64(at.Add(time.Duration(n) * time.Millisecond).UnixNano()),
			DurationNanos: uint64(5 * time.Millisecond), UpstreamServiceTimeNanos: -1, Reporter: reporter, Destination: dst,
			DestinationVersion: "v1", DestinationWorkload: "w", Protocol: "HTTP/1.1", Method: "GET", Path: "/", ResponseCode: code, GRPCStatus: -1,
			DownstreamLocalAddress: local, UpstreamHost: upstream})
	}
	for i := range 40 {
		code := uint16(200)
		if i < 20 {
			code = 503
		}
		request("service:shop/pay", "destination", "10.0.0.2:8080", "127.0.0.1:8080", code)
		request("service:shop/pay", "destination", "10.0.0.3:8080", "127.0.0.1:8080", 200)
		// pay-3's sidecar names its pod.
		requests[len(requests)-1].AttrKeys, requests[len(requests)-1].AttrValues = []string{"k8s.pod.name"}, []string{"pay-7c9d-3"}
		request("service:shop/pay", "source", "10.0.9.9:0", "10.0.0.3:8080", 200)
		request("service:shop/legacy", "source", "10.0.9.9:0", fmt.Sprintf("10.0.1.%d:80", 2+i%2), 200)
	}
	// ledger has neither spans nor sidecars: its SDKs' cumulative server
	// histograms (http.server.request.duration, seconds) count its calls,
	// 200 a pod between two exports, ledger-1 failing 80 of them.
	var series []schema.MetricSeriesRow
	var samples []schema.MetricSampleRow
	for i, pod := range []string{"ledger-0", "ledger-1", "ledger-2"} {
		for failed, code := range []string{"200", "500"} {
			id := uint64(100 + 2*i + failed)
			series = append(series, schema.MetricSeriesRow{SeriesID: id, MetricName: "http.server.request.duration", Type: 3, Unit: "s", Temporality: 2,
				ServiceName: "ledger", Source: "otlp", ResourceKeys: []string{"service.name", "service.namespace", "k8s.pod.name", "service.version"},
				ResourceValues: []string{"ledger", "shop", pod, "v3"}, LabelKeys: []string{"http.response.status_code"}, LabelValues: []string{code}})
			n := uint64(200)
			if pod == "ledger-1" {
				n = map[int]uint64{0: 120, 1: 80}[failed]
			} else if failed == 1 {
				n = 1
			}
			for k, total := range []uint64{1000, 1000 + n} {
				samples = append(samples, schema.MetricSampleRow{SeriesID: id, MetricName: "http.server.request.duration",
					TimeUnixNano: uint64(at.Add(time.Duration(k) * 5 * time.Minute).UnixNano()), Count: total,
					BucketBounds: []float64{0.01, 0.1}, BucketCounts: []uint64{total, 0, 0}})
			}
		}
	}
	require.NoError(t, st.Write(context.Background(), &schema.Batch{Spans: spans, Requests: requests, MetricSeries: series, MetricSamples: samples}))
	api := newTestAPI(t, Config{}, Deps{Store: st})
	c := api.client.with(t)

	var got instancesJSON
	c.get("/api/v1/services/shop/cart/instances?from=now-1h&to=now", &got)
	require.Equal(t, "spans", got.Source)
	require.Len(t, got.Instances, 5)
	bad := got.Instances[0] // outliers first
	require.Equal(t, "cart-c", bad.Instance)
	require.Equal(t, "k8s.pod.name", bad.Key)
	require.Equal(t, []string{"errors"}, bad.Outlier)
	require.EqualValues(t, 100, bad.Requests)
	require.EqualValues(t, 30, bad.Errors)
	require.InDelta(t, 0.3, bad.ErrorRate, 1e-9)
	require.InDelta(t, 100.0/370, bad.Share, 1e-9)
	require.InDelta(t, 100.0/3600, bad.RPS, 1e-9)
	require.Equal(t, "v1", bad.Version)
	require.Equal(t, "cart-v1", bad.Workload)
	require.Equal(t, "fails 30.0% of its requests against 0.8% for the other 3 instances of v1", bad.Why[0])
	slow := got.Instances[1]
	require.Equal(t, "cart-d-instance", slow.Instance)
	require.Equal(t, "service.instance.id", slow.Key)
	require.Equal(t, []string{"latency"}, slow.Outlier)
	require.InDelta(t, 50, slow.P50Ms, 1)
	require.Equal(t, "median 50 ms against 10 ms for the other 3 instances of v1 (5.0 times)", slow.Why[0])
	for _, in := range got.Instances[2:4] {
		require.Contains(t, []string{"cart-a", "cart-b"}, in.Instance)
		require.Empty(t, in.Outlier)
		require.EqualValues(t, 100, in.Requests)
		require.EqualValues(t, 1, in.Errors)
		require.InDelta(t, 10, in.P99Ms, 0.5)
		require.Equal(t, at.Truncate(time.Second).UTC(), in.FirstSeen)
	}
	canary := got.Instances[4]
	require.Equal(t, [2]string{"cart-e", "v2"}, [2]string{canary.Instance, canary.Version})
	require.Empty(t, canary.Outlier, "a canary's one pod is compared with nothing: every request failed, no sibling")

	c.get("/api/v1/services/shop/pay/instances?from=now-1h&to=now", &got)
	require.Equal(t, "requests", got.Source)
	require.Len(t, got.Instances, 2)
	require.Equal(t, "10.0.0.2", got.Instances[0].Instance)
	require.Equal(t, "address", got.Instances[0].Key)
	require.Equal(t, []string{"errors"}, got.Instances[0].Outlier)
	require.EqualValues(t, 20, got.Instances[0].Errors)
	require.Equal(t, "pay-7c9d-3", got.Instances[1].Instance)
	require.Equal(t, "k8s.pod.name", got.Instances[1].Key)
	require.EqualValues(t, 40, got.Instances[1].Requests, "each call once: the callers' entries are not counted again")

	c.get("/api/v1/services/shop/legacy/instances?from=now-1h&to=now", &got)
	require.Equal(t, "requests", got.Source)
	require.Len(t, got.Instances, 2)
	require.ElementsMatch(t, []string{"10.0.1.2", "10.0.1.3"}, []string{got.Instances[0].Instance, got.Instances[1].Instance})
	require.Empty(t, got.Instances[0].Outlier)

	// Asked for one source, that source answers, even with nothing.
	c.get("/api/v1/services/shop/cart/instances?from=now-1h&to=now&source=requests", &got)
	require.Equal(t, "requests", got.Source)
	require.Empty(t, got.Instances)
	// Outside the range, nothing.
	c.get("/api/v1/services/shop/cart/instances?from=now-3h&to=now-2h", &got)
	require.Equal(t, "", got.Source)
	require.Empty(t, got.Instances)
	c.get("/api/v1/services/shop/cart/instances?from=now-1h&to=now&source=metrics", &got)
	require.Equal(t, "metrics", got.Source)
	require.Empty(t, got.Instances)
	c.fail("/api/v1/services/shop/cart/instances?source=logs", http.StatusBadRequest, "source")

	// From the SDKs' histograms: the calls between the exports.
	c.get("/api/v1/services/shop/ledger/instances?from=now-1h&to=now", &got)
	require.Equal(t, "metrics", got.Source)
	require.Len(t, got.Instances, 3)
	require.Equal(t, "ledger-1", got.Instances[0].Instance)
	require.Equal(t, []string{"errors"}, got.Instances[0].Outlier)
	require.EqualValues(t, 200, got.Instances[0].Requests)
	require.EqualValues(t, 80, got.Instances[0].Errors)
	require.Equal(t, "v3", got.Instances[0].Version)
	require.InDelta(t, 5, got.Instances[0].P50Ms, 3, "in the first bucket, under 10 ms")
	for _, in := range got.Instances[1:] {
		require.EqualValues(t, 201, in.Requests)
		require.Empty(t, in.Outlier)
	}
}
