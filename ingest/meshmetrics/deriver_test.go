package meshmetrics

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/schema"
)

// twoScrapes feeds one counter sample per series at 0 s and at 15 s and
// returns what the second scrape yields.
func twoScrapes(t *testing.T, d *Deriver, rows []schema.MetricSeriesRow, first, second []float64) []graph.Observation {
	t.Helper()
	var s1, s2 []schema.MetricSampleRow
	for i, r := range rows {
		s1 = append(s1, at(r, 0, first[i]))
		s2 = append(s2, at(r, 15, second[i]))
	}
	require.Empty(t, d.Derive(rows, s1, nil))
	return d.Flush(d.Derive(rows, s2, nil))
}

func TestIstioRequests(t *testing.T) {
	reviews := graph.Party{Kind: graph.KindService, Cluster: "Kubernetes", Namespace: "default", Name: "reviews", Workload: "reviews-v2", Version: "v2"}
	productpage := graph.Party{Kind: graph.KindService, Cluster: "Kubernetes", Namespace: "default", Name: "productpage", Workload: "productpage-v1", Version: "v1"}
	tests := []struct {
		name string
		kv   []string
		want *graph.Observation // nil: nothing
	}{
		{
			name: "destination reporter",
			kv:   istioKV,
			want: &graph.Observation{Source: productpage, Destination: reviews, Protocol: graph.ProtocolHTTP,
				Count: 10, MTLS: 10, Reporter: graph.ReporterDestination},
		},
		{
			name: "source reporter of a call the destination reports",
			kv:   with(istioKV, "reporter", "source", "connection_security_policy", "unknown"),
		},
		{
			name: "source reporter of a call that never reached the destination",
			kv: with(istioKV, "reporter", "source", "connection_security_policy", "unknown",
				"response_code", "503", "response_flags", "UF,URX"),
			want: &graph.Observation{Source: productpage, Destination: reviews, Protocol: graph.ProtocolHTTP,
				Count: 10, Errors: 10, Reporter: graph.ReporterSource},
		},
		{
			name: "source reporter of a destination outside the mesh",
			kv: with(istioKV, "reporter", "source", "destination_workload", "unknown", "destination_canonical_service", "unknown",
				"destination_service", "httpbin.org:443", "destination_service_name", "PassthroughCluster",
				"destination_service_namespace", "unknown", "destination_workload_namespace", "unknown", "destination_cluster", "unknown"),
			want: &graph.Observation{Source: productpage, Destination: graph.Party{Kind: graph.KindExternal, Name: "httpbin.org"},
				Protocol: graph.ProtocolHTTP, Count: 10, MTLS: 10, Reporter: graph.ReporterSource},
		},
		{
			name: "caller outside the mesh",
			kv: with(istioKV, "source_workload", "unknown", "source_canonical_service", "unknown", "source_workload_namespace", "unknown",
				"source_cluster", "unknown", "connection_security_policy", "none"),
			want: &graph.Observation{Source: graph.Party{Kind: graph.KindClient}, Destination: reviews, Protocol: graph.ProtocolHTTP,
				Count: 10, Plaintext: 10, Reporter: graph.ReporterDestination},
		},
		{
			name: "gRPC failure",
			kv:   with(istioKV, "request_protocol", "grpc", "grpc_response_status", "14"),
			want: &graph.Observation{Source: productpage, Destination: reviews, Protocol: graph.ProtocolGRPC,
				Count: 10, Errors: 10, MTLS: 10, Reporter: graph.ReporterDestination},
		},
		{
			name: "gRPC success",
			kv:   with(istioKV, "request_protocol", "grpc", "grpc_response_status", "0"),
			want: &graph.Observation{Source: productpage, Destination: reviews, Protocol: graph.ProtocolGRPC,
				Count: 10, MTLS: 10, Reporter: graph.ReporterDestination},
		},
		{
			name: "no response sent",
			kv:   with(istioKV, "response_code", "0", "response_flags", "DC"),
			want: &graph.Observation{Source: productpage, Destination: reviews, Protocol: graph.ProtocolHTTP,
				Count: 10, Errors: 10, MTLS: 10, Reporter: graph.ReporterDestination},
		},
		{
			name: "client error is no error",
			kv:   with(istioKV, "response_code", "404"),
			want: &graph.Observation{Source: productpage, Destination: reviews, Protocol: graph.ProtocolHTTP,
				Count: 10, MTLS: 10, Reporter: graph.ReporterDestination},
		},
		{
			name: "waypoint alone",
			kv:   with(istioKV, "reporter", "waypoint"),
			want: &graph.Observation{Source: productpage, Destination: reviews, Protocol: graph.ProtocolHTTP,
				Count: 10, MTLS: 10, Reporter: graph.ReporterDestination},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := newTest(t, Config{})
			row := seriesRow("istio_requests_total", tc.kv...)
			got := twoScrapes(t, d, []schema.MetricSeriesRow{row}, []float64{100}, []float64{110})
			if tc.want == nil {
				require.Empty(t, got)
				return
			}
			want := *tc.want
			want.TimeUnixNano = base.Add(15 * time.Second).UnixNano()
			want.Provenance = graph.FromMetric
			want.DurationNanos = -1 // a counter alone says nothing of latency
			require.Equal(t, []graph.Observation{want}, got)
		})
	}
}

func TestWaypointDuplicate(t *testing.T) {
	d, _ := newTest(t, Config{})
	rows := []schema.MetricSeriesRow{
		seriesRow("istio_requests_total", istioKV...),
		seriesRow("istio_requests_total", with(istioKV, "reporter", "waypoint", "instance", "10.244.0.15:15020")...),
	}
	got := twoScrapes(t, d, rows, []float64{100, 100}, []float64{110, 110})
	require.Len(t, got, 1)
	require.Equal(t, graph.ReporterDestination, got[0].Reporter)
	require.Equal(t, uint64(10), got[0].Count)
}

func TestCounterSemantics(t *testing.T) {
	staleNaN := math.Float64frombits(0x7ff0000000000002)
	type point struct {
		sec int
		v   float64
	}
	tests := []struct {
		name       string
		countFirst bool
		points     []point
		want       []uint64 // counts emitted, in order
	}{
		{name: "increase", points: []point{{0, 100}, {15, 130}, {30, 131}}, want: []uint64{30, 1}},
		{name: "first sample sets the baseline", points: []point{{0, 100}}},
		{name: "first sample counted", countFirst: true, points: []point{{0, 100}, {15, 130}}, want: []uint64{100, 30}},
		{name: "reset counts the new value", points: []point{{0, 100}, {15, 130}, {30, 7}, {45, 9}}, want: []uint64{30, 7, 2}},
		{name: "no increase, no observation", points: []point{{0, 100}, {15, 100}, {30, 104}}, want: []uint64{4}},
		{name: "old and duplicate samples ignored", points: []point{{0, 100}, {15, 130}, {15, 140}, {10, 120}, {30, 150}}, want: []uint64{30, 20}},
		{name: "stale marker and NaN skipped", points: []point{{0, 100}, {15, staleNaN}, {30, math.NaN()}, {45, math.Inf(1)}, {60, 110}}, want: []uint64{10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := newTest(t, Config{CountFirstSample: tc.countFirst})
			row := seriesRow("istio_requests_total", istioKV...)
			var got []uint64
			for _, p := range tc.points {
				for _, o := range d.Derive([]schema.MetricSeriesRow{row}, []schema.MetricSampleRow{at(row, p.sec, p.v)}, nil) {
					got = append(got, o.Count)
				}
			}
			for _, o := range d.Flush(nil) {
				got = append(got, o.Count)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestDeltaTemporality(t *testing.T) {
	d, _ := newTest(t, Config{})
	row := seriesRow("istio_requests", istioKV...)
	row.Temporality = 1
	var got []uint64
	for i, v := range []float64{5, 0, 7} {
		for _, o := range d.Flush(d.Derive([]schema.MetricSeriesRow{row}, []schema.MetricSampleRow{at(row, 10*i, v)}, nil)) {
			got = append(got, o.Count)
		}
	}
	require.Equal(t, []uint64{5, 7}, got)
}

// histogram returns the rows of a classic Istio latency histogram with the
// given bounds (ms) and the samples at sec of cumulative counts cum (one
// more than bounds, for +Inf) and sum (ms).
func histogram(kv []string, bounds []string, sec int, cum []float64, sum float64) ([]schema.MetricSeriesRow, []schema.MetricSampleRow) {
	var rows []schema.MetricSeriesRow
	var samples []schema.MetricSampleRow
	for i, le := range append(bounds, "+Inf") {
		r := seriesRow("istio_request_duration_milliseconds_bucket", with(kv, "le", le)...)
		rows = append(rows, r)
		samples = append(samples, at(r, sec, cum[i]))
	}
	c := seriesRow("istio_request_duration_milliseconds_count", kv...)
	s := seriesRow("istio_request_duration_milliseconds_sum", kv...)
	rows = append(rows, c, s)
	samples = append(samples, at(c, sec, cum[len(cum)-1]), at(s, sec, sum))
	return rows, samples
}

func TestClassicHistogram(t *testing.T) {
	d, _ := newTest(t, Config{})
	bounds := []string{"1", "10", "100"}
	rows, s1 := histogram(istioKV, bounds, 0, []float64{10, 50, 90, 100}, 2000)
	req := seriesRow("istio_requests_total", istioKV...)
	rows = append(rows, req)
	s1 = append(s1, at(req, 0, 100))
	require.Empty(t, d.Derive(rows, s1, nil))

	_, s2 := histogram(istioKV, bounds, 15, []float64{10, 60, 110, 130}, 4000)
	s2 = append(s2, at(req, 15, 130))
	// The second scrape arrives in two requests: nothing until it is whole.
	require.Empty(t, d.Derive(nil, s2[:3], nil))
	got := d.Derive(nil, s2[3:], nil)
	require.Len(t, got, 1)
	o := got[0]
	require.Equal(t, uint64(30), o.Count)
	require.NotNil(t, o.Latency)
	require.Equal(t, uint64(30), o.Latency.Total())
	// 0 in (0,1ms], 10 in (1,10], 10 in (10,100], 10 above 100 ms.
	want := graph.FromBuckets([]float64{1e6, 10e6, 100e6}, []uint64{0, 10, 10, 10})
	require.Equal(t, want, *o.Latency)
}

func TestHistogramMeanWhenBucketsDisagree(t *testing.T) {
	d, _ := newTest(t, Config{})
	// Only _count and _sum: the mean latency is all there is.
	c := seriesRow("istio_request_duration_milliseconds_count", istioKV...)
	s := seriesRow("istio_request_duration_milliseconds_sum", istioKV...)
	rows := []schema.MetricSeriesRow{c, s}
	require.Empty(t, d.Derive(rows, []schema.MetricSampleRow{at(c, 0, 10), at(s, 0, 100)}, nil))
	got := d.Derive(rows, []schema.MetricSampleRow{at(c, 15, 20), at(s, 15, 300)}, nil)
	require.Len(t, got, 1)
	require.Nil(t, got[0].Latency)
	require.Equal(t, uint64(10), got[0].Count)
	require.Equal(t, int64(20*time.Millisecond), got[0].DurationNanos)
}

func TestHistogramRows(t *testing.T) {
	d, _ := newTest(t, Config{})
	row := seriesRow("istio_request_duration_milliseconds", istioKV...)
	row.Type = schema.MetricHistogram
	sample := func(sec int, counts []uint64, sum float64) schema.MetricSampleRow {
		s := at(row, sec, math.NaN())
		s.BucketBounds = []float64{5, 50}
		s.BucketCounts = counts
		for _, c := range counts {
			s.Count += c
		}
		s.Sum = sum
		return s
	}
	rows := []schema.MetricSeriesRow{row}
	require.Empty(t, d.Flush(d.Derive(rows, []schema.MetricSampleRow{sample(0, []uint64{4, 5, 1}, 300)}, nil)))
	got := d.Flush(d.Derive(rows, []schema.MetricSampleRow{sample(15, []uint64{6, 9, 1}, 400)}, nil))
	require.Len(t, got, 1)
	require.Equal(t, uint64(6), got[0].Count)
	want := graph.FromBuckets([]float64{5e6, 50e6}, []uint64{2, 4, 0})
	require.Equal(t, &want, got[0].Latency)

	// A reset with new bounds: the new counts are the increase.
	reset := sample(30, []uint64{0, 1, 0}, 20)
	reset.BucketBounds = []float64{10, 100}
	got = d.Flush(d.Derive(rows, []schema.MetricSampleRow{reset}, nil))
	require.Len(t, got, 1)
	require.Equal(t, uint64(1), got[0].Count)
	want = graph.FromBuckets([]float64{10e6, 100e6}, []uint64{0, 1, 0})
	require.Equal(t, &want, got[0].Latency)
}

// Exponential histogram rows (OTLP, Prometheus native histograms) give the
// latency distribution: the increase of every bucket, also across a
// downscale of a cumulative histogram; a bucket that went down is a reset.
func TestExponentialHistogramRows(t *testing.T) {
	d, _ := newTest(t, Config{})
	row := seriesRow("istio_request_duration_milliseconds", istioKV...)
	row.Type = schema.MetricExponentialHistogram
	rows := []schema.MetricSeriesRow{row}
	derive := func(sec int, scale, offset int32, zero uint64, counts []uint64) []graph.Observation {
		s := at(row, sec, math.NaN())
		s.ExpScale, s.ExpPositiveOffset, s.ExpZeroCount, s.ExpPositiveCounts = scale, offset, zero, counts
		s.Count = zero
		for _, c := range counts {
			s.Count += c
		}
		s.Sum = float64(sec) * 100
		return d.Flush(d.Derive(rows, []schema.MetricSampleRow{s}, nil))
	}
	check := func(got []graph.Observation, count uint64, want graph.Histogram) {
		t.Helper()
		require.Len(t, got, 1)
		require.Equal(t, count, got[0].Count)
		require.Equal(t, &want, got[0].Latency)
	}
	require.Empty(t, derive(0, 3, 20, 1, []uint64{4, 5, 0, 1}))
	check(derive(15, 3, 20, 1, []uint64{6, 9, 2, 1}), 8, graph.FromExponential(3, 20, 0, []uint64{2, 4, 2, 0}, 1e6))

	// The range widens and the histogram halves its resolution: buckets
	// 20-21 of scale 3 are bucket 10 of scale 2 (6+9), 22-23 bucket 11
	// (2+1).
	check(derive(30, 2, 10, 2, []uint64{16, 3, 0, 0, 3}), 5, graph.FromExponential(2, 10, 1, []uint64{1, 0, 0, 0, 3}, 1e6))

	// Fewer calls in all: a reset, the sample is the increase.
	check(derive(45, 2, 10, 0, []uint64{2}), 2, graph.FromExponential(2, 10, 0, []uint64{2}, 1e6))
	// More calls, but a bucket went down: a reset too.
	check(derive(60, 2, 10, 0, []uint64{1, 5}), 6, graph.FromExponential(2, 10, 0, []uint64{1, 5}, 1e6))
	// A finer scale than the last sample's cannot grow from it: a reset.
	check(derive(75, 3, 20, 0, []uint64{3, 4}), 7, graph.FromExponential(3, 20, 0, []uint64{3, 4}, 1e6))
}

// The servicegraph connector's metrics as OTLP names them: a request
// counter, failures, and the server's latency as a histogram row in
// seconds; the dimensions keep OpenTelemetry's attribute names. An SDK
// stamps each instrument's point as it collects it: the points of one
// export are microseconds apart and still one snapshot.
func TestServiceGraphOTLP(t *testing.T) {
	d, _ := newTest(t, Config{})
	kv := []string{"client", "frontend", "server", "cart", "connection_type", "",
		"client_k8s.namespace.name", "shop", "server_k8s.namespace.name", "shop"}
	total := seriesRow("traces_service_graph_request", kv...)
	failed := seriesRow("traces_service_graph_request_failed", kv...)
	server := seriesRow("traces_service_graph_request_server", kv...)
	server.Type = schema.MetricHistogram
	rows := []schema.MetricSeriesRow{total, failed, server}
	scrape := func(sec int, n uint64) []graph.Observation {
		h := at(server, sec, math.NaN())
		h.BucketBounds = []float64{0.01, 0.1} // seconds
		h.BucketCounts = []uint64{n / 2, n / 2, 0}
		h.Count, h.Sum = n, float64(n)*0.02
		samples := []schema.MetricSampleRow{at(total, sec, float64(n)), at(failed, sec, float64(n/10)), h}
		for i := range samples {
			samples[i].TimeUnixNano += uint64(i) * 20_000 // 20 µs apart
		}
		return d.Derive(rows, samples, nil) // complete without a Flush
	}
	require.Empty(t, scrape(0, 100))
	got := scrape(15, 140)
	require.Len(t, got, 1)
	o := got[0]
	require.Equal(t, "service:shop/frontend", o.Source.NodeID(graph.GranularityService))
	require.Equal(t, "service:shop/cart", o.Destination.NodeID(graph.GranularityService))
	require.Equal(t, [2]uint64{40, 4}, [2]uint64{o.Count, o.Errors})
	want := graph.FromBuckets([]float64{0.01e9, 0.1e9}, []uint64{20, 20, 0})
	require.Equal(t, &want, o.Latency)
}

func TestAssemblyWait(t *testing.T) {
	d, clk := newTest(t, Config{AssemblyWait: 10 * time.Second})
	req := seriesRow("istio_requests_total", istioKV...)
	size := seriesRow("istio_request_bytes_sum", istioKV...)
	rows := []schema.MetricSeriesRow{req, size}
	require.Empty(t, d.Derive(rows, []schema.MetricSampleRow{at(req, 0, 100), at(size, 0, 1000)}, nil))
	got := d.Derive(rows, []schema.MetricSampleRow{at(req, 15, 110), at(size, 15, 2000)}, nil)
	require.Len(t, got, 1, "the second scrape is whole")
	require.Equal(t, uint64(10), got[0].Count)
	require.Equal(t, uint64(1000), got[0].BytesSent)

	// The byte sum never comes for 30 s: the counter's delta waits for it,
	// then goes alone once the wait is over.
	require.Empty(t, d.Derive(rows, []schema.MetricSampleRow{at(req, 30, 125)}, nil))
	clk.advance(11 * time.Second)
	got = d.Derive(nil, nil, nil)
	require.Len(t, got, 1)
	require.Equal(t, uint64(15), got[0].Count)
	require.Zero(t, got[0].BytesSent)

	// The late sum of 30 s is ignored; its increase comes with the next.
	require.Empty(t, d.Derive(rows, []schema.MetricSampleRow{at(size, 30, 3000)}, nil))
	got = d.Derive(rows, []schema.MetricSampleRow{at(req, 45, 126), at(size, 45, 3500)}, nil)
	require.Len(t, got, 1)
	require.Equal(t, uint64(1), got[0].Count)
	require.Equal(t, uint64(1500), got[0].BytesSent)
}

func TestExpiryAndLimits(t *testing.T) {
	d, clk := newTest(t, Config{MaxSeries: 2, Expiry: time.Minute, AssemblyWait: time.Second})
	a := seriesRow("istio_requests_total", istioKV...)
	b := seriesRow("istio_requests_total", with(istioKV, "response_code", "503")...)
	c := seriesRow("istio_requests_total", with(istioKV, "response_code", "504")...)
	rows := []schema.MetricSeriesRow{a, b, c}
	d.Derive(rows, []schema.MetricSampleRow{at(a, 0, 1), at(b, 0, 1), at(c, 0, 1), {SeriesID: 42, MetricName: "request_total"}}, nil)
	st := d.Stats()
	require.Equal(t, 2, st.Series)
	require.Equal(t, 2, st.Groups)
	require.Equal(t, uint64(1), st.Untracked)
	require.Equal(t, uint64(1), st.MissingSeries)

	clk.advance(2 * time.Minute)
	d.Derive(rows, []schema.MetricSampleRow{at(c, 120, 5)}, nil)
	st = d.Stats()
	require.Equal(t, 1, st.Series, "a and b expired, c took a place")
	require.Equal(t, 1, st.Groups)
}

func TestRequeue(t *testing.T) {
	d, _ := newTest(t, Config{MaxRequeued: 2})
	o := graph.Observation{Count: 1}
	d.Requeue([]graph.Observation{o, o, o})
	require.Equal(t, uint64(1), d.Stats().RequeueDropped)
	require.Len(t, d.Derive(nil, nil, nil), 2)
	require.Empty(t, d.Derive(nil, nil, nil))
}

func TestWants(t *testing.T) {
	d, _ := newTest(t, Config{})
	require.True(t, d.Wants("istio_requests_total"))
	require.True(t, d.Wants("response_latency_ms_bucket"))
	require.True(t, d.Wants("envoy_cluster_upstream_rq_xx"))
	require.False(t, d.Wants("go_goroutines"))
	var none *Deriver
	require.False(t, none.Wants("istio_requests_total"))
}

func TestConcurrentDerive(t *testing.T) {
	d, _ := newTest(t, Config{})
	const workers, scrapes = 8, 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	var total uint64
	for w := range workers {
		wg.Go(func() {
			row := seriesRow("istio_requests_total", with(istioKV, "instance", string(rune('a'+w)))...)
			for i := range scrapes {
				obs := d.Derive([]schema.MetricSeriesRow{row}, []schema.MetricSampleRow{at(row, i*15, float64(10*i))}, nil)
				mu.Lock()
				for _, o := range obs {
					total += o.Count
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Equal(t, uint64(workers*10*(scrapes-1)), total)
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		err  string
	}{
		{name: "zero", cfg: Config{}},
		{name: "negative series", cfg: Config{MaxSeries: -1}, err: "max_series"},
		{name: "wait longer than expiry", cfg: Config{AssemblyWait: time.Hour}, err: "assembly_wait"},
		{name: "negative requeue", cfg: Config{MaxRequeued: -5}, err: "max_requeued"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}
