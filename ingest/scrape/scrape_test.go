package scrape

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest"
	"github.com/meshscope/meshscope/ingest/meshmetrics"
	"github.com/meshscope/meshscope/schema"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memAppender keeps copies of what it takes.
type memAppender struct {
	mu      sync.Mutex
	series  []schema.MetricSeriesRow
	samples []schema.MetricSampleRow
	obs     []graph.Observation
}

func (a *memAppender) Append(_ context.Context, b *schema.Batch, obs []graph.Observation) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range b.MetricSeries {
		r.LabelKeys, r.LabelValues = slices.Clone(r.LabelKeys), slices.Clone(r.LabelValues)
		a.series = append(a.series, r)
	}
	a.samples = append(a.samples, b.MetricSamples...)
	a.obs = append(a.obs, obs...)
	return nil
}

func (a *memAppender) snapshot() ([]schema.MetricSeriesRow, []schema.MetricSampleRow, []graph.Observation) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.series), slices.Clone(a.samples), slices.Clone(a.obs)
}

// fixtureServer serves the first scrape of a fixture, then the second.
func fixtureServer(t *testing.T, name string) *httptest.Server {
	t.Helper()
	var bodies [2][]byte
	for i := range bodies {
		b, err := os.ReadFile(filepath.Join("..", "meshmetrics", "testdata", name+"-"+string(rune('1'+i))+".prom"))
		require.NoError(t, err)
		bodies[i] = b
	}
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write(bodies[min(n.Add(1)-1, 1)])
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRun(t *testing.T) {
	istio := fixtureServer(t, "istio-reviews")
	linkerd := fixtureServer(t, "linkerd-web")
	down := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(down.Close)

	cfg := Config{Interval: 50 * time.Millisecond, Targets: []Target{
		{URL: istio.URL + "/stats/prometheus", Job: "kubernetes-pods", Labels: map[string]string{"namespace": "default", "pod": "reviews-v2-7d79d5bd5d-4xw2t"}},
		{URL: linkerd.URL + "/metrics", Labels: map[string]string{"namespace": "emojivoto", "deployment": "web"}},
		{URL: down.URL + "/metrics", Job: "down"},
	}}
	app := &memAppender{}
	d, err := meshmetrics.New(meshmetrics.Config{})
	require.NoError(t, err)
	metrics := ingest.NewMetrics(nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- Run(ctx, cfg, app, d, metrics, nil) }()

	require.Eventually(t, func() bool {
		_, _, obs := app.snapshot()
		var web, reviews bool
		for _, o := range obs {
			web = web || o.Source.Name == "web" && o.Destination.Name == "emoji" && o.Count == 150
			reviews = reviews || o.Destination.Name == "reviews" && o.Count == 90
		}
		return web && reviews
	}, 30*time.Second, 20*time.Millisecond)
	cancel()
	require.NoError(t, <-done)

	series, samples, _ := app.snapshot()
	ids := map[uint64]int{}
	byName := map[string]schema.MetricSeriesRow{}
	for _, s := range series {
		ids[s.SeriesID]++
		byName[s.MetricName+"/"+s.ServiceName] = s
		require.Equal(t, "scrape", s.Source)
	}
	for id, n := range ids {
		require.Equal(t, 1, n, "series %d written once", id)
	}
	req, ok := byName["istio_requests_total/kubernetes-pods"]
	require.True(t, ok)
	require.Equal(t, schema.MetricSum, req.Type)
	require.True(t, slices.IsSorted(req.LabelKeys))
	require.Contains(t, req.LabelKeys, "namespace")
	require.Contains(t, req.LabelKeys, "instance")
	_, ok = byName["request_total/"+strings.TrimPrefix(linkerd.URL, "http://")]
	require.True(t, ok, "the job defaults to host:port")

	var up []float64
	for _, s := range samples {
		if s.MetricName == "up" {
			up = append(up, s.Value)
		}
	}
	require.Contains(t, up, 1.0)
	require.Contains(t, up, 0.0)
	require.Positive(t, testutil.ToFloat64(metrics.Rejected.WithLabelValues(receiver, "scrape_failed")))
	require.Positive(t, testutil.ToFloat64(metrics.Accepted.WithLabelValues(receiver, "samples")))
}

func TestParse(t *testing.T) {
	body := []byte(`# HELP istio_requests_total Total requests.
# TYPE istio_requests_total counter
istio_requests_total{reporter="destination",namespace="scraped"} 7
# TYPE istio_request_duration_milliseconds histogram
istio_request_duration_milliseconds_bucket{le="1"} 1
istio_request_duration_milliseconds_bucket{le="+Inf"} 2
istio_request_duration_milliseconds_sum 3.5
istio_request_duration_milliseconds_count 2
envoy_server_live 1 1795773500000
`)
	at := time.UnixMilli(1795773600000)
	series, samples, err := Parse(body, "", at, Target{URL: "http://10.0.0.1:15090/stats/prometheus", Labels: map[string]string{"namespace": "default"}})
	require.NoError(t, err)
	require.Len(t, series, 6)
	require.Len(t, samples, 6)

	req := series[0]
	require.Equal(t, "istio_requests_total", req.MetricName)
	require.Equal(t, "Total requests.", req.Description)
	require.Equal(t, schema.MetricSum, req.Type)
	require.Equal(t, []string{"exported_namespace", "instance", "job", "namespace", "reporter"}, req.LabelKeys)
	require.Equal(t, []string{"scraped", "10.0.0.1:15090", "10.0.0.1:15090", "default", "destination"}, req.LabelValues)
	require.Equal(t, uint64(at.UnixNano()), samples[0].TimeUnixNano)

	require.Equal(t, schema.MetricSum, series[1].Type, "_bucket series are counters")
	require.Equal(t, []string{"instance", "job", "le", "namespace"}, series[1].LabelKeys)
	require.Equal(t, "1.0", series[1].LabelValues[2], "le values normalised as Prometheus stores them")
	require.Equal(t, schema.MetricGauge, series[5].Type)
	require.Equal(t, uint64(1795773500000)*1e6, samples[5].TimeUnixNano, "explicit timestamps kept")

	_, _, err = Parse([]byte("not a metric line {\n"), "", at, Target{})
	require.Error(t, err)
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		err   string
		check func(t *testing.T, c Config)
	}{
		{name: "full", yaml: `
interval: 20s
targets:
  - url: http://10.0.0.7:15090/stats/prometheus
    job: productpage
    labels: {namespace: bookinfo}
  - url: http://10.0.0.8:4191/metrics
    interval: 5s
`, check: func(t *testing.T, c Config) {
			d := c.withDefaults()
			require.Equal(t, 20*time.Second, d.Targets[0].Interval)
			require.Equal(t, 10*time.Second, d.Targets[0].Timeout)
			require.Equal(t, 5*time.Second, d.Targets[1].Timeout)
			require.Equal(t, "10.0.0.8:4191", d.Targets[1].Job)
			require.Equal(t, "bookinfo", d.Targets[0].Labels["namespace"])
		}},
		{name: "unknown key", yaml: "targets:\n  - url: http://a:1/metrics\n    honor_labels: true\n", err: "honor_labels"},
		{name: "missing url", yaml: "targets:\n  - job: x\n", err: "targets[0].url: missing"},
		{name: "not http", yaml: "targets:\n  - url: ftp://a/metrics\n", err: "targets[0].url"},
		{name: "duplicate", yaml: "targets:\n  - url: http://a:1/m\n  - url: http://a:1/m\n", err: "targets[1].url"},
		{name: "timeout above interval", yaml: "targets:\n  - url: http://a:1/m\n    interval: 1s\n    timeout: 2s\n", err: "targets[0].timeout"},
		{name: "reserved label", yaml: "targets:\n  - url: http://a:1/m\n    labels: {job: x}\n", err: "targets[0].labels"},
		{name: "negative", yaml: "max_body_bytes: -1\n", err: "max_body_bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tc.yaml))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			tc.check(t, c)
		})
	}
}
