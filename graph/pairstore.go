package graph

// newEntry creates the entry for k, appended to the expiry list (entries are
// created in arrival order with the same wait, so the list stays sorted).
func (sh *pairShard) newEntry(k pairKey, expires int64) *pending {
	var e *pending
	if n := len(sh.free); n > 0 {
		e = sh.free[n-1]
		sh.free = sh.free[:n-1]
	} else {
		e = &pending{}
	}
	e.key, e.expires = k, expires
	e.prev, e.next = sh.tail, nil
	if sh.tail != nil {
		sh.tail.next = e
	} else {
		sh.head = e
	}
	sh.tail = e
	sh.entries[k] = e
	sh.mark(&k)
	return e
}

// remove unlinks e, forgets it and keeps it for reuse.
func (sh *pairShard) remove(e *pending) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		sh.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		sh.tail = e.prev
	}
	delete(sh.entries, e.key)
	servers := e.servers
	clear(servers)
	*e = pending{servers: servers[:0]}
	if len(sh.free) < 1024 {
		sh.free = append(sh.free, e)
	}
}

// expire ends the entries whose wait is over at now and appends the calls
// they stand for to out: unpaired client spans call their virtual target,
// unpaired consumers are called by their messaging node; other unpaired
// server spans are dropped. Covered entries end silently.
func (p *pairer) expire(now int64, out []Observation) []Observation {
	var c pairCounts
	for i := range p.shards {
		sh := &p.shards[i]
		sh.mu.Lock()
		for e := sh.head; e != nil && e.expires <= now; e = sh.head {
			if !e.covered {
				if e.hasClient && !e.paired {
					out = append(out, e.client.toPeer())
					c.unpairedClient++
					c.expiredClient++
				}
				for j := range e.servers {
					s := &e.servers[j]
					c.expiredServer++
					if s.consumer && s.peer.Kind == KindMessaging {
						out = append(out, s.fromPeer())
						c.unpairedConsumer++
					}
				}
			}
			sh.remove(e)
			p.count.Add(-1)
			c.pending--
		}
		sh.mu.Unlock()
	}
	c.flush(p.m)
	return out
}

// pending is the number of entries in the store.
func (p *pairer) pending() int {
	n := 0
	for i := range p.shards {
		sh := &p.shards[i]
		sh.mu.Lock()
		n += len(sh.entries)
		sh.mu.Unlock()
	}
	return n
}

// pairCounts accumulates a batch's counts so that shared counters are
// touched once per batch.
type pairCounts struct {
	spans, paired, unpairedClient, rootServer, unpairedConsumer int
	storeFull, expiredClient, expiredServer                     int
	pending                                                     int
}

func (c *pairCounts) flush(m *builderMetrics) {
	add := func(n int, f func(float64)) {
		if n != 0 {
			f(float64(n))
		}
	}
	add(c.spans, m.spans.Add)
	add(c.paired, m.callsPaired.Add)
	add(c.unpairedClient, m.callsUnpairedClient.Add)
	add(c.rootServer, m.callsRootServer.Add)
	add(c.unpairedConsumer, m.callsUnpairedConsumer.Add)
	add(c.storeFull, m.spanStoreFull.Add)
	add(c.expiredClient, m.expiredClient.Add)
	add(c.expiredServer, m.expiredServer.Add)
	add(c.pending, m.spanPending.Add)
}
