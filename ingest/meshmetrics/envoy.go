package meshmetrics

import (
	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
)

// envoyCall reads the call of an Envoy cluster statistic: the proxy that
// emits it calls the cluster's service. Only outbound clusters count:
// inbound and internal clusters (Istio's inbound|9080||, xds-grpc...)
// see the same calls the caller's outbound cluster already counted.
func envoyCall(l lbls) (call, bool) {
	cl := accesslog.DecodeCluster(l.get("envoy_cluster_name"))
	c := call{proto: graph.ProtocolHTTP, reporter: graph.ReporterSource}
	switch cl.Kind {
	case accesslog.KindService:
		if cl.Direction == accesslog.DirectionInbound || cl.Service == "" {
			return call{}, false
		}
		if cl.Mesh == accesslog.MeshIstio && cl.Namespace == "" {
			// A host of a ServiceEntry or an external name.
			c.dst = graph.Party{Kind: graph.KindExternal, Name: cl.Service}
		} else {
			c.dst = graph.Party{Kind: graph.KindService, Namespace: cl.Namespace, Name: cl.Service, Version: cl.Subset}
		}
	case accesslog.KindPassthrough, accesslog.KindBlackHole:
		c.dst = graph.Party{Kind: graph.KindExternal, Name: cl.Name}
	default:
		return call{}, false
	}
	c.src = emitterParty(l, false)
	return c, true
}

// emitterParty is the workload that exposes a series, from the labels
// Prometheus' Kubernetes discovery adds (namespace, pod, app, version,
// the pod's Istio canonical name and revision...), OpenTelemetry resource
// attributes, and lastly the job. byWorkload names the party after its
// workload rather than its app, as Linkerd does.
func emitterParty(l lbls, byWorkload bool) graph.Party {
	p := graph.Party{Kind: graph.KindService}
	p.Namespace = first(l.get("namespace"), l.get("kubernetes_namespace"), l.get("k8s_namespace_name"),
		l.res("k8s.namespace.name"), l.res("service.namespace"))
	p.Workload = first(l.get("deployment"), l.get("statefulset"), l.get("daemonset"),
		l.get("k8s_deployment_name"), l.res("k8s.deployment.name"), l.res("k8s.statefulset.name"),
		l.res("k8s.daemonset.name"))
	if p.Workload == "" {
		if pod := first(l.get("pod"), l.get("kubernetes_pod_name"), l.get("pod_name"), l.res("k8s.pod.name")); pod != "" {
			p.Workload = accesslog.PodWorkload(pod)
		}
	}
	app, ver := accesslog.SplitWorkload(p.Workload)
	if byWorkload && p.Workload != "" {
		p.Name = p.Workload
	} else {
		p.Name = first(l.get("service_istio_io_canonical_name"), l.get("app_kubernetes_io_name"), l.get("app"),
			l.res("service.name"), app, l.get("job"))
	}
	if !byWorkload {
		p.Version = first(l.get("service_istio_io_canonical_revision"), l.get("app_kubernetes_io_version"),
			l.get("version"), l.res("service.version"), ver)
	}
	return p
}
