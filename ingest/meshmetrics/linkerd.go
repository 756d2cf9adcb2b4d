package meshmetrics

import (
	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/schema"
)

// linkerdCall reads the call of a Linkerd proxy series. The proxy's own
// workload comes from the labels Prometheus adds when it scrapes the pod
// (namespace, deployment, pod...). Outbound series know both ends (dst_*
// labels) and are always used. Inbound series know the caller only by its
// TLS identity, so they are used only when the caller is not meshed
// (tls is not "true"): a meshed caller's proxy reports the same calls as
// outbound, and each call is counted once.
func linkerdCall(l lbls) (call, bool) {
	c := call{proto: graph.ProtocolHTTP}
	switch l.get("tls") {
	case "true":
		c.security = schema.SecurityMTLS
	case "false", "no_identity":
		c.security = schema.SecurityPlaintext
	}
	own := emitterParty(l, true)
	c.conn = connKey(l, own)
	switch l.get("direction") {
	case "outbound":
		c.src, c.dst = own, linkerdDestination(l)
		c.reporter = graph.ReporterSource
	case "inbound":
		if c.security == schema.SecurityMTLS {
			return call{}, false
		}
		c.src = graph.Party{Kind: graph.KindClient}
		c.dst = own
		c.reporter = graph.ReporterDestination
	default:
		return call{}, false
	}
	return c, true
}

// linkerdDestination is the callee of an outbound series: the workload the
// dst_* labels name (its name is the workload's, as Linkerd names nodes by
// workload), the Kubernetes service when only that is known, or the host
// of the authority for destinations outside the cluster.
func linkerdDestination(l lbls) graph.Party {
	ns := known(l.get("dst_namespace"))
	wl := first(l.get("dst_deployment"), l.get("dst_statefulset"), l.get("dst_daemonset"),
		l.get("dst_replicationcontroller"), l.get("dst_job"))
	name := first(wl, l.get("dst_service"))
	if ns == "" || name == "" {
		return graph.Party{Kind: graph.KindExternal, Name: hostOf(first(l.get("authority"), l.get("target_addr")))}
	}
	return graph.Party{Kind: graph.KindService, Namespace: ns, Name: name, Workload: wl}
}

// linkerdTCPCall reads the call of a Linkerd transport series (tcp_*): the
// connections a proxy opened to a destination (outbound, peer "dst") or
// accepted from a caller outside the mesh (inbound, peer "src"). The
// proxy's connections with its own application (outbound from "src",
// inbound to "dst") are the same traffic again and yield nothing.
func linkerdTCPCall(l lbls) (call, bool) {
	dir, peer := l.get("direction"), l.get("peer")
	if dir == "outbound" && peer == "src" || dir == "inbound" && peer == "dst" {
		return call{}, false
	}
	c, ok := linkerdCall(l)
	c.proto, c.transport = graph.ProtocolTCP, true
	return c, ok
}

// connKey names the connections a Linkerd series counts: the proxy's
// workload, the direction and the address connected to (target_addr, on
// request and transport series alike), so that a transport series finds
// the request series of its connections.
func connKey(l lbls, own graph.Party) uint64 {
	return hashStrings(l.get("direction"), own.Namespace, own.Name, own.Workload,
		first(l.get("target_addr"), l.get("authority"), l.get("dst_service")))
}
