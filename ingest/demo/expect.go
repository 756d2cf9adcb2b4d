package demo

import (
	"sort"
	"strings"
	"time"
)

// Provenance names, as meshscope's API spells them.
const (
	ProvenanceSpan      = "span"
	ProvenanceAccessLog = "accesslog"
	ProvenanceMetric    = "metric"
)

// ClientID is the node id of callers outside the mesh (and, to spans alone,
// of callers that broke the trace: an uninstrumented service calling an
// instrumented one).
const ClientID = "client:/"

// ExpectedEdge is an edge that meshscope's graph should show, at the
// service granularity, for a demo run.
type ExpectedEdge struct {
	// ID is SOURCE->TARGET.
	ID string
	// Source and Target are node ids.
	Source, Target string
	// Protocols are the protocols by which the inputs see the edge:
	// http, grpc, tcp (sidecars see database, cache, Kafka and external
	// calls as TCP), db or messaging (spans).
	Protocols []string
	// Provenance lists the inputs that reveal the edge: span, accesslog,
	// metric.
	Provenance []string
	// Calls are the calls the edge stands for; empty for the edge from
	// the outside into the gateway.
	Calls []*Call
}

// ExpectedEdges returns the edges that a run shows at elapsed time after
// its start, when its scenario starts at start (Scenario.Start); traces
// tells whether spans are sent (Config.TraceSample above 0).
//
// Sidecars (access logs and metrics) see every call between the services
// that make and receive it; databases, caches and brokers are services of
// the mesh to them. A TLS call to an external host without ServiceEntry
// (Passthrough) is named by its host everywhere: the SNI in ALS entries'
// TLS properties and in text lines (%REQUESTED_SERVER_NAME%), the
// destination_service of metrics. Spans see the calls of
// instrumented services: a database call as an edge to the database's
// service, the edge the sidecars see as TCP (database:SYSTEM/NAME for a
// host outside the cluster), a Kafka message as an edge from producer to
// consumer, and the gateway as called by client:/. An instrumented service called by an uninstrumented
// one has root server spans, called by client:/ to spans alone; its sidecar
// names the caller, so the graph counts those calls on the caller's edge and
// shows no such client:/ edge.
func (t *Topology) ExpectedEdges(elapsed, start time.Duration, traces bool) []ExpectedEdge {
	edges := map[string]*ExpectedEdge{}
	add := func(src, dst, proto, prov string, c *Call) {
		id := src + "->" + dst
		e := edges[id]
		if e == nil {
			e = &ExpectedEdge{ID: id, Source: src, Target: dst}
			edges[id] = e
		}
		e.Protocols = addString(e.Protocols, proto)
		e.Provenance = addString(e.Provenance, prov)
		if c != nil && !containsCall(e.Calls, c) {
			e.Calls = append(e.Calls, c)
		}
	}
	mesh := func(src, dst, proto string, c *Call) {
		add(src, dst, proto, ProvenanceAccessLog, c)
		add(src, dst, proto, ProvenanceMetric, c)
	}
	if traces {
		add(ClientID, t.Gateway.ID(), string(ProtocolHTTP), ProvenanceSpan, nil)
	}
	for _, c := range t.Calls {
		if !c.Active(elapsed, start) {
			continue
		}
		from, to := c.From, c.To
		switch {
		case c.Kind == CallRequest:
			mesh(from.ID(), to.ID(), string(to.Protocol), c)
		default:
			mesh(from.ID(), to.ID(), string(ProtocolTCP), c)
		}
		if !traces {
			continue
		}
		switch c.Kind {
		case CallRequest:
			switch {
			case from.Traced:
				add(from.ID(), to.ID(), string(to.Protocol), ProvenanceSpan, c)
			}
		case CallDatabase, CallCache:
			if from.Traced {
				add(from.ID(), databaseID(to), "db", ProvenanceSpan, c)
			}
		case CallExternal:
			if from.Traced {
				add(from.ID(), to.ID(), string(ProtocolHTTP), ProvenanceSpan, c)
			}
		case CallProduce:
			paired := false
			for _, w := range c.Topic.Consumers {
				switch {
				case !w.Traced:
				case from.Traced:
					add(from.ID(), w.ID(), "messaging", ProvenanceSpan, c)
					paired = true
				default:
					add(topicID(c.Topic), w.ID(), "messaging", ProvenanceSpan, c)
				}
			}
			if from.Traced && !paired {
				add(from.ID(), topicID(c.Topic), "messaging", ProvenanceSpan, c)
			}
		}
	}
	out := make([]ExpectedEdge, 0, len(edges))
	for _, e := range edges {
		sort.Strings(e.Provenance)
		sort.Strings(e.Protocols)
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// databaseID is the node id spans give a database or cache: the service
// node when its host is a Kubernetes service (as the sidecars see it), else
// database:SYSTEM/NAME, NAME being the database name, or for Redis the
// peer.service.
func databaseID(s *Service) string {
	if strings.Contains(s.Host, ".svc.") {
		return s.ID()
	}
	name := s.DBName
	if name == "" {
		name = s.Name
	}
	return "database:" + s.System + "/" + name
}

// topicID is the node id spans give a Kafka topic.
func topicID(t *Topic) string { return "messaging:kafka/" + t.Name }

// ID is the workload's node id at the workload granularity.
func (w *Workload) ID() string { return "workload:" + w.Service.Namespace + "/" + w.Name }

// VersionID is the workload's node id at the version granularity.
func (w *Workload) VersionID() string {
	return "version:" + w.Service.Namespace + "/" + w.Service.Name + "/" + w.Version
}

func addString(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func containsCall(list []*Call, c *Call) bool {
	for _, x := range list {
		if x == c {
			return true
		}
	}
	return false
}

// CallRates returns the mean calls per second of every call (indexed by
// Call.Index) in a run at rate (Config.Rate), before the scenario changes
// anything: request trees start at rate/CallsPerRequest (at the gateway,
// or JobShare of them as a job's run) and flow down the calls with their
// probabilities and repeats; a produced message is fetched and processed
// by every consumer of its topic. Calls
// against the layering and calls of the new service count as 0. An
// end-to-end test uses it to expect only the edges that carry enough
// traffic to be seen in its window.
func (t *Topology) CallRates(rate float64) []float64 {
	flow := make([]float64, len(t.Services)) // requests handled per root request
	flow[t.Gateway.Index] = 1 - t.JobShare
	for _, j := range t.Jobs {
		flow[j.Index] = t.JobShare / float64(len(t.Jobs))
	}
	out := make([]float64, len(t.Calls))
	for _, s := range t.forwardOrder() {
		for _, c := range s.Calls {
			if c.Back || c.New || c.Kind == CallConsume {
				continue
			}
			n := flow[s.Index] * c.Probability * float64(c.Repeat+1) / 2
			out[c.Index] += n
			switch c.Kind {
			case CallRequest:
				flow[c.To.Index] += n
			case CallProduce:
				for _, w := range c.Topic.Consumers {
					flow[w.Index] += n
					for _, cc := range w.Calls {
						if cc.Kind == CallConsume && cc.Topic == c.Topic {
							out[cc.Index] += n
						}
					}
				}
			}
		}
	}
	roots := rate / t.CallsPerRequest
	for i := range out {
		out[i] *= roots
	}
	return out
}

// forwardOrder returns the services so that every service comes after all
// that call it or produce the messages it consumes (calls against the
// layering left out).
func (t *Topology) forwardOrder() []*Service {
	indeg := make([]int, len(t.Services))
	next := func(s *Service, visit func(*Service)) {
		for _, c := range s.Calls {
			if c.Back || c.Kind == CallConsume {
				continue
			}
			visit(c.To)
			if c.Kind == CallProduce {
				for _, w := range c.Topic.Consumers {
					visit(w)
				}
			}
		}
	}
	for _, s := range t.Services {
		next(s, func(x *Service) { indeg[x.Index]++ })
	}
	var order, queue []*Service
	for _, s := range t.Services {
		if indeg[s.Index] == 0 {
			queue = append(queue, s)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		order = append(order, s)
		next(s, func(x *Service) {
			if indeg[x.Index]--; indeg[x.Index] == 0 {
				queue = append(queue, x)
			}
		})
	}
	return order
}
