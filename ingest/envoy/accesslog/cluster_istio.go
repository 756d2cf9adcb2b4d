package accesslog

import "strings"

// Istio names clusters "direction|port|subset|host":
//
//	outbound|9080|v1|reviews.default.svc.cluster.local
//	outbound|443||edition.cnn.com
//	inbound|9080||                                      (1.10 and later)
//	inbound|9080|http|reviews.default.svc.cluster.local (before 1.10)
//	inbound-vip|9080|http|reviews.default.svc.cluster.local (waypoint)
//
// and its mTLS SNI "outbound_.9080_.v1_.reviews.default.svc.cluster.local",
// with "_" for no subset. Besides those: PassthroughCluster,
// BlackHoleCluster, InboundPassthroughCluster and the proxy's own clusters.

// decodeIstio decodes Istio cluster names and SNIs.
func decodeIstio(name string) (Cluster, bool) {
	c := Cluster{Name: name, Mesh: MeshIstio}
	switch name {
	case "PassthroughCluster":
		c.Kind, c.Direction = KindPassthrough, DirectionOutbound
		return c, true
	case "BlackHoleCluster":
		c.Kind, c.Direction = KindBlackHole, DirectionOutbound
		return c, true
	case "InboundPassthroughCluster", "InboundPassthroughClusterIpv4", "InboundPassthroughClusterIpv6":
		c.Kind, c.Direction = KindInboundPassthrough, DirectionInbound
		return c, true
	case "xds-grpc", "sds-grpc", "agent", "prometheus_stats", "zipkin", "envoy_accesslog_service",
		"connect_originate", "main_internal", "encap":
		c.Kind = KindInternal
		return c, true
	}
	if strings.IndexByte(name, '|') >= 0 {
		return decodeIstioName(c)
	}
	if strings.HasPrefix(name, "outbound_.") || strings.HasPrefix(name, "inbound_.") {
		return decodeIstioSNI(c)
	}
	return Cluster{}, false
}

// decodeIstioName decodes "direction|port|subset|host".
func decodeIstioName(c Cluster) (Cluster, bool) {
	dir, rest, _ := strings.Cut(c.Name, "|")
	waypoint := false
	switch dir {
	case "outbound":
		c.Direction = DirectionOutbound
	case "inbound":
		c.Direction = DirectionInbound
	case "inbound-vip":
		c.Direction, waypoint = DirectionInbound, true
	default:
		return Cluster{}, false
	}
	c.Kind = KindService
	port, rest, _ := strings.Cut(rest, "|")
	if p, ok := parsePort(port); ok {
		c.Port = p
		c.Subset, c.Host, _ = strings.Cut(rest, "|")
	} else {
		// "inbound-vip|http|host": no port.
		c.Subset, c.Host = port, rest
	}
	if waypoint {
		c.Protocol, c.Subset, _ = strings.Cut(c.Subset, "/")
	}
	c.Service, c.Namespace = serviceOfHost(c.Host)
	return c, true
}

// decodeIstioSNI decodes "outbound_.9080_.v1_.reviews.default.svc.cluster.local".
func decodeIstioSNI(c Cluster) (Cluster, bool) {
	dir, rest, _ := strings.Cut(c.Name, "_.")
	port, rest, ok1 := strings.Cut(rest, "_.")
	subset, host, ok2 := strings.Cut(rest, "_.")
	p, ok3 := parsePort(port)
	if !ok1 || !ok2 || !ok3 {
		return Cluster{}, false
	}
	c.Kind, c.Port, c.Host = KindService, p, host
	if dir == "outbound" {
		c.Direction = DirectionOutbound
	} else {
		c.Direction = DirectionInbound
	}
	if subset != "_" {
		c.Subset = subset
	}
	c.Service, c.Namespace = serviceOfHost(host)
	return c, true
}

// serviceOfHost derives service and namespace from a Kubernetes service
// host, <service>.<namespace>.svc[.<domain>] (or <service>.<namespace>.global
// of Istio's old multicluster DNS). Other hosts are their own service name,
// without a namespace, as Istio's destination_service_name has it.
func serviceOfHost(host string) (service, namespace string) {
	if host == "" {
		return "", ""
	}
	svc, rest, ok := strings.Cut(host, ".")
	if !ok {
		return host, ""
	}
	ns, rest, _ := strings.Cut(rest, ".")
	third, _, _ := strings.Cut(rest, ".")
	if svc != "" && ns != "" && (third == "svc" || rest == "global") {
		return svc, ns
	}
	return host, ""
}
