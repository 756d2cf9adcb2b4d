package demo

import (
	"strconv"
	"time"
)

// What the two sidecars of a call write, as Istio configures Envoy:
//
//   - the caller's sidecar an outbound entry: downstream is the application
//     (pod IP, an ephemeral port), downstream local the service's cluster
//     IP, upstream host the chosen pod, upstream local the pod IP and the
//     port of the sidecar's connection, cluster
//     outbound|PORT|SUBSET|HOST (PassthroughCluster for external hosts
//     without a ServiceEntry), filter state upstream_peer;
//   - the callee's sidecar an inbound entry: downstream remote is the
//     caller's connection (the outbound entry's upstream local address),
//     downstream local and upstream host the pod's own address, upstream
//     local 127.0.0.6, cluster inbound|PORT||, filter state
//     downstream_peer, and with mutual TLS the TLS properties and Istio's
//     SNI outbound_.PORT_.SUBSET_.HOST.
//
// HTTP connections are kept alive, so a pair of pods always uses the same
// ports; a TCP call (database, cache, Kafka, TLS to an external API) is a
// connection of its own, with ports of its own.

// logEntry is one access log entry. Strings point into the topology, the
// generator's tables or its scratch buffers: an entry is valid until the
// next one is filled.
type logEntry struct {
	pod          *Pod // the sidecar writing the entry
	peer         *Pod // upstream_peer (outbound) or downstream_peer (inbound); nil unknown
	inbound, tcp bool
	grpc, mtls   bool
	start        int64 // Unix nanoseconds
	dur          int64
	upstreamTime int64 // x-envoy-upstream-service-time; -1 none
	st           *respStatus
	method, path string
	authority    string
	userAgent    string
	forwardedFor string
	reqID        []byte // 36 bytes, empty for TCP
	traceparent  []byte // W3C trace context of a sampled call, as ALS logs it; nil none
	bytesIn      int64  // %BYTES_RECEIVED%: from downstream
	bytesOut     int64  // %BYTES_SENT%: to downstream
	dsRemote     addr
	dsLocal      addr
	usHost       addr
	usLocal      addr
	cluster      string
	sni          string
	route        string
	srcWL, dstWL *Workload // the certificates' identities (mTLS)
}

// addr is an IP and port; an empty IP is "-".
type addr struct {
	ip   string
	port int
}

// appendAddr appends ip:port, or "-".
func appendAddr(b []byte, a addr) []byte {
	if a.ip == "" {
		return append(b, '-')
	}
	b = append(b, a.ip...)
	b = append(b, ':')
	return strconv.AppendInt(b, int64(a.port), 10)
}

// callRT is what the generator precomputes per call.
type callRT struct {
	outCluster []string // by destination workload (subset routing for canaries)
	sni        []string // Istio's mTLS SNI by destination workload
	authority  string
	userAgent  string
}

// inboundCluster is "inbound|PORT||".
func inboundCluster(s *Service) string { return "inbound|" + strconv.Itoa(s.Port) + "||" }

func newCallRT(c *Call) callRT {
	to := c.To
	rt := callRT{authority: to.Name + "." + to.Namespace + ":" + strconv.Itoa(to.Port)}
	switch {
	case to.Kind == KindExternal && to.Passthrough:
		rt.outCluster = []string{"PassthroughCluster"}
		rt.authority = to.Host
	case to.Kind == KindExternal:
		rt.outCluster = []string{"outbound|443||" + to.Host}
		rt.authority = to.Host
	default:
		for _, w := range to.Workloads {
			subset := ""
			if len(to.Workloads) > 1 {
				subset = w.Version // a DestinationRule with a subset per version
			}
			port := strconv.Itoa(to.Port)
			rt.outCluster = append(rt.outCluster, "outbound|"+port+"|"+subset+"|"+to.Host)
			sniSubset := "_" // outbound_.9080_._.reviews... or outbound_.9080_.v1_.reviews...
			if subset != "" {
				sniSubset = subset + "_"
			}
			rt.sni = append(rt.sni, "outbound_."+port+"_."+sniSubset+"."+to.Host)
		}
	}
	if c.From.Kind == KindGateway {
		rt.authority = to.Name + ".example.com"
	}
	userAgents := []string{"Go-http-client/1.1", "okhttp/4.12.0", "python-requests/2.32.3", "Apache-HttpClient/4.5.14 (Java/17.0.10)"}
	if to.Protocol == ProtocolGRPC {
		userAgents = []string{"grpc-go/1.71.0", "grpc-java-netty/1.64.0", "grpc-python/1.66.1"}
	}
	rt.userAgent = userAgents[c.From.Index%len(userAgents)]
	if c.From.Kind == KindGateway {
		rt.userAgent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	}
	return rt
}

// ephemeral ports of the kept-alive connections between two pods: from
// the application to its sidecar, and from the sidecar to the peer.
func appPort(src, dst *Pod) int { return 32768 + (src.Index*7919+dst.Index*104729)%28000 }
func meshPort(src, dst *Pod) int {
	return 32768 + (src.Index*104723+dst.Index*7927+11)%28000
}

// workloadIndex returns the position of w among its service's workloads.
func workloadIndex(w *Workload) int {
	for i, x := range w.Service.Workloads {
		if x == w {
			return i
		}
	}
	return 0
}

// outbound fills e with the caller's sidecar's entry of hop h.
func (g *generator) outbound(e *logEntry, h *hop, base int64) {
	c := h.call
	to := c.To
	rt := &g.calls[c.Index]
	g.common(e, h)
	e.pod, e.inbound = h.src, false
	e.start, e.dur = base+h.start, h.dur
	e.upstreamTime = -1
	if !e.tcp && h.out.reached() {
		e.upstreamTime = h.srvDur
	}
	e.bytesIn, e.bytesOut = h.reqBytes, h.rspBytes
	wi := 0
	if h.dst != nil {
		wi = workloadIndex(h.dst.Workload)
	}
	e.cluster = rt.outCluster[min(wi, len(rt.outCluster)-1)]
	e.route = "default"
	portA, portB := 0, 0
	if e.tcp {
		g.connSeq++
		portA, portB = 32768+int(g.connSeq%28000), 32768+int((g.connSeq*7+13)%28000)
		e.route = ""
	} else if h.dst != nil {
		portA, portB = appPort(h.src, h.dst), meshPort(h.src, h.dst)
	}
	g.lastPort = portB
	if c.From.Kind == KindGateway {
		client := g.clientIPs[int(h.src.Index+int(h.start))%len(g.clientIPs)]
		e.dsRemote = addr{client, 40000 + int(h.start%20000)}
		e.dsLocal = addr{h.src.IP, c.From.Port}
		e.forwardedFor = client
	} else {
		e.dsRemote = addr{h.src.IP, portA}
		e.dsLocal = addr{to.Address, to.Port}
		e.forwardedFor = ""
	}
	e.sni, e.peer = "", nil
	if to.Kind == KindExternal {
		e.usHost = addr{to.Address, to.Port}
		e.sni = to.Host
	} else {
		e.usHost = addr{h.dst.IP, to.Port}
		if h.out.reached() {
			e.peer = h.dst
		}
	}
	e.usLocal = addr{h.src.IP, portB}
	if !h.out.reached() {
		e.usLocal = addr{}
	}
	e.mtls = false
}

// inbound fills e with the callee's sidecar's entry of hop h; call it
// right after outbound for the same hop.
func (g *generator) inbound(e *logEntry, h *hop, base int64) {
	c := h.call
	to := c.To
	rt := &g.calls[c.Index]
	g.common(e, h)
	e.pod, e.peer, e.inbound = h.dst, h.src, true
	sidecar := int64(60 * time.Microsecond)
	e.start, e.dur = base+h.srvStart-sidecar, h.srvDur+2*sidecar
	if c.Kind == CallConsume {
		e.start, e.dur = base+h.start+sidecar, h.dur-2*sidecar
	}
	e.upstreamTime = -1
	if !e.tcp {
		e.upstreamTime = h.srvDur
	}
	e.bytesIn, e.bytesOut = h.reqBytes, h.rspBytes
	e.dsRemote = addr{h.src.IP, g.lastPort}
	e.dsLocal = addr{h.dst.IP, to.Port}
	e.usHost = addr{h.dst.IP, to.Port}
	e.usLocal = addr{"127.0.0.6", 32768 + (g.lastPort*31+h.dst.Index)%28000}
	e.cluster = g.inCluster[to.Index]
	e.route = "default"
	if e.tcp {
		e.route = ""
	}
	e.forwardedFor = ""
	if c.From.Kind == KindGateway {
		e.forwardedFor = g.clientIPs[int(h.src.Index+int(h.start))%len(g.clientIPs)]
	}
	e.mtls = to.MTLS
	e.sni = ""
	if e.mtls {
		e.sni = rt.sni[min(workloadIndex(h.dst.Workload), len(rt.sni)-1)]
	}
	e.srcWL, e.dstWL = h.src.Workload, h.dst.Workload
}

// common fills the fields both sides share.
func (g *generator) common(e *logEntry, h *hop) {
	c := h.call
	rt := &g.calls[c.Index]
	e.tcp = c.Kind != CallRequest
	e.grpc = !e.tcp && c.To.Protocol == ProtocolGRPC
	e.st = statusOf(c.To.Protocol, h.out)
	e.authority, e.userAgent = rt.authority, rt.userAgent
	e.method, e.path, e.reqID = "", "", nil
	if !e.tcp {
		ep := &c.To.Endpoints[h.ep]
		e.method, e.path = ep.Method, ep.Paths[h.path]
		e.reqID = g.reqID[:]
	}
}

// newRequestID draws the x-request-id of a call into g.reqID.
func (g *generator) newRequestID() {
	const hex = "0123456789abcdef"
	a, b := g.rng.uint64(), g.rng.uint64()
	a = a&^(0xf<<12) | 4<<12 // version 4
	j := 0
	for i := 0; i < 32; i++ {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			g.reqID[j] = '-'
			j++
		}
		var nib uint64
		if i < 16 {
			nib = a >> (60 - 4*i) & 0xf
		} else {
			nib = b >> (60 - 4*(i-16)) & 0xf
		}
		g.reqID[j] = hex[nib]
		j++
	}
}

// newTraceparent formats the W3C traceparent header of a call made in
// trace tr by the client span span into g.traceparent.
func (g *generator) newTraceparent(tr *[16]byte, span *[8]byte) []byte {
	const hex = "0123456789abcdef"
	b := append(g.traceparent[:0], "00-"...)
	for _, x := range tr {
		b = append(b, hex[x>>4], hex[x&0xf])
	}
	b = append(b, '-')
	for _, x := range span {
		b = append(b, hex[x>>4], hex[x&0xf])
	}
	return append(b, "-01"...)
}
