package meshmetrics

import "github.com/meshscope/meshscope/graph"

// serviceGraphCall reads the call of a service graph series: the metrics
// that the OpenTelemetry Collector's servicegraph connector and Tempo's
// metrics-generator derive from pairs of spans, by remote_write or OTLP.
// client and server name the two services (their namespaces come from the
// k8s.namespace.name or service.namespace dimensions, when configured);
// connection_type says what the server is: a database (db), a messaging
// system (messaging), or a virtual node, where the client "user" is a root
// span's unknown caller. The pairs are the connector's, so the reporter is
// unknown and the protocol too, but for databases and messaging.
func serviceGraphCall(l lbls) (call, bool) {
	client, server := known(l.get("client")), known(l.get("server"))
	c := call{
		src: graph.Party{Kind: graph.KindService, Namespace: serviceGraphNamespace(l, "client"), Name: client},
		dst: graph.Party{Kind: graph.KindService, Namespace: serviceGraphNamespace(l, "server"), Name: server},
	}
	switch l.get("connection_type") {
	case "virtual_node":
		if client == "" || client == "user" {
			c.src = graph.Party{Kind: graph.KindClient}
		}
	case "database":
		c.proto = graph.ProtocolDB
		if sys := first(l.get("server_db_system"), l.get("server_db.system")); sys != "" && server != "" {
			c.dst = graph.Party{Kind: graph.KindDatabase, Name: sys + "/" + server}
		}
	case "messaging_system":
		c.proto = graph.ProtocolMessaging
	}
	if server == "" || c.src.Kind == graph.KindService && client == "" {
		return call{}, false
	}
	return c, true
}

// serviceGraphNamespace is the namespace of one side (client or server) of
// a service graph series, from the dimensions that carry it, as Prometheus
// and OTLP spell them.
func serviceGraphNamespace(l lbls, side string) string {
	for _, dim := range [...]string{"k8s_namespace_name", "k8s.namespace.name", "service_namespace", "service.namespace"} {
		if ns := known(l.get(side + "_" + dim)); ns != "" {
			return ns
		}
	}
	return ""
}
