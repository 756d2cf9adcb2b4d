package stream

import (
	"sync"
	"sync/atomic"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/query/nsfilter"
)

// pump is the one goroutine per granularity that reads the live graph and
// fans each tick out to the clients subscribed to that granularity.
type pump struct {
	hub *Hub
	g   graph.Granularity
	// last is the newest tick the pump has read.
	last atomic.Pointer[graph.Tick]

	mu      sync.Mutex
	clients map[*client]struct{}

	// snapshots caches encoded snapshots of snapTick, by namespace set.
	snapMu    sync.Mutex
	snapTick  *graph.Tick
	snapshots map[string]*frame
}

func (p *pump) add(c *client) {
	p.mu.Lock()
	p.clients[c] = struct{}{}
	p.mu.Unlock()
}

func (p *pump) remove(c *client) {
	p.mu.Lock()
	delete(p.clients, c)
	p.mu.Unlock()
}

func (p *pump) members() []*client {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*client, 0, len(p.clients))
	for c := range p.clients {
		out = append(out, c)
	}
	return out
}

func (p *pump) run(ticks <-chan *graph.Tick, cancel func()) {
	defer p.hub.wg.Done()
	defer cancel()
	// The latest tick read after subscribing lets the first tick received
	// go out as a delta; if it was already delivered, it is skipped.
	prev := p.hub.live.Latest(p.g)
	if prev != nil {
		p.last.Store(prev)
	}
	for {
		select {
		case <-p.hub.done:
			return
		case t, ok := <-ticks:
			if !ok {
				return
			}
			if t == nil || t.Graph == nil || t == prev {
				continue
			}
			p.fanOut(prev, t)
			prev = t
		}
	}
}

// fanOut offers t to every client, as a delta when t follows prev, else
// (after a tick the hub missed) as a snapshot. Each distinct message (one per
// namespace set) is encoded once.
func (p *pump) fanOut(prev, t *graph.Tick) {
	p.last.Store(t)
	clients := p.members()
	if len(clients) == 0 {
		return
	}
	asDelta := prev != nil && t.Delta != nil && t.Delta.Seq == t.Seq && t.Delta.BaseSeq == prev.Seq
	frames := map[string]*frame{}
	for _, c := range clients {
		sub := c.sub.Load()
		// A client waiting for a snapshot takes it from p.last, which is
		// already t: nothing to queue.
		if sub == nil || sub.g != p.g || c.resync.Load() {
			continue
		}
		key := sub.set.Key()
		f, ok := frames[key]
		if !ok {
			var err error
			if asDelta {
				f, err = deltaFrame(prev.Graph, t, sub.set)
			} else {
				f, err = p.snapshot(t, sub.set)
			}
			if err != nil {
				p.hub.log.Error("encode graph stream message", "granularity", p.g, "seq", t.Seq, "err", err)
			}
			frames[key] = f
		}
		if f != nil {
			c.offer(f, sub.gen)
		}
	}
}

// latest is the newest tick known, from the live graph or the pump.
func (p *pump) latest() *graph.Tick {
	t := p.last.Load()
	if lt := p.hub.live.Latest(p.g); lt != nil && (t == nil || lt.Seq > t.Seq) {
		return lt
	}
	return t
}

// snapshot returns the encoded snapshot of t restricted to set, encoding it
// once per tick and set however many clients ask.
func (p *pump) snapshot(t *graph.Tick, set nsfilter.Set) (*frame, error) {
	if t == nil {
		return snapshotFrame(p.g, nil, set)
	}
	p.snapMu.Lock()
	defer p.snapMu.Unlock()
	if p.snapTick != t {
		p.snapTick, p.snapshots = t, map[string]*frame{}
	}
	key := set.Key()
	if f := p.snapshots[key]; f != nil {
		return f, nil
	}
	f, err := snapshotFrame(p.g, t, set)
	if err != nil {
		return nil, err
	}
	p.snapshots[key] = f
	return f, nil
}
