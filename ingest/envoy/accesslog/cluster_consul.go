package accesslog

import "strings"

// Consul names upstream clusters by their SNI, under the trust domain
// "<cluster id>.consul":
//
//	[subset.]service.namespace.datacenter.internal.<id>.consul            (default partition)
//	[subset.]service.namespace.partition.datacenter.internal-v1.<id>.consul
//	service.namespace.partition.peer.external.<id>.consul                 (cluster peering)
//	query.default.datacenter.query.<id>.consul                            (prepared query)
//
// The local application is "local_app"; exposed paths are
// "exposed_cluster_<port>"; transparent proxies send unknown destinations
// to "original-destination". Upstream IDs, used in listener and stats names,
// look like "db", "db?dc=dc2", "db?peer=cluster-02" and
// "prepared_query:geo-db"; the ones with a query part are decoded here.

// decodeConsul decodes Consul cluster names.
func decodeConsul(name string) (Cluster, bool) {
	c := Cluster{Name: name, Mesh: MeshConsul}
	switch name {
	case "local_app":
		c.Kind, c.Direction = KindService, DirectionInbound
		return c, true
	case "local_agent", "self_admin":
		c.Kind = KindInternal
		return c, true
	case "original-destination":
		c.Kind, c.Direction = KindPassthrough, DirectionOutbound
		return c, true
	}
	if p, ok := strings.CutPrefix(name, "exposed_cluster_"); ok {
		if port, ok := parsePort(p); ok {
			c.Kind, c.Direction, c.Port = KindService, DirectionInbound, port
			return c, true
		}
		return Cluster{}, false
	}
	if strings.HasSuffix(name, ".consul") {
		return decodeConsulSNI(c)
	}
	if strings.IndexByte(name, '?') >= 0 {
		return decodeConsulUpstreamID(c)
	}
	return Cluster{}, false
}

// decodeConsulSNI decodes the SNI forms, after the prefixes of
// transparent-proxy passthrough ("passthrough~") and failover targets
// ("failover-target~<n>~").
func decodeConsulSNI(c Cluster) (Cluster, bool) {
	sni := c.Name
	if rest, ok := strings.CutPrefix(sni, "passthrough~"); ok {
		sni = rest
	}
	if rest, ok := strings.CutPrefix(sni, "failover-target~"); ok {
		_, sni, _ = strings.Cut(rest, "~")
	}
	var labels [8]string
	n := 0
	for s := sni; ; {
		label, rest, more := strings.Cut(s, ".")
		if n == len(labels) || label == "" {
			return Cluster{}, false
		}
		labels[n] = label
		n++
		if !more {
			break
		}
		s = rest
	}
	// labels[n-1] is "consul", labels[n-2] the cluster id.
	if n < 4 {
		return Cluster{}, false
	}
	marker, l := labels[n-3], labels[:n-3]
	c.Kind, c.Direction, c.Host = KindService, DirectionOutbound, sni
	switch {
	case marker == "internal" && len(l) == 1: // a mesh gateway's route to a datacenter
		c.Datacenter = l[0]
	case marker == "internal" && (len(l) == 3 || len(l) == 4):
		if len(l) == 4 {
			c.Subset, l = l[0], l[1:]
		}
		c.Service, c.Namespace, c.Datacenter = l[0], l[1], l[2]
	case marker == "internal-v1" && (len(l) == 4 || len(l) == 5):
		if len(l) == 5 {
			c.Subset, l = l[0], l[1:]
		}
		c.Service, c.Namespace, c.Partition, c.Datacenter = l[0], l[1], l[2], l[3]
	case marker == "external" && len(l) == 4:
		c.Service, c.Namespace, c.Partition, c.Peer = l[0], l[1], l[2], l[3]
	case marker == "query" && len(l) == 3:
		c.Service, c.Namespace, c.Datacenter = l[0], l[1], l[2]
	default:
		return Cluster{}, false
	}
	return c, true
}

// decodeConsulUpstreamID decodes "[type:][partition/][namespace/]name?key=value[&...]"
// with keys dc, peer and partition or ns.
func decodeConsulUpstreamID(c Cluster) (Cluster, bool) {
	id, query, _ := strings.Cut(c.Name, "?")
	if _, rest, ok := strings.Cut(id, ":"); ok {
		id = rest // "prepared_query:geo-db"
	}
	svc := id
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		svc = id[i+1:]
		prefix := id[:i]
		if j := strings.IndexByte(prefix, '/'); j >= 0 {
			c.Partition, c.Namespace = prefix[:j], prefix[j+1:]
		} else {
			c.Namespace = prefix
		}
	}
	if svc == "" {
		return Cluster{}, false
	}
	known := false
	for query != "" {
		var kv string
		kv, query, _ = strings.Cut(query, "&")
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "dc":
			c.Datacenter, known = v, true
		case "peer":
			c.Peer, known = v, true
		case "partition":
			c.Partition, known = v, true
		case "ns":
			c.Namespace, known = v, true
		}
	}
	if !known {
		return Cluster{}, false
	}
	c.Kind, c.Direction, c.Service = KindService, DirectionOutbound, svc
	return c, true
}
