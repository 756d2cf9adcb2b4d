package demo

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// sdkTotals are what one service's SDK reported on one side (server,
// client), or what its spans of that side add up to.
type sdkTotals struct {
	count uint64
	sum   float64 // seconds
}

// decodeSDKMetrics decodes metric exports into totals by side and service
// ("server service:shop/cart"), checking every point's shape on the way;
// it returns the points by series, keyed by pod, metric and attributes.
func decodeSDKMetrics(t *testing.T, exports [][]byte, topo *Topology) (map[string]sdkTotals, map[string]pmetric.Metric) {
	t.Helper()
	totals := map[string]sdkTotals{}
	series := map[string]pmetric.Metric{}
	for _, b := range exports {
		req := pmetricotlp.NewExportRequest()
		require.NoError(t, req.UnmarshalProto(b))
		rms := req.Metrics().ResourceMetrics()
		for i := range rms.Len() {
			rm := rms.At(i)
			res := rm.Resource().Attributes()
			s := topo.Service(str(res, "service.namespace"), str(res, "service.name"))
			require.NotNil(t, s, "resource names a service: %v", res.AsRaw())
			require.True(t, s.Traced, "only instrumented services have an SDK")
			pod := str(res, "k8s.pod.name")
			require.NotEmpty(t, pod)
			ms := rm.ScopeMetrics().At(0).Metrics()
			for j := range ms.Len() {
				m := ms.At(j)
				side := "server"
				if strings.Contains(m.Name(), ".client.") {
					side = "client"
				}
				key := side + " " + s.ID()
				tot := totals[key]
				want, ok := sdkInstruments[m.Name()]
				require.True(t, ok, "metric %s", m.Name())
				require.Equal(t, want.unit, m.Unit(), m.Name())
				require.Equal(t, want.typ, m.Type(), m.Name())
				if side == "server" {
					require.Equal(t, want.protocol, s.Protocol, "%s of %s", m.Name(), s.ID())
				}
				switch m.Type() {
				case pmetric.MetricTypeExponentialHistogram:
					require.Equal(t, pmetric.AggregationTemporalityCumulative, m.ExponentialHistogram().AggregationTemporality())
					dps := m.ExponentialHistogram().DataPoints()
					for k := range dps.Len() {
						dp := dps.At(k)
						checkExpPoint(t, dp)
						require.Equal(t, "grpc", str(dp.Attributes(), "rpc.system"))
						require.NotEmpty(t, str(dp.Attributes(), "rpc.method"))
						_, ok := dp.Attributes().Get("rpc.grpc.status_code")
						require.True(t, ok)
						tot.count += dp.Count()
						tot.sum += dp.Sum() / 1e3
						series[pod+" "+m.Name()+" "+attrString(dp.Attributes())] = m
					}
				default:
					require.Equal(t, pmetric.AggregationTemporalityCumulative, m.Histogram().AggregationTemporality())
					dps := m.Histogram().DataPoints()
					for k := range dps.Len() {
						dp := dps.At(k)
						require.Equal(t, httpDurationBounds, dp.ExplicitBounds().AsRaw())
						require.Equal(t, len(httpDurationBounds)+1, dp.BucketCounts().Len())
						var n uint64
						for _, c := range dp.BucketCounts().AsRaw() {
							n += c
						}
						require.Equal(t, dp.Count(), n, "the buckets hold every request")
						require.LessOrEqual(t, dp.Min(), dp.Max())
						code, ok := dp.Attributes().Get("http.response.status_code")
						require.True(t, ok)
						_, hasErr := dp.Attributes().Get("error.type")
						require.Equal(t, code.Int() >= 500, hasErr, "error.type on 5xx only")
						_, route := dp.Attributes().Get("http.route")
						require.Equal(t, side == "server", route, "the route on the server's side")
						tot.count += dp.Count()
						tot.sum += dp.Sum()
						series[pod+" "+m.Name()+" "+attrString(dp.Attributes())] = m
					}
				}
				if side == "client" {
					// The client's points name the server, as its spans do.
					_, addr := firstAttrs(m).Get("server.address")
					require.True(t, addr, m.Name())
				}
				totals[key] = tot
			}
		}
	}
	return totals, series
}

// sdkInstruments are the SDK histograms a demo sends: unit, type, and the
// protocol of the services that serve what the server's side counts.
var sdkInstruments = map[string]struct {
	unit     string
	typ      pmetric.MetricType
	protocol Protocol
}{
	"http.server.request.duration": {"s", pmetric.MetricTypeHistogram, ProtocolHTTP},
	"http.client.request.duration": {"s", pmetric.MetricTypeHistogram, ProtocolHTTP},
	"rpc.server.duration":          {"ms", pmetric.MetricTypeExponentialHistogram, ProtocolGRPC},
	"rpc.client.duration":          {"ms", pmetric.MetricTypeExponentialHistogram, ProtocolGRPC},
}

// firstAttrs are the attributes of a histogram metric's first point.
func firstAttrs(m pmetric.Metric) pcommon.Map {
	if m.Type() == pmetric.MetricTypeExponentialHistogram {
		return m.ExponentialHistogram().DataPoints().At(0).Attributes()
	}
	return m.Histogram().DataPoints().At(0).Attributes()
}

func attrString(m pcommon.Map) string {
	var out string
	m.Range(func(k string, v pcommon.Value) bool { out += k + "=" + v.AsString() + ","; return true })
	return out
}

// checkExpPoint checks an exponential point: its buckets hold every
// request, and its smallest and largest values fall in its first and last
// non-empty buckets.
func checkExpPoint(t *testing.T, dp pmetric.ExponentialHistogramDataPoint) {
	t.Helper()
	require.EqualValues(t, expScale, dp.Scale())
	counts := dp.Positive().BucketCounts().AsRaw()
	var n uint64
	first, last := -1, -1
	for i, c := range counts {
		n += c
		if c > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	require.Equal(t, dp.Count(), n)
	require.Zero(t, dp.ZeroCount())
	require.GreaterOrEqual(t, first, 0)
	base := math.Exp2(math.Exp2(-expScale))
	within := func(v float64, i int) {
		idx := float64(dp.Positive().Offset()) + float64(i)
		lo, hi := math.Pow(base, idx), math.Pow(base, idx+1)
		require.True(t, v > lo*(1-1e-9) && v <= hi*(1+1e-9), "%g in (%g, %g]", v, lo, hi)
	}
	within(dp.Min(), first)
	within(dp.Max(), last)
}

// The SDKs' histograms count what their spans do: every request an
// instrumented service handled (SERVER spans but the gateway's) and every
// HTTP or gRPC call it made (CLIENT spans of requests and external APIs,
// not of databases and caches), with the same durations.
func TestSDKMetricsMatchSpans(t *testing.T) {
	cfg := testConfig() // every trace sampled: every call has its spans
	c := &capture{}
	g, topo := newTestGenerator(t, cfg, c)
	now := time.Now()
	generateAll(g, 400, now)
	require.NotEmpty(t, c.metricExports)

	spans := map[string]sdkTotals{}
	protocols := map[string]Protocol{}
	for _, d := range decodeSpans(t, topo, c.exports) {
		sp := d.span
		side := "server"
		switch {
		case sp.Kind() == ptrace.SpanKindServer && sp.Name() != "ingress":
		case sp.Kind() == ptrace.SpanKindClient && str(sp.Attributes(), "db.system") == "":
			side = "client"
		default:
			continue
		}
		s := topo.Service(str(d.resource, "service.namespace"), str(d.resource, "service.name"))
		protocols[s.ID()] = s.Protocol
		key := side + " " + s.ID()
		tot := spans[key]
		tot.count++
		tot.sum += float64(sp.EndTimestamp()-sp.StartTimestamp()) / 1e9
		spans[key] = tot
	}
	require.NotEmpty(t, spans)

	metrics, _ := decodeSDKMetrics(t, c.metricExports, topo)
	require.Len(t, metrics, len(spans), "a histogram for every service and side with spans")
	var grpc, clients int
	for key, want := range spans {
		got := metrics[key]
		require.Equal(t, want.count, got.count, key)
		require.InEpsilon(t, want.sum, got.sum, 1e-9, key)
		if strings.HasPrefix(key, "server ") && protocols[strings.TrimPrefix(key, "server ")] == ProtocolGRPC {
			grpc++
		}
		if strings.HasPrefix(key, "client ") {
			clients++
		}
	}
	require.Positive(t, grpc, "the mesh has gRPC services: exponential histograms are covered")
	require.Positive(t, clients)
}

func TestSDKMetricsCumulativeAndBatched(t *testing.T) {
	cfg := testConfig()
	c := &capture{}
	g, topo := newTestGenerator(t, cfg, c)
	g.sdk.batch = 7
	t0 := time.Now()
	generateAll(g, 300, t0)
	first, firstSeries := len(c.metricExports), len(g.sdk.list)
	generateAll(g, 300, t0.Add(10*time.Second))

	for i, b := range c.metricExports {
		req := pmetricotlp.NewExportRequest()
		require.NoError(t, req.UnmarshalProto(b))
		if i == first-1 || i == len(c.metricExports)-1 {
			require.LessOrEqual(t, req.Metrics().DataPointCount(), 7, "a push's last export")
		} else {
			require.Equal(t, 7, req.Metrics().DataPointCount(), "exports are full, pods sharing them")
		}
	}
	before, s1 := decodeSDKMetrics(t, c.metricExports[:first], topo)
	after, s2 := decodeSDKMetrics(t, c.metricExports[first:], topo)
	require.Equal(t, firstSeries, len(s1), "every series in the first push, split over exports, each once")
	require.Equal(t, len(g.sdk.list), len(s2))
	// Cumulative: no series goes back, and the second push counts the
	// first's calls and more (a rare call may not have been made again).
	var grew int
	for id, b := range before {
		a := after[id]
		require.GreaterOrEqual(t, a.count, b.count, "%s: cumulative counts never go back", id)
		require.GreaterOrEqual(t, a.sum, b.sum, id)
		if a.count > b.count {
			grew++
		}
	}
	require.Greater(t, grew, len(before)*3/4, "most series counted more calls")
}
