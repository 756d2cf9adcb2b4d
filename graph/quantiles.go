package graph

// Percentiles are the latency percentiles of a histogram, in nanoseconds.
type Percentiles struct {
	P50, P90, P95, P99 float64
}

// Percentiles computes p50, p90, p95 and p99 in one pass over the buckets,
// with the same interpolation as Quantile.
func (h *Histogram) Percentiles() Percentiles { return percentilesOf(h[:], 0) }

// percentilesOf is Percentiles of the buckets b, b[0] being bucket lo, all
// others zero.
func percentilesOf(b []uint64, lo int) Percentiles {
	var total uint64
	for _, c := range b {
		total += c
	}
	if total == 0 {
		return Percentiles{}
	}
	qs := [4]float64{0.5, 0.9, 0.95, 0.99}
	var out [4]float64
	next := 0
	var cum float64
	for j, c := range b {
		if c == 0 {
			continue
		}
		i := lo + j
		end := cum + float64(c)
		for next < len(qs) && end >= qs[next]*float64(total) {
			lower := 0.0
			if i > 0 {
				lower = bucketUpper[i-1]
			}
			frac := (qs[next]*float64(total) - cum) / float64(c)
			out[next] = lower + frac*(bucketUpper[i]-lower)
			next++
		}
		if next == len(qs) {
			break
		}
		cum = end
	}
	for ; next < len(qs); next++ {
		out[next] = bucketUpper[HistogramSize-1]
	}
	return Percentiles{P50: out[0], P90: out[1], P95: out[2], P99: out[3]}
}

// HistogramFromSlice builds a histogram from stored buckets (a latency array
// of edges_*), ignoring buckets beyond HistogramSize.
func HistogramFromSlice(b []uint64) Histogram {
	var h Histogram
	copy(h[:], b)
	return h
}

// midNanos is a representative latency of bucket i, for sums of latencies
// known only as histograms.
func midNanos(i int) float64 {
	if i == 0 {
		return bucketUpper[0] / 2
	}
	return (bucketUpper[i-1] + bucketUpper[i]) / 2
}
