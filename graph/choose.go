package graph

import "math/bits"

// Counting calls once across edge keys.
//
// Within one edge key the builder picks, second by second, one input's
// numbers (provenance.go). Inputs describe the same calls with different
// detail, though: an access log line written by the caller's sidecar knows
// the callee only by its service, a span knows the callee's workload and
// version, a span without HTTP attributes has protocol unknown, an Istio
// series without a canonical revision has no version. Such calls land on
// several keys of the same service-level edge, one per input.
//
// So every graph (live ticks, Builder.Graph, historical ranges) passes its
// finest-level edges through an inputChoice before adding them up. Two keys
// of the same service-level edge describe possibly the same calls when they
// agree on everything both know: cluster, workload and version of each end
// (an empty field agrees with anything) and protocol (unknown agrees with
// any; a database's queries, db, with the TCP connections that carry them).
// A key is left out when such a key was seen by an input more
// preferred than every input that saw it: its calls are already counted
// there. A key left out still adds its provenance and reporters to the
// edge, so the edge lists every input that saw it.
//
// Keys that disagree (the canary's v2 seen only by spans, while access logs
// name only v1) are different calls and all count. A key's inputs are those
// that saw it in the graph's range (the live window, a historical range).
//
// Because the choice is made on the service-level edge and applies to every
// granularity, every granularity counts the same calls: where the preferred
// input knows less (a callee by service only), the finer graphs show the
// calls on the coarser node. A service-level edge with more than
// maxPairwiseKeys keys seen by mixed inputs is decided as a whole: only keys
// seen by its most preferred input count.

// Calls from an unknown caller (client:/) that spans alone saw are left out
// too when the callee's proxy names its callers. Such a key comes from root
// server spans whose caller sent no span (the caller is not traced), and a
// proxy that reports the callee's calls through access logs or metrics has
// those same calls on the keys of their named callers. A caller outside the
// mesh is unknown to the proxy as well, so its calls have a key client:/ ->
// callee seen by more than spans, and that service-level edge keeps the
// usual choice. The callee counts as proxied when an access log or metric
// key that spans did not see was reported from its side: as the destination
// of calls to it (Istio, Envoy) or as the source of calls from it (Linkerd,
// whose proxies report meshed calls on the caller's side only). Keys that
// spans saw as well are no such evidence: their reporters mix the inputs',
// and a callee without a proxy, called by a traced caller through its
// sidecar, would look proxied.

// maxPairwiseKeys bounds the quadratic comparison within one edge.
const maxPairwiseKeys = 64

// inputChoice decides which finest-level edges of one graph count. Use:
// reset, add every edge, decide, then counts. It is not safe for
// concurrent use; its memory is reused across graphs.
type inputChoice struct {
	rank   [8]uint8 // provenance mask -> rank of its most preferred bit (0 best); 255: none
	groups map[string]*choiceGroup
	used   []*choiceGroup
	items  []choiceItem
	all    Provenance // union of every item's provenance
	gen    uint64     // the graph being decided; groups of older ones are stale
	epoch  uint64     // bumped when groups is cleared: cached groups of older epochs are stale

	callees map[nodeKey]calleeState // leaveOutUnknownCallers' scratch
}

type choiceGroup struct {
	epoch   uint64
	gen     uint64
	mask    Provenance
	members []int32
}

type choiceItem struct {
	key   *EdgeKey
	cache **choiceGroup // where the caller keeps the key's group across graphs, or nil
	sid   string        // service-level edge id, "" until needed when not given
	mask  Provenance
	reps  ReporterSet
	out   bool
}

func newInputChoice(pref *preference) *inputChoice {
	c := &inputChoice{groups: map[string]*choiceGroup{}}
	for m := range c.rank {
		c.rank[m] = 255
		for r, pi := range pref {
			if m&int(provBits[pi]) != 0 {
				c.rank[m] = uint8(r)
				break
			}
		}
	}
	return c
}

func (c *inputChoice) reset() {
	// Forget the groups when most were not used by the last graph, so the
	// map does not keep every edge ever seen.
	if len(c.groups) > 4*len(c.used)+1024 {
		clear(c.groups)
		c.epoch++
	}
	c.used, c.items, c.all = c.used[:0], c.items[:0], 0
	c.gen++
}

// add records a finest-level edge k seen by the inputs in mask, reported
// by reps. serviceEdge is the id of k's service-level edge, or "" to have
// it computed when needed. cache, when not nil, keeps k's group between
// graphs (it must start nil and belong to k alone). k must stay valid until
// the choice is reset.
func (c *inputChoice) add(serviceEdge string, k *EdgeKey, mask Provenance, reps ReporterSet, cache **choiceGroup) {
	mask &= 7
	c.all |= mask
	c.items = append(c.items, choiceItem{key: k, cache: cache, sid: serviceEdge, mask: mask, reps: reps})
	if c.all&(c.all-1) == 0 {
		// One input so far: nothing to choose. Groups are only needed
		// once inputs mix, so the common case skips the map.
		return
	}
	if len(c.used) == 0 {
		// Inputs just started to mix: group what came before.
		for i := range c.items[:len(c.items)-1] {
			c.join(i)
		}
	}
	c.join(len(c.items) - 1)
}

func (c *inputChoice) join(i int) {
	it := &c.items[i]
	var g *choiceGroup
	if it.cache != nil && *it.cache != nil && (*it.cache).epoch == c.epoch {
		g = *it.cache
	} else {
		if it.sid == "" {
			it.sid = keyServiceEdge(it.key)
		}
		g = c.groups[it.sid]
		if g == nil {
			g = &choiceGroup{epoch: c.epoch}
			c.groups[it.sid] = g
		}
		if it.cache != nil {
			*it.cache = g
		}
	}
	if g.gen != c.gen {
		g.gen, g.mask, g.members = c.gen, 0, g.members[:0]
		c.used = append(c.used, g)
	}
	g.mask |= it.mask
	g.members = append(g.members, int32(i))
}

// keyServiceEdge is the id of k's service-level edge.
func keyServiceEdge(k *EdgeKey) string {
	return EdgeID(k.Source.NodeID(GranularityService), k.Destination.NodeID(GranularityService))
}

// decide marks the items that do not count.
func (c *inputChoice) decide() {
	c.leaveOutUnknownCallers()
	for _, g := range c.used {
		if bits.OnesCount8(uint8(g.mask)) < 2 {
			continue
		}
		if len(g.members) > maxPairwiseKeys {
			best := c.rank[g.mask]
			for _, i := range g.members {
				it := &c.items[i]
				it.out = c.rank[it.mask] != best
			}
			continue
		}
		for _, i := range g.members {
			a := &c.items[i]
			ra := c.rank[a.mask]
			for _, j := range g.members {
				b := &c.items[j]
				if c.rank[b.mask] < ra && sameCalls(a.key, b.key) {
					a.out = true
					break
				}
			}
		}
	}
}

// nodeKey identifies a party's service-level node without building its id.
type nodeKey struct {
	kind     NodeKind
	ns, name string
}

func serviceNode(p *Party) nodeKey {
	if !p.IsMesh() {
		return nodeKey{kind: p.Kind, ns: p.Namespace, name: p.Name}
	}
	return nodeKey{kind: KindService, ns: p.Namespace, name: p.serviceName()}
}

// unknownCaller reports whether p is the unknown caller, client:/.
func unknownCaller(p *Party) bool {
	return p.Kind == KindClient && p.Namespace == "" && p.Name == ""
}

// calleeState is what the inputs other than spans say of a callee that
// spans saw called by the unknown caller.
type calleeState uint8

const (
	calleeNamed   calleeState = 1 << iota // they name callers of it
	calleeProxied                         // its proxy reports (see above)
	calleeUnknown                         // they saw the unknown caller call it
)

// leaveOutUnknownCallers marks the keys client:/ -> callee that spans alone
// saw, where the callee's proxy names its callers (see above).
func (c *inputChoice) leaveOutUnknownCallers() {
	if c.all&FromSpan == 0 || c.all&^FromSpan == 0 {
		return
	}
	spanOnlyUnknown := func(it *choiceItem) bool { return it.mask == FromSpan && unknownCaller(&it.key.Source) }
	if c.callees == nil {
		c.callees = map[nodeKey]calleeState{}
	}
	clear(c.callees)
	for i := range c.items {
		if it := &c.items[i]; spanOnlyUnknown(it) {
			c.callees[serviceNode(&it.key.Destination)] = 0
		}
	}
	if len(c.callees) == 0 {
		return
	}
	for i := range c.items {
		it := &c.items[i]
		if it.mask&^FromSpan == 0 {
			continue
		}
		dst := serviceNode(&it.key.Destination)
		if st, ok := c.callees[dst]; ok {
			if unknownCaller(&it.key.Source) {
				st |= calleeUnknown
			} else {
				st |= calleeNamed
			}
			if it.mask&FromSpan == 0 && it.reps&(1<<ReporterDestination) != 0 {
				st |= calleeProxied
			}
			c.callees[dst] = st
		}
		if it.mask&FromSpan == 0 && it.reps&(1<<ReporterSource) != 0 {
			src := serviceNode(&it.key.Source)
			if st, ok := c.callees[src]; ok {
				c.callees[src] = st | calleeProxied
			}
		}
	}
	for i := range c.items {
		if it := &c.items[i]; spanOnlyUnknown(it) && c.callees[serviceNode(&it.key.Destination)] == calleeNamed|calleeProxied {
			it.out = true
		}
	}
}

// counts reports whether the i-th added edge counts.
func (c *inputChoice) counts(i int) bool { return !c.items[i].out }

// sameCalls reports whether two keys of one service-level edge may describe
// the same calls: they agree on everything both know.
func sameCalls(a, b *EdgeKey) bool {
	return protocolsAgree(a.Protocol, b.Protocol) &&
		partiesAgree(&a.Source, &b.Source) && partiesAgree(&a.Destination, &b.Destination)
}

// protocolsAgree reports whether two keys' protocols may describe the same
// traffic: the same protocol, one unknown, or a database's queries (db,
// from spans) and the TCP connections that carry them (tcp, from the
// proxies), which the choice then counts in the more trusted input's unit.
func protocolsAgree(p, q Protocol) bool {
	return p == q || p == ProtocolUnknown || q == ProtocolUnknown ||
		p == ProtocolDB && q == ProtocolTCP || p == ProtocolTCP && q == ProtocolDB
}

func partiesAgree(p, q *Party) bool {
	return agree(p.Cluster, q.Cluster) && agree(p.Workload, q.Workload) && agree(p.Version, q.Version) &&
		agree(p.Name, q.Name)
}

func agree(x, y string) bool { return x == "" || y == "" || x == y }

// Selection collects the finest-level edges of one graph and adds to an
// Assembler only the numbers of those that count (see above); the others
// add their provenance and reporters. It copies what it keeps of the stats;
// keys are kept as given. A Selection is for one graph.
type Selection struct {
	choice *inputChoice
	keys   []EdgeKey
	stats  []selStats
	arena  []uint64 // latency buckets of stats
}

type selStats struct {
	c            counters
	latLo        int
	latOff, latN int // the buckets latLo.. are arena[latOff : latOff+latN]
}

// NewSelection returns a Selection trusting inputs in the given order (nil:
// DefaultProvenancePreference).
func NewSelection(order []Provenance) (*Selection, error) {
	pref, err := newPreference(order)
	if err != nil {
		return nil, err
	}
	return newSelection(&pref), nil
}

func newSelection(pref *preference) *Selection {
	return &Selection{choice: newInputChoice(pref)}
}

// Add adds one finest-level edge. k's strings are kept; st is copied. An
// edge without calls (bytes alone, from a metric) is left out: it is not
// shown, and must not take part in the choice of which inputs count.
func (s *Selection) Add(k *EdgeKey, st *EdgeStats) {
	if st.Requests == 0 {
		return
	}
	lo, hi := latencyRange(&st.Latency)
	off := len(s.arena)
	if lo <= hi {
		s.arena = append(s.arena, st.Latency[lo:hi+1]...)
	}
	s.keys = append(s.keys, *k)
	s.stats = append(s.stats, selStats{c: countersOf(st), latLo: lo, latOff: off, latN: len(s.arena) - off})
}

// decide runs the input choice over the collected edges.
func (s *Selection) decide() *inputChoice {
	ch := s.choice
	ch.reset()
	for i := range s.keys {
		ch.add("", &s.keys[i], s.stats[i].c.prov, s.stats[i].c.reps, nil)
	}
	ch.decide()
	return ch
}

// AddTo decides which edges count and adds them to a.
func (s *Selection) AddTo(a *Assembler) {
	ch := s.decide()
	for i := range s.keys {
		k, st := &s.keys[i], &s.stats[i]
		src, dst := k.Source.NodeID(a.g), k.Destination.NodeID(a.g)
		e := a.resolve(EdgeID(src, dst), src, dst, &k.Source, &k.Destination)
		if ch.counts(i) {
			a.add(e, k, &st.c, s.arena[st.latOff:st.latOff+st.latN:st.latOff+st.latN], st.latLo)
		} else {
			a.add(e, k, &counters{prov: st.c.prov, reps: st.c.reps}, nil, 0)
		}
	}
}

// Reset empties the selection for another graph.
func (s *Selection) Reset() {
	s.keys, s.stats, s.arena = s.keys[:0], s.stats[:0], s.arena[:0]
}

// Total decides which edges count and sets dst to the sum of their numbers,
// with the provenance and reporters of all.
func (s *Selection) Total(dst *EdgeStats) {
	*dst = EdgeStats{}
	s.TotalBy(func(*EdgeKey) *EdgeStats { return dst })
}

// TotalBy decides which edges count and adds each edge's numbers to the
// stats into(k) gives for its key (the provenance and reporters of all, the
// numbers of those that count): Total split by any part of the key, such as
// the callee's version. into may return the same stats for many keys.
func (s *Selection) TotalBy(into func(k *EdgeKey) *EdgeStats) {
	ch := s.decide()
	for i := range s.stats {
		st := &s.stats[i]
		dst := into(&s.keys[i])
		dst.Provenance |= st.c.prov
		dst.Reporters |= st.c.reps
		if !ch.counts(i) {
			continue
		}
		c := &st.c
		dst.Requests += c.requests
		dst.Errors += c.errors
		dst.LatencySumNanos += c.latSum
		dst.BytesSent += c.bytesSent
		dst.BytesReceived += c.bytesRecv
		dst.MTLS += c.mtls
		dst.Plaintext += c.plain
		for j, n := range s.arena[st.latOff : st.latOff+st.latN] {
			dst.Latency[st.latLo+j] += n
		}
	}
}
