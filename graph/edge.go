package graph

// edgeState is one finest-level edge in the live builder: its per-second
// cells (ascending by second) from the oldest not yet both flushed and out of
// the window, and the running totals of the cells inside the window. It is
// owned by its shard and only touched with the shard's lock held; key and
// ids never change, and aggs belongs to the tick (see Builder.assemble).
type edgeState struct {
	key  EdgeKey
	hash uint64
	next *edgeState // hash collision chain
	ids  [3]edgeIDs // per granularity, indexed like Granularities

	cells []*cell
	// winStart is the first second of the window: cells from it on are
	// added into win.
	winStart  int64
	win       EdgeStats
	provCells [numProv]int32 // in-window cells that saw each provenance
	repCells  [3]int32       // in-window cells that saw each reporter
	// Latency buckets of win outside [latLo, latHi] are zero; the range
	// only grows while the window holds calls.
	latLo, latHi int

	// aggs caches the edge's aggregate in each granularity's assembler.
	aggs [3]*edgeAgg
	// lastSeen is the latest second each provenance saw this edge: a
	// preferred input seen recently keeps less preferred ones from counting
	// in seconds it does not cover (see provenance.go).
	lastSeen [numProv]int64
	// choice caches the edge's group in the tick's input choice; only the
	// tick touches it.
	choice *choiceGroup
}

type edgeIDs struct{ src, dst, edge string }

func newEdgeState(k *EdgeKey, hash uint64, winStart int64) *edgeState {
	e := &edgeState{key: cloneKey(k), hash: hash, winStart: winStart, latLo: HistogramSize, latHi: -1}
	for i, g := range Granularities {
		src, dst := e.key.Source.NodeID(g), e.key.Destination.NodeID(g)
		e.ids[i] = edgeIDs{src: src, dst: dst, edge: EdgeID(src, dst)}
	}
	return e
}

// cloneKey copies the strings of k: observations' strings belong to the caller.
func cloneKey(k *EdgeKey) EdgeKey {
	return EdgeKey{Source: cloneParty(k.Source), Destination: cloneParty(k.Destination), Protocol: k.Protocol}
}

func cloneParty(p Party) Party {
	return Party{
		Kind: NodeKind(intern(string(p.Kind))), Cluster: intern(p.Cluster), Namespace: intern(p.Namespace),
		Name: intern(p.Name), Workload: intern(p.Workload), Version: intern(p.Version),
	}
}

// cellFor returns the cell of second sec, inserting it in order.
func (e *edgeState) cellFor(sec int64, p *pool) *cell {
	i := len(e.cells)
	for i > 0 {
		c := e.cells[i-1]
		if c.sec == sec {
			return c
		}
		if c.sec < sec {
			break
		}
		i--
	}
	c := p.cell()
	c.sec = sec
	e.cells = append(e.cells, nil)
	copy(e.cells[i+1:], e.cells[i:])
	e.cells[i] = c
	return c
}

// observe adds d, seen in slot, to the cell of second sec and keeps the
// window totals right when the cell's choice of slots changes.
func (e *edgeState) observe(sec int64, slot int, d *obsDelta, pref *preference, p *pool) {
	e.lastSeen[slot/3] = max(e.lastSeen[slot/3], sec)
	var recent uint8
	for pi := range numProv {
		if e.lastSeen[pi] != 0 && e.lastSeen[pi] >= sec-coverSeconds {
			recent |= 1 << pi
		}
	}
	c := e.cellFor(sec, p)
	inWin := sec >= e.winStart
	s := c.slots[slot]
	if s == nil {
		s = p.slot()
		c.slots[slot] = s
		if inWin {
			pi, r := slot/3, slot%3
			if c.present>>(3*pi)&7 == 0 {
				e.provCells[pi]++
			}
			if c.reporters()&(1<<r) == 0 {
				e.repCells[r]++
			}
		}
		c.present |= 1 << slot
	}
	before := c.chosen
	s.apply(d)
	after := pref.choose(c, recent)
	c.chosen = after
	if !inWin {
		return
	}
	if before == after {
		if after&(1<<slot) != 0 {
			e.applyDelta(d)
		}
		return
	}
	for m := before; m != 0; m &= m - 1 {
		e.win.subSlot(c.slots[lowBit(m)])
	}
	if before&(1<<slot) != 0 {
		e.applyDelta(d) // what was subtracted for slot included d
	}
	for m := after; m != 0; m &= m - 1 {
		s := c.slots[lowBit(m)]
		e.win.addSlot(s)
		e.widen(&s.lat)
	}
}

func (e *edgeState) applyDelta(d *obsDelta) {
	e.win.applyDelta(d)
	if d.hist == nil {
		if d.bucket >= 0 { // -1: latency unknown, no bucket
			e.latLo, e.latHi = min(e.latLo, d.bucket), max(e.latHi, d.bucket)
		}
		return
	}
	lo, hi := latencyRange(d.hist)
	e.latLo, e.latHi = min(e.latLo, lo), max(e.latHi, hi)
}

// widen extends the latency range to a slot's buckets.
func (e *edgeState) widen(h *sparseHist) {
	if h.full != nil {
		e.latLo, e.latHi = 0, HistogramSize-1
		return
	}
	for _, b := range h.idx {
		e.latLo, e.latHi = min(e.latLo, int(b)), max(e.latHi, int(b))
	}
}

// leaveWindow removes an in-window cell from the window totals.
func (e *edgeState) leaveWindow(c *cell) {
	for m := c.chosen; m != 0; m &= m - 1 {
		e.win.subSlot(c.slots[lowBit(m)])
	}
	for pi := range numProv {
		if c.present>>(3*pi)&7 != 0 {
			e.provCells[pi]--
		}
	}
	rep := c.reporters()
	for r := range 3 {
		if rep&(1<<r) != 0 {
			e.repCells[r]--
		}
	}
}

// slide moves the window start to start (never backwards).
func (e *edgeState) slide(start int64) {
	if start <= e.winStart {
		return
	}
	for _, c := range e.cells {
		if c.sec >= start {
			break
		}
		if c.sec >= e.winStart {
			e.leaveWindow(c)
		}
	}
	e.winStart = start
	if e.win.Requests == 0 && e.latLo <= e.latHi {
		clear(e.win.Latency[e.latLo : e.latHi+1])
		e.latLo, e.latHi = HistogramSize, -1
	}
}

// windowStats returns the window totals with provenance and reporters.
func (e *edgeState) windowStats() *EdgeStats {
	e.win.Provenance, e.win.Reporters = 0, 0
	for pi := range numProv {
		if e.provCells[pi] > 0 {
			e.win.Provenance |= provBits[pi]
		}
	}
	for r := range 3 {
		if e.repCells[r] > 0 {
			e.win.Reporters |= 1 << r
		}
	}
	return &e.win
}

// sumRange adds the chosen numbers of the cells in [from, to) into dst and
// reports whether there were any.
func (e *edgeState) sumRange(from, to int64, dst *EdgeStats) bool {
	found := false
	for _, c := range e.cells {
		if c.sec >= to {
			break
		}
		if c.sec >= from {
			c.addChosen(dst)
			found = true
		}
	}
	return found
}

// drop releases the cells older than keep (flushed and out of the window).
func (e *edgeState) drop(keep int64, p *pool) {
	n := 0
	for n < len(e.cells) && e.cells[n].sec < keep {
		if e.cells[n].sec >= e.winStart {
			e.leaveWindow(e.cells[n])
		}
		p.putCell(e.cells[n])
		n++
	}
	if n > 0 {
		rest := copy(e.cells, e.cells[n:])
		clear(e.cells[rest:])
		e.cells = e.cells[:rest]
	}
}

// idle reports whether the edge holds nothing and can be forgotten.
func (e *edgeState) idle() bool { return len(e.cells) == 0 && e.win.Requests == 0 }

// pool recycles cells and slots within a shard.
type pool struct {
	cells []*cell
	slots []*slotStats
}

func (p *pool) cell() *cell {
	if n := len(p.cells); n > 0 {
		c := p.cells[n-1]
		p.cells = p.cells[:n-1]
		return c
	}
	return &cell{}
}

func (p *pool) slot() *slotStats {
	if n := len(p.slots); n > 0 {
		s := p.slots[n-1]
		p.slots = p.slots[:n-1]
		return s
	}
	return &slotStats{}
}

func (p *pool) putCell(c *cell) {
	for i, s := range c.slots {
		if s != nil {
			s.reset()
			p.slots = append(p.slots, s)
			c.slots[i] = nil
		}
	}
	c.present, c.chosen, c.sec = 0, 0, 0
	p.cells = append(p.cells, c)
}
