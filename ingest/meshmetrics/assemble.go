package meshmetrics

import (
	"math"
	"slices"
	"time"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/schema"
)

// observe takes one sample of a tracked series into its group's snapshot,
// emitting the group's previous snapshot when this sample starts a newer
// one, and the current one when it completes it.
func (d *Deriver) observe(s *series, sm *schema.MetricSampleRow, now int64, dst []graph.Observation) []graph.Observation {
	if sm.Flags&1 != 0 {
		return dst
	}
	if s.shaped {
		if math.IsNaN(sm.Sum) && sm.Count == 0 && len(sm.BucketCounts) == 0 {
			return dst
		}
	} else if math.IsNaN(sm.Value) || math.IsInf(sm.Value, 0) {
		return dst
	}
	ts := int64(sm.TimeUnixNano)
	if s.hasLast && ts <= s.lastTs {
		return dst
	}
	if s.pend && ts <= s.nextTs {
		return dst // the point already pending, or an older one
	}
	g := s.g
	// The points of one collection are one snapshot: a scrape stamps them
	// alike, an OpenTelemetry SDK instrument by instrument, up to
	// SampleSpread apart. A series' second point is always a new one.
	spread := int64(d.cfg.SampleSpread)
	if g.pendingSnap && (ts > g.pendTs+spread || s.pend) {
		dst = d.finalize(g, now, dst)
	}
	if g.pendingSnap && ts < g.pendTs-spread || !g.pendingSnap && ts <= g.doneTs {
		// Late for a snapshot already emitted without it: its increase
		// is counted with the next one.
		return dst
	}
	if !g.pendingSnap {
		g.pendingSnap, g.pendTs, g.pendSince = true, ts, now
		if !g.listed {
			g.listed = true
			d.pending = append(d.pending, g)
		}
	}
	if s.shaped {
		s.nextH.set(sm)
	} else {
		s.next = sm.Value
	}
	s.nextTs = ts
	if !s.pend {
		s.pend = true
		if s.hasLast {
			g.nKnownPend++
		}
	}
	if g.nKnown > 0 && g.nKnownPend == g.nKnown {
		dst = d.finalize(g, now, dst)
	}
	return dst
}

// bucketInc is the increase of one classic bucket (cumulative, by le).
type bucketInc struct {
	le, inc float64
}

// tally sums the increases of one snapshot of a group.
type tally struct {
	counted, failed      [4]float64 // request counters by rank
	failures             float64    // roleFailures series
	histCount, histSum   float64
	bytesSent, bytesRecv float64
	latency              graph.Histogram
}

// finalize emits the snapshot being assembled in g and makes it the
// baseline of the next one.
func (d *Deriver) finalize(g *group, now int64, dst []graph.Observation) []graph.Observation {
	var t tally
	d.buckets = d.buckets[:0]
	for _, s := range g.members {
		if !s.pend {
			continue
		}
		s.pend = false
		if s.shaped {
			d.addRow(g, s, &t)
		} else {
			inc := s.increase(d.cfg.CountFirstSample)
			s.last = s.next
			switch s.role {
			case roleCounter:
				t.counted[s.rank] += inc
				if s.err {
					t.failed[s.rank] += inc
				}
			case roleFailures:
				if s.err {
					t.failures += inc
				}
			case roleHistCount:
				t.histCount += inc
			case roleHistSum:
				t.histSum += inc
			case roleHistBucket:
				d.buckets = append(d.buckets, bucketInc{le: s.le, inc: inc})
			case roleBytesSent:
				t.bytesSent += inc
			case roleBytesReceived:
				t.bytesRecv += inc
			}
		}
		s.lastTs = g.pendTs
		if !s.hasLast {
			s.hasLast = true
			g.nKnown++
		}
	}
	g.pendingSnap, g.nKnownPend, g.doneTs = false, 0, g.pendTs
	if g.call.destReport {
		d.destSeen[g.call.identity] = now
	}
	if g.call.waypoint {
		if seen, ok := d.destSeen[g.call.identity]; ok && now-seen < int64(d.cfg.Expiry) {
			return dst
		}
	}
	d.sawRequests(g, now)
	o, ok := d.observation(g, &t)
	if ok && g.call.transport {
		o, ok = d.ontoRequests(g, o, now)
	}
	if ok {
		dst = append(dst, o)
	}
	return dst
}

// sawRequests notes that the connections of a Linkerd request group carry
// requests of its protocol.
func (d *Deriver) sawRequests(g *group, now int64) {
	if g.call.conn != 0 && !g.call.transport {
		d.requestConns[g.call.conn] = requestConn{seen: now, src: g.call.src, dst: g.call.dst, proto: g.call.proto}
	}
}

// ontoRequests turns the observation of a Linkerd transport group whose
// connections carry requests (a request group of the same connections was
// seen within Config.Expiry) into bytes alone on the request edge, whose
// callee the request series may name by authority where the transport
// series knows an address only. Linkerd counts every connection in tcp_*,
// HTTP ones included, and a TCP edge beside the HTTP one would show the
// same traffic twice. Connections that carry no requests (opaque TCP:
// databases, queues) stay TCP edges counting connections.
func (d *Deriver) ontoRequests(g *group, o graph.Observation, now int64) (graph.Observation, bool) {
	rc, ok := d.requestConns[g.call.conn]
	if !ok || now-rc.seen >= int64(d.cfg.Expiry) {
		return o, true
	}
	o.Source, o.Destination, o.Protocol = rc.src, rc.dst, rc.proto
	o.Count, o.Errors, o.MTLS, o.Plaintext = 0, 0, 0, 0
	return o, o.BytesSent > 0 || o.BytesReceived > 0
}

// increase is the increase of a scalar series from its baseline to its
// pending sample.
func (s *series) increase(countFirst bool) float64 {
	switch {
	case s.delta:
		return max(s.next, 0)
	case !s.hasLast:
		if countFirst {
			return max(s.next, 0)
		}
		return 0
	case s.next < s.last:
		return s.next // reset
	}
	return s.next - s.last
}

// addRow adds the increase of a histogram row series to t.
func (d *Deriver) addRow(g *group, s *series, t *tally) {
	next, last := &s.nextH, &s.lastH
	var count, zero uint64
	var sum float64
	counts, expInc := d.counts[:0], d.expInc[:0]
	whole := func() { // the sample is the increase
		count, sum, zero = next.count, next.sum, next.zero
		counts = append(counts, next.counts...)
		expInc = append(expInc[:0], next.expCounts...)
	}
	switch {
	case s.delta || !s.hasLast && d.cfg.CountFirstSample:
		whole()
	case !s.hasLast:
	case rowReset(last, next):
		whole()
	case next.exp:
		var ok bool
		if expInc, zero, ok = expIncrease(last, next, expInc); ok {
			count, sum = next.count-last.count, next.sum-last.sum
		} else {
			whole()
		}
	default:
		count, sum = next.count-last.count, next.sum-last.sum
		for i, c := range next.counts {
			counts = append(counts, c-last.counts[i])
		}
	}
	d.counts, d.expInc = counts, expInc
	bounds, exp, scale, offset := next.bounds, next.exp, next.scale, next.offset
	s.lastH, s.nextH = s.nextH, s.lastH // the sample becomes the baseline
	switch s.role {
	case roleHistRow:
		t.histCount += float64(count)
		t.histSum += sum
		switch {
		case count == 0:
		case exp:
			h := graph.FromExponential(scale, offset, zero, expInc, g.unitNanos)
			t.latency.Add(&h)
		case len(counts) == len(bounds)+1:
			d.bounds = scaled(d.bounds[:0], bounds, g.unitNanos)
			h := graph.FromBuckets(d.bounds, counts)
			t.latency.Add(&h)
		}
	case roleBytesSent:
		t.bytesSent += sum
	case roleBytesReceived:
		t.bytesRecv += sum
	case roleCounter:
		t.counted[s.rank] += float64(count)
	}
}

// rowReset reports whether a histogram row went back (a reset) or changed
// its layout since the last one. Exponential rows are checked bucket by
// bucket in expIncrease.
func rowReset(last, next *rowHist) bool {
	if next.count < last.count || last.exp != next.exp {
		return true
	}
	if next.exp {
		return false
	}
	if !slices.Equal(last.bounds, next.bounds) || len(last.counts) != len(next.counts) {
		return true
	}
	for i, c := range next.counts {
		if c < last.counts[i] {
			return true
		}
	}
	return false
}

// expIncrease appends to dst the per-bucket increase of the exponential
// histogram row next over last, at next's scale and offset (a cumulative
// histogram's scale only goes down as its range widens: last's buckets are
// merged to next's scale first), and returns the zero bucket's increase;
// false when next cannot have grown from last (a reset).
func expIncrease(last, next *rowHist, dst []uint64) ([]uint64, uint64, bool) {
	if next.scale > last.scale || next.zero < last.zero {
		return dst, 0, false
	}
	dst = append(dst, next.expCounts...)
	shift := uint(int64(last.scale) - int64(next.scale))
	for i, c := range last.expCounts {
		if c == 0 {
			continue
		}
		j := (int64(last.offset)+int64(i))>>shift - int64(next.offset)
		if j < 0 || j >= int64(len(dst)) || dst[j] < c {
			return dst, 0, false
		}
		dst[j] -= c
	}
	return dst, next.zero - last.zero, true
}

// scaled appends bounds times unit to dst.
func scaled(dst, bounds []float64, unit float64) []float64 {
	for _, b := range bounds {
		dst = append(dst, b*unit)
	}
	return dst
}

// observation builds the observation of a finalized snapshot; false when
// it saw nothing.
func (d *Deriver) observation(g *group, t *tally) (graph.Observation, bool) {
	o := graph.Observation{
		TimeUnixNano: g.pendTs,
		Source:       g.call.src,
		Destination:  g.call.dst,
		Protocol:     g.call.proto,
		Provenance:   graph.FromMetric,
		Reporter:     g.call.reporter,
	}
	switch {
	case g.nHist > 0:
		o.Count = round(t.histCount)
	case g.maxRank > 0:
		o.Count = round(t.counted[g.maxRank])
	}
	o.BytesSent, o.BytesReceived = round(t.bytesSent), round(t.bytesRecv)
	if o.Count == 0 && o.BytesSent == 0 && o.BytesReceived == 0 {
		return o, false
	}
	switch {
	case g.call.err:
		o.Errors = o.Count
	case g.maxRank > 0 || t.failures > 0:
		o.Errors = min(round(t.failed[g.maxRank]+t.failures), o.Count)
	}
	switch g.call.security {
	case schema.SecurityMTLS:
		o.MTLS = o.Count
	case schema.SecurityPlaintext:
		o.Plaintext = o.Count
	}
	o.DurationNanos = -1 // unknown unless a histogram says otherwise
	if g.nHist > 0 && o.Count > 0 {
		h := t.latency
		if len(d.buckets) > 0 {
			d.classicBuckets(g, t.histCount, &h)
		}
		if h.Total() == o.Count {
			o.Latency = &h
		} else if t.histSum > 0 {
			o.DurationNanos = int64(t.histSum * g.unitNanos / float64(o.Count))
		}
	}
	return o, true
}

// classicBuckets adds the increases of classic _bucket series (in
// d.buckets, cumulative by le) to h. Buckets of several series with the
// same bounds add up; a missing bound merges two buckets.
func (d *Deriver) classicBuckets(g *group, count float64, h *graph.Histogram) {
	bs := d.buckets
	slices.SortFunc(bs, func(a, b bucketInc) int {
		switch {
		case a.le < b.le:
			return -1
		case a.le > b.le:
			return 1
		}
		return 0
	})
	// Merge equal bounds.
	n := 0
	for _, b := range bs {
		if n > 0 && bs[n-1].le == b.le {
			bs[n-1].inc += b.inc
			continue
		}
		bs[n] = b
		n++
	}
	bs = bs[:n]
	bounds, counts := d.bounds[:0], d.counts[:0]
	var prev float64
	for _, b := range bs {
		if math.IsInf(b.le, 1) {
			break
		}
		bounds = append(bounds, b.le*g.unitNanos)
		counts = append(counts, round(b.inc-prev))
		prev = max(prev, b.inc)
	}
	total := count
	if last := bs[len(bs)-1]; math.IsInf(last.le, 1) {
		total = last.inc
	}
	counts = append(counts, round(total-prev))
	hh := graph.FromBuckets(bounds, counts)
	h.Add(&hh)
	d.bounds, d.counts = bounds, counts
}

// round converts a non-negative increase to a count.
func round(f float64) uint64 {
	if !(f > 0) {
		return 0
	}
	if f >= math.MaxUint64 {
		return math.MaxUint64
	}
	return uint64(math.Round(f))
}

// sweep emits groups whose assembly wait ran out, at most every so often.
func (d *Deriver) sweep(now int64, dst []graph.Observation) []graph.Observation {
	every := min(int64(d.cfg.AssemblyWait)/4, int64(time.Second))
	if now-d.lastSweep >= every {
		d.lastSweep = now
		keep := d.pending[:0]
		for _, g := range d.pending {
			switch {
			case g.dead || !g.pendingSnap:
				g.listed = false
			case now-g.pendSince >= int64(d.cfg.AssemblyWait):
				g.listed = false
				dst = d.finalize(g, now, dst)
			default:
				keep = append(keep, g)
			}
		}
		clear(d.pending[len(keep):])
		d.pending = keep
	}
	return dst
}

// expire forgets series without a sample for Config.Expiry, and groups
// left without series, at most every quarter of the expiry.
func (d *Deriver) expire(now int64) {
	if now-d.lastExpire < int64(d.cfg.Expiry)/4 {
		return
	}
	d.lastExpire = now
	cutoff := now - int64(d.cfg.Expiry)
	for id, s := range d.series {
		if s.touched >= cutoff {
			continue
		}
		delete(d.series, id)
		if g := s.g; g != nil {
			g.leave(s)
			if len(g.members) == 0 {
				g.dead = true
				delete(d.groups, g.key)
			}
		}
	}
	for id, seen := range d.destSeen {
		if seen < cutoff {
			delete(d.destSeen, id)
		}
	}
	for id, rc := range d.requestConns {
		if rc.seen < cutoff {
			delete(d.requestConns, id)
		}
	}
}
