package demo

import "fmt"

// versions gives every service its workloads: v1 (and v2 for canaries)
// for applications, one unversioned StatefulSet for data services.
// Roughly one application in eight runs a canary v2 taking 10-25 % of its
// requests; the API with the most callers always does, so that the
// canary-bad scenario degrades a busy service. Jobs always do.
func (b *builder) versions() {
	var appSvcs []*Service
	appSvcs = append(appSvcs, b.fronts...)
	appSvcs = append(appSvcs, b.apis...)
	appSvcs = append(appSvcs, b.mids...)
	canary := map[*Service]bool{busiest(b.apis): true}
	for range max(1, len(appSvcs)/8) - 1 {
		canary[appSvcs[b.g.intn(len(appSvcs))]] = true
	}
	for _, j := range b.jobs {
		canary[j] = true // so that the Deployments page shows a version compared by the calls it made
	}
	for _, s := range b.t.Services {
		switch s.Kind {
		case KindExternal:
		case KindGateway, KindCache, KindDatabase, KindBroker:
			sa := s.Name
			if s.Kind == KindGateway {
				sa = s.Name + "-service-account"
			}
			s.Workloads = []*Workload{{Service: s, Name: s.Name, Version: "latest", Weight: 1, ServiceAccount: sa}}
		default:
			b.appWorkloads(s, canary[s])
		}
	}
}

func (b *builder) appWorkloads(s *Service, canary bool) {
	if !canary {
		s.Workloads = []*Workload{{Service: s, Name: s.Name + "-v1", Version: "v1", Weight: 1, ServiceAccount: s.Name}}
		return
	}
	w2 := b.g.between(0.1, 0.25)
	s.Workloads = []*Workload{
		{Service: s, Name: s.Name + "-v1", Version: "v1", Weight: 1 - w2, ServiceAccount: s.Name},
		{Service: s, Name: s.Name + "-v2", Version: "v2", Weight: w2, ServiceAccount: s.Name},
	}
}

// busiest returns the service with the most callers (the first on ties).
func busiest(list []*Service) *Service {
	var best *Service
	for _, s := range list {
		if best == nil || len(s.Callers) > len(best.Callers) {
			best = s
		}
	}
	return best
}

// newService adds the service of the new-service scenario: a mid-tier
// service of the busiest API's domain, called by that API, using a cache,
// a database and a service of the deepest level.
func (b *builder) newService() {
	api := busiest(b.apis)
	d := domains[0]
	for _, x := range domains {
		if x.name == api.Namespace {
			d = x
		}
	}
	s := b.add(&Service{Name: b.names.pick(b.g, d.nouns, midRoles), Namespace: d.name, Kind: KindMidTier,
		Protocol: ProtocolHTTP, Port: 8080, Layer: 3 + b.levels - 1, Traced: true, MTLS: true, New: true,
		Latency: Latency{Median: ms(4), Sigma: 0.5}, ErrorRate: 0.001})
	b.endpoints(s)
	b.appWorkloads(s, false)
	c := b.requestCall(api, s)
	c.Probability, c.New, c.Critical = 0.5, true, false
	for _, x := range b.pick(b.caches, 1, s, nil) {
		c := b.call(s, x, CallCache, 0.9)
		c.Repeat, c.New = 2, true
	}
	for _, x := range b.pick(b.dbs, 1, s, nil) {
		c := b.call(s, x, CallDatabase, 0.8)
		c.New, c.Critical = true, true
	}
	if deep := b.midLevel[b.levels-1]; len(deep) > 0 {
		for _, x := range b.pick(deep, 1, s, nil) {
			b.requestCall(s, x).New = true
		}
	}
}

// podHashAlphabet is the alphabet of Kubernetes' pod-template-hash, and
// podSuffixAlphabet that of generated name suffixes.
const (
	podHashAlphabet   = "456789bcdf"
	podSuffixAlphabet = "bcdfghjklmnpqrstvwxz2456789"
)

func (b *builder) randomString(alphabet string, n int) string {
	buf := make([]byte, n)
	for i := range buf {
		buf[i] = alphabet[b.g.intn(len(alphabet))]
	}
	return string(buf)
}

// replicas is the number of pods of a workload.
func replicas(w *Workload) int {
	s := w.Service
	switch s.Kind {
	case KindGateway, KindFrontend, KindBroker:
		return 3
	case KindAPI, KindWorker:
		return 2
	case KindMidTier:
		if w.Version == "v2" {
			return 1
		}
		return 1 + min(2, len(s.Callers)/4)
	}
	return 1
}

// deploy indexes the workloads and gives them pods with names and
// addresses.
func (b *builder) deploy() {
	for _, s := range b.t.Services {
		for _, w := range s.Workloads {
			w.Index = len(b.t.Workloads)
			b.t.Workloads = append(b.t.Workloads, w)
			statefulSet := s.Kind == KindCache || s.Kind == KindDatabase || s.Kind == KindBroker
			hash := b.randomString(podHashAlphabet, 10)
			for i := range replicas(w) {
				p := &Pod{Index: len(b.t.Pods), Workload: w}
				if statefulSet {
					p.Name = fmt.Sprintf("%s-%d", w.Name, i)
				} else {
					p.Name = w.Name + "-" + hash + "-" + b.randomString(podSuffixAlphabet, 5)
				}
				n := p.Index + 10
				p.IP = fmt.Sprintf("10.%d.%d.%d", 1+n/62500, n/250%250, n%250+2)
				w.Pods = append(w.Pods, p)
				b.t.Pods = append(b.t.Pods, p)
			}
		}
	}
}
