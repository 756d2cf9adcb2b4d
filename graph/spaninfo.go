package graph

import (
	"strings"

	"github.com/meshscope/meshscope/schema"
)

// spanInfo is what the pairer needs of a span, read in one pass over its
// attributes. Strings alias the span row: intern them before retaining.
type spanInfo struct {
	party         Party
	proxy         bool
	cluster       string // Envoy upstream_cluster
	urlHost       string
	peerService   string
	serverAddress string
	proto         Protocol
	status        Status
	reqBytes      uint64
	respBytes     uint64
}

// readSpan extracts a span's own party, protocol, status and the attributes
// that name its peer.
func readSpan(s *schema.SpanRow, si *spanInfo) {
	*si = spanInfo{
		party: Party{Kind: KindService, Namespace: s.ServiceNamespace, Name: s.ServiceName,
			Workload: s.Workload, Version: s.ServiceVersion},
		peerService: s.PeerService, serverAddress: s.ServerAddress,
	}
	for i, k := range s.ResourceKeys {
		if k == "k8s.cluster.name" && i < len(s.ResourceValues) {
			si.party.Cluster = s.ResourceValues[i]
		}
	}
	var istioService, istioNamespace, istioRevision, nodeID, flags, rpcSystem string
	httpCode := int(s.HTTPStatusCode)
	for i, k := range s.AttrKeys {
		if i >= len(s.AttrValues) {
			break
		}
		v := s.AttrValues[i]
		switch k {
		case "component":
			si.proxy = v == "proxy"
		case "upstream_cluster", "upstream_cluster.name":
			if si.cluster == "" || k == "upstream_cluster" {
				si.cluster = v
			}
		case "response_flags":
			flags = v
		case "rpc.system":
			rpcSystem = v
		case "http.request.body.size", "http.request_content_length", "request_size":
			si.reqBytes = parseUint(v)
		case "http.response.body.size", "http.response_content_length", "response_size":
			si.respBytes = parseUint(v)
		case "istio.canonical_service":
			istioService = v
		case "istio.namespace":
			istioNamespace = v
		case "istio.canonical_revision":
			istioRevision = v
		case "node_id":
			nodeID = v
		case "http.url", "url.full":
			si.urlHost = hostOfURL(v)
		case "http.status_code":
			if httpCode == 0 {
				httpCode = int(parseUint(v))
			}
		case "net.peer.name":
			if si.serverAddress == "" {
				si.serverAddress = v
			}
		}
	}
	if si.proxy {
		readProxyParty(&si.party, istioService, istioNamespace, istioRevision, nodeID)
	}
	switch {
	case s.DBSystem != "":
		si.proto = ProtocolDB
	case s.MessagingSystem != "" || s.Kind == schema.SpanKindProducer || s.Kind == schema.SpanKindConsumer:
		si.proto = ProtocolMessaging
	case rpcSystem == "grpc":
		si.proto = ProtocolGRPC
	case s.HTTPMethod != "" || httpCode != 0 || s.HTTPRoute != "" || si.proxy:
		si.proto = ProtocolHTTP
	}
	client := s.Kind == schema.SpanKindClient || s.Kind == schema.SpanKindProducer
	si.status = Status{
		Protocol: si.proto, HTTPCode: httpCode, HTTPKnown: httpCode != 0,
		GRPCCode: int(s.GRPCStatusCode), EnvoyFlags: flags,
		// OpenTelemetry marks client spans with a 4xx as errors; meshscope's
		// rule does not count client errors, so a known status code decides.
		SpanError: s.StatusCode == schema.StatusError && !(client && httpCode > 0 && httpCode < 500),
	}
}

// readProxyParty names an Envoy sidecar's party from Istio's span tags.
func readProxyParty(p *Party, service, namespace, revision, nodeID string) {
	if service != "" {
		p.Name = service
	}
	if namespace != "" {
		p.Namespace = namespace
	}
	if revision != "" && revision != "latest" && p.Version == "" {
		p.Version = revision
	}
	// Istio's Zipkin service name is NAME.NAMESPACE.
	if p.Namespace == "" {
		if name, ns, ok := strings.Cut(p.Name, "."); ok {
			p.Name, p.Namespace = name, ns
		}
	}
	// node_id: sidecar~10.1.2.3~reviews-v1-7f99c7b7f6-abcde.default~default.svc.cluster.local
	if p.Workload == "" && nodeID != "" {
		parts := strings.Split(nodeID, "~")
		if len(parts) >= 3 {
			pod, ns, _ := strings.Cut(parts[2], ".")
			p.Workload = workloadOfPod(pod)
			if p.Namespace == "" {
				p.Namespace = ns
			}
		}
	}
}

// workloadOfPod strips the generated suffixes of a pod name: a Deployment's
// replica set hash and pod suffix (reviews-v1-7f99c7b7f6-abcde), or a
// StatefulSet ordinal or DaemonSet suffix (db-0, agent-x7k2p).
func workloadOfPod(pod string) string {
	last := strings.LastIndexByte(pod, '-')
	if last <= 0 {
		return pod
	}
	suffix := pod[last+1:]
	rest := pod[:last]
	if len(suffix) == 5 {
		if prev := strings.LastIndexByte(rest, '-'); prev > 0 {
			if h := rest[prev+1:]; len(h) >= 8 && len(h) <= 10 && isAlnum(h) {
				return rest[:prev]
			}
		}
		return rest
	}
	if isDigits(suffix) {
		return rest
	}
	return pod
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

func parseUint(s string) uint64 {
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}

// hostOfURL returns the host of an absolute URL, without port or userinfo.
func hostOfURL(u string) string {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	return stripPort(rest)
}

func stripPort(h string) string {
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
		return h
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.Count(h, ":") == 1 {
		return h[:i]
	}
	return h
}
