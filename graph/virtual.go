package graph

import (
	"strings"

	"github.com/meshscope/meshscope/schema"
)

// Virtual nodes stand for the peers of spans that were not paired.
//
// An unpaired client or producer span calls:
//   - for an Envoy sidecar span, the service its upstream_cluster names
//     (Istio outbound|PORT|SUBSET|HOST, Consul NAME.NS.DC.internal...consul),
//     or an external node for PassthroughCluster and BlackHoleCluster;
//   - when db.system is set: the Kubernetes service that server.address
//     names (NAME.NS.svc..., or a name without dots in the caller's
//     namespace), the node the mesh's proxies show for the same
//     database, else a database node database:SYSTEM/NAME, NAME being
//     db.name (db.namespace), else peer.service, else server.address;
//   - a messaging node messaging:SYSTEM/DESTINATION when messaging.system is
//     set, DESTINATION being the destination, else peer.service, else
//     server.address;
//   - else the service named by peer.service (service:/NAME, its namespace
//     unknown), unless server.address is a Kubernetes service host
//     (NAME.NS.svc...), whose service is the node the mesh shows;
//   - else the host in server.address (net.peer.name) or the URL: a
//     Kubernetes service host (NAME.NS.svc...) becomes service:NS/NAME, a
//     name without dots the service of that name in the caller's
//     namespace, any other host external:HOST;
//   - else external:unknown.
//
// What a span is (a database or messaging call) decides the node's kind
// before peer.service names it, so that a database call tagged with a
// peer.service still shows as a database. An unpaired root server span is
// called by client:/; an unpaired consumer by its messaging node when it has
// one, else by client:/.

// virtualTarget is the node an unpaired client or producer span called.
func virtualTarget(s *schema.SpanRow, si *spanInfo) Party {
	if si.proxy && si.cluster != "" {
		if p, ok := partyOfCluster(si.cluster, si.urlHost); ok {
			return p
		}
	}
	if s.DBSystem != "" {
		if p := partyOfHostIn(si.serverAddress, s.ServiceNamespace); p.Kind == KindService {
			return p // the mesh's node for the same database
		}
		return Party{Kind: KindDatabase, Name: s.DBSystem + "/" + firstOf(s.DBName, si.peerService, si.serverAddress, "unknown")}
	}
	if s.MessagingSystem != "" {
		return Party{Kind: KindMessaging, Name: s.MessagingSystem + "/" + firstOf(s.MessagingDestination, si.peerService, si.serverAddress, "unknown")}
	}
	if p, ok := PeerOf(si.peerService, si.serverAddress, si.urlHost, s.ServiceNamespace); ok {
		return p
	}
	if si.proxy && si.cluster != "" {
		return Party{Kind: KindService, Name: si.cluster}
	}
	return Party{Kind: KindExternal, Name: "unknown"}
}

// PeerOf is the node a client call made from namespace ns names by its
// peer.service, server.address (net.peer.name) or URL host, as an
// unpaired client span's (the last rules above): the service peer.service
// names, unless server.address is a Kubernetes service host, whose service
// is the node the mesh shows; else the host's node. It returns false when
// the call names no peer. Inputs that describe client calls without their
// server's side (an OpenTelemetry SDK's client metrics) name the callee the
// same way, so that their edges meet the spans'.
func PeerOf(peerService, serverAddress, urlHost, ns string) (Party, bool) {
	if peerService != "" {
		if p := partyOfHost(serverAddress); p.Kind == KindService {
			return p, true // a Kubernetes service host names the mesh's node, namespace included
		}
		return Party{Kind: KindService, Name: peerService}, true
	}
	if h := firstOf(stripPort(serverAddress), urlHost); h != "" {
		return partyOfHostIn(h, ns), true
	}
	return Party{}, false
}

// virtualSource is the node that called an unpaired root server span or an
// unpaired consumer span.
func virtualSource(s *schema.SpanRow) Party {
	if s.Kind == schema.SpanKindConsumer && s.MessagingSystem != "" {
		return Party{Kind: KindMessaging, Name: s.MessagingSystem + "/" + firstOf(s.MessagingDestination, "unknown")}
	}
	return Party{Kind: KindClient}
}

// partyOfCluster decodes an Envoy upstream cluster name.
func partyOfCluster(cluster, urlHost string) (Party, bool) {
	switch cluster {
	case "PassthroughCluster":
		return Party{Kind: KindExternal, Name: firstOf(urlHost, cluster)}, true
	case "BlackHoleCluster":
		return Party{Kind: KindExternal, Name: cluster}, true
	}
	if dir, rest, ok := strings.Cut(cluster, "|"); ok {
		// Istio: outbound|9080|v1|reviews.default.svc.cluster.local
		parts := strings.Split(rest, "|")
		if dir != "outbound" || len(parts) != 3 || parts[2] == "" {
			return Party{}, false
		}
		p := partyOfHost(parts[2])
		if p.Kind == KindService {
			p.Version = parts[1]
		}
		return p, true
	}
	if strings.HasSuffix(cluster, ".consul") {
		// Consul: NAME.NAMESPACE.DC.internal.TRUST-DOMAIN.consul
		labels := strings.Split(cluster, ".")
		if len(labels) >= 5 && labels[3] == "internal" {
			return Party{Kind: KindService, Namespace: labels[1], Name: labels[0]}, true
		}
	}
	return Party{}, false
}

// partyOfHost maps a host to a Kubernetes service (NAME.NAMESPACE.svc...)
// or an external node.
func partyOfHost(host string) Party {
	host = stripPort(host)
	// NAME.NAMESPACE.svc[.cluster.local], read without splitting (this is
	// on the path of every client span that waits for its server).
	name, rest, _ := strings.Cut(host, ".")
	ns, rest, _ := strings.Cut(rest, ".")
	if third, _, _ := strings.Cut(rest, "."); third == "svc" && name != "" && ns != "" {
		return Party{Kind: KindService, Namespace: ns, Name: name}
	}
	return Party{Kind: KindExternal, Name: host}
}

// partyOfHostIn is partyOfHost for a host a caller in namespace ns
// reached: a name without dots (cart, cart:8080) is, as Kubernetes DNS
// resolves it, the service of that name in the caller's namespace;
// localhost and IPv6 addresses stay external.
func partyOfHostIn(host, ns string) Party {
	h := stripPort(host)
	if ns != "" && h != "" && h != "localhost" && !strings.ContainsAny(h, ".:[") {
		return Party{Kind: KindService, Namespace: ns, Name: h}
	}
	return partyOfHost(host)
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
