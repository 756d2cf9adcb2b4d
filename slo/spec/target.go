package spec

import "strings"

// Target says which requests an SLO counts. Exactly one field is set.
type Target struct {
	// Service counts the inbound calls of a service: "NAMESPACE/NAME" or its
	// node id "service:NAMESPACE/NAME".
	Service string `yaml:"service,omitempty" json:"service,omitempty"`
	// Edge counts the calls from one node to another.
	Edge *Edge `yaml:"edge,omitempty" json:"edge,omitempty"`
	// Filter counts the requests matching every field it sets.
	Filter *Filter `yaml:"filter,omitempty" json:"filter,omitempty"`
}

// Edge is a source -> destination pair of node ids (service:NS/NAME,
// external:HOST, ...). "NS/NAME" is short for service:NS/NAME.
type Edge struct {
	Source      string `yaml:"source" json:"source"`
	Destination string `yaml:"destination" json:"destination"`
}

// Filter selects requests by caller, callee, method and path.
type Filter struct {
	// Source is the caller's node id.
	Source string `yaml:"source,omitempty" json:"source,omitempty"`
	// Destination is the callee's node id.
	Destination string `yaml:"destination,omitempty" json:"destination,omitempty"`
	// Method is the HTTP method (GET, POST ...).
	Method string `yaml:"method,omitempty" json:"method,omitempty"`
	// PathPrefix keeps requests whose path starts with it ("/api").
	PathPrefix string `yaml:"path_prefix,omitempty" json:"path_prefix,omitempty"`
}

// nodeKinds are the node id kinds of graph/ (graph/nodeid.go).
var nodeKinds = map[string]bool{
	"service": true, "workload": true, "version": true, "external": true,
	"database": true, "messaging": true, "client": true,
}

// NodeID normalises a node reference: "NS/NAME" becomes
// "service:NS/NAME"; ids with a known kind are kept. ok is false for
// anything else.
func NodeID(ref string) (id string, ok bool) {
	ref = strings.TrimSpace(ref)
	kind, rest, hasKind := strings.Cut(ref, ":")
	if hasKind && nodeKinds[kind] {
		if rest == "" {
			return "", false
		}
		if kind == "service" || kind == "workload" {
			_, name, ok := strings.Cut(rest, "/")
			if !ok || name == "" || strings.Contains(name, "/") {
				return "", false
			}
		}
		return ref, true
	}
	ns, name, slash := strings.Cut(ref, "/")
	if !slash || ns == "" || name == "" || strings.ContainsAny(ref, ": ") || strings.Contains(name, "/") {
		return "", false
	}
	return "service:" + ref, true
}

// ServiceParts splits a service node id (or NS/NAME) into namespace and name.
func ServiceParts(ref string) (ns, name string, ok bool) {
	id, ok := NodeID(ref)
	if !ok || !strings.HasPrefix(id, "service:") {
		return "", "", false
	}
	ns, name, _ = strings.Cut(strings.TrimPrefix(id, "service:"), "/")
	return ns, name, true
}

// Normalized returns the target with node ids in their full form; it
// assumes the target is valid.
func (t Target) Normalized() Target {
	n := func(s string) string {
		if s == "" {
			return ""
		}
		if id, ok := NodeID(s); ok {
			return id
		}
		return s
	}
	out := Target{Service: n(t.Service)}
	if t.Edge != nil {
		out.Edge = &Edge{Source: n(t.Edge.Source), Destination: n(t.Edge.Destination)}
	}
	if t.Filter != nil {
		f := *t.Filter
		f.Source, f.Destination = n(f.Source), n(f.Destination)
		f.Method = strings.ToUpper(f.Method)
		out.Filter = &f
	}
	return out
}
