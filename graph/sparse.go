package graph

// sparseHist is a latency histogram for one edge in one second: most hold a
// handful of buckets, so it keeps (bucket, count) pairs and turns into a full
// Histogram only when it grows past sparseMax buckets.
type sparseHist struct {
	idx  []uint8
	cnt  []uint64
	full *Histogram
}

const sparseMax = 24

func (h *sparseHist) add(i int, n uint64) {
	if h.full != nil {
		h.full[i] += n
		return
	}
	for j, b := range h.idx {
		if int(b) == i {
			h.cnt[j] += n
			return
		}
	}
	if len(h.idx) < sparseMax {
		h.idx = append(h.idx, uint8(i))
		h.cnt = append(h.cnt, n)
		return
	}
	h.full = new(Histogram)
	for j, b := range h.idx {
		h.full[b] += h.cnt[j]
	}
	h.full[i] += n
	h.idx, h.cnt = h.idx[:0], h.cnt[:0]
}

func (h *sparseHist) addHistogram(o *Histogram) {
	for i, n := range o {
		if n != 0 {
			h.add(i, n)
		}
	}
}

func (h *sparseHist) addTo(dst *Histogram) {
	if h.full != nil {
		dst.Add(h.full)
		return
	}
	for j, b := range h.idx {
		dst[b] += h.cnt[j]
	}
}

func (h *sparseHist) subFrom(dst *Histogram) {
	if h.full != nil {
		dst.Sub(h.full)
		return
	}
	for j, b := range h.idx {
		dst[b] -= h.cnt[j]
	}
}

func (h *sparseHist) reset() {
	h.idx, h.cnt, h.full = h.idx[:0], h.cnt[:0], nil
}
