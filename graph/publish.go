package graph

import (
	"sync"
	"sync/atomic"
	"time"
)

// Publisher keeps the latest tick of each granularity and fans ticks out to
// subscribers without ever waiting for one: a subscriber whose buffer is full
// misses the tick (and sees a gap in Seq). It implements Live for the live
// builder and for LiveFromHistory. All methods are safe for concurrent use;
// Publish is meant to be called by one goroutine per granularity.
type Publisher struct {
	states [3]pubState
	// OnDrop, when set before the first Publish, is called (with the
	// subscribers' lock held, so it must be quick) for every tick a slow
	// subscriber misses.
	OnDrop func(g Granularity)
}

type pubState struct {
	latest atomic.Pointer[Tick]
	mu     sync.Mutex
	seq    uint64
	subs   map[*subscription]struct{}
	closed bool
}

type subscription struct {
	ch     chan *Tick
	closed bool
}

func granularityIndex(g Granularity) int {
	switch g {
	case GranularityService:
		return 0
	case GranularityWorkload:
		return 1
	case GranularityVersion:
		return 2
	}
	return -1
}

// Publish makes cur the latest graph of its granularity: it computes the
// delta from the previous one, numbers the tick and hands it to every
// subscriber that has room. cur must not be modified afterwards.
func (p *Publisher) Publish(cur *Graph, at time.Time) *Tick {
	i := granularityIndex(cur.Granularity)
	if i < 0 {
		return nil
	}
	st := &p.states[i]
	st.mu.Lock()
	defer st.mu.Unlock()
	var prev *Graph
	if last := st.latest.Load(); last != nil {
		prev = last.Graph
	}
	st.seq++
	t := &Tick{Seq: st.seq, Graph: cur, Delta: ComputeDelta(prev, cur, st.seq, st.seq-1, at)}
	st.latest.Store(t)
	for s := range st.subs {
		select {
		case s.ch <- t:
		default:
			if p.OnDrop != nil {
				p.OnDrop(cur.Granularity)
			}
		}
	}
	return t
}

// Latest returns the most recent tick for g, or nil before the first.
func (p *Publisher) Latest(g Granularity) *Tick {
	i := granularityIndex(g)
	if i < 0 {
		return nil
	}
	return p.states[i].latest.Load()
}

// Subscribe returns a channel that receives every tick for g from now on,
// and a function that ends the subscription and closes the channel. The
// channel is also closed by Close. An unknown granularity gets a closed
// channel. buffer below 1 means 1.
func (p *Publisher) Subscribe(g Granularity, buffer int) (<-chan *Tick, func()) {
	s := &subscription{ch: make(chan *Tick, max(buffer, 1))}
	i := granularityIndex(g)
	if i < 0 {
		close(s.ch)
		return s.ch, func() {}
	}
	st := &p.states[i]
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		close(s.ch)
		return s.ch, func() {}
	}
	if st.subs == nil {
		st.subs = map[*subscription]struct{}{}
	}
	st.subs[s] = struct{}{}
	return s.ch, func() {
		st.mu.Lock()
		defer st.mu.Unlock()
		if !s.closed {
			s.closed = true
			delete(st.subs, s)
			close(s.ch)
		}
	}
}

// Subscribers is the number of current subscriptions to g.
func (p *Publisher) Subscribers(g Granularity) int {
	i := granularityIndex(g)
	if i < 0 {
		return 0
	}
	st := &p.states[i]
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.subs)
}

// Close ends every subscription (closing the channels); later subscriptions
// get closed channels. Latest keeps answering.
func (p *Publisher) Close() {
	for i := range p.states {
		st := &p.states[i]
		st.mu.Lock()
		st.closed = true
		for s := range st.subs {
			s.closed = true
			close(s.ch)
		}
		st.subs = nil
		st.mu.Unlock()
	}
}

var _ Live = (*Publisher)(nil)
