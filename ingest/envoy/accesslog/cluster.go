package accesslog

import (
	"strings"

	"github.com/meshscope/meshscope/ingest"
)

// Direction is the direction of traffic through a sidecar, as a cluster
// name tells it.
type Direction uint8

const (
	// DirectionUnknown: the name does not say.
	DirectionUnknown Direction = iota
	// DirectionOutbound: from the local application to another service.
	DirectionOutbound
	// DirectionInbound: from another service to the local application.
	DirectionInbound
)

// String returns "outbound", "inbound" or "unknown".
func (d Direction) String() string {
	switch d {
	case DirectionOutbound:
		return "outbound"
	case DirectionInbound:
		return "inbound"
	}
	return "unknown"
}

// Mesh is the control plane whose naming scheme a cluster name follows.
type Mesh uint8

const (
	// MeshUnknown: no name, or none to go by.
	MeshUnknown Mesh = iota
	// MeshIstio: Istio ("outbound|9080|v1|reviews.default.svc.cluster.local").
	MeshIstio
	// MeshConsul: Consul service mesh ("db.default.dc1.internal.<id>.consul").
	MeshConsul
	// MeshAppMesh: AWS App Mesh ("cds_egress_<mesh>_<node>_http_8080").
	MeshAppMesh
	// MeshGloo: Gloo ("default-petstore-8080_gloo-system").
	MeshGloo
	// MeshEnvoy: a name of plain Envoy configuration, taken as the service.
	MeshEnvoy
)

// String returns "istio", "consul", "appmesh", "gloo", "envoy" or
// "unknown".
func (m Mesh) String() string {
	switch m {
	case MeshIstio:
		return "istio"
	case MeshConsul:
		return "consul"
	case MeshAppMesh:
		return "appmesh"
	case MeshGloo:
		return "gloo"
	case MeshEnvoy:
		return "envoy"
	}
	return "unknown"
}

// ClusterKind says what a cluster stands for.
type ClusterKind uint8

const (
	// KindNone: no cluster ("" or "-"), such as a request without a route.
	KindNone ClusterKind = iota
	// KindService: a service of the mesh, or the local application.
	KindService
	// KindPassthrough: outbound traffic to a destination unknown to the
	// mesh, sent on as addressed (Istio PassthroughCluster, Consul
	// original-destination).
	KindPassthrough
	// KindBlackHole: outbound traffic to an unknown destination, dropped
	// (Istio BlackHoleCluster).
	KindBlackHole
	// KindInboundPassthrough: inbound traffic to a port the mesh does not
	// know (Istio InboundPassthroughCluster).
	KindInboundPassthrough
	// KindInternal: the proxy's own infrastructure, such as xds-grpc or
	// Consul's local_agent.
	KindInternal
)

// String returns the kind's name.
func (k ClusterKind) String() string {
	switch k {
	case KindService:
		return "service"
	case KindPassthrough:
		return "passthrough"
	case KindBlackHole:
		return "blackhole"
	case KindInboundPassthrough:
		return "inbound-passthrough"
	case KindInternal:
		return "internal"
	}
	return "none"
}

// Cluster is what an upstream cluster name tells. Its strings are
// substrings of the decoded name.
type Cluster struct {
	// Name is the decoded name, without a trailing ';'.
	Name string
	// Mesh is the naming scheme the name follows.
	Mesh Mesh
	// Kind says what the cluster stands for.
	Kind ClusterKind
	// Direction is outbound or inbound when the name says.
	Direction Direction
	// Port is the service or listener port; 0 when the name has none.
	Port int
	// Subset is the Istio subset or the Consul service subset.
	Subset string
	// Protocol is the listener protocol of App Mesh names and Istio
	// waypoint (inbound-vip) names, such as "http".
	Protocol string
	// Host is the destination host: the FQDN of Istio names, the SNI of
	// Consul names, the virtual node of App Mesh names, the upstream of
	// Gloo names.
	Host string
	// Service is the service name: "reviews" for
	// reviews.default.svc.cluster.local, the host itself for hosts that
	// are not Kubernetes services (as Istio's destination_service_name),
	// the name itself for plain Envoy names; "" when the cluster is the
	// local application and the name does not say which.
	Service string
	// Namespace is the service's namespace when the name tells it.
	Namespace string
	// Partition is the Consul admin partition when the name tells it.
	Partition string
	// Datacenter is the Consul datacenter when the name tells it.
	Datacenter string
	// Peer is the Consul cluster peer when the name tells it.
	Peer string
	// MeshName is the App Mesh mesh name.
	MeshName string
}

// DecodeCluster decodes an upstream cluster name (Entry.UpstreamCluster,
// Istio's upstream_cluster, an Envoy stats cluster name) according to the
// naming schemes of Istio, Consul, AWS App Mesh and Gloo; any other name is
// a plain Envoy cluster named after its service. It does not allocate.
func DecodeCluster(name string) Cluster {
	name = strings.TrimSuffix(name, ";")
	if name == "" || name == "-" {
		return Cluster{Name: name}
	}
	if c, ok := decodeIstio(name); ok {
		return c
	}
	if c, ok := decodeAppMesh(name); ok {
		return c
	}
	if c, ok := decodeConsul(name); ok {
		return c
	}
	if c, ok := decodeGloo(name); ok {
		return c
	}
	return Cluster{Name: name, Mesh: MeshEnvoy, Kind: KindService, Service: name}
}

// parsePort parses a TCP port number.
func parsePort(s string) (int, bool) {
	n, ok := ingest.Atoi(s)
	return n, ok && len(s) <= 5 && n <= 65535
}

// isDNSLabelish reports whether s is non-empty and made of the characters
// of Kubernetes object names: lowercase letters, digits, '-' and '.'.
func isDNSLabelish(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
