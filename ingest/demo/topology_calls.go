package demo

import "math"

// call adds a call from one service to another.
func (b *builder) call(from, to *Service, kind CallKind, p float64) *Call {
	c := &Call{Index: len(b.t.Calls), From: from, To: to, Kind: kind, Probability: p, Repeat: 1}
	b.t.Calls = append(b.t.Calls, c)
	from.Calls = append(from.Calls, c)
	to.Callers = append(to.Callers, c)
	return c
}

// requestCall adds an HTTP or gRPC call with a random probability.
func (b *builder) requestCall(from, to *Service) *Call {
	c := b.call(from, to, CallRequest, math.Min(math.Max(b.g.logNormal(0.6, 0.5), 0.1), 1))
	c.Critical = b.g.chance(0.6)
	if b.g.chance(0.1) {
		c.Repeat = 2
	}
	return c
}

// calls reports whether from already calls to.
func calls(from, to *Service) bool {
	for _, c := range from.Calls {
		if c.To == to {
			return true
		}
	}
	return false
}

// pick chooses up to k distinct targets among cands by preferential
// attachment: weight × fitness × (callers + 1). weight may be nil.
func (b *builder) pick(cands []*Service, k int, from *Service, weight func(*Service) float64) []*Service {
	var out []*Service
	w := make([]float64, len(cands))
	for range k {
		var sum float64
		for i, s := range cands {
			w[i] = 0
			if s == from || calls(from, s) || containsService(out, s) {
				continue
			}
			x := s.fitness * float64(len(s.Callers)+1)
			if weight != nil {
				x *= weight(s)
			}
			w[i] = x
			sum += x
		}
		if sum == 0 {
			break
		}
		out = append(out, cands[b.g.weighted(w)])
	}
	return out
}

func containsService(list []*Service, s *Service) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// calls creates the calls between services.
func (b *builder) calls() {
	gw := b.t.Gateway
	shares := make([]float64, len(b.fronts))
	var sum float64
	for i := range shares {
		shares[i] = b.g.logNormal(1, 0.8)
		if i == 0 {
			shares[i] *= 3 // the main web front end takes most of the traffic
		}
		sum += shares[i]
	}
	for i, f := range b.fronts {
		c := b.call(gw, f, CallRequest, shares[i]/sum)
		c.Critical = true
	}
	for _, f := range b.fronts {
		for _, a := range b.pick(b.apis, max(2, b.g.heavyInt(4, 12)), f, nil) {
			b.requestCall(f, a).Critical = b.g.chance(0.8)
		}
	}
	for _, a := range b.apis {
		for _, m := range b.pick(b.mids, max(1, b.g.heavyInt(3.5, 14)), a, func(s *Service) float64 {
			return 1 / float64(s.Layer-2) // prefer the upper levels
		}) {
			b.requestCall(a, m)
		}
	}
	for lvl := 0; lvl < b.levels-1; lvl++ {
		var deeper []*Service
		for _, l := range b.midLevel[lvl+1:] {
			deeper = append(deeper, l...)
		}
		next := 3 + lvl + 1
		for _, m := range b.midLevel[lvl] {
			for _, d := range b.pick(deeper, b.g.heavyInt(2.2, 12), m, func(s *Service) float64 {
				if s.Layer == next {
					return 1
				}
				return 0.3 // a call skipping levels
			}) {
				b.requestCall(m, d)
			}
		}
	}
	deepest := b.midLevel[b.levels-1]
	for _, w := range b.workers {
		for _, m := range b.pick(deepest, b.g.intBetween(1, 2), w, nil) {
			b.requestCall(w, m)
		}
	}
	b.dataCalls()
	b.topics()
	b.externalCalls()
	b.backCalls()
}

// addJobs adds n scheduled jobs, each in a domain's namespace, calling two
// or three APIs and mid-tier services and perhaps a cache. A job's run
// always makes its first call, as a root request always reaches a front
// end: its calls, like the gateway's, keep their probabilities when the
// tree size is tuned.
func (b *builder) addJobs(n int) {
	targets := append(append([]*Service{}, b.apis...), b.mids...)
	for range n {
		d := b.doms[b.g.intn(len(b.doms))]
		s := b.add(&Service{Name: b.names.pick(b.g, d.nouns, jobRoles), Namespace: d.name, Kind: KindJob,
			Protocol: ProtocolHTTP, Port: 8080, Layer: 1, Traced: true, MTLS: true})
		s.Latency = Latency{Median: ms(b.g.between(5, 20)), Sigma: 0.5}
		s.ErrorRate = math.Min(b.g.logNormal(0.0015, 0.8), 0.02)
		b.domainOf[s] = d.name
		for i, x := range b.pick(targets, b.g.intBetween(2, 3), s, nil) {
			if c := b.requestCall(s, x); i == 0 {
				c.Probability = 1
			}
		}
		if b.g.chance(0.5) {
			for _, c := range b.pick(b.caches, 1, s, damp) {
				b.call(s, c, CallCache, b.g.between(0.7, 1)).Repeat = b.g.intBetween(1, 4)
			}
		}
		b.jobs = append(b.jobs, s)
	}
	b.t.Jobs = b.jobs
	if n > 0 {
		b.t.JobShare = jobShare
	}
}

// apps returns the application services that may use data services.
func (b *builder) apps() []*Service {
	out := append([]*Service{}, b.apis...)
	out = append(out, b.mids...)
	return append(out, b.workers...)
}

// damp tempers preferential attachment to a square root: shared databases
// and caches exist, but most belong to a few services.
func damp(s *Service) float64 { return 1 / math.Sqrt(float64(len(s.Callers)+1)) }

// dataCalls makes applications use caches and databases.
func (b *builder) dataCalls() {
	for _, s := range b.apps() {
		if b.g.chance(0.35) {
			for _, c := range b.pick(b.caches, 1, s, damp) {
				call := b.call(s, c, CallCache, b.g.between(0.7, 1))
				call.Repeat = b.g.intBetween(1, 4)
			}
		}
		pdb := 0.45
		if s.Kind == KindAPI {
			pdb = 0.15
		}
		if b.g.chance(pdb) {
			for _, d := range b.pick(b.dbs, 1, s, damp) {
				call := b.call(s, d, CallDatabase, b.g.between(0.5, 1))
				call.Repeat = b.g.intBetween(1, 3)
				call.Critical = true
			}
		}
	}
}

// topics creates Kafka topics with their producers and consumers. Only the
// APIs and the mid-tier services above the deepest level produce, and
// workers call only the deepest level, so no chain of calls and messages
// loops.
func (b *builder) topics() {
	n := max(2, len(b.workers))
	for i := range n {
		d := domains[i%len(domains)]
		name := b.names.take(d.nouns[b.g.intn(len(d.nouns))] + "-events")
		b.t.Topics = append(b.t.Topics, &Topic{Name: name, Broker: b.brokers[i%len(b.brokers)]})
	}
	for i, w := range b.workers {
		topics := []*Topic{b.t.Topics[i%n]}
		if b.g.chance(0.3) {
			if t := b.t.Topics[b.g.intn(n)]; t != topics[0] {
				topics = append(topics, t)
			}
		}
		for _, t := range topics {
			t.Consumers = append(t.Consumers, w)
			b.call(w, t.Broker, CallConsume, 1).Topic = t
		}
	}
	var producers []*Service
	producers = append(producers, b.apis...)
	for _, l := range b.midLevel[:b.levels-1] {
		producers = append(producers, l...)
	}
	topicFit := make([]float64, n)
	for i := range topicFit {
		topicFit[i] = b.g.logNormal(1, 0.8)
	}
	produce := func(s *Service, t *Topic) {
		if !calls(s, t.Broker) {
			c := b.call(s, t.Broker, CallProduce, b.g.between(0.2, 0.6))
			c.Topic = t
			t.Producers = append(t.Producers, s)
		}
	}
	for _, s := range producers {
		if b.g.chance(0.12) {
			w := make([]float64, n)
			for i, t := range b.t.Topics {
				w[i] = topicFit[i] * float64(len(t.Producers)+1)
			}
			produce(s, b.t.Topics[b.g.weighted(w)])
		}
	}
	for _, t := range b.t.Topics {
		if len(t.Producers) == 0 {
			for range 8 { // a producer that talks to another topic of the broker already cannot take this one
				produce(producers[b.g.intn(len(producers))], t)
				if len(t.Producers) > 0 {
					break
				}
			}
		}
	}
}

// externalCalls makes a few services of the matching domains call each
// external API.
func (b *builder) externalCalls() {
	for i, e := range b.externals {
		var cands []*Service
		for _, s := range b.apps() {
			for _, d := range externalHosts[i].domains {
				if b.domainOf[s] == d {
					cands = append(cands, s)
				}
			}
		}
		if len(cands) == 0 {
			cands = b.mids
		}
		for _, s := range b.pick(cands, b.g.intBetween(1, 2+len(b.t.Services)/300), e, nil) {
			c := b.call(s, e, CallExternal, b.g.between(0.05, 0.3))
			c.Critical = b.g.chance(0.5)
		}
	}
}

// backCalls adds the rare calls against the layering: the reverse of a
// mid-tier call, closing a cycle, and calls from deep services up to APIs.
func (b *builder) backCalls() {
	cycles := 1
	if len(b.t.Services) >= 200 {
		cycles = 2
	}
	var midCalls []*Call
	for _, c := range b.t.Calls {
		if c.Kind == CallRequest && c.From.Kind == KindMidTier && c.To.Kind == KindMidTier {
			midCalls = append(midCalls, c)
		}
	}
	for made := 0; made < cycles && len(midCalls) > 0; {
		c := midCalls[b.g.intn(len(midCalls))]
		if calls(c.To, c.From) {
			midCalls = removeCall(midCalls, c)
			continue
		}
		back := b.call(c.To, c.From, CallRequest, 0.03)
		back.Back = true
		midCalls = removeCall(midCalls, c)
		made++
	}
	for range len(b.t.Services) / 250 {
		if len(b.mids) == 0 || len(b.apis) == 0 {
			break
		}
		m, a := b.mids[b.g.intn(len(b.mids))], b.apis[b.g.intn(len(b.apis))]
		if m.Layer > 3 && !calls(m, a) {
			b.call(m, a, CallRequest, 0.02).Back = true
		}
	}
}

func removeCall(list []*Call, c *Call) []*Call {
	for i, x := range list {
		if x == c {
			return append(list[:i:i], list[i+1:]...)
		}
	}
	return list
}

// hasCaller reports whether s is called other than by calls against the
// layering.
func hasCaller(s *Service) bool {
	for _, c := range s.Callers {
		if !c.Back {
			return true
		}
	}
	return false
}

// connect gives every service without a caller one from the layer above,
// so that every service is reachable from the gateway.
func (b *builder) connect() {
	for _, a := range b.apis {
		if !hasCaller(a) {
			b.requestCall(b.fronts[b.g.intn(len(b.fronts))], a)
		}
	}
	for lvl, l := range b.midLevel {
		above := b.apis
		if lvl > 0 {
			above = b.midLevel[lvl-1]
		}
		for _, m := range l {
			if !hasCaller(m) {
				b.requestCall(above[b.g.intn(len(above))], m)
			}
		}
	}
	for _, d := range append(append([]*Service{}, b.caches...), b.dbs...) {
		if !hasCaller(d) {
			from := b.mids[b.g.intn(len(b.mids))]
			kind := CallDatabase
			if d.Kind == KindCache {
				kind = CallCache
			}
			c := b.call(from, d, kind, b.g.between(0.5, 1))
			c.Repeat = b.g.intBetween(1, 3)
		}
	}
}

// rootKind reports whether services of kind k start request trees (the
// gateway, jobs): their calls' probabilities are not tuned.
func rootKind(k Kind) bool { return k == KindGateway || k == KindJob }

// expectedCalls is the mean size of a request tree (a root request at the
// gateway, or a job's run in JobShare of the trees) when the probabilities
// of calls below the gateway and the jobs are multiplied by f (capped at
// 1), and that of the gateway's trees alone.
func (t *Topology) expectedCalls(f float64) (all, gateway float64) {
	memo := make([]float64, len(t.Services))
	state := make([]uint8, len(t.Services))
	var e func(s *Service) float64
	e = func(s *Service) float64 {
		switch state[s.Index] {
		case 1:
			return 0 // a cycle; only Back calls close them and they are skipped
		case 2:
			return memo[s.Index]
		}
		state[s.Index] = 1
		var sum float64
		for _, c := range s.Calls {
			if c.New || c.Back || c.Kind == CallConsume {
				continue
			}
			p := c.Probability
			if !rootKind(s.Kind) {
				p = math.Min(1, p*f)
			}
			sub := 1.0
			switch c.Kind {
			case CallRequest:
				sub += e(c.To)
			case CallProduce:
				for _, w := range c.Topic.Consumers {
					sub += 1 + e(w)
				}
			}
			sum += p * float64(c.Repeat+1) / 2 * sub
		}
		memo[s.Index], state[s.Index] = sum, 2
		return sum
	}
	gateway = e(t.Gateway)
	if len(t.Jobs) == 0 {
		return gateway, gateway
	}
	var jobs float64
	for _, j := range t.Jobs {
		jobs += e(j)
	}
	return (1-t.JobShare)*gateway + t.JobShare*jobs/float64(len(t.Jobs)), gateway
}

// targetTreeSize is the mean request tree size a mesh of n services aims
// at: big meshes have big trees, but not in proportion.
func targetTreeSize(n int) float64 {
	return math.Min(math.Max(18+10*math.Log2(float64(n)/60), 12), 60)
}

// tune scales the call probabilities below the gateway and the jobs down
// until a root request's tree has about targetTreeSize calls, and returns
// the mean size of a tree, jobs' runs included.
func (b *builder) tune(n int) float64 {
	target := targetTreeSize(n)
	if all, gateway := b.t.expectedCalls(1); gateway <= target {
		return all
	}
	lo, hi := 0.0, 1.0
	for range 40 {
		mid := (lo + hi) / 2
		if _, gateway := b.t.expectedCalls(mid); gateway > target {
			hi = mid
		} else {
			lo = mid
		}
	}
	for _, c := range b.t.Calls {
		if !rootKind(c.From.Kind) && !c.Back {
			c.Probability = math.Min(1, c.Probability*lo)
		}
	}
	all, _ := b.t.expectedCalls(1)
	return all
}
