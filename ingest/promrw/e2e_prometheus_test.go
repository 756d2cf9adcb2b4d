package promrw

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest"
	"github.com/meshscope/meshscope/ingest/meshmetrics"
)

// scaledTarget serves a metrics fixture with every value multiplied by the
// number of scrapes so far: counters and histograms grow by the fixture's
// values at each scrape, as a busy proxy's would.
func scaledTarget(t *testing.T, fixture string) *httptest.Server {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", "meshmetrics", "testdata", fixture))
	require.NoError(t, err)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := float64(n.Add(1))
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if i := strings.LastIndexByte(line, ' '); i > 0 && !strings.HasPrefix(line, "#") {
				if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
					line = line[:i+1] + strconv.FormatFloat(v*k, 'f', -1, 64)
				}
			}
			_, _ = io.WriteString(w, line+"\n")
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func hostOf(srv *httptest.Server) string { return strings.TrimPrefix(srv.URL, "http://") }

// TestPrometheusEndToEnd runs a real Prometheus that scrapes Istio and
// Linkerd fixtures and remote-writes to the handler, with 1.0 and 2.0
// messages, and checks that series, samples and observations arrive and
// that Prometheus counts its sends as successful.
func TestPrometheusEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a Prometheus process")
	}
	bin := prometheusBinary(t)
	for _, msg := range []string{MessageV1, MessageV2} {
		t.Run(msg, func(t *testing.T) {
			reviews := scaledTarget(t, "istio-reviews-2.prom")
			productpage := scaledTarget(t, "istio-productpage-2.prom")
			web := scaledTarget(t, "linkerd-web-2.prom")

			app := &memAppender{}
			d, err := meshmetrics.New(meshmetrics.Config{})
			require.NoError(t, err)
			metrics := ingest.NewMetrics(nil)
			mux := http.NewServeMux()
			mux.Handle("POST /api/v1/write", NewHandler(Config{}, app, d, metrics, nil))
			rw := httptest.NewServer(mux)
			t.Cleanup(rw.Close)

			prom := startPrometheus(t, bin, fmt.Sprintf(`
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: kubernetes-pods
    metrics_path: /stats/prometheus
    static_configs:
      - targets: [%q]
        labels: {namespace: default, pod: reviews-v2-7d79d5bd5d-4xw2t, app: reviews, version: v2}
      - targets: [%q]
        labels: {namespace: default, pod: productpage-v1-5f7b6d8c9b-x2kqv, app: productpage, version: v1}
  - job_name: linkerd-proxy
    static_configs:
      - targets: [%q]
        labels: {namespace: emojivoto, pod: web-5f86686c4d-58p7k, deployment: web}
remote_write:
  - url: %s/api/v1/write
    protobuf_message: %s
    send_exemplars: false
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 50ms
      max_backoff: 1s
    metadata_config:
      send_interval: 1s
`, hostOf(reviews), hostOf(productpage), hostOf(web), rw.URL, msg))

			// Each scrape adds the fixture's values once: an observation
			// holds whole multiples of them.
			var missing atomic.Value
			arrived := assert.Eventually(t, func() bool {
				_, _, obs := app.snapshot()
				ok := map[string]bool{
					"productpage->reviews": has(obs, "productpage", "reviews", func(o graph.Observation) bool {
						return o.Count > 0 && o.Count%890 == 0 && o.MTLS == o.Count && o.Latency != nil && o.Reporter == graph.ReporterDestination
					}),
					"ingressgateway->productpage 5xx": has(obs, "istio-ingressgateway", "productpage", func(o graph.Observation) bool {
						return o.Count > 0 && o.Count%13 == 0 && o.Errors == o.Count
					}),
					"productpage->details UH": has(obs, "productpage", "details", func(o graph.Observation) bool {
						return o.Count > 0 && o.Count%6 == 0 && o.Errors == o.Count && o.Reporter == graph.ReporterSource
					}),
					"web->emoji": has(obs, "web", "emoji", func(o graph.Observation) bool {
						return o.Count > 0 && o.Count%2149 == 0 && o.Protocol == graph.ProtocolGRPC && o.MTLS == o.Count
					}),
					"web->voting": has(obs, "web", "voting", func(o graph.Observation) bool {
						return o.Count > 0 && o.Count%785 == 0 && o.Errors%13 == 0 && o.Errors > 0
					}),
					// Linkerd transport metrics: connections that carry no
					// requests are a TCP edge, with the failed closes as errors;
					// those that carry requests add their bytes to the gRPC edge.
					"web->redis tcp": has(obs, "web", "redis", func(o graph.Observation) bool {
						m := o.Count / 15
						return o.Protocol == graph.ProtocolTCP && m > 0 && o.Count%15 == 0 && o.MTLS == o.Count &&
							o.BytesSent == m*26100 && o.BytesReceived == m*104400 && o.Errors == m*2
					}),
					"web->emoji bytes": has(obs, "web", "emoji", func(o graph.Observation) bool {
						m := o.BytesSent / 338500
						return o.Count == 0 && o.Protocol == graph.ProtocolGRPC && m > 0 && o.BytesSent%338500 == 0 &&
							o.BytesReceived == m*1354000
					}),
				}
				var not []string
				for k, v := range ok {
					if !v {
						not = append(not, k)
					}
				}
				missing.Store(strings.Join(not, ", "))
				return len(not) == 0
			}, 2*time.Minute, 100*time.Millisecond)
			if !arrived {
				t.Fatalf("observations missing: %v", missing.Load())
			}

			series, samples, obs := app.snapshot()
			for _, o := range obs {
				require.Equal(t, graph.FromMetric, o.Provenance)
				if o.Latency != nil {
					require.Equal(t, o.Count, o.Latency.Total())
				}
			}
			var req *string
			for _, s := range series {
				require.Equal(t, SourceRemoteWrite, s.Source)
				if s.MetricName == "istio_requests_total" {
					require.Equal(t, "kubernetes-pods", s.ServiceName)
					require.Contains(t, s.LabelKeys, "pod")
					require.Contains(t, s.LabelKeys, "instance")
					req = &s.MetricName
				}
			}
			require.NotNil(t, req, "istio_requests_total series arrived")
			require.NotEmpty(t, samples)

			// Prometheus took every answer for a success.
			require.Eventually(t, func() bool {
				sent, failed := remoteWriteStats(t, prom.Addr)
				return sent > 0 && failed == 0
			}, time.Minute, 200*time.Millisecond)
			sent, failed := remoteWriteStats(t, prom.Addr)
			require.Zero(t, failed)
			require.Positive(t, sent)
		})
	}
}

// has reports whether an observation between the named services passes
// check.
func has(obs []graph.Observation, src, dst string, check func(graph.Observation) bool) bool {
	for _, o := range obs {
		if o.Source.Name == src && o.Destination.Name == dst && check(o) {
			return true
		}
	}
	return false
}

// remoteWriteStats reads Prometheus' own counters of samples sent and
// failed by remote write.
func remoteWriteStats(t *testing.T, addr string) (sent, failed float64) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(line, "prometheus_remote_storage_samples_total{"):
			sent += v
		case strings.HasPrefix(line, "prometheus_remote_storage_samples_failed_total{"):
			failed += v
		}
	}
	return sent, failed
}
