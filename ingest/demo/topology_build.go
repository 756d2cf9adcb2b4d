package demo

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// How the mesh is built (NewTopology):
//
//   - The services are split by kind: an ingress gateway, a few front ends,
//     API services, mid-tier services on several levels (more levels for
//     bigger meshes, so call chains get deep), Kafka workers, Redis caches,
//     PostgreSQL and MySQL databases, Kafka brokers, and external APIs;
//     meshes of 30 services and more also have scheduled jobs (one per 60
//     services, up to three, besides the services asked for), whose runs
//     call APIs and mid-tier services but which nothing calls.
//   - Calls go down the layers: gateway to front ends, front ends to APIs,
//     APIs to mid-tier services of any level, mid-tier services to deeper
//     levels, anything to caches, databases, topics and external APIs.
//     Targets are chosen by preferential attachment with fitness: a
//     service's chance to gain a caller grows with the callers it has and
//     with a log-normal fitness drawn once (the shared platform services
//     are fitter). That gives what the pictures of Twitter's and Uber's
//     meshes show: a few hubs with huge fan-in and a long tail.
//   - A few calls go against the layers, one of them closing a cycle
//     (two for bigger meshes); they are rare.
//   - Every service is made reachable from the gateway, then the call
//     probabilities are scaled so that a request tree has a sane mean size
//     (CallsPerRequest), growing slowly with the mesh.

// builder holds the state of one NewTopology.
type builder struct {
	g      *rng
	names  *namer
	t      *Topology
	levels int // mid-tier levels

	fronts, apis, mids, workers, jobs, caches, dbs, brokers, externals []*Service
	midLevel                                                           [][]*Service
	domainOf                                                           map[*Service]string
	doms                                                               []domain // the domains the mesh uses
}

// NewTopology derives a mesh of services services (see Config.Services)
// from seed, for scenario (one of Scenarios()). Equal arguments give equal
// topologies.
func NewTopology(services int, seed uint64, scenario string) (*Topology, error) {
	if services < MinServices || services > MaxServices {
		return nil, fmt.Errorf("--services %d: want %d to %d", services, MinServices, MaxServices)
	}
	if !isScenario(scenario) {
		return nil, fmt.Errorf("--scenario %q: want one of %s", scenario, strings.Join(Scenarios(), ", "))
	}
	b := &builder{g: newRNG(seed, 1), names: newNamer(), t: &Topology{Seed: seed}, domainOf: map[*Service]string{}}
	b.services(services)
	b.calls()
	b.connect()
	// Jobs draw from a random stream of their own, so that the rest of the
	// mesh is the seed's mesh without them.
	main := b.g
	b.g = newRNG(seed, 6)
	b.addJobs(jobCount(services))
	b.g = main
	b.t.CallsPerRequest = b.tune(services)
	b.versions()
	if scenario == ScenarioNewService {
		// A random stream of its own, so that the rest of the mesh is the
		// same as in the other scenarios of the seed.
		main := b.g
		b.g = newRNG(seed, 5)
		b.newService()
		b.g = main
	}
	b.deploy()
	sc, err := chooseScenario(b.t, scenario)
	if err != nil {
		return nil, err
	}
	b.t.Scenario = sc
	return b.t, nil
}

// jobShare is the share of request trees that are a job's run, in meshes
// with jobs: at the default rate about two runs a second.
const jobShare = 0.08

// jobCount is the number of scheduled jobs of a mesh of n services: one
// per 60 services from 30 on, at most three.
func jobCount(n int) int { return min((n+30)/60, 3) }

// plan splits n services by kind.
type plan struct {
	brokers, dbs, caches, fronts, workers, apis, mids, domains, levels, externals int
}

func planFor(n int) plan {
	p := plan{
		brokers:   1 + n/500,
		dbs:       max(2, n*9/100),
		caches:    max(1, n*6/100),
		fronts:    min(max(2, n*4/100), len(frontendNames)),
		workers:   max(1, n*5/100),
		apis:      max(2, n*14/100),
		domains:   min(max(2, 2+n/20), len(domains)),
		levels:    min(max(2, 2+int(math.Round(math.Log2(float64(n)/30)))), 6),
		externals: min(max(2, 2+n/150), len(externalHosts)),
	}
	p.mids = n - 1 - p.brokers - p.dbs - p.caches - p.fronts - p.workers - p.apis
	return p
}

func (b *builder) add(s *Service) *Service {
	s.Index = len(b.t.Services)
	if s.Kind != KindExternal {
		s.Host = s.Name + "." + s.Namespace + ".svc." + meshDomain
		s.Address = fmt.Sprintf("10.96.%d.%d", (s.Index+10)/250, (s.Index+10)%250+2)
		s.Meshed = true
	}
	if s.fitness == 0 {
		s.fitness = b.g.logNormal(1, 0.9)
	}
	b.t.Services = append(b.t.Services, s)
	return s
}

// services creates the services of every kind.
func (b *builder) services(n int) {
	p := planFor(n)
	b.levels = p.levels
	doms := domains[:p.domains]
	b.doms = doms
	b.t.Namespaces = []string{nsGateway, nsWeb}
	for _, d := range doms {
		b.t.Namespaces = append(b.t.Namespaces, d.name)
	}
	b.t.Namespaces = append(b.t.Namespaces, nsData, nsMessaging)
	b.t.TextNamespace = doms[len(doms)-1].name

	gw := b.add(&Service{Name: b.names.take("istio-ingressgateway"), Namespace: nsGateway, Kind: KindGateway,
		Protocol: ProtocolHTTP, Port: 8080, Traced: true, MTLS: true})
	gw.Latency = Latency{Median: 300 * time.Microsecond, Sigma: 0.3}
	b.t.Gateway = gw

	for i := range p.fronts {
		s := b.add(&Service{Name: b.names.take(frontendNames[i]), Namespace: nsWeb, Kind: KindFrontend,
			Protocol: ProtocolHTTP, Port: 8080, Layer: 1})
		s.Latency = Latency{Median: ms(b.g.between(2, 6)), Sigma: 0.5}
		b.fronts = append(b.fronts, s)
	}
	app := func(kind Kind, roles []string, layer int) *Service {
		d := doms[b.g.intn(len(doms))]
		s := &Service{Name: b.names.pick(b.g, d.nouns, roles), Namespace: d.name, Kind: kind, Protocol: ProtocolHTTP, Port: 8080, Layer: layer}
		if d.name == "platform" {
			s.fitness = b.g.logNormal(3, 0.7)
		}
		b.add(s)
		b.domainOf[s] = d.name
		return s
	}
	for range p.apis {
		s := app(KindAPI, apiRoles, 2)
		s.Latency = Latency{Median: ms(b.g.between(1, 4)), Sigma: 0.5}
		b.apis = append(b.apis, s)
	}
	b.midLevel = make([][]*Service, p.levels)
	for i := range p.mids {
		lvl := i % p.levels // every level gets services; shuffled by the random domains and names
		s := app(KindMidTier, midRoles, 3+lvl)
		if b.g.chance(0.35) {
			s.Protocol, s.Port = ProtocolGRPC, 9090
		}
		s.Latency = Latency{Median: ms(b.g.logNormal(3, 0.7)), Sigma: b.g.between(0.3, 0.8)}
		b.mids = append(b.mids, s)
		b.midLevel[lvl] = append(b.midLevel[lvl], s)
	}
	for range p.workers {
		s := app(KindWorker, workerRoles, 3+p.levels)
		s.Latency = Latency{Median: ms(b.g.between(2, 8)), Sigma: 0.6}
		b.workers = append(b.workers, s)
	}
	for _, s := range append(append([]*Service{}, b.fronts...), append(b.apis, append(b.mids, b.workers...)...)...) {
		s.Traced = s.Kind != KindMidTier || b.g.chance(0.9)
		s.MTLS = b.g.chance(0.9)
		s.ErrorRate = math.Min(b.g.logNormal(0.0015, 0.8), 0.02)
	}
	for range p.caches {
		d := doms[b.g.intn(len(doms))]
		s := b.add(&Service{Name: b.names.take(d.nouns[b.g.intn(len(d.nouns))] + "-redis"), Namespace: nsData, Kind: KindCache,
			Protocol: ProtocolTCP, Port: 6379, System: "redis", Layer: 10, MTLS: true})
		s.Latency = Latency{Median: ms(b.g.between(0.2, 0.8)), Sigma: 0.4}
		b.caches = append(b.caches, s)
	}
	for i := range p.dbs {
		d := doms[b.g.intn(len(doms))]
		noun := d.nouns[b.g.intn(len(d.nouns))]
		role := databaseRoles[0]
		if i%3 == 1 {
			role = databaseRoles[1]
		}
		s := b.add(&Service{Name: b.names.take(noun + "-" + role), Namespace: nsData, Kind: KindDatabase,
			Protocol: ProtocolTCP, Layer: 10, MTLS: b.g.chance(0.85)})
		s.DBName = strings.ReplaceAll(strings.TrimSuffix(s.Name, "-"+role), "-", "_")
		if role == "postgres" {
			s.System, s.Port = "postgresql", 5432
		} else {
			s.System, s.Port = "mysql", 3306
		}
		s.Latency = Latency{Median: ms(b.g.between(0.8, 5)), Sigma: 0.6}
		b.dbs = append(b.dbs, s)
	}
	for i := range p.brokers {
		name := "kafka"
		if i > 0 {
			name = b.names.take("kafka-" + suffixes[i-1])
		} else {
			name = b.names.take(name)
		}
		s := b.add(&Service{Name: name, Namespace: nsMessaging, Kind: KindBroker, Protocol: ProtocolTCP,
			Port: 9092, System: "kafka", Layer: 10, MTLS: true})
		s.Latency = Latency{Median: ms(1.5), Sigma: 0.5}
		b.brokers = append(b.brokers, s)
	}
	for i := range p.externals {
		h := externalHosts[i]
		s := b.add(&Service{Name: h.host, Kind: KindExternal, Protocol: ProtocolTCP, Port: 443,
			Host: h.host, Address: fmt.Sprintf("203.0.113.%d", 10+i), Passthrough: h.passthrough, Layer: 11})
		s.Latency = Latency{Median: ms(b.g.between(60, 250)), Sigma: 0.5}
		s.ErrorRate = 0.002
		s.Endpoints = []Endpoint{{Method: "POST", Route: h.path, Paths: []string{h.path}}}
		b.externals = append(b.externals, s)
	}
	for _, s := range b.t.Services {
		b.endpoints(s)
	}
}

func ms(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

// endpoints gives a service its routes or gRPC methods.
func (b *builder) endpoints(s *Service) {
	switch s.Kind {
	case KindGateway, KindCache, KindDatabase, KindBroker, KindExternal, KindJob:
		return
	}
	base := s.Name
	if s.Kind == KindFrontend {
		base = "home"
	}
	n := b.g.intBetween(1, 3)
	verbs := []string{"get", "list", "update", "search", "batch-get"}
	for i := range n {
		verb := verbs[(i+b.g.intn(len(verbs)))%len(verbs)]
		if s.Protocol == ProtocolGRPC {
			svc := strings.ReplaceAll(s.Namespace, "-", "") + ".v1." + camel(s.Name)
			m := camel(verb) + camel(strings.SplitN(s.Name, "-", 2)[0])
			s.Endpoints = append(s.Endpoints, Endpoint{Method: "POST", Route: "/" + svc + "/" + m,
				Paths: []string{"/" + svc + "/" + m}, RPCService: svc, RPCMethod: m})
			continue
		}
		method := "GET"
		if verb == "update" {
			method = "POST"
		}
		route := "/api/v1/" + base
		e := Endpoint{Method: method}
		switch verb {
		case "get", "update":
			e.Route = route + "/{id}"
			for range 6 {
				e.Paths = append(e.Paths, fmt.Sprintf("%s/%d", route, 1000+b.g.intn(9000000)))
			}
		case "search":
			e.Route = route + "/search"
			for _, q := range []string{"go", "mesh", "envoy", "istio"} {
				e.Paths = append(e.Paths, e.Route+"?q="+q)
			}
		default:
			e.Route = route
			e.Paths = []string{route}
		}
		s.Endpoints = append(s.Endpoints, e)
	}
	if s.Kind == KindFrontend {
		s.Endpoints = append(s.Endpoints, Endpoint{Method: "GET", Route: "/", Paths: []string{"/"}})
	}
}
