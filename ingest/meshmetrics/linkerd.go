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
