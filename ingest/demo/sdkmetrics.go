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
// them by OTLP: every request a service handles and every HTTP or gRPC
// call it makes (sampled or not) is counted in a duration histogram per
// pod, peer, endpoint and response status, cumulative from the pod's
// first request.
//
//   - HTTP: http.server.request.duration and http.client.request.duration,
//     in seconds, with the SDKs' default explicit bucket bounds and the
//     semantic conventions' attributes (http.request.method, http.route
//     on the server's, server.address and server.port on the client's,
//     http.response.status_code, error.type for 5xx).
//   - gRPC: rpc.server.duration and rpc.client.duration, in milliseconds,
//     as base-2 exponential histograms (the aggregation SDKs offer as an
//     option), with rpc.system, rpc.service, rpc.method,
//     rpc.grpc.status_code and, on the client's, server.address.
//
// The resource is the pod's, as on its spans. The histograms are built
// with pdata: they are sent once per metrics interval, not per call.

// httpDurationBounds are the SDKs' default bounds for the HTTP durations
// (seconds).
var httpDurationBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// expScale is the scale of the exponential histograms: bucket i holds
// values in (2^(i/8), 2^((i+1)/8)], about 9 % wide. Request durations in
// milliseconds, 0.1 ms to 10 minutes, span about 180 buckets; one series'
// spread is far narrower.
const expScale = 3

// sdkMetricsBatch is the most data points one export carries.
const sdkMetricsBatch = 2000

// instrument is one of the SDK histograms.
type instrument uint8

const (
	instHTTPServer instrument = iota
	instRPCServer
	instHTTPClient
	instRPCClient
	numInstruments
)

var instruments = [numInstruments]struct {
	name, unit, description string
	exponential             bool
}{
	instHTTPServer: {"http.server.request.duration", "s", "Duration of HTTP server requests.", false},
	instRPCServer:  {"rpc.server.duration", "ms", "Measures the duration of inbound RPC.", true},
	instHTTPClient: {"http.client.request.duration", "s", "Duration of HTTP client requests.", false},
	instRPCClient:  {"rpc.client.duration", "ms", "Measures the duration of outbound RPC.", true},
}

// sdkKey identifies a series: the pod whose SDK records it, the
// instrument, the call (clients: whom it calls; -1 for servers), the
// endpoint of the service called and the response status (HTTP code, or
// gRPC status; outcomes that answer alike share it).
type sdkKey struct {
	pod  int32
	inst instrument
	call int32
	ep   int16
	code int16
}

// packed is k in one word, the series map's key (a map of uint64 keys
// hashes them the fast way: the lookup is on every call's path): pod and
// call index (+1) in 22 bits each, endpoint 8, status 10, instrument 2.
func (k sdkKey) packed() uint64 {
	return uint64(k.pod)<<42 | uint64(k.call+1)&(1<<22-1)<<20 | uint64(k.ep)&0xff<<12 | uint64(k.code)&0x3ff<<2 | uint64(k.inst)
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
	// serve a route under two names of its handlers); method to the first
	// with the same method, for its callers' HTTP series (which do not
	// know the route).
	route, method [][]int16
	byKey         map[uint64]*sdkSeries // by sdkKey.packed
	list          []*sdkSeries          // in creation order
}

func newSDKMetrics(t *Topology) *sdkMetrics {
	m := &sdkMetrics{t: t, batch: sdkMetricsBatch, route: make([][]int16, len(t.Services)),
		method: make([][]int16, len(t.Services)), byKey: make(map[uint64]*sdkSeries)}
	for _, s := range t.Services {
		firstRoute, firstMethod := map[[2]string]int16{}, map[string]int16{}
		for i, ep := range s.Endpoints {
			k := [2]string{ep.Method, ep.Route}
			if _, ok := firstRoute[k]; !ok {
				firstRoute[k] = int16(i)
			}
			if _, ok := firstMethod[ep.Method]; !ok {
				firstMethod[ep.Method] = int16(i)
			}
			m.route[s.Index] = append(m.route[s.Index], firstRoute[k])
			m.method[s.Index] = append(m.method[s.Index], firstMethod[ep.Method])
		}
	}
	return m
}

// record counts call h on the SDKs that see it: the caller's, when it is
// instrumented and the call an HTTP or gRPC request (to a service of the
// mesh, or an external API); the callee's, when it is instrumented and
// handled the request. base is the tree's start (Unix ns).
func (m *sdkMetrics) record(h *hop, base int64) {
	c := h.call
	ep, proto := h.ep, c.To.Protocol
	if c.Kind == CallExternal {
		ep, proto = 0, ProtocolHTTP // an external API has one endpoint
	}
	if ep < 0 {
		return
	}
	if c.From.Traced && (c.Kind == CallRequest || c.Kind == CallExternal) {
		k := sdkKey{pod: int32(h.src.Index), inst: instHTTPClient, call: int32(c.Index), ep: m.method[c.To.Index][ep]}
		if proto == ProtocolGRPC {
			k.inst, k.ep = instRPCClient, m.route[c.To.Index][ep]
		}
		m.observe(k, statusOf(proto, h.out), base+h.start, h.dur)
	}
	if c.Kind == CallRequest && c.To.Traced && h.out.reached() {
		k := sdkKey{pod: int32(h.dst.Index), inst: instHTTPServer, call: -1, ep: m.route[c.To.Index][ep]}
		if c.To.Protocol == ProtocolGRPC {
			k.inst = instRPCServer
		}
		m.observe(k, statusOf(c.To.Protocol, h.out), base+h.srvStart, h.srvDur)
	}
}

// observe counts one call of dur ns that started at start in the series of
// k with status st.
func (m *sdkMetrics) observe(k sdkKey, st *respStatus, start, dur int64) {
	exp := instruments[k.inst].exponential
	k.code = int16(st.code)
	if exp {
		k.code = int16(st.grpc)
	}
	s := m.byKey[k.packed()]
	if s == nil {
		s = &sdkSeries{key: k, start: start, min: math.Inf(1), max: math.Inf(-1)}
		if !exp {
			s.counts = make([]uint64, len(httpDurationBounds)+1)
		}
		m.byKey[k.packed()] = s
		m.list = append(m.list, s)
	}
	if exp {
		s.observeExp(float64(dur) / 1e6)
	} else {
		s.observeExplicit(float64(dur) / 1e9)
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
	// A pod's series go under one ResourceMetrics, an instrument's under
	// one Metric, so order them by pod and instrument.
	order := make([]*sdkSeries, len(m.list))
	copy(order, m.list)
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i].key, order[j].key
		return a.pod < b.pod || a.pod == b.pod && a.inst < b.inst
	})

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
	var (
		sm     pmetric.ScopeMetrics
		metric pmetric.Metric
		last   = sdkKey{pod: -1}
	)
	for _, s := range order {
		full := points >= m.batch
		if full {
			flush() // the pod goes on in the next export
		}
		newPod := full || s.key.pod != last.pod
		if newPod {
			sm = m.newPod(md, m.t.Pods[s.key.pod])
		}
		if newPod || s.key.inst != last.inst {
			metric = newInstrument(sm, s.key.inst)
		}
		last = s.key
		m.point(s, metric, ts)
		points++
	}
	flush()
}

// point appends s's point at ts to metric.
func (m *sdkMetrics) point(s *sdkSeries, metric pmetric.Metric, ts pcommon.Timestamp) {
	k := s.key
	callee := m.t.Pods[k.pod].Workload.Service
	if k.call >= 0 {
		callee = m.t.Calls[k.call].To
	}
	ep := &callee.Endpoints[k.ep]
	var a pcommon.Map
	if instruments[k.inst].exponential {
		dp := metric.ExponentialHistogram().DataPoints().AppendEmpty()
		a = s.fill(dp, ts)
		dp.SetScale(expScale)
		dp.Positive().SetOffset(s.offset)
		dp.Positive().BucketCounts().Append(s.counts...) // a copy: the series goes on counting
		a.PutStr("rpc.system", "grpc")
		a.PutStr("rpc.service", ep.RPCService)
		a.PutStr("rpc.method", ep.RPCMethod)
		a.PutInt("rpc.grpc.status_code", int64(k.code))
	} else {
		dp := metric.Histogram().DataPoints().AppendEmpty()
		a = s.fill(dp, ts)
		dp.ExplicitBounds().Append(httpDurationBounds...)
		dp.BucketCounts().Append(s.counts...)
		a.PutStr("http.request.method", ep.Method)
		if k.call < 0 {
			a.PutStr("http.route", ep.Route)
			a.PutStr("url.scheme", "http")
		}
		a.PutInt("http.response.status_code", int64(k.code))
		if k.code >= 500 {
			a.PutStr("error.type", strconv.Itoa(int(k.code)))
		}
	}
	if k.call >= 0 {
		a.PutStr("server.address", callee.Host)
		a.PutInt("server.port", int64(callee.Port))
	}
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

// newPod adds pod's ResourceMetrics to md and returns its scope's metrics.
func (m *sdkMetrics) newPod(md pmetric.Metrics, pod *Pod) pmetric.ScopeMetrics {
	rm := md.ResourceMetrics().AppendEmpty()
	for _, kv := range podResource(pod) {
		rm.Resource().Attributes().PutStr(kv.name, kv.value)
	}
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(scopeName)
	sm.Scope().SetVersion("1.0.0")
	return sm
}

// newInstrument adds instrument i's cumulative histogram to sm.
func newInstrument(sm pmetric.ScopeMetrics, i instrument) pmetric.Metric {
	in := instruments[i]
	metric := sm.Metrics().AppendEmpty()
	metric.SetName(in.name)
	metric.SetUnit(in.unit)
	metric.SetDescription(in.description)
	if in.exponential {
		metric.SetEmptyExponentialHistogram().SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	} else {
		metric.SetEmptyHistogram().SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	}
	return metric
}
