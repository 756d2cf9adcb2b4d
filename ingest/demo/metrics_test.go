package demo

import (
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
)

// decodeWrites decodes captured remote write requests.
func decodeWrites(t *testing.T, bodies [][]byte) []prompb.WriteRequest {
	t.Helper()
	var out []prompb.WriteRequest
	for _, b := range bodies {
		raw, err := snappy.Decode(nil, b)
		require.NoError(t, err)
		var wr prompb.WriteRequest
		require.NoError(t, wr.Unmarshal(raw))
		out = append(out, wr)
	}
	return out
}

// istioLabels are the labels every Istio series carries.
var istioLabels = []string{"reporter", "source_workload", "source_workload_namespace", "source_principal",
	"source_app", "source_version", "source_canonical_service", "source_canonical_revision", "source_cluster",
	"destination_workload", "destination_workload_namespace", "destination_principal", "destination_app",
	"destination_version", "destination_service", "destination_service_name", "destination_service_namespace",
	"destination_canonical_service", "destination_canonical_revision", "destination_cluster",
	"request_protocol", "response_flags", "connection_security_policy"}

// seriesID renders a series' labels without le and without __name__.
func seriesID(ls []prompb.Label) (name, id, le string) {
	var b strings.Builder
	for _, l := range ls {
		switch l.Name {
		case "__name__":
			name = l.Value
		case "le":
			le = l.Value
		default:
			b.WriteString(l.Name + "=" + l.Value + ",")
		}
	}
	return name, b.String(), le
}

func TestRemoteWriteDecodes(t *testing.T) {
	cfg := testConfig()
	cfg.Scenario = ScenarioFailingDependency
	c := &capture{}
	g, _ := newTestGenerator(t, cfg, c)
	g.setElapsed(cfg.ScenarioPeriod)
	t0 := time.Now()
	generateAll(g, 200, t0)
	first := len(c.writes)
	generateAll(g, 200, t0.Add(10*time.Second))

	pushes := [][]prompb.WriteRequest{decodeWrites(t, c.writes[:first]), decodeWrites(t, c.writes[first:])}
	values := [2]map[string]float64{{}, {}}
	seen := map[string]map[string]bool{} // label -> values
	for p, reqs := range pushes {
		require.Len(t, reqs[0].Metadata, 8, "the first request of a push carries the metadata")
		for _, wr := range reqs {
			require.LessOrEqual(t, len(wr.Timeseries), maxSamplesPerSend+30)
			for _, ts := range wr.Timeseries {
				require.Len(t, ts.Samples, 1)
				require.True(t, sort.SliceIsSorted(ts.Labels, func(i, j int) bool { return ts.Labels[i].Name < ts.Labels[j].Name }))
				names := map[string]string{}
				for _, l := range ts.Labels {
					_, dup := names[l.Name]
					require.False(t, dup, "duplicate label %s", l.Name)
					names[l.Name] = l.Value
					if seen[l.Name] == nil {
						seen[l.Name] = map[string]bool{}
					}
					seen[l.Name][l.Value] = true
				}
				for _, l := range istioLabels {
					if _, ok := names[l]; !ok {
						t.Fatalf("series without %s: %v", l, ts.Labels)
					}
				}
				name, id, le := seriesID(ts.Labels)
				values[p][name+"|"+le+"|"+id] = ts.Samples[0].Value
				require.Equal(t, t0.Add(time.Duration(p)*10*time.Second).UnixMilli(), ts.Samples[0].Timestamp)
			}
		}
	}
	// Counters are cumulative.
	for k, v := range values[0] {
		require.GreaterOrEqual(t, values[1][k], v, k)
	}
	require.Greater(t, len(values[1]), 100)

	// Histograms: buckets grow with le, +Inf is the count and the request total.
	buckets := map[string][]struct{ le, v float64 }{}
	for k, v := range values[1] {
		parts := strings.SplitN(k, "|", 3)
		switch parts[0] {
		case "istio_request_duration_milliseconds_bucket":
			le, err := strconv.ParseFloat(parts[1], 64)
			require.NoError(t, err)
			buckets[parts[2]] = append(buckets[parts[2]], struct{ le, v float64 }{le, v})
		case "istio_request_duration_milliseconds_count":
			require.Equal(t, values[1]["istio_requests_total||"+parts[2]], v)
			require.Equal(t, values[1]["istio_request_duration_milliseconds_bucket|+Inf|"+parts[2]], v)
		}
	}
	require.NotEmpty(t, buckets)
	for id, bs := range buckets {
		require.Len(t, bs, len(durationBuckets)+1, id)
		sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
		for i := 1; i < len(bs); i++ {
			require.GreaterOrEqual(t, bs[i].v, bs[i-1].v, id)
		}
	}

	for label, want := range map[string][]string{
		"reporter":                   {"source", "destination"},
		"connection_security_policy": {"mutual_tls", "none", "unknown"},
		"request_protocol":           {"http", "grpc", "tcp"},
		"response_flags":             {"-", "UF"},
		"destination_workload":       {"unknown"},
		"destination_service_name":   {"PassthroughCluster"},
		"source_workload":            {"istio-ingressgateway"},
	} {
		for _, v := range want {
			require.True(t, seen[label][v], "a series with %s=%q", label, v)
		}
	}
	names := map[string]bool{}
	for k := range values[1] {
		names[strings.SplitN(k, "|", 2)[0]] = true
	}
	for _, n := range []string{"istio_requests_total", "istio_request_duration_milliseconds_sum",
		"istio_request_bytes_sum", "istio_request_bytes_count", "istio_response_bytes_sum", "istio_response_bytes_count",
		"istio_tcp_connections_opened_total", "istio_tcp_connections_closed_total",
		"istio_tcp_received_bytes_total", "istio_tcp_sent_bytes_total"} {
		require.True(t, names[n], n)
	}
}
