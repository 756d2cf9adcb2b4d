package graph

// Starting warm.
//
// A restarted process begins with an empty live window: for a window's
// length the live graph would show fewer calls than there were. But a
// process that stopped cleanly flushed its buckets to edges_10s first, so
// the new one reads back the buckets of the window before it started and
// shows them, bucket by bucket, until the window has slid past them (Warm).
// They are shown, never flushed again: the previous process wrote them.

// WarmBucket is one flushed 10 second bucket of one finest-level edge.
type WarmBucket struct {
	StartUnix int64
	Key       EdgeKey
	Stats     EdgeStats
}

// warmEdge is the buckets of one edge key, kept for the tick.
type warmEdge struct {
	e       *edgeState // key, ids and cached aggregates only; not in a shard
	buckets []warmBucket
}

// warmBucket is a WarmBucket without its key, its latency trimmed to the
// buckets in use.
type warmBucket struct {
	start int64
	c     counters
	lat   []uint64 // latency buckets latLo..
	latLo int
}

// Warm hands the builder buckets a previous process flushed before this
// one started (any number of calls, in any order); ticks show those whose
// 10 seconds lie inside the window. A bucket counts when it began before
// the builder was created (the previous process's last, partial bucket
// included) and this builder has not flushed that bucket yet: otherwise
// rows read back for it may hold this builder's own calls, which its window
// shows already.
func (b *Builder) Warm(buckets []WarmBucket) {
	b.tickMu.Lock()
	defer b.tickMu.Unlock()
	if b.warmByKey == nil {
		b.warmByKey = map[EdgeKey]*warmEdge{}
	}
	for i := range buckets {
		wb := &buckets[i]
		if wb.StartUnix >= b.started || wb.StartUnix < b.warmFrom || wb.Stats.Requests == 0 ||
			(wb.StartUnix >= b.restoredNext && wb.StartUnix < b.nextFlush) {
			continue
		}
		w := b.warmByKey[wb.Key]
		if w == nil {
			w = &warmEdge{e: newEdgeState(&wb.Key, 0, 0)}
			b.warmByKey[w.e.key] = w
			b.warm = append(b.warm, w)
		}
		c := warmBucket{start: wb.StartUnix, c: countersOf(&wb.Stats), latLo: HistogramSize}
		if lo, hi := latencyRange(&wb.Stats.Latency); lo <= hi {
			c.lat, c.latLo = append([]uint64(nil), wb.Stats.Latency[lo:hi+1]...), lo
		}
		w.buckets = append(w.buckets, c)
	}
}

// warmSnaps appends to b.snaps, for every warm edge with buckets inside the
// window starting at winStart, their totals; it forgets what has left the
// window.
func (b *Builder) warmSnaps(winStart int64) {
	kept := b.warm[:0]
	for _, w := range b.warm {
		in := w.buckets[:0]
		for _, wb := range w.buckets {
			if wb.start >= winStart {
				in = append(in, wb)
			}
		}
		clear(w.buckets[len(in):])
		w.buckets = in
		if len(in) == 0 {
			delete(b.warmByKey, w.e.key)
			continue
		}
		kept = append(kept, w)
		s := edgeSnap{e: w.e, latLo: HistogramSize}
		var lat Histogram
		lo, hi := HistogramSize, -1
		for i := range in {
			wb := &in[i]
			s.c.add(&wb.c)
			for j, n := range wb.lat {
				lat[wb.latLo+j] += n
			}
			if len(wb.lat) > 0 {
				lo, hi = min(lo, wb.latLo), max(hi, wb.latLo+len(wb.lat)-1)
			}
		}
		if lo <= hi {
			n := len(b.snapLat)
			b.snapLat = append(b.snapLat, lat[lo:hi+1]...)
			s.lat, s.latLo = b.snapLat[n:len(b.snapLat):len(b.snapLat)], lo
		}
		b.snaps = append(b.snaps, s)
	}
	clear(b.warm[len(kept):])
	b.warm = kept
}
