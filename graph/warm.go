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
	buckets []WarmBucket
}

// Warm hands the builder the buckets a previous process flushed before
// this one started; ticks show those whose 10 seconds lie inside the
// window. Buckets that end after the builder was created are ignored: this
// process may have flushed them itself.
func (b *Builder) Warm(buckets []WarmBucket) {
	b.tickMu.Lock()
	defer b.tickMu.Unlock()
	byKey := map[EdgeKey]*warmEdge{}
	for _, w := range b.warm {
		byKey[w.e.key] = w
	}
	for _, wb := range buckets {
		if wb.StartUnix+BucketSeconds > b.started || wb.Stats.Requests == 0 {
			continue
		}
		w := byKey[wb.Key]
		if w == nil {
			w = &warmEdge{e: newEdgeState(&wb.Key, 0, 0)}
			byKey[wb.Key] = w
			b.warm = append(b.warm, w)
		}
		wb.Key = w.e.key
		w.buckets = append(w.buckets, wb)
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
			if wb.StartUnix >= winStart {
				in = append(in, wb)
			}
		}
		w.buckets = in
		if len(in) == 0 {
			continue
		}
		kept = append(kept, w)
		var sum EdgeStats
		for i := range in {
			st := &in[i].Stats
			sum.Requests += st.Requests
			sum.Errors += st.Errors
			sum.LatencySumNanos += st.LatencySumNanos
			sum.BytesSent += st.BytesSent
			sum.BytesReceived += st.BytesReceived
			sum.MTLS += st.MTLS
			sum.Plaintext += st.Plaintext
			sum.Provenance |= st.Provenance
			sum.Reporters |= st.Reporters
			sum.Latency.Add(&st.Latency)
		}
		s := edgeSnap{e: w.e, c: countersOf(&sum), latLo: HistogramSize}
		if lo, hi := latencyRange(&sum.Latency); lo <= hi {
			n := len(b.snapLat)
			b.snapLat = append(b.snapLat, sum.Latency[lo:hi+1]...)
			s.lat, s.latLo = b.snapLat[n:len(b.snapLat):len(b.snapLat)], lo
		}
		b.snaps = append(b.snaps, s)
	}
	clear(b.warm[len(kept):])
	b.warm = kept
}
