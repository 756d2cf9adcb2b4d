package query

// Quantiles of histogram metrics, as Prometheus' histogram_quantile
// computes them: from the counts each bucket gained in a step, summed over
// a line's series, the bucket where the quantile's rank falls, and a linear
// interpolation within it.

import (
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
)

// bucketQuantile is the q-quantile of cumulative bucket counts cum under
// upper bounds ub (ascending, the last +Inf). NaN without observations or
// without the +Inf bucket. A rank in the +Inf bucket answers the largest
// finite bound; in the first bucket, interpolation starts at 0 (or answers
// its bound when that is not positive).
func bucketQuantile(q float64, ub, cum []float64) float64 {
	n := len(cum)
	if n < 2 || len(ub) != n || !math.IsInf(ub[n-1], 1) || cum[n-1] <= 0 {
		return math.NaN()
	}
	// Counts gathered at different times may not quite rise: make them.
	for i := 1; i < n; i++ {
		cum[i] = max(cum[i], cum[i-1])
	}
	rank := q * cum[n-1]
	i := sort.SearchFloat64s(cum, rank)
	switch {
	case i >= n-1:
		return ub[n-2]
	case i == 0 && ub[0] <= 0:
		return ub[0]
	}
	lo, below := 0.0, 0.0
	if i > 0 {
		lo, below = ub[i-1], cum[i-1]
	}
	in := cum[i] - below
	if in <= 0 {
		return ub[i]
	}
	return lo + (ub[i]-lo)*(rank-below)/in
}

// classicQuantileLines are the quantiles of a Prometheus histogram's
// _bucket series (cumulative counters, one per upper bound le): per line
// and step, each bound's rate summed over the line's series.
func classicQuantileLines(q float64, perSeries map[uint64]*seriesSteps, series map[uint64]*metricSeries, kind metricKind, step float64, first int64) []metricLine {
	type lineSteps map[int64]map[float64]float64 // step → le → rate
	byLine := map[string]lineSteps{}
	labels := map[string]map[string]string{}
	for id, ss := range perSeries {
		ms := series[id]
		if ms == nil {
			continue
		}
		le, err := strconv.ParseFloat(ms.le, 64)
		if err != nil {
			continue // not a bucket series
		}
		for b, v := range kind.values(ss.buckets, ss.steps, step, first) {
			steps := byLine[ms.line]
			if steps == nil {
				steps = lineSteps{}
				byLine[ms.line], labels[ms.line] = steps, ms.labels
			}
			if steps[b] == nil {
				steps[b] = map[float64]float64{}
			}
			steps[b][le] += v
		}
	}
	lines := make([]metricLine, 0, len(byLine))
	for key, steps := range byLine {
		l := metricLine{Labels: labels[key]}
		for _, b := range slices.Sorted(maps.Keys(steps)) {
			ub := slices.Sorted(maps.Keys(steps[b]))
			cum := make([]float64, len(ub))
			for i, le := range ub {
				cum[i] = steps[b][le]
			}
			if v := bucketQuantile(q, ub, cum); !math.IsNaN(v) {
				l.add(b, step, v)
			}
		}
		if len(l.Points) > 0 {
			lines = append(lines, l)
		}
	}
	return lines
}

// nativeQuantileLines are the quantiles of an explicit-bucket histogram
// (OTLP, or a Prometheus native histogram with custom buckets): per line
// and step, the counts each bucket gained (cumulative: since the step
// before, a fall in any bucket being a reset; delta: summed), summed over
// the line's series that share the first series' bounds.
func nativeQuantileLines(q float64, perSeries map[uint64]*seriesSteps, series map[uint64]*metricSeries, delta bool, stepSec, first int64) []metricLine {
	type lineSteps struct {
		bounds []float64
		counts map[int64][]float64 // step → per-bucket counts
	}
	byLine := map[string]*lineSteps{}
	labels := map[string]map[string]string{}
	for _, id := range slices.Sorted(maps.Keys(perSeries)) {
		ss, ms := perSeries[id], series[id]
		if ms == nil {
			continue
		}
		for i, b := range ss.buckets {
			sv := ss.steps[i]
			var gained []uint64
			switch {
			case delta:
				gained = sv.sumB
			case i == 0:
				continue // no earlier counts to take the increase from
			default:
				gained = bucketIncrease(ss.steps[i-1].lastB, sv.lastB)
			}
			if b < first || len(gained) != len(sv.bounds)+1 {
				continue
			}
			ls := byLine[ms.line]
			if ls == nil {
				ls = &lineSteps{bounds: sv.bounds, counts: map[int64][]float64{}}
				byLine[ms.line], labels[ms.line] = ls, ms.labels
			}
			if !slices.Equal(ls.bounds, sv.bounds) {
				continue // other buckets: not comparable
			}
			acc := ls.counts[b]
			if acc == nil {
				acc = make([]float64, len(gained))
				ls.counts[b] = acc
			}
			for j, n := range gained {
				acc[j] += float64(n)
			}
		}
	}
	lines := make([]metricLine, 0, len(byLine))
	for key, ls := range byLine {
		ub := append(slices.Clone(ls.bounds), math.Inf(1))
		l := metricLine{Labels: labels[key]}
		for _, b := range slices.Sorted(maps.Keys(ls.counts)) {
			cum := slices.Clone(ls.counts[b])
			for j := 1; j < len(cum); j++ {
				cum[j] += cum[j-1]
			}
			if v := bucketQuantile(q, ub, cum); !math.IsNaN(v) {
				l.add(b, float64(stepSec), v)
			}
		}
		if len(l.Points) > 0 {
			lines = append(lines, l)
		}
	}
	return lines
}

// bucketIncrease is what cumulative bucket counts gained from prev to
// last; after a reset (a bucket fell, or the buckets changed), last.
func bucketIncrease(prev, last []uint64) []uint64 {
	if len(prev) != len(last) {
		return last
	}
	out := make([]uint64, len(last))
	for j := range last {
		if last[j] < prev[j] {
			return last
		}
		out[j] = last[j] - prev[j]
	}
	return out
}

// expHist is an exponential histogram's positive side at one scale:
// counts by bucket index (bucket i is (base^i, base^(i+1)], base
// 2^(2^-scale)), and the zero bucket.
type expHist struct {
	scale  int32
	zero   float64
	counts map[int32]float64
}

// newExpHist reads stored counts from offset.
func newExpHist(scale int32, zero uint64, offset int32, counts []uint64) expHist {
	h := expHist{scale: scale, zero: float64(zero), counts: make(map[int32]float64, len(counts))}
	for i, c := range counts {
		if c > 0 {
			h.counts[offset+int32(i)] += float64(c)
		}
	}
	return h
}

// at is h at a coarser scale: 2^(h.scale-scale) buckets become one.
func (h expHist) at(scale int32) expHist {
	if scale >= h.scale {
		return h
	}
	out := expHist{scale: scale, zero: h.zero, counts: make(map[int32]float64, len(h.counts))}
	for i, c := range h.counts {
		out.counts[i>>(h.scale-scale)] += c
	}
	return out
}

// since is what h gained after prev (both cumulative): prev's buckets
// taken from h's at the coarser scale of the two; h itself after a reset
// (any bucket fell).
func (h expHist) since(prev expHist) expHist {
	s := min(h.scale, prev.scale)
	cur, old := h.at(s), prev.at(s)
	out := expHist{scale: s, zero: cur.zero - old.zero, counts: make(map[int32]float64, len(cur.counts))}
	if out.zero < 0 {
		return cur
	}
	for i, c := range cur.counts {
		if c < old.counts[i] {
			return cur
		}
		if d := c - old.counts[i]; d > 0 {
			out.counts[i] = d
		}
	}
	for i, c := range old.counts {
		if c > cur.counts[i] {
			return cur
		}
	}
	return out
}

// add sums two histograms at the coarser scale.
func (h expHist) add(o expHist) expHist {
	if h.counts == nil {
		return o
	}
	s := min(h.scale, o.scale)
	a, b := h.at(s), o.at(s)
	out := expHist{scale: s, zero: a.zero + b.zero, counts: maps.Clone(a.counts)}
	for i, c := range b.counts {
		out.counts[i] += c
	}
	return out
}

// quantile interpolates within the bucket the rank falls in, the zero
// bucket ending at 0 (an empty bucket before each run of buckets, so that
// each is interpolated from its own lower bound).
func (h expHist) quantile(q float64) float64 {
	bound := func(i int32) float64 { return math.Exp2(math.Exp2(-float64(h.scale)) * float64(i)) }
	ub := []float64{0}
	cum := []float64{h.zero}
	prev := int32(math.MinInt32)
	for _, i := range slices.Sorted(maps.Keys(h.counts)) {
		if prev == math.MinInt32 || i != prev+1 {
			ub, cum = append(ub, bound(i)), append(cum, cum[len(cum)-1])
		}
		ub, cum = append(ub, bound(i+1)), append(cum, cum[len(cum)-1]+h.counts[i])
		prev = i
	}
	ub, cum = append(ub, math.Inf(1)), append(cum, cum[len(cum)-1])
	return bucketQuantile(q, ub, cum)
}

// expQuantileLines are the quantiles of cumulative exponential
// histograms (OTLP's, Prometheus native ones): per line and step, the
// counts each bucket gained since the step before, summed over the line's
// series at the coarsest of their scales.
func expQuantileLines(q float64, perSeries map[uint64]*seriesSteps, series map[uint64]*metricSeries, stepSec, first int64) []metricLine {
	byLine := map[string]map[int64]expHist{}
	labels := map[string]map[string]string{}
	for id, ss := range perSeries {
		ms := series[id]
		if ms == nil {
			continue
		}
		for i := 1; i < len(ss.buckets); i++ {
			b := ss.buckets[i]
			if b < first {
				continue
			}
			cur, prev := ss.steps[i], ss.steps[i-1]
			gained := newExpHist(cur.expScale, cur.lastZero, cur.expOffset, cur.lastB).
				since(newExpHist(prev.expScale, prev.lastZero, prev.expOffset, prev.lastB))
			steps := byLine[ms.line]
			if steps == nil {
				steps = map[int64]expHist{}
				byLine[ms.line], labels[ms.line] = steps, ms.labels
			}
			steps[b] = steps[b].add(gained)
		}
	}
	lines := make([]metricLine, 0, len(byLine))
	for key, steps := range byLine {
		l := metricLine{Labels: labels[key]}
		for _, b := range slices.Sorted(maps.Keys(steps)) {
			if v := steps[b].quantile(q); !math.IsNaN(v) {
				l.add(b, float64(stepSec), v)
			}
		}
		if len(l.Points) > 0 {
			lines = append(lines, l)
		}
	}
	return lines
}
