package graph

import (
	"fmt"
	"strings"
)

// Node ids, as docs/api.md spells them:
//
//	service:NAMESPACE/NAME          workload:NAMESPACE/WORKLOAD
//	version:NAMESPACE/NAME/VERSION  external:HOST
//	database:SYSTEM/NAME            messaging:SYSTEM/DESTINATION
//	client:NAMESPACE/NAME           (client:/ for unknown callers)
//
// A party of the mesh (kind service, workload, version or empty) becomes the
// node of the granularity asked for when it is known that precisely, and
// falls back to the next coarser one otherwise: a version node needs a name
// and a version, a workload node a workload; without them the party is drawn
// as its service (or its workload, for the version granularity). A service
// without a name but with a workload is named after the workload. Virtual
// parties (external, database, messaging, client) are the same node at every
// granularity.

// IsMesh reports whether the party is a workload of the mesh (as opposed to
// a virtual node: external, database, messaging, client).
func (p Party) IsMesh() bool {
	switch p.Kind {
	case "", KindService, KindWorkload, KindVersion:
		return true
	}
	return false
}

// NodeKind is the kind of the party's node at granularity g.
func (p Party) NodeKind(g Granularity) NodeKind {
	if !p.IsMesh() {
		return p.Kind
	}
	switch g {
	case GranularityVersion:
		if p.Version != "" && p.Name != "" {
			return KindVersion
		}
		fallthrough
	case GranularityWorkload:
		if p.Workload != "" {
			return KindWorkload
		}
	}
	return KindService
}

// NodeID is the id of the party's node at granularity g.
func (p Party) NodeID(g Granularity) string {
	if !p.IsMesh() {
		if p.Kind == KindClient {
			return "client:" + p.Namespace + "/" + p.Name
		}
		return string(p.Kind) + ":" + p.Name
	}
	switch p.NodeKind(g) {
	case KindVersion:
		return "version:" + p.Namespace + "/" + p.Name + "/" + p.Version
	case KindWorkload:
		return "workload:" + p.Namespace + "/" + p.Workload
	}
	return "service:" + p.Namespace + "/" + p.serviceName()
}

func (p Party) serviceName() string {
	if p.Name == "" {
		return p.Workload
	}
	return p.Name
}

// AtGranularity is the party reduced to what its node at g shows: a service
// node forgets workload and version, a workload node the version. The cluster
// is kept.
func (p Party) AtGranularity(g Granularity) Party {
	if !p.IsMesh() {
		return p
	}
	k := p.NodeKind(g)
	out := Party{Kind: k, Cluster: p.Cluster, Namespace: p.Namespace}
	switch k {
	case KindVersion:
		out.Name, out.Version = p.Name, p.Version
	case KindWorkload:
		out.Name, out.Workload = p.Name, p.Workload
	default:
		out.Name = p.serviceName()
	}
	return out
}

// ParseNodeID is the inverse of NodeID: it returns the party a node id names
// (Kind is the node's kind; fields the id does not carry are empty).
func ParseNodeID(id string) (Party, error) {
	kind, rest, ok := strings.Cut(id, ":")
	if !ok {
		return Party{}, fmt.Errorf("node id %q: want KIND:...", id)
	}
	p := Party{Kind: NodeKind(kind)}
	switch p.Kind {
	case KindService, KindClient:
		ns, name, ok := strings.Cut(rest, "/")
		if !ok {
			return Party{}, fmt.Errorf("node id %q: want %s:NAMESPACE/NAME", id, kind)
		}
		p.Namespace, p.Name = ns, name
	case KindWorkload:
		ns, wl, ok := strings.Cut(rest, "/")
		if !ok || wl == "" {
			return Party{}, fmt.Errorf("node id %q: want workload:NAMESPACE/WORKLOAD", id)
		}
		p.Namespace, p.Workload = ns, wl
	case KindVersion:
		ns, nv, ok := strings.Cut(rest, "/")
		i := strings.LastIndexByte(nv, '/')
		if !ok || i <= 0 || i == len(nv)-1 {
			return Party{}, fmt.Errorf("node id %q: want version:NAMESPACE/NAME/VERSION", id)
		}
		p.Namespace, p.Name, p.Version = ns, nv[:i], nv[i+1:]
	case KindExternal:
		if rest == "" {
			return Party{}, fmt.Errorf("node id %q: want external:HOST", id)
		}
		p.Name = rest
	case KindDatabase, KindMessaging:
		if !strings.Contains(rest, "/") {
			return Party{}, fmt.Errorf("node id %q: want %s:SYSTEM/NAME", id, kind)
		}
		p.Name = rest
	default:
		return Party{}, fmt.Errorf("node id %q: unknown kind %q", id, kind)
	}
	return p, nil
}

// Granularity is the granularity a node id belongs to: version and workload
// ids only appear at theirs; every other id appears at the service
// granularity (and, as a fallback, at finer ones).
func (p Party) Granularity() Granularity {
	switch p.Kind {
	case KindVersion:
		return GranularityVersion
	case KindWorkload:
		return GranularityWorkload
	}
	return GranularityService
}

// EdgeID is the id of the edge from node src to node dst.
func EdgeID(src, dst string) string { return src + "->" + dst }

// ParseEdgeID splits an edge id into its node ids.
func ParseEdgeID(id string) (src, dst string, err error) {
	// Node names do not contain "->" followed by a kind, so the first such
	// separator is the one.
	for from := 0; ; {
		i := strings.Index(id[from:], "->")
		if i < 0 {
			return "", "", fmt.Errorf("edge id %q: want SOURCE->TARGET", id)
		}
		i += from
		if _, err := ParseNodeID(id[i+2:]); err == nil {
			if _, err := ParseNodeID(id[:i]); err == nil {
				return id[:i], id[i+2:], nil
			}
		}
		from = i + 2
	}
}
