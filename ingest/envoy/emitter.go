package envoy

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
)

// Emitter is the proxy that wrote entries: a sidecar, a gateway or a plain
// Envoy. Build one with NewEmitter, ParseEmitter or NodeEmitter and share it
// between the entries of that proxy; it is immutable once built, and its
// strings must not alias buffers the caller reuses. An Emitter not built by
// one of those counts as unknown.
type Emitter struct {
	// Namespace is the proxy's Kubernetes namespace (or Consul namespace).
	Namespace string
	// Workload is the workload the proxy belongs to, such as "reviews-v2".
	Workload string
	// App and Version are the canonical service and revision; derived
	// from Workload when empty (see accesslog.SplitWorkload).
	App, Version string
	// Cluster is the mesh cluster (Istio CLUSTER_ID) when known.
	Cluster string
	// Pod is the pod (or Envoy node id) name when known.
	Pod string
	// IPs are the proxy's own addresses (Istio INSTANCE_IPS).
	IPs []string
	// Gateway marks an ingress or egress gateway (Istio node type
	// "router"): every entry it writes has it as the caller.
	Gateway bool

	name   string
	party  graph.Party
	nodeID string
	st     *emitterState
}

// emitterState is what a resolver remembers of having learned an
// emitter's addresses.
type emitterState struct {
	learned atomic.Int64           // when IPs were last taught
	selfIP  atomic.Pointer[string] // the address last confirmed from an entry
	selfAt  atomic.Int64           // and when
}

// confirmed reports whether ip was confirmed as the emitter's own address
// since after; if not, it remembers it as confirmed at now.
func (e *Emitter) confirmed(ip string, after, now int64) bool {
	if e.st == nil {
		return true
	}
	if p := e.st.selfIP.Load(); p != nil && *p == ip && e.st.selfAt.Load() > after {
		return true
	}
	c := strings.Clone(ip)
	e.st.selfIP.Store(&c)
	e.st.selfAt.Store(now)
	return false
}

// NewEmitter completes e: the workload from the pod name when missing, app
// and version from the workload when missing.
func NewEmitter(e Emitter) *Emitter {
	if e.Workload == "" && e.Pod != "" {
		e.Workload = accesslog.PodWorkload(e.Pod)
	}
	app, ver := accesslog.SplitWorkload(e.Workload)
	if e.App == "" {
		e.App = app
	}
	if e.Version == "" {
		e.Version = ver
	}
	out := &Emitter{
		Namespace: e.Namespace, Workload: e.Workload, App: e.App, Version: e.Version,
		Cluster: e.Cluster, Pod: e.Pod, IPs: e.IPs, Gateway: e.Gateway,
	}
	out.st = new(emitterState)
	out.name = e.Namespace + "/" + e.Workload
	out.party = graph.Party{Kind: graph.KindService, Cluster: e.Cluster, Namespace: e.Namespace,
		Name: e.App, Workload: e.Workload, Version: e.Version}
	if e.Workload == "" && e.App == "" {
		out.party = graph.Party{Kind: graph.KindClient}
	}
	out.nodeID = out.party.NodeID(graph.GranularityService)
	return out
}

// ParseEmitter reads "NAMESPACE/WORKLOAD" (a user naming the proxy whose
// lines are imported). "reviews-v2" alone is a workload without namespace.
func ParseEmitter(s string) (*Emitter, error) {
	ns, wl, ok := strings.Cut(s, "/")
	if !ok {
		ns, wl = "", s
	}
	if wl == "" || strings.Contains(wl, "/") || !isName(ns, true) || !isName(wl, false) {
		return nil, fmt.Errorf("emitter %q: want NAMESPACE/WORKLOAD such as default/reviews-v2", s)
	}
	return NewEmitter(Emitter{Namespace: ns, Workload: wl}), nil
}

// isName reports whether s is a plausible Kubernetes name: letters,
// digits, '-', '.' and '_', at most 253 bytes.
func isName(s string, emptyOK bool) bool {
	if s == "" {
		return emptyOK
	}
	if len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// Name is "NAMESPACE/WORKLOAD", the requests.emitter column.
func (e *Emitter) Name() string { return e.name }

// Party is the emitter as a party of calls.
func (e *Emitter) Party() graph.Party { return e.party }

// unknownEmitter stands for entries whose proxy nobody named.
var unknownEmitter = func() *Emitter {
	e := NewEmitter(Emitter{})
	e.name = ""
	return e
}()

// known reports whether the emitter names a workload (and was built by
// NewEmitter).
func (e *Emitter) known() bool { return e.party.Kind == graph.KindService }

// NodeInfo is what an Envoy node identity tells about its proxy: the node
// id and cluster, and Istio's node metadata.
type NodeInfo struct {
	// ID is the node id: Istio's "TYPE~IP~POD.NAMESPACE~DOMAIN" (type
	// sidecar or router), or any id of plain Envoy.
	ID string
	// Cluster is the node's service cluster.
	Cluster string
	// Namespace, WorkloadName, InstanceIPs (comma separated), ClusterID
	// and PodName are Istio's NAMESPACE, WORKLOAD_NAME, INSTANCE_IPS,
	// CLUSTER_ID and NAME metadata.
	Namespace, WorkloadName, InstanceIPs, ClusterID, PodName string
	// Labels are Istio's LABELS metadata (app, version,
	// service.istio.io/canonical-name, service.istio.io/canonical-revision,
	// app.kubernetes.io/name, app.kubernetes.io/version).
	Labels map[string]string
}

// NodeEmitter builds the emitter of an Envoy node. The strings of n are
// cloned.
func NodeEmitter(n NodeInfo) *Emitter {
	e := Emitter{
		Namespace: n.Namespace, Workload: n.WorkloadName, Cluster: n.ClusterID, Pod: n.PodName,
	}
	if typ, ip, pod, ns, ok := splitNodeID(n.ID); ok {
		e.Gateway = typ == "router"
		if e.Namespace == "" {
			e.Namespace = ns
		}
		if e.Pod == "" {
			e.Pod = pod
		}
		if ip != "" {
			e.IPs = append(e.IPs, ip)
		}
	} else if e.Workload == "" {
		// Plain Envoy: the service cluster names the proxy's service.
		e.Workload = firstOf(n.Cluster, n.ID)
		if e.Pod == "" && n.ID != e.Workload {
			e.Pod = n.ID
		}
	}
	for ip := range strings.SplitSeq(n.InstanceIPs, ",") {
		if ip = strings.TrimSpace(ip); ip != "" && !containsString(e.IPs, ip) {
			e.IPs = append(e.IPs, ip)
		}
	}
	if l := n.Labels; l != nil {
		e.App = firstOf(l["service.istio.io/canonical-name"], l["app.kubernetes.io/name"], l["app"])
		e.Version = firstOf(l["service.istio.io/canonical-revision"], l["app.kubernetes.io/version"], l["version"])
	}
	e.Namespace, e.Workload, e.Cluster, e.Pod = strings.Clone(e.Namespace), strings.Clone(e.Workload),
		strings.Clone(e.Cluster), strings.Clone(e.Pod)
	e.App, e.Version = strings.Clone(e.App), strings.Clone(e.Version)
	for i := range e.IPs {
		e.IPs[i] = strings.Clone(e.IPs[i])
	}
	return NewEmitter(e)
}

// splitNodeID splits Istio's node id "TYPE~IP~POD.NAMESPACE~DOMAIN".
func splitNodeID(id string) (typ, ip, pod, ns string, ok bool) {
	typ, rest, ok1 := strings.Cut(id, "~")
	ip, rest, ok2 := strings.Cut(rest, "~")
	podNS, _, ok3 := strings.Cut(rest, "~")
	if !ok1 || !ok2 || !ok3 || typ == "" {
		return "", "", "", "", false
	}
	if i := strings.LastIndexByte(podNS, '.'); i > 0 {
		pod, ns = podNS[:i], podNS[i+1:]
	} else {
		pod = podNS
	}
	return typ, ip, pod, ns, true
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// firstOf returns the first non-empty string.
func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
