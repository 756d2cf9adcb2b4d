package promrw

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/prompb"

	"github.com/meshscope/meshscope/ingest/meshmetrics"
)

// benchSeries is the payload size of the benchmarks: 80 Istio call groups
// of 25 series each (istio_requests_total, 20 latency buckets, _count,
// _sum, request and response byte sums), one sample per series, as
// Prometheus sends them.
const benchSeries = 2000

// istioPayload returns a remote write 1.0 body of benchSeries Istio
// series, with the samples of scrape number scrape.
func istioPayload(b testing.TB, scrape int) []byte {
	bounds := []string{"0.5", "1", "5", "10", "25", "50", "100", "250", "500", "1000", "2500", "5000", "10000",
		"30000", "60000", "300000", "600000", "1.8e+06", "3.6e+06", "+Inf"}
	req := &prompb.WriteRequest{}
	ts := ms + int64(scrape)*15000
	add := func(ls []prompb.Label, v float64) {
		req.Timeseries = append(req.Timeseries, prompb.TimeSeries{Labels: ls, Samples: []prompb.Sample{{Value: v, Timestamp: ts}}})
	}
	for g := 0; len(req.Timeseries) < benchSeries; g++ {
		src := fmt.Sprintf("frontend-%d", g%20)
		dst := fmt.Sprintf("backend-%d", g/20)
		call := pl("connection_security_policy", "mutual_tls",
			"destination_app", dst, "destination_canonical_revision", "v1", "destination_canonical_service", dst,
			"destination_cluster", "Kubernetes", "destination_principal", "spiffe://cluster.local/ns/shop/sa/"+dst,
			"destination_service", dst+".shop.svc.cluster.local", "destination_service_name", dst,
			"destination_service_namespace", "shop", "destination_version", "v1", "destination_workload", dst+"-v1",
			"destination_workload_namespace", "shop", "grpc_response_status", "", "instance", "10.244.1."+strconv.Itoa(g%250)+":15020",
			"job", "kubernetes-pods", "namespace", "shop", "pod", dst+"-v1-5f7b6d8c9b-x2kqv", "reporter", "destination",
			"request_protocol", "http", "response_code", "200", "response_flags", "-",
			"source_app", src, "source_canonical_revision", "v1", "source_canonical_service", src, "source_cluster", "Kubernetes",
			"source_principal", "spiffe://cluster.local/ns/shop/sa/"+src, "source_version", "v1",
			"source_workload", src+"-v1", "source_workload_namespace", "shop")
		n := float64(1000 + 20*scrape*(g+1)) // a multiple of len(bounds): whole bucket counts
		named := func(name string, extra ...string) []prompb.Label {
			ls := append(append(pl("__name__", name), call...), pl(extra...)...)
			slices.SortFunc(ls, func(a, b prompb.Label) int { return strings.Compare(a.Name, b.Name) })
			return ls // sorted, as Prometheus sends them
		}
		add(named("istio_requests_total"), n)
		for i, le := range bounds {
			add(named("istio_request_duration_milliseconds_bucket", "le", le), n*float64(i+1)/float64(len(bounds)))
		}
		add(named("istio_request_duration_milliseconds_count"), n)
		add(named("istio_request_duration_milliseconds_sum"), n*23.5)
		add(named("istio_request_bytes_sum"), n*412)
		add(named("istio_response_bytes_sum"), n*5120)
	}
	return encode1(b, req)
}

func BenchmarkRemoteWriteDecode(b *testing.B) {
	body := istioPayload(b, 1)
	var d decoder
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.decode(body, false, DefaultMaxDecodedBytes); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchSeries*b.N)/b.Elapsed().Seconds(), "samples/s")
}

func BenchmarkRemoteWriteHandler(b *testing.B) {
	// Successive scrapes, so that every request yields observations.
	const scrapes = 64
	bodies := make([][]byte, scrapes)
	for i := range bodies {
		bodies[i] = istioPayload(b, i)
	}
	var h http.Handler
	reset := func() {
		d, err := meshmetrics.New(meshmetrics.Config{})
		if err != nil {
			b.Fatal(err)
		}
		h = NewHandler(Config{}, discardAppender{}, d, nil, nil)
		for _, body := range bodies[:2] { // series rows written, baselines set
			serve(b, h, body)
		}
	}
	reset()
	b.SetBytes(int64(len(bodies[2])))
	b.ReportAllocs()
	i := 2
	for b.Loop() {
		if i == scrapes {
			b.StopTimer()
			reset()
			i = 2
			b.StartTimer()
		}
		serve(b, h, bodies[i])
		i++
	}
	b.ReportMetric(float64(benchSeries*b.N)/b.Elapsed().Seconds(), "samples/s")
}

func serve(b testing.TB, h http.Handler, body []byte) {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
	r.Header.Set("Content-Encoding", "snappy")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusNoContent {
		b.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
}

// TestBenchPayload checks that the benchmark's requests yield what it
// claims: every series written once, and one observation per call group
// from the third scrape on.
func TestBenchPayload(t *testing.T) {
	e := newEnv(t, Config{})
	for i := range 3 {
		w := e.post(istioPayload(t, i), "")
		if w.Code != http.StatusNoContent {
			t.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
	}
	series, samples, obs := e.app.snapshot()
	if len(series) != benchSeries || len(samples) != 3*benchSeries {
		t.Fatalf("%d series rows, %d samples", len(series), len(samples))
	}
	if len(obs) != 2*benchSeries/25 {
		t.Fatalf("%d observations, want %d", len(obs), 2*benchSeries/25)
	}
	for _, o := range obs {
		if o.Latency == nil || o.Count == 0 || o.BytesSent == 0 {
			t.Fatalf("incomplete observation %+v", o)
		}
	}
}
