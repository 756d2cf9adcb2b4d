package graph

import (
	"slices"
	"strings"
	"time"
)

// Assembler turns finest-level edge statistics into the graph of one
// granularity: it merges the edges whose ends fall on the same nodes and
// totals every node's inbound and outbound calls. The live builder and the
// history readers both use it, so a graph has the same shape whatever its
// source. Edges reach it through a Selection (or the live tick's own
// choice), which leaves out the keys whose calls another input's key
// counts (choose.go). An Assembler is reused across graphs: Reset keeps the memory and
// the sort order of the edges and nodes still in use, so that a tick costs
// little more than the additions. It is not safe for concurrent use.
type Assembler struct {
	g      Granularity
	health *HealthConfig
	edges  map[string]*edgeAgg
	nodes  map[string]*nodeAgg
	// edgeOrder and nodeOrder are sorted by id; what was created since the
	// last Graph waits in newEdges and newNodes.
	edgeOrder, newEdges []*edgeAgg
	nodeOrder, newNodes []*nodeAgg
	gen                 uint64
	// arena holds the latency buckets copied by Add; free the merged
	// histograms no edge uses.
	arena []uint64
	free  []*Histogram
}

type edgeAgg struct {
	id, src, dst     string
	srcNode, dstNode *nodeAgg
	c                counters
	// Latency: the buckets lo..hi hold every non-zero one. With one
	// contribution they are single (bucket singleLo first, owned by the
	// caller until Graph); with more, merged (owned by the assembler).
	lo, hi   int
	latN     int
	single   []uint64
	singleLo int
	merged   *Histogram
	protoReq [len(protocolNames)]uint64
	protos   uint8 // protocols seen, counted or not: bit 1<<Protocol
	gen      uint64
	dead     bool // forgotten by the assembler; callers' cached pointers must not use it
}

// counters are the scalar parts of EdgeStats.
type counters struct {
	requests, errors, latSum, bytesSent, bytesRecv, mtls, plain uint64
	prov                                                        Provenance
	reps                                                        ReporterSet
}

func (c *counters) add(o *counters) {
	c.requests += o.requests
	c.errors += o.errors
	c.latSum += o.latSum
	c.bytesSent += o.bytesSent
	c.bytesRecv += o.bytesRecv
	c.mtls += o.mtls
	c.plain += o.plain
	c.prov |= o.prov
	c.reps |= o.reps
}

func countersOf(s *EdgeStats) counters {
	return counters{requests: s.Requests, errors: s.Errors, latSum: s.LatencySumNanos, bytesSent: s.BytesSent,
		bytesRecv: s.BytesReceived, mtls: s.MTLS, plain: s.Plaintext, prov: s.Provenance, reps: s.Reporters}
}

type nodeAgg struct {
	id                           string
	party                        Party
	cluster                      string
	clusterMixed                 bool
	reqIn, errIn, reqOut, errOut uint64
	gen                          uint64
	dead                         bool
}

// NewAssembler returns an assembler for granularity g; health may be nil
// (Kiali's defaults).
func NewAssembler(g Granularity, health *HealthConfig) *Assembler {
	if health == nil {
		health = &HealthConfig{}
	}
	return &Assembler{g: g, health: health, edges: map[string]*edgeAgg{}, nodes: map[string]*nodeAgg{}, gen: 1}
}

// Granularity of the graphs this assembler makes.
func (a *Assembler) Granularity() Granularity { return a.g }

// Reset starts a new graph. Edges and nodes the previous graph did not use
// are forgotten; the others are kept, with their place in the sort order.
func (a *Assembler) Reset() {
	a.merge()
	a.edgeOrder = slices.DeleteFunc(a.edgeOrder, func(e *edgeAgg) bool {
		if e.gen == a.gen {
			return false
		}
		e.dead = true
		delete(a.edges, e.id)
		if e.merged != nil {
			clear(e.merged[:])
			a.free = append(a.free, e.merged)
			e.merged = nil
		}
		return true
	})
	a.nodeOrder = slices.DeleteFunc(a.nodeOrder, func(n *nodeAgg) bool {
		if n.gen == a.gen {
			return false
		}
		n.dead = true
		delete(a.nodes, n.id)
		return true
	})
	a.gen++
	a.arena = a.arena[:0]
}

// resolve returns the aggregate of an edge, creating it and its nodes. The
// pointer stays valid (not dead) while the edge is used in every graph.
func (a *Assembler) resolve(id, src, dst string, sp, dp *Party) *edgeAgg {
	if e := a.edges[id]; e != nil {
		return e
	}
	e := &edgeAgg{id: id, src: src, dst: dst, srcNode: a.node(src, sp), dstNode: a.node(dst, dp), lo: HistogramSize, hi: -1}
	a.edges[id] = e
	a.newEdges = append(a.newEdges, e)
	return e
}

func (a *Assembler) node(id string, p *Party) *nodeAgg {
	if n := a.nodes[id]; n != nil {
		return n
	}
	n := &nodeAgg{id: id, party: p.AtGranularity(a.g)}
	a.nodes[id] = n
	a.newNodes = append(a.newNodes, n)
	return n
}

// add adds one finest-level edge k to e: its counters and its latency
// buckets lat, the first being bucket latLo. lat must stay unchanged until
// Graph returns.
func (a *Assembler) add(e *edgeAgg, k *EdgeKey, c *counters, lat []uint64, latLo int) {
	if e.gen != a.gen {
		if e.merged != nil {
			if e.lo <= e.hi {
				clear(e.merged[e.lo : e.hi+1])
			}
			a.free = append(a.free, e.merged)
		}
		*e = edgeAgg{id: e.id, src: e.src, dst: e.dst, srcNode: e.srcNode, dstNode: e.dstNode,
			lo: HistogramSize, hi: -1, gen: a.gen}
	}
	e.c.add(c)
	if len(lat) > 0 {
		switch e.latN {
		case 0:
			e.single, e.singleLo = lat, latLo
		case 1:
			e.merged = a.histogram()
			copy(e.merged[e.singleLo:], e.single)
			e.single = nil
			fallthrough
		default:
			for i, n := range lat {
				e.merged[latLo+i] += n
			}
		}
		e.latN++
		e.lo, e.hi = min(e.lo, latLo), max(e.hi, latLo+len(lat)-1)
	}
	if int(k.Protocol) < len(e.protoReq) {
		e.protos |= 1 << k.Protocol
		e.protoReq[k.Protocol] += c.requests
	}
	e.srcNode.touch(a.gen, k.Source.Cluster)
	e.srcNode.reqOut += c.requests
	e.srcNode.errOut += c.errors
	e.dstNode.touch(a.gen, k.Destination.Cluster)
	e.dstNode.reqIn += c.requests
	e.dstNode.errIn += c.errors
}

func (a *Assembler) histogram() *Histogram {
	if n := len(a.free); n > 0 {
		h := a.free[n-1]
		a.free = a.free[:n-1]
		return h
	}
	return new(Histogram)
}

// touch starts the node's numbers for this graph and notes a cluster its
// parties are in: the node shows a cluster only when all agree.
func (n *nodeAgg) touch(gen uint64, cluster string) {
	if n.gen != gen {
		n.reqIn, n.errIn, n.reqOut, n.errOut = 0, 0, 0, 0
		n.cluster, n.clusterMixed = cluster, false
		n.gen = gen
		return
	}
	if cluster != n.cluster {
		n.clusterMixed = true
	}
}

// merge sorts what was created since the last graph into the orders.
func (a *Assembler) merge() {
	byEdgeID := func(x, y *edgeAgg) int { return strings.Compare(x.id, y.id) }
	byNodeID := func(x, y *nodeAgg) int { return strings.Compare(x.id, y.id) }
	if len(a.newEdges) > 0 {
		slices.SortFunc(a.newEdges, byEdgeID)
		a.edgeOrder = mergeSorted(a.edgeOrder, a.newEdges, byEdgeID)
		a.newEdges = a.newEdges[:0]
	}
	if len(a.newNodes) > 0 {
		slices.SortFunc(a.newNodes, byNodeID)
		a.nodeOrder = mergeSorted(a.nodeOrder, a.newNodes, byNodeID)
		a.newNodes = a.newNodes[:0]
	}
}

func mergeSorted[T any](x, y []T, cmp func(a, b T) int) []T {
	out := make([]T, 0, len(x)+len(y))
	i, j := 0, 0
	for i < len(x) && j < len(y) {
		if cmp(x[i], y[j]) <= 0 {
			out = append(out, x[i])
			i++
		} else {
			out = append(out, y[j])
			j++
		}
	}
	out = append(out, x[i:]...)
	return append(out, y[j:]...)
}

// Graph returns the graph of what was added since Reset, over [from, to):
// rates are per second of that range. Nodes and edges are sorted by id.
func (a *Assembler) Graph(from, to time.Time) *Graph {
	a.merge()
	secs := to.Sub(from).Seconds()
	g := &Graph{Granularity: a.g, From: from.UTC(), To: to.UTC(), WindowSeconds: secs}
	ne, nn := 0, 0
	for _, e := range a.edgeOrder {
		if e.gen == a.gen && e.c.requests > 0 {
			ne++
		}
	}
	for _, n := range a.nodeOrder {
		if n.gen == a.gen && n.reqIn+n.reqOut > 0 {
			nn++
		}
	}
	g.Edges, g.Nodes = make([]Edge, 0, ne), make([]Node, 0, nn)
	for _, e := range a.edgeOrder {
		if e.gen == a.gen && e.c.requests > 0 {
			g.Edges = append(g.Edges, e.edge(secs))
		}
	}
	for _, n := range a.nodeOrder {
		if n.gen == a.gen && n.reqIn+n.reqOut > 0 {
			g.Nodes = append(g.Nodes, n.node(secs, a.health))
		}
	}
	return g
}

func (e *edgeAgg) edge(secs float64) Edge {
	c := &e.c
	proto := 0
	for i, n := range e.protoReq {
		if n > e.protoReq[proto] {
			proto = i
		}
	}
	var pc Percentiles
	switch {
	case e.merged != nil:
		pc = percentilesOf(e.merged[e.lo:e.hi+1], e.lo)
	case e.single != nil:
		pc = percentilesOf(e.single, e.singleLo)
	}
	out := Edge{
		ID: e.id, Source: e.src, Target: e.dst, Protocol: Protocol(proto).String(),
		Requests: c.requests, Errors: c.errors,
		P50Ms: pc.P50 / 1e6, P90Ms: pc.P90 / 1e6, P95Ms: pc.P95 / 1e6, P99Ms: pc.P99 / 1e6,
		BytesSent: c.bytesSent, BytesReceived: c.bytesRecv,
		Protocols:  protocolSetNames[e.protos&(1<<len(protocolNames)-1)],
		Provenance: provenanceNames[c.prov&7],
		Reporters:  reporterNames[c.reps&7],
	}
	if secs > 0 {
		out.RPS = float64(c.requests) / secs
		out.BytesSentPerSecond = float64(c.bytesSent) / secs
		out.BytesReceivedPerSecond = float64(c.bytesRecv) / secs
	}
	if c.requests > 0 {
		out.ErrorRate = float64(c.errors) / float64(c.requests)
	}
	// The mean is over the calls of known latency (those in the
	// histogram): metric series without a histogram add calls only.
	var timed uint64
	switch {
	case e.merged != nil:
		timed = sumCounts(e.merged[e.lo : e.hi+1])
	case e.single != nil:
		timed = sumCounts(e.single)
	}
	if timed > 0 {
		out.MeanMs = float64(c.latSum) / float64(timed) / 1e6
	}
	if known := c.mtls + c.plain; known > 0 {
		out.MTLSShare = float64(c.mtls) / float64(known)
	}
	return out
}

func (n *nodeAgg) node(secs float64, health *HealthConfig) Node {
	p := &n.party
	out := Node{
		ID: n.id, Kind: p.Kind, Namespace: p.Namespace, Name: p.Name, Workload: p.Workload, Version: p.Version,
		Cluster:    n.cluster,
		RequestsIn: n.reqIn, ErrorsIn: n.errIn, RequestsOut: n.reqOut, ErrorsOut: n.errOut,
		Health: health.Health(p.Namespace, p.Name, n.reqIn, n.errIn, n.reqOut, n.errOut),
	}
	if n.clusterMixed {
		out.Cluster = ""
	}
	if secs > 0 {
		out.RPSIn = float64(n.reqIn) / secs
		out.RPSOut = float64(n.reqOut) / secs
	}
	if n.reqIn > 0 {
		out.ErrorRateIn = float64(n.errIn) / float64(n.reqIn)
	}
	return out
}

func sumCounts(b []uint64) (n uint64) {
	for _, c := range b {
		n += c
	}
	return n
}

// latencyRange returns the first and last non-zero bucket (lo > hi: none).
func latencyRange(h *Histogram) (lo, hi int) {
	lo, hi = HistogramSize, -1
	for i, c := range h {
		if c != 0 {
			lo = min(lo, i)
			hi = i
		}
	}
	return lo, hi
}

// provenanceNames, reporterNames and protocolSetNames are shared, immutable
// name lists for every bitmask, so that published edges do not allocate
// them.
var (
	provenanceNames = func() (out [8][]string) {
		for i := range out {
			out[i] = Provenance(i).Names()
		}
		return out
	}()
	reporterNames = func() (out [8][]string) {
		for i := range out {
			out[i] = ReporterSet(i).Names()
		}
		return out
	}()
	protocolSetNames = func() (out [1 << len(protocolNames)][]string) {
		for m := range out {
			out[m] = []string{}
			for p, name := range protocolNames {
				if m&(1<<p) != 0 {
					out[m] = append(out[m], name)
				}
			}
		}
		return out
	}()
)
