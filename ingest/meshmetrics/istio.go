package meshmetrics

import (
	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest"
	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
	"github.com/meshscope/meshscope/schema"
)

// istioCall reads the call of an Istio standard metric series. It returns
// false for series whose calls are counted through another reporter:
// reporter=source when the destination is in the mesh and the request
// reached it (the destination's report is preferred, as Kiali does).
func istioCall(l lbls) (call, bool) {
	c := call{
		src:   istioSource(l),
		proto: protocolOf(l.get("request_protocol")),
	}
	var inMesh bool
	c.dst, inMesh = istioDestination(l)

	flags := l.get("response_flags")
	st := graph.Status{Protocol: c.proto, EnvoyFlags: flags, GRPCCode: -1}
	if code, ok := ingest.Atoi(l.get("response_code")); ok {
		st.HTTPCode, st.HTTPKnown = code, true
	}
	if g, ok := ingest.Atoi(l.get("grpc_response_status")); ok {
		st.GRPCCode = g
	}
	c.err = graph.IsError(st)

	switch l.get("connection_security_policy") {
	case "mutual_tls":
		c.security = schema.SecurityMTLS
	case "none":
		c.security = schema.SecurityPlaintext
	}

	switch l.get("reporter") {
	case "destination":
		c.reporter = graph.ReporterDestination
		c.destReport = true
	case "source":
		if inMesh && accesslog.ParseFlags(flags)&accesslog.NotReached == 0 {
			return call{}, false
		}
		c.reporter = graph.ReporterSource
	case "waypoint":
		// A waypoint proxies on behalf of the destination; it is the only
		// L7 reporter in ambient mode, a duplicate where the destination
		// also has a sidecar.
		c.reporter = graph.ReporterDestination
		c.waypoint = true
	}
	c.identity = hashStrings(c.src.Namespace, c.src.Workload, c.dst.Namespace, c.dst.Name, c.proto.String())
	return c, true
}

// istioSource is the caller of an Istio series; "unknown" is a caller
// outside the mesh, the client node.
func istioSource(l lbls) graph.Party {
	wl := known(l.get("source_workload"))
	p := graph.Party{
		Cluster:   known(l.get("source_cluster")),
		Namespace: known(l.get("source_workload_namespace")),
	}
	if wl == "" {
		p.Kind = graph.KindClient
		return p
	}
	app, ver := accesslog.SplitWorkload(wl)
	p.Kind = graph.KindService
	p.Workload = wl
	p.Name = first(l.get("source_canonical_service"), l.get("source_app"), app)
	p.Version = first(l.get("source_canonical_revision"), l.get("source_version"), ver)
	return p
}

// istioDestination is the callee of an Istio series, and whether it is a
// workload of the mesh. A destination without a workload is a service whose
// workload was not reached (its namespace is known) or, otherwise, a host
// outside the mesh (PassthroughCluster, ServiceEntry hosts).
func istioDestination(l lbls) (graph.Party, bool) {
	wl := known(l.get("destination_workload"))
	svc := known(l.get("destination_service_name"))
	p := graph.Party{
		Kind:      graph.KindService,
		Cluster:   known(l.get("destination_cluster")),
		Namespace: first(l.get("destination_service_namespace"), l.get("destination_workload_namespace")),
	}
	if wl != "" {
		app, ver := accesslog.SplitWorkload(wl)
		p.Workload = wl
		p.Name = first(l.get("destination_canonical_service"), l.get("destination_app"), svc, app)
		p.Version = first(l.get("destination_canonical_revision"), l.get("destination_version"), ver)
		return p, true
	}
	if p.Namespace == "" || svc == "PassthroughCluster" || svc == "BlackHoleCluster" {
		host := first(l.get("destination_service"), svc)
		return graph.Party{Kind: graph.KindExternal, Cluster: p.Cluster, Name: hostOf(host)}, false
	}
	p.Name = first(l.get("destination_canonical_service"), svc)
	return p, false
}

// protocolOf maps Istio's request_protocol.
func protocolOf(s string) graph.Protocol {
	switch s {
	case "http":
		return graph.ProtocolHTTP
	case "grpc":
		return graph.ProtocolGRPC
	case "tcp":
		return graph.ProtocolTCP
	}
	return graph.ProtocolUnknown
}
