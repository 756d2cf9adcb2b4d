package demo

import (
	"math"
	"time"
)

// A request tree is simulated before any of its telemetry is written: a
// root request enters the gateway, every service handling a request makes
// its calls (each with its probability, in parallel, repeated calls one
// after the other), a produced message is processed by every consumer of
// its topic. Durations come out of the recursion: a service's time is its
// own log-normal latency plus its slowest call. Times are relative to the
// tree's start; the emitter shifts them so that the tree ends now.

// maxDepth bounds the recursion; only the rare calls against the layering
// (Back) can make a tree this deep.
const maxDepth = 24

// hop is one call of a request tree, or (call nil) the root request from
// outside into the gateway.
type hop struct {
	call     *Call
	src, dst *Pod  // src nil for the root
	parent   int32 // the hop whose work span is the parent of this hop's span; -1 none
	link     int32 // consume: the produce hop whose message is processed; -1 none
	trace    int32 // the trace of the caller's span
	srvTrace int32 // the trace of the work span (differs when an uninstrumented caller broke the trace)
	ep       int16 // endpoint of the destination, -1 none
	path     int16 // concrete path of the endpoint
	out      outcome
	start    int64 // the call as the caller's sidecar sees it
	dur      int64
	srvStart int64 // the work: the destination's handling, or the consumer's processing
	srvDur   int64
	reqBytes int64
	rspBytes int64
	span     [8]byte // the caller's span (client, producer)
	work     [8]byte // the work span (server, consumer): the parent of the calls it makes
}

// traceCtx is one trace of a tree.
type traceCtx struct {
	id      [16]byte
	sampled bool
}

// tree is the reusable state of one simulated request tree.
type tree struct {
	hops   []hop
	traces []traceCtx
	end    int64
}

func (t *tree) reset() {
	t.hops = t.hops[:0]
	t.traces = t.traces[:0]
	t.end = 0
}

// newTrace starts a trace; ids are drawn only for sampled traces.
func (g *generator) newTrace(sampled bool) int32 {
	tc := traceCtx{sampled: sampled}
	if sampled {
		putUint64(tc.id[:8], g.rng.uint64())
		putUint64(tc.id[8:], g.rng.uint64())
	}
	g.tree.traces = append(g.tree.traces, tc)
	return int32(len(g.tree.traces) - 1)
}

func (g *generator) addHop(h hop) int32 {
	if g.tree.traces[h.trace].sampled {
		putUint64(h.span[:], g.rng.uint64()|1)
	}
	if g.tree.traces[h.srvTrace].sampled {
		putUint64(h.work[:], g.rng.uint64()|1)
	}
	g.tree.hops = append(g.tree.hops, h)
	return int32(len(g.tree.hops) - 1)
}

func putUint64(b []byte, v uint64) {
	_ = b[7]
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
}

// sample draws a duration from l, times factor, in nanoseconds.
func (g *generator) sample(l Latency, factor float64) int64 {
	v := g.rng.logNormal(float64(l.Median), l.Sigma) * factor
	return int64(math.Max(v, 1000))
}

// netTime is the time the two sidecars and the network add to a call.
func (g *generator) netTime() int64 {
	return int64(g.rng.between(150, 900) * float64(time.Microsecond))
}

// simulate builds one request tree from a root request, or from a job's
// run, and returns its number of calls.
func (g *generator) simulate() int {
	g.tree.reset()
	tr := g.newTrace(g.cfg.TraceSample > 0 && g.rng.float() < g.cfg.TraceSample)
	if len(g.t.Jobs) > 0 && g.rng.chance(g.t.JobShare) {
		return g.jobRun(tr)
	}
	gw := g.t.Gateway
	gwPod := gw.Workloads[0].Pods[g.rng.intn(len(gw.Workloads[0].Pods))]
	root := g.addHop(hop{dst: gwPod, parent: -1, link: -1, trace: tr, srvTrace: tr, ep: -1})
	self := g.sample(gw.Latency, 1)
	c := g.gatewayCalls[g.rng.weighted(g.gatewayShares)]
	end, failed := g.callHop(c, gwPod, root, self/2, 1)
	h := &g.tree.hops[root]
	h.srvDur = end + self/2
	h.dur = h.srvDur
	if failed {
		h.out = outUnavailable
	}
	g.tree.end = max(g.tree.end, h.srvDur)
	return len(g.tree.hops) - 1
}

// jobRun simulates a run of one of the jobs, in trace tr: the job's own
// work and the calls it makes. Nothing calls the job; its run is the root
// of the tree.
func (g *generator) jobRun(tr int32) int {
	j := g.t.Jobs[g.rng.intn(len(g.t.Jobs))]
	p := g.pickPod(g.pickWorkload(j))
	root := g.addHop(hop{dst: p, parent: -1, link: -1, trace: tr, srvTrace: tr, ep: -1})
	d, failed := g.handle(p.Workload, p, root, 0, 0)
	h := &g.tree.hops[root]
	h.srvDur, h.dur = d, d
	if failed {
		h.out = outAppError
	}
	g.tree.end = max(g.tree.end, d)
	return len(g.tree.hops) - 1
}

// handle simulates workload w (pod p) handling the work of hop at start,
// and returns its duration and whether it failed.
func (g *generator) handle(w *Workload, p *Pod, at int32, start int64, depth int) (int64, bool) {
	s := w.Service
	rt := &g.wl[w.Index]
	bad := p == g.badPod
	errors := rt.errors
	if bad {
		errors += BadPodErrorRate
	}
	self := g.sample(s.Latency, rt.latency)
	pre := self / 4
	t0 := start + pre
	end := t0
	failed := g.rng.chance(s.ErrorRate + errors)
	if !failed && depth < maxDepth {
		stagger := int64(0)
		for _, c := range s.Calls {
			if c.Kind == CallConsume || !g.callOn[c.Index] || !g.rng.chance(c.Probability) {
				continue
			}
			n := 1
			if c.Repeat > 1 {
				n = 1 + g.rng.intn(c.Repeat)
			}
			at0 := t0 + stagger
			stagger += 20_000
			for range n {
				e, f := g.callHop(c, p, at, at0, depth+1)
				at0 = e // repeated calls run one after the other
				end = max(end, e)
				if f && c.Critical {
					failed = true
				}
			}
		}
	}
	d := end - start + self - pre
	if bad {
		// Slow all through, its calls' answers too (a noisy neighbour, a
		// failing disk): its spans end later, its calls' spans stay inside.
		d *= BadPodLatencyFactor
	}
	return d, failed
}

// pickWorkload chooses the version of s that serves a call.
func (g *generator) pickWorkload(s *Service) *Workload {
	if len(s.Workloads) == 1 {
		return s.Workloads[0]
	}
	r := g.rng.float()
	picked := s.Workloads[len(s.Workloads)-1]
	for _, w := range s.Workloads {
		if r < w.Weight {
			picked = w
			break
		}
		r -= w.Weight
	}
	if g.wl[picked.Index].undeployed {
		// Not deployed yet: the service's first deployed workload serves.
		for _, w := range s.Workloads {
			if !g.wl[w.Index].undeployed {
				return w
			}
		}
	}
	return picked
}

func (g *generator) pickPod(w *Workload) *Pod { return w.Pods[g.rng.intn(len(w.Pods))] }

// callHop simulates call c from pod src at start, made while handling the
// work of hop parent, and returns when it ended for the caller and whether
// it failed.
func (g *generator) callHop(c *Call, src *Pod, parent int32, start int64, depth int) (int64, bool) {
	pt := g.tree.hops[parent].srvTrace
	srvTrace := pt
	if !c.From.Traced && c.To.Traced {
		srvTrace = g.newTrace(g.tree.traces[pt].sampled) // the uninstrumented caller broke the trace
	}
	to := c.To
	var dst *Pod
	if to.Kind != KindExternal {
		dst = g.pickPod(g.pickWorkload(to))
	}
	i := g.addHop(hop{call: c, src: src, dst: dst, parent: parent, link: -1, trace: pt, srvTrace: srvTrace, ep: -1, start: start})
	net := g.netTime()
	var h hop // filled below, then copied into place: the recursion may move the slice
	h.out = outOK
	switch c.Kind {
	case CallRequest:
		ep := g.rng.intn(len(to.Endpoints))
		h.ep, h.path = int16(ep), int16(g.rng.intn(len(to.Endpoints[ep].Paths)))
		h.reqBytes, h.rspBytes = g.bodyBytes(to, to.Endpoints[ep].Method)
		r := g.rng.float()
		switch fs := g.svc[to.Index].failShare; {
		case r < fs*ConnFailureShare:
			h.out = outConnFailure
			h.srvStart, h.srvDur = start, 0
			h.dur = int64(g.rng.between(0.3, 3) * float64(time.Millisecond))
			h.rspBytes = 91 // Envoy's local reply body
		case r < fs:
			h.out = outUnavailable
			h.srvStart = start + net/2
			h.srvDur = g.sample(Latency{Median: 300 * time.Microsecond, Sigma: 0.4}, 1)
			h.dur = h.srvDur + net
			h.rspBytes = 19
		default:
			h.srvStart = start + net/2
			d, failed := g.handle(dst.Workload, dst, i, h.srvStart, depth)
			h.srvDur, h.dur = d, d+net
			switch {
			case failed && g.rng.chance(0.5):
				h.out = outUnavailable
			case failed:
				h.out = outAppError
			case g.rng.chance(0.004):
				h.out = outNotFound
			}
		}
	case CallDatabase, CallCache, CallExternal, CallProduce:
		h.srvStart = start + net/2
		factor := 1.0
		if dst != nil {
			factor = g.wl[dst.Workload.Index].latency
		}
		h.srvDur = g.sample(to.Latency, factor)
		h.dur = h.srvDur + net
		h.reqBytes, h.rspBytes = g.bodyBytes(to, "")
		if c.Kind == CallExternal && g.rng.chance(to.ErrorRate) {
			h.out = outUnavailable
		}
	}
	x := &g.tree.hops[i]
	x.ep, x.path, x.out = h.ep, h.path, h.out
	x.srvStart, x.srvDur, x.dur = h.srvStart, h.srvDur, h.dur
	x.reqBytes, x.rspBytes = h.reqBytes, h.rspBytes
	end := start + h.dur
	g.tree.end = max(g.tree.end, end)
	if c.Kind == CallProduce {
		for _, cc := range g.consumers[c.Topic.Name] {
			if g.callOn[cc.Index] {
				g.consume(cc, i, end+int64(g.rng.between(1, 25)*float64(time.Millisecond)), depth)
			}
		}
	}
	return end, h.out.failed()
}

// consume simulates a worker fetching and processing the message that
// hop produced: a fetch from the broker (the worker's sidecar sees a TCP
// connection), then the worker's work, in a trace of its own linked to the
// producer's span.
func (g *generator) consume(c *Call, produced int32, start int64, depth int) {
	w := g.pickWorkload(c.From)
	src := g.pickPod(w)
	broker := g.pickPod(g.pickWorkload(c.To))
	tr := g.newTrace(g.tree.traces[g.tree.hops[produced].trace].sampled)
	i := g.addHop(hop{call: c, src: src, dst: broker, parent: -1, link: produced, trace: tr, srvTrace: tr, ep: -1, start: start})
	net := g.netTime()
	fetch := g.sample(c.To.Latency, g.wl[broker.Workload.Index].latency) + net
	d, failed := g.handle(w, src, i, start+fetch, depth+1)
	x := &g.tree.hops[i]
	x.dur = fetch
	x.srvStart, x.srvDur = start+fetch, d
	x.reqBytes, x.rspBytes = g.bodyBytes(c.To, "")
	if failed {
		x.out = outAppError // the processing failed; the fetch itself did not
	}
	g.tree.end = max(g.tree.end, start+fetch+d)
}

// bodyBytes draws the request and response body sizes of a call to s.
func (g *generator) bodyBytes(s *Service, method string) (req, rsp int64) {
	switch s.Kind {
	case KindDatabase:
		return int64(g.rng.logNormal(220, 0.5)), int64(g.rng.logNormal(1800, 1))
	case KindCache:
		return int64(g.rng.logNormal(60, 0.4)), int64(g.rng.logNormal(400, 0.9))
	case KindBroker:
		return int64(g.rng.logNormal(900, 0.6)), int64(g.rng.logNormal(120, 0.3))
	case KindExternal:
		return int64(g.rng.logNormal(600, 0.5)), int64(g.rng.logNormal(1500, 0.6))
	}
	if method == "GET" {
		return 0, int64(g.rng.logNormal(g.svc[s.Index].body, 0.8))
	}
	return int64(g.rng.logNormal(350, 0.8)), int64(g.rng.logNormal(g.svc[s.Index].body/2, 0.8))
}
