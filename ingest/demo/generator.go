package demo

import (
	"fmt"
	"sync"
	"time"
)

// output receives the batches the generator encodes. It takes ownership
// of the buffers it is given and returns them with putBuf when done.
type output interface {
	// als takes log_entry fields of one sidecar's HTTP or TCP logger.
	als(pod *Pod, tcp bool, entries *[]byte, n int)
	// lines takes Istio text lines of one workload's sidecars.
	lines(w *Workload, body *[]byte, n int)
	// traces takes an ExportTraceServiceRequest.
	traces(req *[]byte, spans int)
	// logs takes an ExportLogsServiceRequest.
	logs(req *[]byte, records int)
	// otlpMetrics takes an ExportMetricsServiceRequest.
	otlpMetrics(req *[]byte, points int)
	// remoteWrite takes a snappy-compressed WriteRequest.
	remoteWrite(body *[]byte, samples int)
}

// Buffers are recycled through two pools: small ones for the batches of
// one sidecar's access log entries, big ones for span exports, text line
// posts and remote write requests.
var (
	smallPool = sync.Pool{New: func() any { b := make([]byte, 0, 20<<10); return &b }}
	bigPool   = sync.Pool{New: func() any { b := make([]byte, 0, bigBuf); return &b }}
)

const (
	bigBuf = 96 << 10
	maxBuf = 16 << 20 // larger buffers are let go
)

func getBuf() *[]byte    { return smallPool.Get().(*[]byte) }
func getBigBuf() *[]byte { return bigPool.Get().(*[]byte) }

// putBuf returns a buffer to the pool its size fits.
func putBuf(b *[]byte) {
	switch c := cap(*b); {
	case c > maxBuf:
		return
	case c >= bigBuf:
		*b = (*b)[:0]
		bigPool.Put(b)
	default:
		*b = (*b)[:0]
		smallPool.Put(b)
	}
}

// Batch thresholds: Envoy's gRPC access logger flushes at 16 KiB
// (buffer_size_bytes) or every second; an OTLP exporter at 1,000 spans.
const (
	alsFlushBytes  = 16 << 10
	textFlushBytes = 64 << 10
	spanBatch      = 1000
	logBatch       = 1000
)

// batch is a buffer being filled and its number of items.
type batch struct {
	b   *[]byte
	n   int
	big bool // take the buffer from the big pool
}

func (b *batch) buf() []byte {
	if b.b == nil {
		if b.big {
			b.b = getBigBuf()
		} else {
			b.b = getBuf()
		}
	}
	return *b.b
}

// take hands the buffer over and starts a new one.
func (b *batch) take() (*[]byte, int) {
	buf, n := b.b, b.n
	b.b, b.n = nil, 0
	return buf, n
}

// svcRT and wlRT are the run-time state of services and workloads that
// scenarios change.
type svcRT struct {
	failShare float64 // share of calls into the service that fail
	body      float64 // median response body
}

type wlRT struct {
	latency float64 // latency factor
	errors  float64 // extra error rate
	// undeployed: the workload takes no calls yet (a canary before the
	// scenario's rollout); its service's first takes them.
	undeployed bool
}

// generator simulates request trees and encodes their telemetry into
// batches for an output. It is not safe for concurrent use.
type generator struct {
	t   *Topology
	cfg Config
	rng *rng
	out output
	cnt *counters

	tree          tree
	svc           []svcRT
	wl            []wlRT
	badPod        *Pod // the pod that fails and is slow (bad-pod), nil before the change
	calls         []callRT
	inCluster     []string // by service: inbound|PORT||
	callOn        []bool
	gatewayCalls  []*Call
	gatewayShares []float64
	consumers     map[string][]*Call // by topic: the consume calls
	clientIPs     []string

	als          *alsEncoder
	alsBufs      [][2]batch // by pod: HTTP and TCP entries
	textBufs     []batch    // by workload
	tc           timeCache
	spans        *spanTables
	pendingSpans otlpBatch

	pendingLogs otlpBatch
	logScratch  logOut
	logBody     []byte // the body being written
	metrics     *meshMetrics
	rw          rwEncoder
	sdk         *sdkMetrics

	entry       logEntry
	reqID       [36]byte
	traceparent []byte
	connSeq     uint32
	lastPort    int
	scratch     spanOut
	budget      float64
}

// newGenerator returns a generator of t writing into out; als may be nil
// (one is built) or shared with the sender, which needs the identifiers.
func newGenerator(t *Topology, cfg Config, out output, cnt *counters, als *alsEncoder) (*generator, error) {
	if als == nil {
		var err error
		if als, err = newALSEncoder(t); err != nil {
			return nil, err
		}
	}
	g := &generator{
		t: t, cfg: cfg, rng: newRNG(cfg.Seed, 2), out: out, cnt: cnt,
		svc: make([]svcRT, len(t.Services)), wl: make([]wlRT, len(t.Workloads)),
		calls: make([]callRT, len(t.Calls)), callOn: make([]bool, len(t.Calls)), inCluster: make([]string, len(t.Services)),
		consumers: map[string][]*Call{},
		als:       als, alsBufs: make([][2]batch, len(t.Pods)), textBufs: make([]batch, len(t.Workloads)),
		spans: newSpanTables(t), pendingSpans: newOTLPBatch(len(t.Pods)), pendingLogs: newOTLPBatch(len(t.Pods)),
		metrics: newMeshMetrics(t), sdk: newSDKMetrics(t),
	}
	body := newRNG(cfg.Seed, 3)
	for _, s := range t.Services {
		g.svc[s.Index].body = body.logNormal(2500, 0.8)
		g.inCluster[s.Index] = inboundCluster(s)
	}
	for i := range g.textBufs {
		g.textBufs[i].big = true
	}
	for _, c := range t.Calls {
		g.calls[c.Index] = newCallRT(c)
		switch {
		case c.From.Kind == KindGateway:
			g.gatewayCalls = append(g.gatewayCalls, c)
			g.gatewayShares = append(g.gatewayShares, c.Probability)
		case c.Kind == CallConsume:
			g.consumers[c.Topic.Name] = append(g.consumers[c.Topic.Name], c)
		}
	}
	if len(g.gatewayCalls) == 0 {
		return nil, fmt.Errorf("topology: the gateway calls no front end")
	}
	for i := range 64 {
		g.clientIPs = append(g.clientIPs, fmt.Sprintf("198.51.100.%d", 10+i*3))
	}
	g.setElapsed(0)
	return g, nil
}

// reseed draws the traffic from a stream of the seed and salt: runs of
// one seed with different salts write different trace, span and request
// ids, so a demo started again on the same data adds traces instead of
// writing into those of the run before.
func (g *generator) reseed(salt uint64) { g.rng = newRNG(g.cfg.Seed^salt, 2) }

// setElapsed applies the scenario's effect at elapsed time.
func (g *generator) setElapsed(elapsed time.Duration) {
	sc := &g.t.Scenario
	e := sc.effectAt(elapsed, g.cfg.ScenarioPeriod)
	for i := range g.svc {
		g.svc[i].failShare = 0
	}
	for i := range g.wl {
		g.wl[i] = wlRT{latency: 1}
	}
	for _, s := range g.t.Canaries() {
		for _, w := range s.Workloads {
			g.wl[w.Index].undeployed = w.Version != s.Workloads[0].Version && !e.canariesDeployed
		}
	}
	for _, c := range g.t.Calls {
		g.callOn[c.Index] = !c.New || e.newActive
	}
	if sc.Target == nil {
		return
	}
	switch sc.Name {
	case ScenarioFailingDependency:
		g.svc[sc.Target.Index].failShare = e.failShare
	case ScenarioSlowDatabase:
		for _, w := range sc.Target.Workloads {
			g.wl[w.Index].latency = e.latency
		}
	case ScenarioCanaryBad:
		for _, w := range sc.Target.Workloads {
			if w.Version == sc.Version {
				g.wl[w.Index].latency, g.wl[w.Index].errors = e.latency, e.canaryErrors
			}
		}
	case ScenarioBadPod:
		g.badPod = nil
		if e.badPod {
			g.badPod = sc.Pod
		}
	}
}

// request simulates one request tree that ends at now (Unix nanoseconds),
// encodes its telemetry and returns its number of calls.
func (g *generator) request(now int64) int {
	n := g.simulate()
	g.emit(now - g.tree.end)
	g.cnt.requests.Add(1)
	g.cnt.calls.Add(uint64(n))
	return n
}

// generate makes request trees worth dt of calls at Config.Rate, ending at
// now. Calls not made because a tree would overshoot are carried over.
func (g *generator) generate(now time.Time, dt time.Duration) {
	g.budget += g.cfg.Rate * dt.Seconds()
	if limit := g.cfg.Rate; g.budget > limit {
		g.budget = limit // after a stall, do not burst more than a second's worth
	}
	ns := now.UnixNano()
	for g.budget > 0 {
		g.budget -= float64(g.request(ns))
	}
}

// flush hands every non-empty batch to the output.
func (g *generator) flush() {
	for i := range g.alsBufs {
		for k := range 2 {
			if g.alsBufs[i][k].n > 0 {
				g.flushALS(g.t.Pods[i], k == 1)
			}
		}
	}
	for i := range g.textBufs {
		if g.textBufs[i].n > 0 {
			g.flushText(g.t.Workloads[i])
		}
	}
	g.flushSpans()
	g.flushLogs()
}

func (g *generator) flushALS(p *Pod, tcp bool) {
	k := 0
	if tcp {
		k = 1
	}
	b, n := g.alsBufs[p.Index][k].take()
	g.out.als(p, tcp, b, n)
}

func (g *generator) flushText(w *Workload) {
	b, n := g.textBufs[w.Index].take()
	g.out.lines(w, b, n)
}

// flushSpans builds an ExportTraceServiceRequest of the pending spans,
// grouped by pod.
func (g *generator) flushSpans() {
	if g.pendingSpans.n == 0 {
		return
	}
	req := getBigBuf()
	var n int
	*req, n = g.pendingSpans.take(*req, g.spans)
	g.out.traces(req, n)
}

// otlpBatch is the items (spans or log records) of the OTLP export being
// written, encoded, by pod.
type otlpBatch struct {
	bufs    [][]byte // by pod
	touched []int32  // pods with items
	n       int
}

func newOTLPBatch(pods int) otlpBatch { return otlpBatch{bufs: make([][]byte, pods)} }

// buf counts one more item of pod p and returns the buffer to append it to.
func (o *otlpBatch) buf(p int) *[]byte {
	if len(o.bufs[p]) == 0 {
		o.touched = append(o.touched, int32(p))
	}
	o.n++
	return &o.bufs[p]
}

// take appends the items to b as the repeated first field of an export
// request, each pod's under its Resource and the scope (ResourceSpans and
// ResourceLogs, ScopeSpans and ScopeLogs number their fields alike), and
// empties the batch; n is how many items it held.
func (o *otlpBatch) take(b []byte, t *spanTables) (_ []byte, n int) {
	for _, pi := range o.touched {
		var rs, ss int
		b, rs = openField(b, 1) // resource_spans, resource_logs
		b = append(b, t.resource[pi]...)
		b, ss = openField(b, 2) // scope_spans, scope_logs
		b = append(b, t.scope...)
		b = append(b, o.bufs[pi]...)
		b = closeField(b, ss)
		b = closeField(b, rs)
		o.bufs[pi] = o.bufs[pi][:0]
	}
	n = o.n
	o.touched, o.n = o.touched[:0], 0
	return b, n
}

// pushMetrics encodes every series at now: the sidecars' into remote
// write requests, the SDKs' into OTLP metrics exports.
func (g *generator) pushMetrics(now time.Time) {
	g.rw.push(g.metrics.list, now.UnixMilli(), func(body []byte, samples int) {
		g.out.remoteWrite(compress(body), samples)
	})
	g.sdk.push(now, func(req []byte, points int) {
		g.out.otlpMetrics(&req, points)
	})
}
