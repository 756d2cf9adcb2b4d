package graph

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshscope/meshscope/schema"
)

// The span pairer turns spans into calls. A client (or producer) span and
// the server (or consumer) spans whose parent it is meet in a pending entry
// keyed by (trace id, client span id); a consumer span without a parent
// meets its producers through its span links. Pairs become calls at once;
// entries whose wait is over become calls to or from virtual nodes
// (virtual.go), or are dropped and counted.
//
// Envoy sidecars add spans of their own (component=proxy): the caller's
// sidecar a client span under the application's client span, the callee's
// sidecar a server span above the application's server span. The sidecars'
// spans pair with each other; the application's spans around them are
// covered (the call is already counted) and end silently.
type pairer struct {
	wait   int64 // nanoseconds
	max    int64 // entries in all shards
	count  atomic.Int64
	m      *builderMetrics
	shards [pairShards]pairShard

	scratch sync.Pool // *pairScratch
}

const pairShards = 32

type pairKey [24]byte // trace id, span id

type pairShard struct {
	mu         sync.Mutex
	entries    map[pairKey]*pending
	head, tail *pending // by expiry
	free       []*pending
	// maybe has the bit of every key in entries set (and of some keys no
	// longer there), so that most keys the shard does not hold are known
	// absent without a lookup in a map as large as the calls in flight.
	// Bits are set as entries are made and rebuilt from entries once
	// rebuildMarks keys were marked since the last time.
	maybe  [maybeBits / 64]uint64
	marked int
	_      [64]byte
}

const (
	maybeBits    = 1 << 16
	rebuildMarks = maybeBits / 4
)

// maybeBit is k's bit in pairShard.maybe: from the span id and the trace
// id's low half, mixed, so that sequential span ids spread too.
func maybeBit(k *pairKey) uint64 {
	h := binary.LittleEndian.Uint64(k[16:]) ^ binary.LittleEndian.Uint64(k[8:16])
	return (h * 0x9E3779B97F4A7C15) >> (64 - 16)
}

// mark sets k's bit, rebuilding the bits when enough keys were marked.
func (sh *pairShard) mark(k *pairKey) {
	b := maybeBit(k)
	sh.maybe[b/64] |= 1 << (b % 64)
	if sh.marked++; sh.marked < rebuildMarks {
		return
	}
	clear(sh.maybe[:])
	for k := range sh.entries {
		b := maybeBit(&k)
		sh.maybe[b/64] |= 1 << (b % 64)
	}
	sh.marked = len(sh.entries)
}

// mayHold reports false when the shard certainly holds no entry for k.
func (sh *pairShard) mayHold(k *pairKey) bool {
	b := maybeBit(k)
	return sh.maybe[b/64]&(1<<(b%64)) != 0
}

// pending is one (trace, client span) meeting point.
type pending struct {
	key        pairKey
	expires    int64
	prev, next *pending

	client    callSide
	hasClient bool
	paired    bool // the client has met a server already
	covered   bool // a sidecar span stands for this span's call
	servers   []callSide
}

// callSide is one half of a call, its strings interned.
type callSide struct {
	party     Party
	peer      Party // client: the virtual target; consumer: the virtual source
	timeNanos int64
	dur       int64
	proto     Protocol
	err       bool
	reqBytes  uint64
	respBytes uint64
	consumer  bool
	producer  bool
}

const maxServersPerEntry = 16

func newPairer(wait time.Duration, maxPending int, m *builderMetrics) *pairer {
	p := &pairer{wait: wait.Nanoseconds(), max: int64(maxPending), m: m}
	for i := range p.shards {
		p.shards[i].entries = map[pairKey]*pending{}
	}
	p.scratch.New = func() any {
		return &pairScratch{index: map[pairKey]int32{}, parties: map[Party]Party{}, peers: map[Party]Party{}}
	}
	return p
}

func (p *pairer) shard(k *pairKey) *pairShard {
	return &p.shards[(uint(k[0])^uint(k[7])<<3^uint(k[15]))%pairShards]
}

func keyOf(trace schema.TraceID, span schema.SpanID) pairKey {
	var k pairKey
	copy(k[:16], trace[:])
	copy(k[16:], span[:])
	return k
}

// add takes a batch of spans and appends the calls they complete to out.
//
// The two halves of a call often come in the same batch (an SDK exporting
// a process's spans, a collector that groups traces): those pair within the
// batch, checking only that the store holds nothing for them, which spares
// the store an entry made and found again. Everything else goes through
// the store, in the batch's order.
func (p *pairer) add(spans []schema.SpanRow, now int64, out []Observation) []Observation {
	sc := p.scratch.Get().(*pairScratch)
	defer p.scratch.Put(sc)
	sc.collect(spans)
	var c pairCounts
	c.spans = sc.spans
	ops, groups := sc.ops, sc.groups
	// Peers (virtual nodes) are found and interned only for calls that
	// may need them: roots, and sides that wait in the store.
	peers := peerFinder{spans: spans, cache: partyCache{seen: sc.peers}}
	for i := range ops {
		op := &ops[i]
		if op.role == roleRoot {
			peers.find(op)
			out = append(out, op.side.fromPeer())
			c.rootServer++
			continue
		}
		g := &groups[op.group]
		if !g.pair {
			peers.find(op)
			out = p.apply(op.key, now, out, &c, op.role, &op.side)
			continue
		}
		if i == int(g.first) {
			// The halves pair here unless the store holds the key
			// already; then both go through it.
			out, g.stored = p.applyIfStored(op, now, out, &c, &peers)
			continue
		}
		if g.stored {
			peers.find(op)
			out = p.apply(op.key, now, out, &c, op.role, &op.side)
			continue
		}
		first := &ops[g.first]
		client, server := &first.side, &op.side
		if first.role == roleServer {
			client, server = server, client
		}
		out = append(out, pairCall(client, server))
		c.paired++
	}
	c.flush(p.m)
	return out
}

// Roles of a span towards an entry.
const (
	roleClient = iota
	roleServer
	roleCover
	roleRoot // no entry: a server span without a parent, called by its virtual source
)

// pairOp is what one span does to one entry (or, roleRoot, a call of its
// own).
type pairOp struct {
	key   pairKey
	role  int
	group int32 // the op's key in pairScratch.groups
	// target is the index of the client span whose virtual target
	// side.peer has yet to be found (peerFinder), or -1.
	target int32
	side   callSide
}

// peerFinder fills in ops' peers when a call may need them: a client
// span's virtual target takes parsing its attributes again, which most
// clients, paired within their batch, are spared.
type peerFinder struct {
	spans []schema.SpanRow
	cache partyCache
	si    spanInfo
}

func (f *peerFinder) find(op *pairOp) {
	if op.target >= 0 {
		s := &f.spans[op.target]
		readSpan(s, &f.si)
		op.side.peer, op.target = virtualTarget(s, &f.si), -1
	}
	op.side.peer = f.cache.intern(op.side.peer)
}

// pairGroup is the ops of a batch on one key.
type pairGroup struct {
	first, n int32
	clients  int32 // ops of role client that are not producers
	servers  int32
	pair     bool // one client and one server: they pair within the batch
	stored   bool // the store held the key when its first op came
}

// pairScratch is one batch's ops, grouped by key, reused across batches
// (until then it keeps the last batch's ops, and their strings, alive).
type pairScratch struct {
	ops    []pairOp
	groups []pairGroup
	index  map[pairKey]int32
	spans  int
	// The parties and peers interned in earlier batches.
	parties, peers map[Party]Party
}

// collect turns spans into ops in order, interning their parties, and
// marks the keys whose ops are one client and one server.
func (sc *pairScratch) collect(spans []schema.SpanRow) {
	sc.ops, sc.groups, sc.spans = sc.ops[:0], sc.groups[:0], 0
	clear(sc.index)
	var si spanInfo
	var zero schema.SpanID
	// Spans of a batch come grouped by resource: the last party interned
	// is reused when it comes again. Peers are interned by add, when
	// needed.
	own := partyCache{seen: sc.parties}
	for i := range spans {
		s := &spans[i]
		if s.Kind < schema.SpanKindServer || s.Kind > schema.SpanKindConsumer {
			continue
		}
		sc.spans++
		readSpan(s, &si)
		side := newSide(s, &si, &own)
		if s.Kind == schema.SpanKindClient || s.Kind == schema.SpanKindProducer {
			sc.op(keyOf(s.TraceID, s.SpanID), roleClient, &side)
			sc.ops[len(sc.ops)-1].target = int32(i)
			if si.proxy && s.ParentSpanID != zero {
				sc.op(keyOf(s.TraceID, s.ParentSpanID), roleCover, nil)
			}
			continue
		}
		if si.proxy {
			sc.op(keyOf(s.TraceID, s.SpanID), roleCover, nil)
		}
		if s.Kind == schema.SpanKindConsumer {
			side.peer = virtualSource(s)
		}
		switch {
		case s.ParentSpanID != zero:
			sc.op(keyOf(s.TraceID, s.ParentSpanID), roleServer, &side)
		case s.Kind == schema.SpanKindConsumer && len(s.LinkSpanIDs) > 0:
			for j := range min(len(s.LinkSpanIDs), len(s.LinkTraceIDs)) {
				sc.op(keyOf(s.LinkTraceIDs[j], s.LinkSpanIDs[j]), roleServer, &side)
			}
		default:
			side.peer = virtualSource(s)
			sc.ops = append(sc.ops, pairOp{role: roleRoot, group: -1, target: -1, side: side})
		}
	}
	for i := range sc.groups {
		g := &sc.groups[i]
		g.pair = g.n == 2 && g.clients == 1 && g.servers == 1
	}
}

// op appends an op of role on key k (side nil for covers).
func (sc *pairScratch) op(k pairKey, role int, side *callSide) {
	g, ok := sc.index[k]
	if !ok {
		g = int32(len(sc.groups))
		sc.index[k] = g
		sc.groups = append(sc.groups, pairGroup{first: int32(len(sc.ops))})
	}
	gr := &sc.groups[g]
	gr.n++
	switch {
	case role == roleClient && !side.producer:
		gr.clients++
	case role == roleServer:
		gr.servers++
	}
	op := pairOp{key: k, role: role, group: g, target: -1}
	if side != nil {
		op.side = *side
	}
	sc.ops = append(sc.ops, op)
}

func newSide(s *schema.SpanRow, si *spanInfo, own *partyCache) callSide {
	return callSide{
		party:     own.intern(si.party),
		timeNanos: int64(s.StartUnixNano),
		dur:       int64(s.DurationNanos),
		proto:     si.proto,
		err:       IsError(si.status),
		reqBytes:  si.reqBytes,
		respBytes: si.respBytes,
		consumer:  s.Kind == schema.SpanKindConsumer,
		producer:  s.Kind == schema.SpanKindProducer,
	}
}

// partyCache interns parties, remembering the last one: comparing a party
// with the last one costs little when their strings are the same ones.
// With seen, it also remembers the parties it interned before (up to
// maxSeenParties), for parties that alternate (the peers of a service).
type partyCache struct {
	raw, interned Party
	ok            bool
	seen          map[Party]Party
}

// maxSeenParties bounds each cache's memory (a pairScratch has two, and
// there are as many scratches as batches paired at once).
const maxSeenParties = 1024

func (c *partyCache) intern(p Party) Party {
	if c.ok && p == c.raw {
		return c.interned
	}
	v, ok := c.seen[p]
	if !ok {
		v = cloneParty(p)
		if c.seen != nil {
			if len(c.seen) >= maxSeenParties {
				clear(c.seen)
			}
			c.seen[v] = v // keyed by the copy: p's strings are the caller's
		}
	}
	c.raw, c.interned, c.ok = p, v, true
	return v
}

// apply finds or creates the entry for k and adds side to it in role, with
// the shard locked. When the store is full a new entry is not created: the
// span is dropped and counted.
func (p *pairer) apply(k pairKey, now int64, out []Observation, c *pairCounts, role int, side *callSide) []Observation {
	sh := p.shard(&k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return p.applyLocked(sh, sh.entries[k], k, now, out, c, role, side)
}

// applyIfStored is apply for op when the store holds an entry for its key
// (its peer found first), and reports whether it did; else it leaves the
// store alone.
func (p *pairer) applyIfStored(op *pairOp, now int64, out []Observation, c *pairCounts, peers *peerFinder) ([]Observation, bool) {
	sh := p.shard(&op.key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if !sh.mayHold(&op.key) {
		return out, false
	}
	e := sh.entries[op.key]
	if e == nil {
		return out, false
	}
	peers.find(op)
	return p.applyLocked(sh, e, op.key, now, out, c, op.role, &op.side), true
}

// applyLocked is apply with sh locked and e its entry for k (nil: none).
func (p *pairer) applyLocked(sh *pairShard, e *pending, k pairKey, now int64, out []Observation, c *pairCounts, role int, side *callSide) []Observation {
	if e == nil {
		if p.count.Load() >= p.max {
			c.storeFull++
			return out
		}
		e = sh.newEntry(k, now+p.wait)
		p.count.Add(1)
		c.pending++
	}
	switch role {
	case roleClient:
		out = e.addClient(side, out, c)
	case roleServer:
		out = e.addServer(side, out, c)
	default:
		e.covered = true
	}
	if e.hasClient && e.paired && !e.client.producer {
		// A request has one server; producers wait for more consumers.
		sh.remove(e)
		p.count.Add(-1)
		c.pending--
	}
	return out
}

func (e *pending) addClient(cs *callSide, out []Observation, c *pairCounts) []Observation {
	if e.hasClient {
		return out // the same span twice
	}
	e.client, e.hasClient = *cs, true
	for i := range e.servers {
		out = append(out, pairCall(&e.client, &e.servers[i]))
		c.paired++
		e.paired = true
	}
	clear(e.servers)
	e.servers = e.servers[:0]
	return out
}

func (e *pending) addServer(s *callSide, out []Observation, c *pairCounts) []Observation {
	if e.hasClient {
		e.paired = true
		c.paired++
		return append(out, pairCall(&e.client, s))
	}
	if len(e.servers) < maxServersPerEntry {
		e.servers = append(e.servers, *s)
	} else {
		c.storeFull++
	}
	return out
}

// pairCall is the call of a client span and a server span: the caller's
// start time, the server's latency (as the destination reporter of an access
// log would give it), an error if either side says so.
func pairCall(c, s *callSide) Observation {
	proto := s.proto
	if proto == ProtocolUnknown {
		proto = c.proto
	}
	o := Observation{
		TimeUnixNano: c.timeNanos, Source: c.party, Destination: s.party, Protocol: proto,
		Count: 1, DurationNanos: s.dur,
		BytesSent: max(c.reqBytes, s.reqBytes), BytesReceived: max(c.respBytes, s.respBytes),
		Provenance: FromSpan, Reporter: ReporterDestination,
	}
	if c.err || s.err {
		o.Errors = 1
	}
	return o
}

// toPeer is the call of an unpaired client span to its virtual target.
func (c *callSide) toPeer() Observation {
	o := Observation{TimeUnixNano: c.timeNanos, Source: c.party, Destination: c.peer, Protocol: c.proto,
		Count: 1, DurationNanos: c.dur, BytesSent: c.reqBytes, BytesReceived: c.respBytes,
		Provenance: FromSpan, Reporter: ReporterSource}
	if c.err {
		o.Errors = 1
	}
	return o
}

// fromPeer is the call of a virtual source to an unpaired server span.
func (c *callSide) fromPeer() Observation {
	o := Observation{TimeUnixNano: c.timeNanos, Source: c.peer, Destination: c.party, Protocol: c.proto,
		Count: 1, DurationNanos: c.dur, BytesSent: c.reqBytes, BytesReceived: c.respBytes,
		Provenance: FromSpan, Reporter: ReporterDestination}
	if c.err {
		o.Errors = 1
	}
	return o
}
