package demo

import (
	"math"
	"sort"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// OpenTelemetry SDK metrics, as the instrumented services' SDKs export
// them by OTLP: every request a service handles (sampled or not) is
// counted in a server duration histogram per pod, endpoint and response
// status, cumulative from the pod's first request.
//
//   - HTTP services: http.server.request.duration, in seconds, with the
//     SDKs' default explicit bucket bounds and the semantic conventions'
//     attributes (http.request.method, http.route,
//     http.response.status_code, url.scheme, error.type for 5xx).
//   - gRPC services: rpc.server.duration, in milliseconds, as a base-2
//     exponential histogram (the aggregation SDKs offer as an option), with
//     rpc.system, rpc.service, rpc.method and rpc.grpc.status_code.
//
// The resource is the pod's, as on its spans. The histograms are built
// with pdata: they are sent once per metrics interval, not per call.

// httpDurationBounds are the SDKs' default bounds for
// http.server.request.duration (seconds).
var httpDurationBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// expScale is the scale of the exponential histograms: bucket i holds
// values in (2^(i/8), 2^((i+1)/8)], about 9 % wide. Request durations in
// milliseconds, 0.1 ms to 10 minutes, span about 180 buckets; one series'
// spread is far narrower.
const expScale = 3

// sdkMetricsBatch is the most data points one export carries.
const sdkMetricsBatch = 2000

// sdkKey identifies a series: the pod that handled the requests, the
// endpoint and the response status (HTTP code, or gRPC status for gRPC
// services; outcomes that answer alike share it).
type sdkKey struct {
	pod  int32
	ep   int16
	code int16
}

// sdkSeries is one cumulative histogram.
type sdkSeries struct {
	key      sdkKey
	start    int64 // Unix ns of its first request
	count    uint64
	sum      float64
	min, max float64
	// counts are the explicit buckets (len(httpDurationBounds)+1), or the
	// exponential positive buckets from index offset.
	counts []uint64
	offset int32
}

// sdkMetrics accumulates the SDK histograms of a run.
type sdkMetrics struct {
	t     *Topology
	batch int // the most points per export
	// route maps a service's endpoint to the first of its endpoints with
	// the same method and route, whose series it shares (a service may
	// serve a route under two names of its handlers).
	route [][]int16
	byKey map[sdkKey]*sdkSeries
	list  []*sdkSeries // in creation order
}

func newSDKMetrics(t *Topology) *sdkMetrics {
	m := &sdkMetrics{t: t, batch: sdkMetricsBatch, route: make([][]int16, len(t.Services)),
		byKey: make(map[sdkKey]*sdkSeries)}
	for _, s := range t.Services {
		first := map[[2]string]int16{}
		for i, ep := range s.Endpoints {
			k := [2]string{ep.Method, ep.Route}
			if _, ok := first[k]; !ok {
				first[k] = int16(i)
			}
			m.route[s.Index] = append(m.route[s.Index], first[k])
		}
	}
	return m
}

// record counts call h on the callee's SDK when the callee is instrumented
// and handled the request; base is the tree's start (Unix ns).
func (m *sdkMetrics) record(h *hop, base int64) {
	c := h.call
	if c.Kind != CallRequest || !c.To.Traced || !h.out.reached() || h.ep < 0 {
		return
	}
	st := statusOf(c.To.Protocol, h.out)
	k := sdkKey{pod: int32(h.dst.Index), ep: m.route[c.To.Index][h.ep], code: int16(st.code)}
	if c.To.Protocol == ProtocolGRPC {
		k.code = int16(st.grpc)
	}
	s := m.byKey[k]
	if s == nil {
		s = &sdkSeries{key: k, start: base + h.srvStart, min: math.Inf(1), max: math.Inf(-1)}
		if c.To.Protocol != ProtocolGRPC {
			s.counts = make([]uint64, len(httpDurationBounds)+1)
		}
		m.byKey[k] = s
		m.list = append(m.list, s)
	}
	if c.To.Protocol == ProtocolGRPC {
		s.observeExp(float64(h.srvDur) / 1e6)
	} else {
		s.observeExplicit(float64(h.srvDur) / 1e9)
	}
}

func (s *sdkSeries) observe(v float64) {
	s.count++
	s.sum += v
	s.min = min(s.min, v)
	s.max = max(s.max, v)
}

// observeExplicit counts v in the bucket whose upper bound is the first
// bound at or above it.
func (s *sdkSeries) observeExplicit(v float64) {
	s.observe(v)
	s.counts[sort.SearchFloat64s(httpDurationBounds, v)]++
}

// observeExp counts v > 0 in its exponential bucket, growing the bucket
// range as needed.
func (s *sdkSeries) observeExp(v float64) {
	s.observe(v)
	i := expIndex(v)
	switch {
	case len(s.counts) == 0:
		s.counts, s.offset = []uint64{0}, i
	case i < s.offset:
		grown := make([]uint64, int(s.offset-i)+len(s.counts))
		copy(grown[s.offset-i:], s.counts)
		s.counts, s.offset = grown, i
	case int(i-s.offset) >= len(s.counts):
		s.counts = append(s.counts, make([]uint64, int(i-s.offset)+1-len(s.counts))...)
	}
	s.counts[i-s.offset]++
}

// expIndex is the bucket of v > 0 at expScale: the i with
// 2^(i/2^scale) < v <= 2^((i+1)/2^scale).
func expIndex(v float64) int32 {
	return int32(math.Ceil(math.Log2(v)*(1<<expScale))) - 1
}

// push encodes every series at now into OTLP metrics export requests of
// at most m.batch points, and hands each to send.
func (m *sdkMetrics) push(now time.Time, send func(req []byte, points int)) {
	if len(m.list) == 0 {
		return
	}
	// A pod's series go under one ResourceMetrics, so group them by pod.
	byPod := make([]*sdkSeries, len(m.list))
	copy(byPod, m.list)
	sort.SliceStable(byPod, func(i, j int) bool { return byPod[i].key.pod < byPod[j].key.pod })

	ts := pcommon.Timestamp(now.UnixNano())
	md := pmetric.NewMetrics()
	points := 0
	flush := func() {
		if points == 0 {
			return
		}
		req, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
		if err == nil { // pdata marshals what it built
			send(req, points)
		}
		md, points = pmetric.NewMetrics(), 0
	}
	var httpM, rpcM pmetric.Metric
	lastPod := int32(-1)
	for _, s := range byPod {
		if s.key.pod != lastPod || points >= m.batch {
			if points >= m.batch {
				flush()
			}
			lastPod = s.key.pod
			httpM, rpcM = m.newPod(md, m.t.Pods[s.key.pod])
		}
		svc := m.t.Pods[s.key.pod].Workload.Service
		ep := &svc.Endpoints[s.key.ep]
		if svc.Protocol == ProtocolGRPC {
			dp := rpcM.ExponentialHistogram().DataPoints().AppendEmpty()
			a := s.fill(dp, ts)
			dp.SetScale(expScale)
			dp.Positive().SetOffset(s.offset)
			dp.Positive().BucketCounts().Append(s.counts...) // a copy: the series goes on counting
			a.PutStr("rpc.system", "grpc")
			a.PutStr("rpc.service", ep.RPCService)
			a.PutStr("rpc.method", ep.RPCMethod)
			a.PutInt("rpc.grpc.status_code", int64(s.key.code))
		} else {
			dp := httpM.Histogram().DataPoints().AppendEmpty()
			a := s.fill(dp, ts)
			dp.ExplicitBounds().Append(httpDurationBounds...)
			dp.BucketCounts().Append(s.counts...)
			a.PutStr("http.request.method", ep.Method)
			a.PutStr("http.route", ep.Route)
			a.PutInt("http.response.status_code", int64(s.key.code))
			a.PutStr("url.scheme", "http")
			if s.key.code >= 500 {
				a.PutStr("error.type", strconv.Itoa(int(s.key.code)))
			}
		}
		points++
	}
	flush()
}

// histPoint is what explicit and exponential histogram points share.
type histPoint interface {
	SetStartTimestamp(pcommon.Timestamp)
	SetTimestamp(pcommon.Timestamp)
	SetCount(uint64)
	SetSum(float64)
	SetMin(float64)
	SetMax(float64)
	Attributes() pcommon.Map
}

// fill sets what every point of s says at ts and returns its attributes.
func (s *sdkSeries) fill(dp histPoint, ts pcommon.Timestamp) pcommon.Map {
	dp.SetStartTimestamp(pcommon.Timestamp(s.start))
	dp.SetTimestamp(ts)
	dp.SetCount(s.count)
	dp.SetSum(s.sum)
	dp.SetMin(s.min)
	dp.SetMax(s.max)
	return dp.Attributes()
}

// newPod adds pod's ResourceMetrics to md and returns the histogram its
// service's protocol records: rpcM for gRPC, httpM for HTTP.
func (m *sdkMetrics) newPod(md pmetric.Metrics, pod *Pod) (httpM, rpcM pmetric.Metric) {
	rm := md.ResourceMetrics().AppendEmpty()
	for _, kv := range podResource(pod) {
		rm.Resource().Attributes().PutStr(kv.name, kv.value)
	}
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(scopeName)
	sm.Scope().SetVersion("1.0.0")
	svc := pod.Workload.Service
	if svc.Protocol == ProtocolGRPC {
		rpcM = sm.Metrics().AppendEmpty()
		rpcM.SetName("rpc.server.duration")
		rpcM.SetUnit("ms")
		rpcM.SetDescription("Measures the duration of inbound RPC.")
		rpcM.SetEmptyExponentialHistogram().SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		return httpM, rpcM
	}
	httpM = sm.Metrics().AppendEmpty()
	httpM.SetName("http.server.request.duration")
	httpM.SetUnit("s")
	httpM.SetDescription("Duration of HTTP server requests.")
	httpM.SetEmptyHistogram().SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	return httpM, rpcM
}
