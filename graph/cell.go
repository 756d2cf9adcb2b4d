package graph

import "math/bits"

// A cell holds one edge's calls in one second, with separate counters for
// each (provenance, reporter) slot that saw them (see provenance.go).
type cell struct {
	sec int64
	// present has bit i set when slots[i] holds calls; chosen is the subset
	// that makes the cell's numbers (preference.choose).
	present, chosen uint16
	slots           [numSlots]*slotStats
}

// slotStats are the counters of one slot of a cell.
type slotStats struct {
	requests, errors, latSum, bytesSent, bytesRecv, mtls, plain uint64
	lat                                                         sparseHist
}

// obsDelta is an observation reduced to what it adds to a slot.
type obsDelta struct {
	requests, errors, latSum, bytesSent, bytesRecv, mtls, plain uint64
	// bucket receives every call when hist is nil; -1: latency unknown.
	bucket int
	hist   *Histogram
}

func (d *obsDelta) set(o *Observation) {
	*d = obsDelta{
		requests: o.Count, errors: min(o.Errors, o.Count),
		bytesSent: o.BytesSent, bytesRecv: o.BytesReceived,
		mtls: o.MTLS, plain: o.Plaintext,
	}
	if o.Latency != nil {
		var sum float64
		var total uint64
		for i, n := range o.Latency {
			if n != 0 {
				sum += float64(n) * midNanos(i)
				total += n
			}
		}
		if total == o.Count {
			d.hist, d.latSum = o.Latency, uint64(sum)
			return
		}
		// A distribution that does not sum to Count breaks the contract;
		// keep its mean, so that bucket counts always add up to calls.
		mean := int64(0)
		if total > 0 {
			mean = int64(sum / float64(total))
		}
		d.bucket, d.latSum = BucketOf(mean), uint64(mean)*o.Count
		return
	}
	if o.DurationNanos < 0 || o.Count == 0 {
		d.bucket = -1 // latency unknown (or no calls): not in the histogram
		return
	}
	dur := o.DurationNanos
	d.bucket = BucketOf(dur)
	d.latSum = uint64(dur) * o.Count
}

func (s *slotStats) apply(d *obsDelta) {
	s.requests += d.requests
	s.errors += d.errors
	s.latSum += d.latSum
	s.bytesSent += d.bytesSent
	s.bytesRecv += d.bytesRecv
	s.mtls += d.mtls
	s.plain += d.plain
	if d.hist != nil {
		s.lat.addHistogram(d.hist)
	} else if d.bucket >= 0 {
		s.lat.add(d.bucket, d.requests)
	}
}

func (s *slotStats) reset() {
	lat := s.lat
	lat.reset()
	*s = slotStats{lat: lat}
}

func (w *EdgeStats) applyDelta(d *obsDelta) {
	w.Requests += d.requests
	w.Errors += d.errors
	w.LatencySumNanos += d.latSum
	w.BytesSent += d.bytesSent
	w.BytesReceived += d.bytesRecv
	w.MTLS += d.mtls
	w.Plaintext += d.plain
	if d.hist != nil {
		w.Latency.Add(d.hist)
	} else if d.bucket >= 0 {
		w.Latency[d.bucket] += d.requests
	}
}

func (w *EdgeStats) addSlot(s *slotStats) {
	w.Requests += s.requests
	w.Errors += s.errors
	w.LatencySumNanos += s.latSum
	w.BytesSent += s.bytesSent
	w.BytesReceived += s.bytesRecv
	w.MTLS += s.mtls
	w.Plaintext += s.plain
	s.lat.addTo(&w.Latency)
}

func (w *EdgeStats) subSlot(s *slotStats) {
	w.Requests -= s.requests
	w.Errors -= s.errors
	w.LatencySumNanos -= s.latSum
	w.BytesSent -= s.bytesSent
	w.BytesReceived -= s.bytesRecv
	w.MTLS -= s.mtls
	w.Plaintext -= s.plain
	s.lat.subFrom(&w.Latency)
}

// addChosen adds the cell's numbers into w, with its provenance and reporters.
func (c *cell) addChosen(w *EdgeStats) {
	for m := c.chosen; m != 0; m &= m - 1 {
		w.addSlot(c.slots[lowBit(m)])
	}
	w.Provenance |= c.provenance()
	w.Reporters |= c.reporters()
}

// provenance is the set of inputs that saw the cell's calls.
func (c *cell) provenance() Provenance {
	var p Provenance
	for pi := range numProv {
		if c.present>>(3*pi)&7 != 0 {
			p |= provBits[pi]
		}
	}
	return p
}

// reporters is the set of reporters, any provenance.
func (c *cell) reporters() ReporterSet {
	m := c.present | c.present>>3 | c.present>>6
	return ReporterSet(m & 7)
}

func lowBit(m uint16) int { return bits.TrailingZeros16(m) }
