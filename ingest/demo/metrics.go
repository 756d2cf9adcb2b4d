package demo

import (
	"sort"
	"strconv"
)

// Istio's standard metrics, as the sidecars count them and a Prometheus
// scraping them sends by remote write: for HTTP and gRPC
// istio_requests_total, istio_request_duration_milliseconds (a histogram
// with Envoy's default buckets), istio_request_bytes and
// istio_response_bytes (their _sum and _count: the bucket series of the
// size histograms are left out, as many setups drop them); for TCP
// istio_tcp_connections_opened_total, istio_tcp_connections_closed_total,
// istio_tcp_received_bytes_total and istio_tcp_sent_bytes_total. Every
// call is counted by both reporters, the caller's sidecar
// (reporter="source") and the callee's (reporter="destination"), with
// Istio's full label set; series are per reporting workload (the pods of a
// workload summed) and cumulative from the start of the run.

// durationBuckets are Envoy's default histogram bucket bounds (ms).
var durationBuckets = [...]float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}

// reporter is the side of a call that counts it.
type reporter uint8

const (
	reporterSource reporter = iota
	reporterDestination
)

func (r reporter) String() string {
	if r == reporterDestination {
		return "destination"
	}
	return "source"
}

// seriesKey identifies a call group: who called whom, seen by which side,
// with which outcome.
type seriesKey struct {
	src, dst int32 // workload indexes; dst -1 when the caller did not learn it
	to       int32 // service index of the destination
	rep      reporter
	out      outcome
}

// meshSeries holds the cumulative counts of one call group. Its labels
// are encoded once (as prompb Label fields, sorted by name, split around
// "le").
type meshSeries struct {
	tcp       bool
	pre, post []byte

	requests           uint64
	buckets            [len(durationBuckets)]uint64 // not cumulative
	durSumMs           float64
	reqBytes, rspBytes float64

	opened, sent, received uint64
}

// observe counts one HTTP or gRPC request of duration ns.
func (s *meshSeries) observe(ns int64, req, rsp int64) {
	s.requests++
	msv := float64(ns) / 1e6
	s.durSumMs += msv
	i := sort.SearchFloat64s(durationBuckets[:], msv)
	if i < len(durationBuckets) {
		s.buckets[i]++
	}
	s.reqBytes += float64(req)
	s.rspBytes += float64(rsp)
}

// meshMetrics accumulates the series of a run.
type meshMetrics struct {
	t     *Topology
	byKey map[seriesKey]*meshSeries
	list  []*meshSeries // in creation order
}

func newMeshMetrics(t *Topology) *meshMetrics {
	return &meshMetrics{t: t, byKey: make(map[seriesKey]*meshSeries)}
}

// series returns the series of k, creating it.
func (m *meshMetrics) series(k seriesKey, tcp bool) *meshSeries {
	if s := m.byKey[k]; s != nil {
		return s
	}
	s := &meshSeries{tcp: tcp}
	s.pre, s.post = m.labels(k, tcp)
	m.byKey[k] = s
	m.list = append(m.list, s)
	return s
}

// record counts hop h on both reporters.
func (m *meshMetrics) record(h *hop) {
	c := h.call
	src := int32(h.src.Workload.Index)
	to := int32(c.To.Index)
	dst := int32(-1)
	if h.dst != nil && h.out.reached() {
		dst = int32(h.dst.Workload.Index)
	}
	if c.Kind == CallRequest {
		s := m.series(seriesKey{src: src, dst: dst, to: to, rep: reporterSource, out: h.out}, false)
		s.observe(h.dur, h.reqBytes, h.rspBytes)
		if dst >= 0 {
			d := m.series(seriesKey{src: src, dst: dst, to: to, rep: reporterDestination, out: h.out}, false)
			d.observe(h.srvDur, h.reqBytes, h.rspBytes)
		}
		return
	}
	s := m.series(seriesKey{src: src, dst: dst, to: to, rep: reporterSource}, true)
	s.opened++
	s.sent += uint64(h.reqBytes)
	s.received += uint64(h.rspBytes)
	if dst >= 0 {
		d := m.series(seriesKey{src: src, dst: dst, to: to, rep: reporterDestination}, true)
		d.opened++
		d.sent += uint64(h.reqBytes)
		d.received += uint64(h.rspBytes)
	}
}

type label struct{ name, value string }

// labels encodes the labels of a call group, without __name__ and le.
func (m *meshMetrics) labels(k seriesKey, tcp bool) (pre, post []byte) {
	src := m.t.Workloads[k.src]
	to := m.t.Services[k.to]
	var dst *Workload
	if k.dst >= 0 {
		dst = m.t.Workloads[k.dst]
	}
	unknown := "unknown"
	version := func(w *Workload) string {
		if w.Version == "latest" {
			return unknown // no version label
		}
		return w.Version
	}
	policy, srcPrincipal, dstPrincipal := unknown, unknown, unknown
	if k.rep == reporterDestination {
		policy = "none"
		if to.MTLS {
			policy, srcPrincipal, dstPrincipal = "mutual_tls", src.Principal(), dst.Principal()
		}
	} else if dst != nil && to.MTLS {
		dstPrincipal = dst.Principal()
	}
	ns := src.Service.Namespace
	if k.rep == reporterDestination {
		ns = to.Namespace
	}
	svcName, svcNamespace := to.Name, to.Namespace
	if to.Kind == KindExternal {
		svcNamespace = unknown
		if to.Passthrough {
			svcName = "PassthroughCluster"
		}
	}
	ls := []label{
		{"reporter", k.rep.String()},
		{"job", "kubernetes-pods"},
		{"namespace", ns},
		{"source_workload", src.Name},
		{"source_workload_namespace", src.Service.Namespace},
		{"source_principal", srcPrincipal},
		{"source_app", src.Service.Name},
		{"source_version", version(src)},
		{"source_canonical_service", src.Service.Name},
		{"source_canonical_revision", src.Version},
		{"source_cluster", clusterID},
		{"destination_principal", dstPrincipal},
		{"destination_service", to.Host},
		{"destination_service_name", svcName},
		{"destination_service_namespace", svcNamespace},
		{"connection_security_policy", policy},
	}
	if dst != nil {
		ls = append(ls,
			label{"destination_workload", dst.Name},
			label{"destination_workload_namespace", to.Namespace},
			label{"destination_app", to.Name},
			label{"destination_version", version(dst)},
			label{"destination_canonical_service", to.Name},
			label{"destination_canonical_revision", dst.Version},
			label{"destination_cluster", clusterID})
	} else {
		ls = append(ls,
			label{"destination_workload", unknown},
			label{"destination_workload_namespace", unknown},
			label{"destination_app", unknown},
			label{"destination_version", unknown},
			label{"destination_canonical_service", unknown},
			label{"destination_canonical_revision", unknown},
			label{"destination_cluster", unknown})
	}
	if tcp {
		ls = append(ls, label{"request_protocol", "tcp"}, label{"response_flags", "-"})
	} else {
		st := statusOf(to.Protocol, k.out)
		ls = append(ls, label{"request_protocol", string(to.Protocol)}, label{"response_code", st.codeStr},
			label{"response_flags", st.flags})
		if st.grpcStr != "" {
			ls = append(ls, label{"grpc_response_status", st.grpcStr})
		}
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i].name < ls[j].name })
	for _, l := range ls {
		if l.name < "le" {
			pre = appendLabel(pre, l.name, l.value)
		} else {
			post = appendLabel(post, l.name, l.value)
		}
	}
	return pre, post
}

// appendLabel appends a prompb Label as a TimeSeries.labels field.
func appendLabel(b []byte, name, value string) []byte {
	b, m := openField(b, 1)
	b = appendStringField(b, 1, name)
	b = appendStringField(b, 2, value)
	return closeField(b, m)
}

// bucketLabels are the le label fields of durationBuckets, then +Inf.
var bucketLabels = func() [len(durationBuckets) + 1][]byte {
	var out [len(durationBuckets) + 1][]byte
	for i, v := range durationBuckets {
		out[i] = appendLabel(nil, "le", strconv.FormatFloat(v, 'g', -1, 64))
	}
	out[len(durationBuckets)] = appendLabel(nil, "le", "+Inf")
	return out
}()
