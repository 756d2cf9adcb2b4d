package graph

import (
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshscope/meshscope/schema"
)

// Builder is the live graph builder. It consumes observations and spans
// (Sink), keeps per-second edge statistics over the horizon, and every tick
// publishes the graph of the window and the delta from the previous tick for
// each granularity (Live). Closed 10 second buckets go to the EdgeWriter.
//
// Observe and ObserveSpans are safe for concurrent use by any number of
// goroutines and never wait for the tick, the writer or a subscriber beyond
// a shard lock held for microseconds. Run drives the ticks; Advance runs one
// tick by hand (tests, replay).
type Builder struct {
	cfg    BuilderConfig
	pref   preference
	seed   maphash.Seed
	shards []shard
	mask   uint64
	// shardEdges is MaxEdges spread over the shards.
	shardEdges int
	window     int64 // seconds
	horiz      int64 // seconds
	m          *builderMetrics
	pairer     *pairer
	pub        Publisher

	// winStart is the first second of the window of the last tick: new
	// edges start their window there.
	winStart atomic.Int64

	tickMu    sync.Mutex // serialises Advance
	asm       [3]*Assembler
	nextFlush int64 // start of the next bucket to flush, Unix seconds
	tmp       EdgeStats
	snaps     []edgeSnap // the window of every busy edge, this tick
	snapLat   []uint64   // latency buckets of snaps
	choice    *inputChoice
	warm      []*warmEdge // a previous process's buckets still in the window (warm.go)
	warmByKey map[EdgeKey]*warmEdge
	started   int64 // Unix seconds when the builder was created
	// warmFrom is the first bucket the builder kept when it was created
	// (its horizon then); restoredNext is nextFlush after Restore. Warm
	// skips the buckets in [restoredNext, nextFlush): this builder wrote
	// those itself.
	warmFrom, restoredNext int64
	snapSize               int // bytes of the last snapshot (snapshot.go)

	flushMu     sync.Mutex
	flushQ      chan flushItem
	flushClosed bool
	running     atomic.Bool

	obsBufs sync.Pool // *[]Observation for calls derived from spans
}

// NewBuilder returns a builder for cfg (defaults filled in). It panics on an
// invalid configuration: call cfg.WithDefaults().Validate() first to report
// errors to the user.
func NewBuilder(cfg BuilderConfig) *Builder {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		panic(fmt.Sprintf("graph: invalid builder config: %v", err))
	}
	pref, _ := newPreference(cfg.ProvenancePreference)
	b := &Builder{
		cfg:        cfg,
		pref:       pref,
		seed:       maphash.MakeSeed(),
		shards:     make([]shard, cfg.Shards),
		mask:       uint64(cfg.Shards - 1),
		shardEdges: (cfg.MaxEdges + cfg.Shards - 1) / cfg.Shards,
		window:     int64(cfg.Window / time.Second),
		horiz:      int64((cfg.Horizon + time.Second - 1) / time.Second),
		m:          newBuilderMetrics(cfg.Registerer),
		flushQ:     make(chan flushItem, cfg.FlushQueue),
	}
	b.pub.OnDrop = func(g Granularity) { b.m.subscriberDrop.WithLabelValues(string(g)).Inc() }
	b.choice = newInputChoice(&b.pref)
	b.pairer = newPairer(cfg.SpanWait, cfg.MaxPendingSpans, b.m)
	for i, g := range Granularities {
		b.asm[i] = NewAssembler(g, &b.cfg.Health)
	}
	now := cfg.Now().Unix()
	b.started = now
	b.winStart.Store(now - b.window + 1)
	b.nextFlush = floorTo(now-b.horiz+1, BucketSeconds)
	b.warmFrom, b.restoredNext = b.nextFlush, b.nextFlush
	for i := range b.shards {
		b.shards[i].edges = map[uint64]*edgeState{}
		b.shards[i].flushedThrough = b.nextFlush
	}
	return b
}

// Config returns the configuration in use, defaults filled in.
func (b *Builder) Config() BuilderConfig { return b.cfg }

// Observe takes calls from access logs and metrics (and from paired spans).
// obs is not retained. Each observation needs a Count (or, without one,
// bytes: a metric delta of bytes alone) and exactly one provenance bit,
// else it is dropped and counted as invalid; a time in the future counts as
// now; a time before the horizon or before the last flushed bucket is
// dropped and counted as late.
func (b *Builder) Observe(obs []Observation) {
	if len(obs) == 0 {
		return
	}
	now := b.cfg.Now().Unix()
	oldest := now - b.horiz + 1
	winStart := b.winStart.Load()
	var d obsDelta
	var key EdgeKey
	var taken, late, invalid, limited int
	for i := range obs {
		o := &obs[i]
		pi := provIndex(o.Provenance)
		if (o.Count == 0 && o.BytesSent == 0 && o.BytesReceived == 0) || pi < 0 {
			invalid++
			continue
		}
		r := int(o.Reporter)
		if r > int(ReporterDestination) {
			r = int(ReporterUnknown)
		}
		sec := min(floorDiv(o.TimeUnixNano, 1e9), now)
		if sec < oldest {
			late++
			continue
		}
		key = EdgeKey{Source: o.Source, Destination: o.Destination, Protocol: o.Protocol}
		h := hashKey(b.seed, &key)
		d.set(o)
		sh := &b.shards[h&b.mask]
		sh.mu.Lock()
		if sec < sh.flushedThrough {
			sh.mu.Unlock()
			late++
			continue
		}
		e := sh.find(h, &key)
		if e == nil {
			if sh.count >= b.shardEdges {
				sh.mu.Unlock()
				limited++
				continue
			}
			e = newEdgeState(&key, h, winStart)
			sh.insert(e)
		}
		e.observe(sec, pi*3+r, &d, &b.pref, &sh.pool)
		sh.mu.Unlock()
		taken++
	}
	b.m.observations.Add(float64(taken))
	if late > 0 {
		b.m.droppedLate.Add(float64(late))
	}
	if invalid > 0 {
		b.m.droppedInvalid.Add(float64(invalid))
	}
	if limited > 0 {
		b.m.droppedEdgeLimit.Add(float64(limited))
	}
}

// ObserveSpans pairs client and server spans into calls. spans is not
// retained.
func (b *Builder) ObserveSpans(spans []schema.SpanRow) {
	if len(spans) == 0 {
		return
	}
	buf := b.obsBuf()
	*buf = b.pairer.add(spans, b.cfg.Now().UnixNano(), (*buf)[:0])
	b.Observe(*buf)
	b.putObsBuf(buf)
}

func (b *Builder) obsBuf() *[]Observation {
	if v := b.obsBufs.Get(); v != nil {
		return v.(*[]Observation)
	}
	s := make([]Observation, 0, 64)
	return &s
}

func (b *Builder) putObsBuf(buf *[]Observation) {
	clear(*buf)
	b.obsBufs.Put(buf)
}

// Latest returns the most recent tick for g, or nil before the first.
func (b *Builder) Latest(g Granularity) *Tick { return b.pub.Latest(g) }

// Subscribe returns a channel of every tick for g; see Live. The channel is
// closed by the returned function or when Run ends.
func (b *Builder) Subscribe(g Granularity, buffer int) (<-chan *Tick, func()) {
	return b.pub.Subscribe(g, buffer)
}

// Graph computes the graph of the last window (at most the horizon) at
// granularity g, now, from the per-second buckets. It costs a pass over every
// edge's buckets; the ticks' graphs (Latest) are free.
func (b *Builder) Graph(g Granularity, window time.Duration) (*Graph, error) {
	gi := granularityIndex(g)
	if gi < 0 {
		return nil, fmt.Errorf("granularity %q: want service, workload or version", g)
	}
	if window <= 0 || window > b.cfg.Horizon {
		return nil, fmt.Errorf("window %s: want above 0 and at most the horizon (%s)", window, b.cfg.Horizon)
	}
	now := b.cfg.Now()
	to := now.Unix() + 1
	from := to - int64((window+time.Second-1)/time.Second)
	asm := NewAssembler(g, &b.cfg.Health)
	sel := newSelection(&b.pref)
	var tmp EdgeStats
	for i := range b.shards {
		sh := &b.shards[i]
		sh.mu.Lock()
		sh.each(func(e *edgeState) bool {
			tmp = EdgeStats{}
			if e.sumRange(from, to, &tmp) && tmp.Requests > 0 {
				sel.Add(&e.key, &tmp)
			}
			return false
		})
		sh.mu.Unlock()
	}
	sel.AddTo(asm)
	return asm.Graph(now.Add(-window), now), nil
}

var (
	_ Sink = (*Builder)(nil)
	_ Live = (*Builder)(nil)
)

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorTo(sec, step int64) int64 { return floorDiv(sec, step) * step }
