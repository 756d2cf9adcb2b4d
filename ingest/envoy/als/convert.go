package als

import (
	"math"
	"sort"
	"strconv"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	dataal "github.com/envoyproxy/go-control-plane/envoy/data/accesslog/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/meshscope/meshscope/ingest/envoy"
	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
	"github.com/meshscope/meshscope/schema"
)

// convertHTTP fills st.rec from an HTTP entry, or says why it cannot.
func (st *stream) convertHTTP(le *dataal.HTTPAccessLogEntry) (reason string) {
	cp := le.GetCommonProperties()
	if cp == nil {
		return "missing_common_properties"
	}
	rec := st.common(cp)
	if rec == nil {
		return "invalid_timestamp"
	}
	e := &rec.Entry
	req, resp := le.GetRequest(), le.GetResponse()
	if m := req.GetRequestMethod(); m != corev3.RequestMethod_METHOD_UNSPECIFIED {
		e.Method = m.String()
	}
	e.Path = req.GetOriginalPath()
	if e.Path == "" {
		e.Path = req.GetPath()
	}
	e.Protocol = httpVersion(le.GetProtocolVersion())
	e.ResponseCode = int(resp.GetResponseCode().GetValue())
	e.Details = resp.GetResponseCodeDetails()
	e.BytesReceived = int64(min(req.GetRequestBodyBytes(), math.MaxInt64))
	e.BytesSent = int64(min(resp.GetResponseBodyBytes(), math.MaxInt64))
	e.ForwardedFor = req.GetForwardedFor()
	e.UserAgent = req.GetUserAgent()
	e.RequestID = req.GetRequestId()
	e.Authority = req.GetAuthority()

	reqH, respH, trailers := req.GetRequestHeaders(), resp.GetResponseHeaders(), resp.GetResponseTrailers()
	if v, ok := respH["x-envoy-upstream-service-time"]; ok {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms >= 0 {
			e.UpstreamServiceTime = ms * 1e6
		}
	} else if tx, rx := cp.GetTimeToFirstUpstreamTxByte(), cp.GetTimeToFirstUpstreamRxByte(); tx != nil && rx != nil {
		if d := nanos(rx) - nanos(tx); d >= 0 {
			e.UpstreamServiceTime = d
		}
	}
	if v := firstHeader(trailers, respH, "grpc-status"); v != "" {
		if code, ok := envoy.ParseGRPCStatus(v); ok {
			rec.GRPCStatus, rec.GRPCStatusKnown, rec.GRPC = code, true, true
		}
	}
	if envoy.IsGRPCContentType(reqH["content-type"]) || envoy.IsGRPCContentType(respH["content-type"]) {
		rec.GRPC = true
	}
	if id, ok := envoy.TraceParentID(reqH["traceparent"]); ok {
		rec.TraceID = id
	} else if id, ok := envoy.HexTraceID(reqH["x-b3-traceid"]); ok {
		rec.TraceID = id
	}
	return ""
}

// convertTCP fills st.rec from a TCP entry, or says why it cannot.
func (st *stream) convertTCP(le *dataal.TCPAccessLogEntry) (reason string) {
	cp := le.GetCommonProperties()
	if cp == nil {
		return "missing_common_properties"
	}
	rec := st.common(cp)
	if rec == nil {
		return "invalid_timestamp"
	}
	rec.TCP = true
	conn := le.GetConnectionProperties()
	rec.Entry.BytesReceived = int64(min(conn.GetReceivedBytes(), math.MaxInt64))
	rec.Entry.BytesSent = int64(min(conn.GetSentBytes(), math.MaxInt64))
	return ""
}

// common resets st.rec and fills what HTTP and TCP entries share; nil when
// the start time is unusable.
func (st *stream) common(cp *dataal.AccessLogCommon) *envoy.Record {
	rec := &st.rec
	rec.Reset()
	rec.Entry = accesslog.Entry{Duration: -1, UpstreamServiceTime: -1}
	start, ok := timestamp(cp.GetStartTime())
	if !ok {
		return nil
	}
	e := &rec.Entry
	e.StartTime = start
	if d := cp.GetDuration(); d != nil {
		e.Duration = max(nanos(d), 0)
	} else if d := cp.GetTimeToLastDownstreamTxByte(); d != nil {
		e.Duration = max(nanos(d), 0)
	}
	e.Flags = responseFlags(cp.GetResponseFlags())
	if e.Flags != 0 {
		e.ResponseFlags = e.Flags.String()
	}
	e.TerminationDetails = cp.GetConnectionTerminationDetails()
	e.TransportFailureReason = cp.GetUpstreamTransportFailureReason()
	e.UpstreamHost = address(cp.GetUpstreamRemoteAddress())
	e.UpstreamCluster = cp.GetUpstreamCluster()
	e.UpstreamLocalAddress = address(cp.GetUpstreamLocalAddress())
	e.DownstreamLocalAddress = address(cp.GetDownstreamLocalAddress())
	e.DownstreamRemoteAddress = address(cp.GetDownstreamRemoteAddress())
	tls := cp.GetTlsProperties()
	e.RequestedServerName = tls.GetTlsSniHostname()
	e.RouteName = cp.GetRouteName()

	rec.Emitter, rec.LogName = st.emitter, st.logName
	rec.Intermediate = cp.GetIntermediateLogEntry()
	rec.DownstreamSecurity = downstreamSecurity(tls)
	fs := cp.GetFilterStateObjects()
	if p, ok := st.peers.Any(fs["downstream_peer"]); ok {
		rec.DownstreamPeer = p
	}
	if p, ok := st.peers.Any(fs["upstream_peer"]); ok {
		rec.UpstreamPeer = p
	}
	if tags := cp.GetCustomTags(); len(tags) > 0 {
		keys := make([]string, 0, len(tags))
		for k := range tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			rec.AttrKeys, rec.AttrValues = append(rec.AttrKeys, k), append(rec.AttrValues, tags[k])
		}
	}
	return rec
}

// downstreamSecurity reads the downstream connection's TLS: a peer
// certificate is mutual TLS; no TLS, or TLS without a client certificate,
// is not.
func downstreamSecurity(tls *dataal.TLSProperties) uint8 {
	peer := tls.GetPeerCertificateProperties()
	if peer.GetSubject() != "" || len(peer.GetSubjectAltName()) > 0 {
		return schema.SecurityMTLS
	}
	return schema.SecurityPlaintext
}

// maxSeconds is the largest whole number of seconds whose nanoseconds fit
// an int64.
const maxSeconds = math.MaxInt64/int64(1e9) - 1

// minStart is 2000-01-01T00:00:00Z: earlier start times are clocks gone
// wrong.
const minStart = 946684800

// timestamp converts a start time to Unix nanoseconds.
func timestamp(t *timestamppb.Timestamp) (int64, bool) {
	if t == nil {
		return 0, false
	}
	s, n := t.GetSeconds(), int64(t.GetNanos())
	if s < minStart || s > maxSeconds || n < 0 || n >= 1e9 {
		return 0, false
	}
	return s*1e9 + n, true
}

// nanos converts a duration to nanoseconds, saturating.
func nanos(d *durationpb.Duration) int64 {
	s, n := d.GetSeconds(), int64(d.GetNanos())
	if s > maxSeconds {
		return math.MaxInt64
	}
	if s < -maxSeconds {
		return math.MinInt64
	}
	return s*1e9 + n
}

func httpVersion(v dataal.HTTPAccessLogEntry_HTTPVersion) string {
	switch v {
	case dataal.HTTPAccessLogEntry_HTTP10:
		return "HTTP/1.0"
	case dataal.HTTPAccessLogEntry_HTTP11:
		return "HTTP/1.1"
	case dataal.HTTPAccessLogEntry_HTTP2:
		return "HTTP/2"
	case dataal.HTTPAccessLogEntry_HTTP3:
		return "HTTP/3"
	}
	return ""
}

func firstHeader(a, b map[string]string, key string) string {
	if v, ok := a[key]; ok {
		return v
	}
	return b[key]
}

// address formats an Envoy address as Envoy's text access logs do:
// "10.0.0.1:80", "[fe80::1]:80", a pipe's path, "envoy://listener/id".
func address(a *corev3.Address) string {
	if a == nil {
		return ""
	}
	if sa := a.GetSocketAddress(); sa != nil {
		host := sa.GetAddress()
		port := uint64(sa.GetPortValue())
		buf := make([]byte, 0, len(host)+8)
		if containsColon(host) {
			buf = append(buf, '[')
			buf = append(buf, host...)
			buf = append(buf, ']')
		} else {
			buf = append(buf, host...)
		}
		if name := sa.GetNamedPort(); name != "" {
			buf = append(buf, ':')
			buf = append(buf, name...)
		} else {
			buf = append(buf, ':')
			buf = strconv.AppendUint(buf, port, 10)
		}
		return string(buf)
	}
	if p := a.GetPipe(); p != nil {
		return p.GetPath()
	}
	if ia := a.GetEnvoyInternalAddress(); ia != nil {
		return "envoy://" + ia.GetServerListenerName() + "/" + ia.GetEndpointId()
	}
	return ""
}

func containsColon(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return true
		}
	}
	return false
}

// responseFlags maps ALS response flags to Envoy's short codes.
func responseFlags(f *dataal.ResponseFlags) accesslog.Flags {
	if f == nil {
		return 0
	}
	var out accesslog.Flags
	set := func(on bool, flag accesslog.Flags) {
		if on {
			out |= flag
		}
	}
	set(f.GetNoHealthyUpstream(), accesslog.FlagUH)
	set(f.GetUpstreamConnectionFailure(), accesslog.FlagUF)
	set(f.GetUpstreamOverflow(), accesslog.FlagUO)
	set(f.GetNoRouteFound(), accesslog.FlagNR)
	set(f.GetUpstreamRetryLimitExceeded(), accesslog.FlagURX)
	set(f.GetNoClusterFound(), accesslog.FlagNC)
	set(f.GetDurationTimeout(), accesslog.FlagDT)
	set(f.GetDownstreamConnectionTermination(), accesslog.FlagDC)
	set(f.GetFailedLocalHealthcheck(), accesslog.FlagLH)
	set(f.GetUpstreamRequestTimeout(), accesslog.FlagUT)
	set(f.GetLocalReset(), accesslog.FlagLR)
	set(f.GetUpstreamRemoteReset(), accesslog.FlagUR)
	set(f.GetUpstreamConnectionTermination(), accesslog.FlagUC)
	set(f.GetDelayInjected(), accesslog.FlagDI)
	set(f.GetFaultInjected(), accesslog.FlagFI)
	set(f.GetRateLimited(), accesslog.FlagRL)
	set(f.GetUnauthorizedDetails() != nil, accesslog.FlagUAEX)
	set(f.GetRateLimitServiceError(), accesslog.FlagRLSE)
	set(f.GetInvalidEnvoyRequestHeaders(), accesslog.FlagIH)
	set(f.GetStreamIdleTimeout(), accesslog.FlagSI)
	set(f.GetDownstreamProtocolError(), accesslog.FlagDPE)
	set(f.GetUpstreamProtocolError(), accesslog.FlagUPE)
	set(f.GetUpstreamMaxStreamDurationReached(), accesslog.FlagUMSDR)
	set(f.GetOverloadManager(), accesslog.FlagOM)
	set(f.GetDnsResolutionFailure(), accesslog.FlagDF)
	set(f.GetResponseFromCacheFilter(), accesslog.FlagRFCF)
	set(f.GetNoFilterConfigFound(), accesslog.FlagNFCF)
	set(f.GetDownstreamRemoteReset(), accesslog.FlagDR)
	return out
}
