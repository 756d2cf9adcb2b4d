package envoy

import (
	"hash/maphash"
	"slices"
	"strings"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
	"github.com/meshscope/meshscope/schema"
)

// Batch collects what a receiver's entries became: request rows and
// observations, ready for ingest.Appender.Append(ctx, &b.Rows, b.Obs) once
// Settle has applied the de-duplication. A Batch belongs to one goroutine;
// reuse it after Reset.
type Batch struct {
	// Rows holds one request row per entry.
	Rows schema.Batch
	// Obs holds the observations to count.
	Obs []graph.Observation

	cands []candidate
	now   int64
}

// candidate is an observation whose counting depends on the other side.
type candidate struct {
	obs     int
	key     uint64
	dest    bool
	reached bool // source side: the request may have reached the destination
	gateway bool // destination side at a gateway: no source side will name its caller
}

// Reset empties b, keeping its capacity and dropping references to the
// buffers the previous entries aliased.
func (b *Batch) Reset() {
	clear(b.Rows.Requests)
	b.Rows.Reset()
	clear(b.Obs)
	b.Obs = b.Obs[:0]
	b.cands = b.cands[:0]
	b.now = 0
}

// Len is the number of rows in b.
func (b *Batch) Len() int { return len(b.Rows.Requests) }

// Add resolves rec into a row and, unless it is an intermediate entry, an
// observation appended to b. The row and observation alias rec's strings
// (see Record). Call Settle before appending b.
func (r *Resolver) Add(b *Batch, rec *Record) {
	if b.now == 0 {
		b.now = r.cfg.Now().UnixNano()
	}
	now := b.now
	e := &rec.Entry
	em := rec.Emitter
	if em == nil {
		em = unknownEmitter
	}
	cl := accesslog.DecodeCluster(e.UpstreamCluster)
	tcp := rec.TCP || (e.Protocol == "" && e.Method == "" && e.Path == "")
	sig := readExtra(rec)
	res := r.resolve(rec, em, &cl, tcp, now)

	start := e.StartTime
	if start <= 0 {
		start = now
	}
	proto, gproto := protocolOf(e, tcp, sig.grpc)
	mtls := security(rec, &cl, &sig, res.inbound)

	b.Rows.Requests = append(b.Rows.Requests, schema.RequestRow{})
	row := &b.Rows.Requests[len(b.Rows.Requests)-1]
	fillRow(row, rec, em, &res, &sig, start, proto, mtls)

	if rec.Intermediate {
		return
	}
	st := graph.Status{Protocol: gproto, HTTPCode: e.ResponseCode, HTTPKnown: !tcp, GRPCCode: -1, EnvoyFlags: e.ResponseFlags}
	if sig.grpcKnown {
		st.GRPCCode = int(sig.grpcStatus)
	}
	o := graph.Observation{
		TimeUnixNano:  start,
		Source:        res.src,
		Destination:   res.dst,
		Protocol:      gproto,
		Count:         1,
		DurationNanos: max(e.Duration, 0),
		BytesSent:     uint64(max(e.BytesReceived, 0)),
		BytesReceived: uint64(max(e.BytesSent, 0)),
		Provenance:    graph.FromAccessLog,
		Reporter:      res.rep,
	}
	if graph.IsError(st) {
		o.Errors = 1
	}
	switch mtls {
	case schema.SecurityMTLS:
		o.MTLS = 1
	case schema.SecurityPlaintext:
		o.Plaintext = 1
	}
	b.Obs = append(b.Obs, o)
	if !res.meshedDst {
		return // only the source logs calls out of the mesh
	}
	if key, ok := r.key(e, tcp, res.inbound); ok {
		reached := e.Flags&accesslog.NotReached == 0 && (tcp || e.ResponseCode != 0)
		b.cands = append(b.cands, candidate{obs: len(b.Obs) - 1, key: key, dest: res.inbound, reached: reached,
			gateway: em.Gateway})
	}
}

// Settle applies the de-duplication to the observations added since the
// last Settle (in the order they were added), and appends the waiting
// observations whose wait is over. It takes the resolver's lock once.
func (r *Resolver) Settle(b *Batch) {
	now := b.now
	if now == 0 {
		now = r.cfg.Now().UnixNano()
	}
	n := len(b.Obs)
	var held, dropped, overflow, cancelled int
	d := r.dd
	d.mu.Lock()
	for _, c := range b.cands {
		o := &b.Obs[c.obs]
		var out outcome
		if c.dest {
			out = d.destinationLocked(c.key, o, !c.gateway, now)
		} else {
			out = d.sourceLocked(c.key, o, c.reached, now)
		}
		switch out {
		case outHold:
			held++
			o.Count = 0
		case outDrop:
			dropped++
			o.Count = 0
		case outOverflow:
			overflow++
		case outCancel:
			cancelled++
		}
	}
	b.Obs = d.releaseLocked(b.Obs, now)
	d.mu.Unlock()
	released := len(b.Obs) - n
	if held+dropped > 0 {
		j := 0
		for i := range b.Obs {
			if b.Obs[i].Count != 0 {
				b.Obs[j] = b.Obs[i]
				j++
			}
		}
		clear(b.Obs[j:])
		b.Obs = b.Obs[:j]
	}
	b.cands = b.cands[:0]
	m := &r.m
	m.emitted.Add(float64(n - held - dropped))
	if held > 0 {
		m.held.Add(float64(held))
	}
	if dropped > 0 {
		m.dropped.Add(float64(dropped))
	}
	if overflow > 0 {
		m.overflow.Add(float64(overflow))
	}
	if cancelled > 0 {
		m.cancelled.Add(float64(cancelled))
	}
	if released > 0 {
		m.released.Add(float64(released))
	}
}

// key is what both sides of a call know of it; see dedup.go.
func (r *Resolver) key(e *accesslog.Entry, tcp, inbound bool) (uint64, bool) {
	var h maphash.Hash
	h.SetSeed(r.seed)
	if !tcp {
		if e.RequestID == "" {
			return 0, false
		}
		h.WriteString(e.RequestID)
		h.WriteByte(0)
		h.WriteString(e.Authority)
		h.WriteByte(0)
		h.WriteString(e.Method)
		return h.Sum64(), true
	}
	addr := e.UpstreamLocalAddress
	if inbound {
		addr = e.DownstreamRemoteAddress
	}
	if ipOf(addr) == "" {
		return 0, false
	}
	h.WriteString("tcp\x00")
	h.WriteString(strings.TrimPrefix(addr, "tcp://"))
	return h.Sum64(), true
}

// protocolOf is the requests.protocol value and the observation protocol.
func protocolOf(e *accesslog.Entry, tcp, grpc bool) (string, graph.Protocol) {
	switch {
	case tcp:
		return "tcp", graph.ProtocolTCP
	case grpc:
		return "grpc", graph.ProtocolGRPC
	}
	return e.Protocol, graph.ProtocolHTTP
}

// security is the requests.mtls value: what the entry says of the
// connection from the caller, which only the destination side sees.
func security(rec *Record, cl *accesslog.Cluster, sig *signals, inbound bool) uint8 {
	switch firstOf(rec.SecurityPolicy, sig.securityPolicy) {
	case "mutual_tls":
		return schema.SecurityMTLS
	case "none":
		return schema.SecurityPlaintext
	}
	if !inbound {
		return schema.SecurityUnknown
	}
	if rec.DownstreamSecurity != schema.SecurityUnknown {
		return rec.DownstreamSecurity
	}
	if strings.HasPrefix(rec.Entry.RequestedServerName, "outbound_.") {
		return schema.SecurityMTLS
	}
	if cl.Mesh == accesslog.MeshIstio {
		return schema.SecurityPlaintext // an Istio inbound without the mesh's mTLS SNI
	}
	return schema.SecurityUnknown
}

// fillRow writes every column of the entry's row.
func fillRow(row *schema.RequestRow, rec *Record, em *Emitter, res *resolution, sig *signals, start int64, proto string, mtls uint8) {
	e := &rec.Entry
	row.StartUnixNano = uint64(start)
	row.DurationNanos = uint64(max(e.Duration, 0))
	row.UpstreamServiceTimeNanos = e.UpstreamServiceTime
	if row.UpstreamServiceTimeNanos < 0 {
		row.UpstreamServiceTimeNanos = -1
	}
	row.Reporter = res.reporter
	row.Emitter = em.name
	row.LogName = rec.LogName

	row.Source = res.srcID
	if row.Source == "" {
		row.Source = res.src.NodeID(graph.GranularityService)
	}
	row.SourceNamespace, row.SourceWorkload = res.src.Namespace, res.src.Workload
	if res.src.IsMesh() {
		row.SourceApp, row.SourceVersion = res.src.Name, res.src.Version
	}
	row.Destination = res.dstID
	if row.Destination == "" {
		row.Destination = res.dst.NodeID(graph.GranularityService)
	}
	row.DestinationNamespace, row.DestinationWorkload = res.dst.Namespace, res.dst.Workload
	if res.dst.IsMesh() {
		row.DestinationApp, row.DestinationVersion = res.dst.Name, res.dst.Version
	}

	row.Protocol = proto
	row.Method, row.Path, row.Authority = e.Method, e.Path, e.Authority
	row.ResponseCode = uint16(min(max(e.ResponseCode, 0), 65535))
	row.GRPCStatus = -1
	if sig.grpcKnown {
		row.GRPCStatus = sig.grpcStatus
	}
	if e.ResponseFlags != "-" {
		row.ResponseFlags = e.ResponseFlags
	}
	row.ResponseCodeDetails = e.Details
	row.ConnectionTerminationDetails = e.TerminationDetails
	row.UpstreamTransportFailureReason = e.TransportFailureReason
	row.BytesReceived = uint64(max(e.BytesReceived, 0))
	row.BytesSent = uint64(max(e.BytesSent, 0))
	row.UpstreamHost = e.UpstreamHost
	row.UpstreamCluster = e.UpstreamCluster
	row.UpstreamLocalAddress = e.UpstreamLocalAddress
	row.DownstreamLocalAddress = e.DownstreamLocalAddress
	row.DownstreamRemoteAddress = e.DownstreamRemoteAddress
	row.RequestedServerName = e.RequestedServerName
	row.RouteName = e.RouteName
	row.RequestID = e.RequestID
	row.UserAgent = e.UserAgent
	row.XForwardedFor = e.ForwardedFor
	row.TraceID = sig.traceID
	row.MTLS = mtls
	// The proxy's pod, when known (ALS node metadata, the OpenTelemetry
	// access logger's resource): for its inbound entries, the pod that
	// served the call, which its address alone does not name.
	pod := em.Pod != "" && !slices.Contains(rec.AttrKeys, schema.RequestPodAttr)
	n := len(rec.AttrKeys) + len(e.Extra)
	if pod {
		n++
	}
	if n > 0 {
		keys, vals := make([]string, 0, n), make([]string, 0, n)
		keys = append(keys, rec.AttrKeys...)
		vals = append(vals, rec.AttrValues[:len(rec.AttrKeys)]...)
		for _, f := range e.Extra {
			keys, vals = append(keys, f.Name), append(vals, f.Value)
		}
		if pod {
			keys, vals = append(keys, schema.RequestPodAttr), append(vals, em.Pod)
		}
		row.AttrKeys, row.AttrValues = keys, vals
	}
}
