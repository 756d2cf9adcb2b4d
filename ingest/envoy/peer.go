package envoy

import (
	"encoding/json"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
)

// Istio's peer metadata: the filter state "downstream_peer" and
// "upstream_peer" that its peer metadata filter sets and its access log
// providers (envoyHttpAls, envoyTcpAls, envoyOtelAls) log. Encodings seen:
//
//   - ALS: a google.protobuf.Any holding a google.protobuf.Struct with the
//     fields of Istio's WorkloadMetadataObject: workload, namespace,
//     cluster, service (canonical name), revision (canonical revision),
//     app, version, name (pod), type, labels; older proxies log the node
//     metadata form instead: WORKLOAD_NAME, NAMESPACE, CLUSTER_ID, NAME,
//     LABELS (app, version, service.istio.io/canonical-name,
//     service.istio.io/canonical-revision);
//   - OpenTelemetry access logs: the same Struct as a JSON string, possibly
//     wrapped as an Any ({"@type": "...Struct", "value": {...}});
//   - a string of "key=value" pairs joined by ',' (the object's string
//     form).
//
// All of them are read here into a graph.Party.

// peerFields gathers the fields of one peer, whatever their encoding.
type peerFields struct {
	workload, namespace, cluster, service, revision, app, version, pod string
	lblCanonical, lblRevision, lblApp, lblVersion                      string
}

func (f *peerFields) set(key, value string) {
	switch key {
	case "workload", "WORKLOAD_NAME":
		f.workload = value
	case "namespace", "NAMESPACE":
		f.namespace = value
	case "cluster", "CLUSTER_ID":
		f.cluster = value
	case "service":
		f.service = value
	case "revision":
		f.revision = value
	case "app":
		f.app = value
	case "version":
		f.version = value
	case "name", "NAME":
		f.pod = value
	default:
		if label, ok := strings.CutPrefix(key, "labels[]"); ok {
			f.label(label, value)
		}
	}
}

func (f *peerFields) label(key, value string) {
	switch key {
	case "service.istio.io/canonical-name":
		f.lblCanonical = value
	case "service.istio.io/canonical-revision":
		f.lblRevision = value
	case "app", "app.kubernetes.io/name":
		if f.lblApp == "" || key == "app" {
			f.lblApp = value
		}
	case "version", "app.kubernetes.io/version":
		if f.lblVersion == "" || key == "version" {
			f.lblVersion = value
		}
	}
}

func (f *peerFields) party() (graph.Party, bool) {
	wl := f.workload
	if wl == "" && f.pod != "" {
		wl = accesslog.PodWorkload(f.pod)
	}
	if wl == "" && f.service == "" && f.app == "" && f.lblCanonical == "" && f.lblApp == "" {
		return graph.Party{}, false
	}
	app, ver := accesslog.SplitWorkload(wl)
	return graph.Party{
		Kind:      graph.KindService,
		Cluster:   f.cluster,
		Namespace: f.namespace,
		Name:      firstOf(f.service, f.lblCanonical, f.app, f.lblApp, app),
		Workload:  wl,
		Version:   firstOf(f.revision, f.lblRevision, f.version, f.lblVersion, ver),
	}, true
}

// PeerFromStruct reads peer metadata from a Struct.
func PeerFromStruct(s *structpb.Struct) (graph.Party, bool) {
	var f peerFields
	for k, v := range s.GetFields() {
		switch k {
		case "labels", "LABELS":
			for lk, lv := range v.GetStructValue().GetFields() {
				f.label(lk, lv.GetStringValue())
			}
		default:
			f.set(k, v.GetStringValue())
		}
	}
	return f.party()
}

// PeerFromString reads peer metadata from its JSON form (plain or wrapped
// as an Any) or its "key=value,..." form.
func PeerFromString(s string) (graph.Party, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return graph.Party{}, false
	}
	if s[0] == '{' {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			return graph.Party{}, false
		}
		if v, ok := m["value"].(map[string]any); ok {
			if _, typed := m["@type"]; typed {
				m = v
			}
		}
		var f peerFields
		for k, v := range m {
			switch x := v.(type) {
			case string:
				f.set(k, x)
			case map[string]any:
				if k == "labels" || k == "LABELS" {
					for lk, lv := range x {
						if ls, ok := lv.(string); ok {
							f.label(lk, ls)
						}
					}
				}
			}
		}
		return f.party()
	}
	var f peerFields
	for kv := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			f.set(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	return f.party()
}

// PeerFromAny reads peer metadata logged by ALS: an Any holding a Struct,
// a Value, or a string or bytes wrapper with the JSON or pairs form.
func PeerFromAny(a *anypb.Any) (graph.Party, bool) {
	if a == nil {
		return graph.Party{}, false
	}
	url := a.GetTypeUrl()
	name := url[strings.LastIndexByte(url, '/')+1:]
	switch name {
	case "google.protobuf.Struct":
		var s structpb.Struct
		if proto.Unmarshal(a.GetValue(), &s) != nil {
			return graph.Party{}, false
		}
		return PeerFromStruct(&s)
	case "google.protobuf.Value":
		var v structpb.Value
		if proto.Unmarshal(a.GetValue(), &v) != nil {
			return graph.Party{}, false
		}
		if s := v.GetStructValue(); s != nil {
			return PeerFromStruct(s)
		}
		return PeerFromString(v.GetStringValue())
	case "google.protobuf.StringValue":
		var v wrapperspb.StringValue
		if proto.Unmarshal(a.GetValue(), &v) != nil {
			return graph.Party{}, false
		}
		return PeerFromString(v.GetValue())
	case "google.protobuf.BytesValue":
		var v wrapperspb.BytesValue
		if proto.Unmarshal(a.GetValue(), &v) != nil {
			return graph.Party{}, false
		}
		if p, ok := PeerFromString(string(v.GetValue())); ok {
			return p, true
		}
		var s structpb.Struct
		if proto.Unmarshal(v.GetValue(), &s) == nil {
			return PeerFromStruct(&s)
		}
	}
	return graph.Party{}, false
}

// PeerCache remembers decoded peer metadata by its encoded bytes: a proxy
// logs the same few peers over and over. It is safe for concurrent use
// and bounded (it starts over when full).
type PeerCache struct {
	mu  sync.Mutex
	m   map[string]peerResult
	max int
}

type peerResult struct {
	p  graph.Party
	ok bool
}

// NewPeerCache returns a cache of up to max peers.
func NewPeerCache(max int) *PeerCache {
	return &PeerCache{m: make(map[string]peerResult), max: max}
}

// Any is PeerFromAny, cached.
func (c *PeerCache) Any(a *anypb.Any) (graph.Party, bool) {
	b := a.GetValue()
	if len(b) == 0 {
		return graph.Party{}, false
	}
	c.mu.Lock()
	r, ok := c.m[string(b)]
	c.mu.Unlock()
	if ok {
		return r.p, r.ok
	}
	p, pok := PeerFromAny(a)
	c.put(string(b), peerResult{cloneParty(p), pok})
	return p, pok
}

// String is PeerFromString, cached.
func (c *PeerCache) String(s string) (graph.Party, bool) {
	if s == "" {
		return graph.Party{}, false
	}
	c.mu.Lock()
	r, ok := c.m[s]
	c.mu.Unlock()
	if ok {
		return r.p, r.ok
	}
	p, pok := PeerFromString(s)
	p = cloneParty(p)
	c.put(strings.Clone(s), peerResult{p, pok})
	return p, pok
}

func (c *PeerCache) put(key string, r peerResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[key] = r
}
