package envoy

import (
	"strings"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
)

// Who called whom.
//
// Every entry has an emitting proxy and, usually, an upstream cluster whose
// name tells the direction of the traffic (see accesslog.DecodeCluster):
//
//   - outbound (Istio "outbound|9080|v1|reviews.default.svc.cluster.local",
//     its SNI form, Consul, App Mesh egress, Gloo and plain Envoy names,
//     PassthroughCluster, BlackHoleCluster): the emitter called the
//     cluster's service. The source is the emitter; the destination is the
//     upstream peer when peer metadata names it, else the cluster's service
//     in the namespace of its FQDN, with the workload when the upstream
//     host's address is known; a host outside the mesh (an Istio name
//     without a Kubernetes namespace, PassthroughCluster) is external:HOST
//     (:authority, SNI or upstream address), BlackHoleCluster is
//     external:BlackHoleCluster. Reporter: source.
//   - inbound ("inbound|9080||", InboundPassthroughCluster, Consul
//     local_app, App Mesh ingress): the emitter was called. The destination
//     is the emitter; the source is the downstream peer when peer metadata
//     names it, else the workload known to have the downstream remote
//     address (see addrs.go), else client:/. Reporter: destination. An
//     Istio waypoint's "inbound-vip|..." entry is the cluster's service
//     being called.
//   - no cluster (a request without a route, a protocol error): inbound
//     when the emitter is a gateway, when the SNI is Istio's mTLS SNI or
//     when the downstream local address is the emitter's own; otherwise
//     outbound to the host the request named.
//
// A gateway (Istio node type "router") is the caller of every entry with a
// cluster and the callee of those without one; its rows say reporter
// "gateway", its observations count as the source side.
//
// Source and destination columns hold service node ids; namespace,
// workload, app and version columns hold the detail.

// resolution is who called whom in one entry.
type resolution struct {
	src, dst     graph.Party
	srcID, dstID string // their service node ids, when known already
	reporter     string
	rep          graph.Reporter
	inbound      bool // the emitter was called: the destination side
	meshedDst    bool // the destination may be a proxy of the mesh that logs too
}

// resolve decides who called whom in rec and learns the addresses rec
// reveals.
func (r *Resolver) resolve(rec *Record, em *Emitter, cl *accesslog.Cluster, tcp bool, now int64) resolution {
	e := &rec.Entry
	var res resolution
	waypoint := false
	switch cl.Kind {
	case accesslog.KindService:
		if cl.Direction == accesslog.DirectionInbound {
			res.inbound = true
			waypoint = cl.Mesh == accesslog.MeshIstio && cl.Protocol != "" && cl.Service != ""
		}
	case accesslog.KindInboundPassthrough:
		res.inbound = true
	case accesslog.KindNone:
		res.inbound = em.Gateway || r.looksInbound(e, em, now)
	}

	if res.inbound {
		res.src, res.srcID = r.inboundSource(rec, now)
		res.dst, res.dstID = r.inboundDestination(e, em, cl, waypoint, now)
		res.rep, res.reporter = graph.ReporterDestination, "destination"
		res.meshedDst = true
	} else {
		res.src, res.srcID = r.outboundSource(e, em, now)
		res.dst, res.dstID, res.meshedDst = r.outboundDestination(rec, cl, tcp, now)
		res.rep, res.reporter = graph.ReporterSource, "source"
	}
	if em.Gateway {
		res.reporter = "gateway"
	}
	r.learn(rec, em, &res, waypoint, now)
	return res
}

// looksInbound tells, for an entry without a cluster, whether the request
// came into the emitter.
func (r *Resolver) looksInbound(e *accesslog.Entry, em *Emitter, now int64) bool {
	if strings.HasPrefix(e.RequestedServerName, "outbound_.") {
		return true // Istio's mTLS SNI: a peer called this workload
	}
	if !em.known() {
		return false
	}
	ip := ipOf(e.DownstreamLocalAddress)
	if ip == "" {
		return false
	}
	if containsString(em.IPs, ip) {
		return true
	}
	a, ok := r.addrs.lookup(ip, now)
	return ok && a.rank == rankSelf && a.p.Namespace == em.Namespace && a.p.Workload == em.Workload
}

const clientID = "client:/"

func (r *Resolver) inboundSource(rec *Record, now int64) (graph.Party, string) {
	if peerKnown(rec.DownstreamPeer) {
		return rec.DownstreamPeer, ""
	}
	if a, ok := r.addrs.lookup(ipOf(rec.Entry.DownstreamRemoteAddress), now); ok {
		return a.p, a.id
	}
	return graph.Party{Kind: graph.KindClient}, clientID
}

func (r *Resolver) inboundDestination(e *accesslog.Entry, em *Emitter, cl *accesslog.Cluster, waypoint bool, now int64) (graph.Party, string) {
	if waypoint {
		return graph.Party{Kind: graph.KindService, Namespace: cl.Namespace, Name: cl.Service}, ""
	}
	if em.known() {
		return em.party, em.nodeID
	}
	// Nobody named the emitter: the mTLS SNI or the cluster name may
	// still tell the service that was called.
	if sni := accesslog.DecodeCluster(e.RequestedServerName); sni.Mesh == accesslog.MeshIstio && sni.Service != "" {
		return graph.Party{Kind: graph.KindService, Namespace: sni.Namespace, Name: sni.Service}, ""
	}
	if cl.Service != "" {
		return graph.Party{Kind: graph.KindService, Namespace: cl.Namespace, Name: cl.Service}, ""
	}
	if a, ok := r.addrs.lookup(ipOf(e.DownstreamLocalAddress), now); ok {
		return a.p, a.id
	}
	return graph.Party{Kind: graph.KindService, Name: "unknown"}, ""
}

func (r *Resolver) outboundSource(e *accesslog.Entry, em *Emitter, now int64) (graph.Party, string) {
	if em.known() {
		return em.party, em.nodeID
	}
	if a, ok := r.addrs.lookup(ipOf(e.UpstreamLocalAddress), now); ok {
		return a.p, a.id
	}
	return graph.Party{Kind: graph.KindClient}, clientID
}

// outboundDestination is the party an outbound entry called, its node
// id when known already, and whether it may be a proxy of the mesh that
// logs the request too.
func (r *Resolver) outboundDestination(rec *Record, cl *accesslog.Cluster, tcp bool, now int64) (graph.Party, string, bool) {
	e := &rec.Entry
	if peerKnown(rec.UpstreamPeer) && cl.Kind != accesslog.KindBlackHole {
		return rec.UpstreamPeer, "", true
	}
	hostIP := ipOf(e.UpstreamHost)
	switch cl.Kind {
	case accesslog.KindService:
		if cl.Service == "" {
			return graph.Party{Kind: graph.KindExternal, Name: externalHost(e, tcp, cl.Name)}, "", false
		}
		if cl.Mesh == accesslog.MeshIstio && cl.Namespace == "" {
			// A ServiceEntry host or an external name.
			if a, ok := r.addrs.lookup(hostIP, now); ok && a.rank == rankSelf {
				return a.p, a.id, true
			}
			return graph.Party{Kind: graph.KindExternal, Name: cl.Service}, "", false
		}
		if a, ok := r.addrs.lookup(hostIP, now); ok && a.rank == rankSelf && a.p.Namespace == cl.Namespace {
			return a.p, a.id, true // the endpoint's own workload, app and version
		}
		p := graph.Party{Kind: graph.KindService, Namespace: cl.Namespace, Name: cl.Service, Version: cl.Subset}
		return p, r.clusterID(cl.Name, &p), true
	case accesslog.KindPassthrough:
		if a, ok := r.addrs.lookup(hostIP, now); ok {
			return a.p, a.id, true // a pod of the mesh addressed directly
		}
		return graph.Party{Kind: graph.KindExternal, Name: externalHost(e, tcp, cl.Name)}, "", false
	case accesslog.KindBlackHole, accesslog.KindInternal:
		return graph.Party{Kind: graph.KindExternal, Name: cl.Name}, "", false
	}
	// No cluster: the host the request named.
	if a, ok := r.addrs.lookup(hostIP, now); ok {
		return a.p, a.id, true
	}
	h := externalHost(e, tcp, "")
	if svc, ns, ok := kubeServiceHost(h); ok {
		return graph.Party{Kind: graph.KindService, Namespace: ns, Name: svc}, "", true
	}
	return graph.Party{Kind: graph.KindExternal, Name: h}, "", false
}

// maxClusterIDs bounds the node ids remembered by cluster name.
const maxClusterIDs = 1 << 16

// clusterID returns the service node id of p, the destination named by
// the cluster name, remembered by that name.
func (r *Resolver) clusterID(name string, p *graph.Party) string {
	if id, ok := r.clusterIDs.Load(name); ok {
		return id.(string)
	}
	id := p.NodeID(graph.GranularityService)
	if r.nClusterIDs.Add(1) <= maxClusterIDs {
		r.clusterIDs.Store(strings.Clone(name), id)
	}
	return id
}

// learn records the addresses rec reveals.
func (r *Resolver) learn(rec *Record, em *Emitter, res *resolution, waypoint bool, now int64) {
	e := &rec.Entry
	if em.known() {
		r.learnEmitter(em, now)
		var ip string
		if res.inbound {
			if !em.Gateway && !waypoint {
				ip = ipOf(e.DownstreamLocalAddress)
			}
		} else {
			ip = ipOf(e.UpstreamLocalAddress)
		}
		if ip != "" && !em.confirmed(ip, now-r.addrs.ttl/4, now) {
			r.addrs.learn(ip, em.party, rankSelf, now)
		}
	}
	if res.inbound {
		if peerKnown(rec.DownstreamPeer) {
			r.addrs.learn(ipOf(e.DownstreamRemoteAddress), rec.DownstreamPeer, rankSelf, now)
		}
		return
	}
	if res.meshedDst && res.dst.IsMesh() && res.dst.Namespace != "" {
		rank := rankCluster
		if peerKnown(rec.UpstreamPeer) {
			rank = rankSelf
		}
		r.addrs.learn(ipOf(e.UpstreamHost), res.dst, rank, now)
	}
}

// learnEmitter teaches the emitter's own addresses, again every half
// address lifetime.
func (r *Resolver) learnEmitter(em *Emitter, now int64) {
	if len(em.IPs) == 0 || em.st == nil {
		return
	}
	last := em.st.learned.Load()
	if now-last < r.addrs.ttl/2 || !em.st.learned.CompareAndSwap(last, now) {
		return
	}
	for _, ip := range em.IPs {
		r.addrs.learn(ipOf(ip), em.party, rankSelf, now)
	}
}

// LearnEmitter teaches the resolver the addresses of a proxy before its
// first entry, such as when an ALS stream opens.
func (r *Resolver) LearnEmitter(em *Emitter) {
	if em != nil && em.known() {
		r.learnEmitter(em, r.cfg.Now().UnixNano())
	}
}

// peerKnown reports whether peer metadata named a party.
func peerKnown(p graph.Party) bool {
	return p.Workload != "" || p.Name != "" || p.Kind != ""
}

// externalHost names a destination outside the mesh: the :authority of
// HTTP requests, else the SNI, else the upstream address, else fallback.
func externalHost(e *accesslog.Entry, tcp bool, fallback string) string {
	if !tcp {
		if h := hostOnly(e.Authority); h != "" {
			return h
		}
	}
	if e.RequestedServerName != "" {
		return e.RequestedServerName
	}
	if ip := ipOf(e.UpstreamHost); ip != "" {
		return ip
	}
	if h := hostOnly(e.Authority); h != "" {
		return h
	}
	return firstOf(fallback, "unknown")
}

// hostOnly drops the port of host:port, [v6]:port.
func hostOnly(h string) string {
	if h != "" && h[0] == '[' {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
		return h
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.IndexByte(h, ':') == i {
		return h[:i]
	}
	return h
}

// kubeServiceHost reads NAME.NAMESPACE.svc[.DOMAIN].
func kubeServiceHost(h string) (svc, ns string, ok bool) {
	svc, rest, ok1 := strings.Cut(h, ".")
	ns, rest, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || svc == "" || ns == "" {
		return "", "", false
	}
	third, _, _ := strings.Cut(rest, ".")
	if third != "svc" {
		return "", "", false
	}
	return svc, ns, true
}
