package meshmetrics

import (
	"strings"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest"
)

// otelClientCall reads the call of an OpenTelemetry SDK client metric
// series (http.client.request.duration, rpc.client.duration and their
// kin).
//
// The caller is the series' resource: service.name, its namespace
// (service.namespace, else k8s.namespace.name, as the spans' converter
// reads it), its workload (the k8s.deployment, statefulset or daemonset)
// and version. A series that reached Prometheus first has its resource in
// labels: its job (NAMESPACE/NAME or NAME, as Prometheus' OTLP conventions
// form it), or service_name and k8s_namespace_name where the exporter
// copied the resource into labels. The callee is the peer the point's
// attributes name, as a client span's (graph.PeerOf: peer.service,
// server.address or net.peer.name). A series naming no caller or no peer
// is no call. Attribute names are read as OTLP spells them and as
// Prometheus does (server.address, server_address).
//
// The status attributes (http.response.status_code, rpc.grpc.status_code,
// error.type) say whether the group's calls failed. The protocol is HTTP
// or, for rpc.system grpc, gRPC. The caller's SDK reports the call, but
// the reporter is left unknown, as the service graph's: the graph reads a
// source or destination report from metrics as a proxy's, evidence that
// the proxy would have reported the calls of untraced callers too
// (choose.go), and an SDK sees only its own service's outgoing calls.
func otelClientCall(l lbls) (call, bool) {
	name := first(l.res("service.name"), l.get("service_name"))
	ns := first(l.res("service.namespace"), l.res("k8s.namespace.name"), l.get("service_namespace"), l.get("k8s_namespace_name"))
	if name == "" {
		job := known(l.get("job"))
		if i := strings.LastIndexByte(job, '/'); i >= 0 {
			ns, job = first(ns, job[:i]), job[i+1:]
		}
		name = job
	}
	if name == "" {
		return call{}, false
	}
	dst, ok := graph.PeerOf(otelAttr(l, "peer.service"), first(otelAttr(l, "server.address"), otelAttr(l, "net.peer.name")), "", ns)
	if !ok {
		return call{}, false
	}
	c := call{
		src: graph.Party{Kind: graph.KindService, Cluster: known(l.res("k8s.cluster.name")), Namespace: ns, Name: name,
			Workload: first(l.res("k8s.deployment.name"), l.res("k8s.statefulset.name"), l.res("k8s.daemonset.name")),
			Version:  known(l.res("service.version"))},
		dst:   dst,
		proto: graph.ProtocolHTTP,
	}
	st := graph.Status{GRPCCode: -1}
	if sys := otelAttr(l, "rpc.system"); sys != "" {
		c.proto = graph.ProtocolUnknown
		if sys == "grpc" {
			c.proto = graph.ProtocolGRPC
		}
		if code, ok := ingest.Atoi(otelAttr(l, "rpc.grpc.status_code")); ok {
			st.GRPCCode = code
		}
	} else if code, ok := ingest.Atoi(first(otelAttr(l, "http.response.status_code"), otelAttr(l, "http.status_code"))); ok {
		st.HTTPCode, st.HTTPKnown = code, true
	}
	st.Protocol = c.proto
	// error.type is set on every failed call: a status the instrumentation
	// deems an error, or none at all (a timeout, a refused connection).
	c.err = graph.IsError(st) || otelAttr(l, "error.type") != ""
	return c, true
}

// otelAttr is a point attribute as OTLP names it (server.address), or as
// Prometheus does (server_address).
func otelAttr(l lbls, name string) string {
	if v := l.get(name); v != "" {
		return v
	}
	b := []byte(name)
	for i, c := range b {
		if c == '.' {
			b[i] = '_'
		}
	}
	return l.get(string(b))
}
