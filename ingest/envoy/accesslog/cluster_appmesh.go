package accesslog

import "strings"

// AWS App Mesh names clusters
//
//	cds_egress_<mesh>_<virtual node>_<protocol>_<port>   (a backend)
//	cds_ingress_<mesh>_<virtual node>_<protocol>_<port>  (the local application)
//
// such as cds_egress_prod_virtual-node-a_http_3000. The App Mesh controller
// for Kubernetes names virtual nodes "<name>_<namespace>", as in
// cds_egress_howto-k8s-connection-pools_green_howto-k8s-connection-pools_http_8080.

// decodeAppMesh decodes App Mesh cluster names.
func decodeAppMesh(name string) (Cluster, bool) {
	c := Cluster{Name: name, Mesh: MeshAppMesh, Kind: KindService}
	rest, ok := strings.CutPrefix(name, "cds_egress_")
	if ok {
		c.Direction = DirectionOutbound
	} else if rest, ok = strings.CutPrefix(name, "cds_ingress_"); ok {
		c.Direction = DirectionInbound
	} else {
		return Cluster{}, false
	}
	i := strings.LastIndexByte(rest, '_')
	if i < 0 {
		return Cluster{}, false
	}
	port, ok := parsePort(rest[i+1:])
	if !ok {
		return Cluster{}, false
	}
	rest = rest[:i]
	i = strings.LastIndexByte(rest, '_')
	if i < 0 {
		return Cluster{}, false
	}
	switch proto := rest[i+1:]; proto {
	case "http", "http2", "grpc", "tcp":
		c.Protocol = proto
	default:
		return Cluster{}, false
	}
	mesh, node, ok := strings.Cut(rest[:i], "_")
	if !ok || mesh == "" || node == "" {
		return Cluster{}, false
	}
	c.MeshName, c.Host, c.Port = mesh, node, port
	c.Service = node
	if j := strings.LastIndexByte(node, '_'); j > 0 && j < len(node)-1 {
		c.Service, c.Namespace = node[:j], node[j+1:]
	}
	return c, true
}
