package accesslog

import "strings"

// Gloo names the cluster of an upstream "<upstream>_<upstream namespace>".
// Upstreams found by Kubernetes discovery are named
// "<service namespace>-<service>-<port>", so the petstore service of the
// default namespace is default-petstore-8080_gloo-system. With the
// Kubernetes Gateway integration the names carry the service explicitly:
//
//	kube-upstream:<upstream>_<upstream namespace>_<service namespace>_<service>_<port>
//	kube-svc:<service namespace>-<service>-<port>_<upstream namespace>_<service namespace>_<service>_<port>

// decodeGloo decodes Gloo cluster names.
func decodeGloo(name string) (Cluster, bool) {
	c := Cluster{Name: name, Mesh: MeshGloo, Kind: KindService, Direction: DirectionOutbound}
	rest, ok := strings.CutPrefix(name, "kube-upstream:")
	if !ok {
		rest, ok = strings.CutPrefix(name, "kube-svc:")
	}
	if ok {
		var parts [5]string
		for i := range parts {
			var more bool
			parts[i], rest, more = strings.Cut(rest, "_")
			if more != (i < 4) {
				return Cluster{}, false
			}
		}
		port, ok := parsePort(parts[4])
		if !ok || parts[2] == "" || parts[3] == "" {
			return Cluster{}, false
		}
		c.Host, c.Namespace, c.Service, c.Port = parts[0], parts[2], parts[3], port
		return c, true
	}
	upstream, usNamespace, ok := strings.Cut(name, "_")
	if !ok || !isDNSLabelish(upstream) || !isDNSLabelish(usNamespace) {
		return Cluster{}, false
	}
	dash := strings.LastIndexByte(upstream, '-')
	if dash <= 0 {
		return Cluster{}, false
	}
	port, ok := parsePort(upstream[dash+1:])
	if !ok {
		return Cluster{}, false
	}
	c.Host, c.Port = upstream, port
	// "<service namespace>-<service>": namespaces may hold '-' too, so
	// the upstream's own namespace is tried first, then the first '-'.
	svc := upstream[:dash]
	if n := len(usNamespace); len(svc) > n+1 && svc[n] == '-' && svc[:n] == usNamespace {
		c.Namespace, c.Service = usNamespace, svc[n+1:]
	} else if ns, s, ok := strings.Cut(svc, "-"); ok && ns != "" && s != "" {
		c.Namespace, c.Service = ns, s
	} else {
		c.Service = svc
	}
	return c, true
}
