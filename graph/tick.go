package graph

import (
	"sync"
	"time"
)

// Advance runs one tick at now: it handles spans whose wait is over, slides
// the window, queues the buckets that are due for the writer, forgets idle
// edges, and publishes each granularity's graph and delta. Run calls it every
// Tick; calls must not overlap (they are serialised).
//
// Shard locks are held only to slide each edge and copy its window totals;
// the granularities' graphs are then assembled in parallel from the copies.
func (b *Builder) Advance(now time.Time) {
	b.tickMu.Lock()
	defer b.tickMu.Unlock()
	start := time.Now()

	buf := b.obsBuf()
	*buf = b.pairer.expire(now.UnixNano(), (*buf)[:0])
	b.Observe(*buf)
	b.putObsBuf(buf)

	nowSec := now.Unix()
	winStart := nowSec - b.window + 1
	b.winStart.Store(winStart)
	flushTo := b.nextFlush
	delay := int64(b.cfg.FlushDelay / time.Second)
	for flushTo+BucketSeconds+delay <= nowSec {
		flushTo += BucketSeconds
	}
	var snap *snapshot
	if flushTo > b.nextFlush && b.cfg.Writer != nil && b.cfg.SnapshotPath != "" {
		snap = newSnapshot(nowSec, flushTo, b.snapSize)
	}
	rows := b.sweep(winStart, flushTo, snap)
	b.nextFlush = flushTo
	if snap != nil {
		b.snapSize = len(snap.buf)
	}
	if len(rows) > 0 || snap != nil {
		b.enqueue(flushItem{rows: rows, snap: snap})
	}

	b.warmSnaps(winStart)
	b.chooseSnaps()
	from := now.Add(-time.Duration(b.window) * time.Second)
	var graphs [3]*Graph
	var wg sync.WaitGroup
	for gi := range b.asm {
		wg.Go(func() { graphs[gi] = b.assemble(gi, from, now) })
	}
	wg.Wait()
	for _, g := range graphs {
		b.pub.Publish(g, now)
	}
	b.m.tickSeconds.Observe(time.Since(start).Seconds())
}

// edgeSnap is one edge's window totals at a tick, copied out of its shard.
type edgeSnap struct {
	e     *edgeState // for its key, ids and cached aggregates only
	c     counters
	lat   []uint64 // latency buckets latLo.., in b.snapLat
	latLo int
	out   bool // its calls are counted on a key of a preferred input (choose.go)
}

// sweep visits every edge once, with its shard locked: rows for the buckets
// in [b.nextFlush, flushTo), window slide, release of old cells, removal of
// idle edges, and a copy of the window totals into b.snaps. With snap, the
// cells from flushTo on (not flushed yet) are copied into it too.
func (b *Builder) sweep(winStart, flushTo int64, snap *snapshot) []EdgeRow {
	var rows []EdgeRow
	var arena []uint64
	flushFrom := b.nextFlush
	// Cells stay until they are out of the window and, with a writer,
	// flushed.
	keep := winStart
	if b.cfg.Writer != nil {
		keep = min(winStart, flushTo)
	}
	b.snaps, b.snapLat = b.snaps[:0], b.snapLat[:0]
	edges := 0
	for i := range b.shards {
		sh := &b.shards[i]
		sh.mu.Lock()
		sh.each(func(e *edgeState) bool {
			if b.cfg.Writer != nil {
				for bucket := flushFrom; bucket < flushTo; bucket += BucketSeconds {
					rows, arena = b.appendRow(rows, arena, e, bucket)
				}
			}
			if snap != nil {
				snap.add(e)
			}
			e.slide(winStart)
			e.drop(keep, &sh.pool)
			if e.idle() {
				return true
			}
			if e.win.Requests > 0 {
				w := e.windowStats()
				s := edgeSnap{e: e, c: countersOf(w), latLo: e.latLo}
				if e.latLo <= e.latHi {
					n := len(b.snapLat)
					b.snapLat = append(b.snapLat, w.Latency[e.latLo:e.latHi+1]...)
					s.lat = b.snapLat[n:len(b.snapLat):len(b.snapLat)]
				}
				b.snaps = append(b.snaps, s)
			}
			return false
		})
		if b.cfg.Writer != nil {
			sh.flushedThrough = max(sh.flushedThrough, flushTo)
		}
		edges += sh.count
		sh.mu.Unlock()
	}
	b.m.liveEdges.Set(float64(edges))
	if snap != nil {
		snap.end()
	}
	return rows
}

// assemble builds granularity gi's graph from this tick's snaps. Each
// granularity runs in its own goroutine and touches only its assembler and
// its slot of the edges' cached aggregates.
func (b *Builder) assemble(gi int, from, now time.Time) *Graph {
	a := b.asm[gi]
	a.Reset()
	for i := range b.snaps {
		s := &b.snaps[i]
		e := s.e
		agg := e.aggs[gi]
		if agg == nil || agg.dead {
			ids := &e.ids[gi]
			agg = a.resolve(ids.edge, ids.src, ids.dst, &e.key.Source, &e.key.Destination)
			e.aggs[gi] = agg
		}
		if s.out {
			a.add(agg, &e.key, &counters{prov: s.c.prov, reps: s.c.reps}, nil, 0)
			continue
		}
		a.add(agg, &e.key, &s.c, s.lat, s.latLo)
	}
	return a.Graph(from, now)
}

// chooseSnaps marks the snaps whose calls another input's key counts.
func (b *Builder) chooseSnaps() {
	ch := b.choice
	ch.reset()
	for i := range b.snaps {
		s := &b.snaps[i]
		ch.add(s.e.ids[0].edge, &s.e.key, s.c.prov, s.c.reps, &s.e.choice)
	}
	ch.decide()
	out := 0
	for i := range b.snaps {
		b.snaps[i].out = !ch.counts(i)
		if b.snaps[i].out {
			out++
		}
	}
	b.m.keysLeftOut.Set(float64(out))
}

// appendRow appends the edge's row for one bucket, if it had calls then.
// Latency arrays are carved out of one arena per flush.
func (b *Builder) appendRow(rows []EdgeRow, arena []uint64, e *edgeState, bucket int64) ([]EdgeRow, []uint64) {
	if len(e.cells) == 0 || e.cells[0].sec >= bucket+BucketSeconds || e.cells[len(e.cells)-1].sec < bucket {
		return rows, arena
	}
	b.tmp = EdgeStats{}
	if !e.sumRange(bucket, bucket+BucketSeconds, &b.tmp) || (b.tmp.Requests == 0 && b.tmp.BytesSent == 0 && b.tmp.BytesReceived == 0) {
		return rows, arena
	}
	s := &b.tmp
	n := len(arena)
	arena = trimmedLatency(arena, &s.Latency)
	rows = append(rows, EdgeRow{
		BucketUnix: bucket, Key: e.key,
		Requests: s.Requests, Errors: s.Errors,
		Latency: arena[n:len(arena):len(arena)], LatencySumNanos: s.LatencySumNanos,
		BytesSent: s.BytesSent, BytesReceived: s.BytesReceived,
		MTLS: s.MTLS, Plaintext: s.Plaintext,
		Provenance: s.Provenance, Reporters: s.Reporters,
	})
	return rows, arena
}
