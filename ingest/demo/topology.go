package demo

import (
	"fmt"
	"time"
)

// Kind is the role of a service in the demo mesh.
type Kind string

// Kinds of services.
const (
	KindGateway  Kind = "gateway"  // the Istio ingress gateway, where root requests enter
	KindFrontend Kind = "frontend" // web and mobile front ends
	KindAPI      Kind = "api"      // API services behind the front ends
	KindMidTier  Kind = "mid-tier" // the deep middle of the mesh
	KindWorker   Kind = "worker"   // Kafka consumers
	KindJob      Kind = "job"      // scheduled batch runs: they only call out, no service calls them
	KindCache    Kind = "cache"    // Redis
	KindDatabase Kind = "database" // PostgreSQL and MySQL
	KindBroker   Kind = "broker"   // Kafka
	KindExternal Kind = "external" // an API outside the mesh
)

// Protocol is what a service speaks.
type Protocol string

// Protocols.
const (
	ProtocolHTTP Protocol = "http"
	ProtocolGRPC Protocol = "grpc"
	ProtocolTCP  Protocol = "tcp" // databases, caches, brokers, TLS to external APIs
)

// CallKind is what a call does.
type CallKind string

// Kinds of calls.
const (
	CallRequest  CallKind = "request"  // HTTP or gRPC to a service of the mesh
	CallDatabase CallKind = "database" // a query to PostgreSQL or MySQL
	CallCache    CallKind = "cache"    // a Redis command
	CallProduce  CallKind = "produce"  // publishing to a Kafka topic
	CallConsume  CallKind = "consume"  // a worker fetching from a Kafka topic
	CallExternal CallKind = "external" // HTTPS to an API outside the mesh
)

// Topology is a demo mesh: its services, their workloads and pods, and
// the calls between them. It is built once by NewTopology and read-only
// afterwards; slices are indexed by the elements' Index fields.
type Topology struct {
	// Seed is the seed the topology was derived from.
	Seed uint64
	// Scenario is the scenario the topology was built for.
	Scenario Scenario
	// Namespaces are the Kubernetes namespaces of the mesh.
	Namespaces []string
	// TextNamespace is the namespace whose sidecars post Istio text access
	// log lines instead of streaming to the Access Log Service.
	TextNamespace string
	// Gateway is the ingress gateway.
	Gateway *Service
	// Services holds the services of the mesh and the external hosts;
	// the new-service scenario's service comes last.
	Services []*Service
	// Workloads holds every workload (one per version of a service).
	Workloads []*Workload
	// Pods holds every pod.
	Pods []*Pod
	// Calls holds every call (edge) between services.
	Calls []*Call
	// Topics holds the Kafka topics.
	Topics []*Topic
	// Jobs are the services of kind KindJob; JobShare is the share of
	// request trees that are a job's run rather than a root request at
	// the gateway (split evenly between the jobs).
	Jobs     []*Service
	JobShare float64
	// CallsPerRequest is the mean number of calls of a request tree (a
	// root request at the gateway, or a job's run, and every call it
	// causes, queue consumers included), before the scenario adds or
	// removes any.
	CallsPerRequest float64
}

// Service is a service of the mesh or an external host.
type Service struct {
	// Index is the service's position in Topology.Services.
	Index int
	// Name is the Kubernetes service name, or the host of an external API.
	Name string
	// Namespace is the Kubernetes namespace; "" for external hosts.
	Namespace string
	// Kind is the service's role.
	Kind Kind
	// Protocol is what the service speaks.
	Protocol Protocol
	// Port is the service port.
	Port int
	// Host is NAME.NAMESPACE.svc.cluster.local, or the external host.
	Host string
	// Address is the service's cluster IP, or an external address.
	Address string
	// System is the database, cache or messaging system: postgresql,
	// mysql, redis or kafka.
	System string
	// DBName is the database a PostgreSQL or MySQL service holds.
	DBName string
	// Layer orders the services from the gateway (0) down; calls go to
	// deeper layers except those marked Back.
	Layer int
	// Meshed services run with an Envoy sidecar.
	Meshed bool
	// MTLS services accept mutual TLS from their callers' sidecars;
	// the others are called in plaintext.
	MTLS bool
	// Traced services are instrumented with OpenTelemetry and send spans.
	Traced bool
	// Passthrough external hosts have no ServiceEntry: sidecars reach
	// them through Istio's PassthroughCluster.
	Passthrough bool
	// New marks the service that the new-service scenario adds; it has no
	// traffic before the scenario starts.
	New bool
	// Workloads are the service's versions, one workload each.
	Workloads []*Workload
	// Calls are the calls the service makes; Callers those it receives.
	Calls, Callers []*Call
	// Endpoints are the HTTP routes or gRPC methods the service serves.
	Endpoints []Endpoint
	// Latency is the service's own processing time per request.
	Latency Latency
	// ErrorRate is the share of requests the service fails on its own.
	ErrorRate float64

	fitness float64 // attractiveness to callers while the topology is built
}

// Endpoint is an HTTP route or a gRPC method.
type Endpoint struct {
	// Method is the HTTP method (POST for gRPC).
	Method string
	// Route is the route template, or /package.Service/Method for gRPC.
	Route string
	// Paths are concrete request paths of the route.
	Paths []string
	// RPCService and RPCMethod name the gRPC method.
	RPCService, RPCMethod string
}

// Latency is a log-normal distribution of durations.
type Latency struct {
	// Median is the median duration.
	Median time.Duration
	// Sigma is the standard deviation of the duration's logarithm.
	Sigma float64
}

// Workload is one version of a service: a Deployment (or a StatefulSet
// for databases, caches and brokers).
type Workload struct {
	// Index is the workload's position in Topology.Workloads.
	Index int
	// Service is the service the workload serves.
	Service *Service
	// Name is the Deployment or StatefulSet name, NAME-VERSION for
	// applications (reviews-v2), NAME for data services.
	Name string
	// Version is the version label; "latest" for data services, which
	// carry none (Istio's default canonical revision).
	Version string
	// Weight is the workload's share of its service's requests.
	Weight float64
	// ServiceAccount is the Kubernetes service account, which names the
	// workload's mTLS identity.
	ServiceAccount string
	// Pods are the workload's pods.
	Pods []*Pod
}

// Principal is the workload's SPIFFE identity.
func (w *Workload) Principal() string {
	return "spiffe://" + meshDomain + "/ns/" + w.Service.Namespace + "/sa/" + w.ServiceAccount
}

// Pod is a pod of a workload, with its sidecar.
type Pod struct {
	// Index is the pod's position in Topology.Pods.
	Index int
	// Workload is the workload the pod belongs to.
	Workload *Workload
	// Name is the pod name (reviews-v2-5b64f47978-rv5ls, postgres-0).
	Name string
	// IP is the pod's address.
	IP string
}

// NodeID is the sidecar's Envoy node id, as Istio sets it.
func (p *Pod) NodeID() string {
	s := p.Workload.Service
	typ := "sidecar"
	if s.Kind == KindGateway {
		typ = "router"
	}
	return typ + "~" + p.IP + "~" + p.Name + "." + s.Namespace + "~" + s.Namespace + ".svc." + meshDomain
}

// Call is an edge of the mesh: a service calling another.
type Call struct {
	// Index is the call's position in Topology.Calls.
	Index int
	// From calls To.
	From, To *Service
	// Kind is what the call does.
	Kind CallKind
	// Probability is the chance that a request handled by From makes
	// this call; for the gateway, the share of root requests sent to To.
	Probability float64
	// Repeat is the most times one request makes the call (cache
	// lookups, queries): each request makes it 1 to Repeat times.
	Repeat int
	// Critical calls fail the request of From when they fail.
	Critical bool
	// Topic is the Kafka topic of produce and consume calls.
	Topic *Topic
	// Back marks a call against the layering, such as the one closing a
	// dependency cycle; it is rare.
	Back bool
	// New marks the calls that the new-service scenario adds.
	New bool
}

// String is FROM->TO.
func (c *Call) String() string {
	return fmt.Sprintf("%s->%s", c.From.ID(), c.To.ID())
}

// Topic is a Kafka topic: producers publish to it, consumer workers
// process every message.
type Topic struct {
	// Name is the topic.
	Name string
	// Broker is the Kafka service holding the topic.
	Broker *Service
	// Producers and Consumers are the services on either side.
	Producers, Consumers []*Service
}

// ID is the service's node id at the service granularity, as meshscope's
// API spells it: service:NAMESPACE/NAME, or external:HOST.
func (s *Service) ID() string {
	if s.Kind == KindExternal {
		return "external:" + s.Name
	}
	return "service:" + s.Namespace + "/" + s.Name
}

// Active reports whether the service has traffic at elapsed time since the
// start of a run whose scenario starts at start.
func (s *Service) Active(elapsed, start time.Duration) bool {
	return !s.New || elapsed >= start
}

// Active reports whether the call is made at elapsed time since the start
// of a run whose scenario starts at start.
func (c *Call) Active(elapsed, start time.Duration) bool {
	return !c.New || elapsed >= start
}

// Service returns the service of the mesh named namespace/name, or nil.
func (t *Topology) Service(namespace, name string) *Service {
	for _, s := range t.Services {
		if s.Namespace == namespace && s.Name == name {
			return s
		}
	}
	return nil
}

// ServicesOf returns the services of a kind.
func (t *Topology) ServicesOf(k Kind) []*Service {
	var out []*Service
	for _, s := range t.Services {
		if s.Kind == k {
			out = append(out, s)
		}
	}
	return out
}

// Canaries returns the services with more than one version.
func (t *Topology) Canaries() []*Service {
	var out []*Service
	for _, s := range t.Services {
		if len(s.Workloads) > 1 {
			out = append(out, s)
		}
	}
	return out
}
