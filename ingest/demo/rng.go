package demo

import (
	"math"
	"math/rand/v2"
)

// rng is the deterministic random source of the topology and the traffic.
type rng struct {
	r *rand.Rand
}

func newRNG(seed, stream uint64) *rng {
	return &rng{r: rand.New(rand.NewPCG(seed, stream^0x9e3779b97f4a7c15))}
}

func (g *rng) float() float64        { return g.r.Float64() }
func (g *rng) intn(n int) int        { return g.r.IntN(n) }
func (g *rng) uint64() uint64        { return g.r.Uint64() }
func (g *rng) chance(p float64) bool { return g.r.Float64() < p }

// between returns a uniform value in [lo, hi).
func (g *rng) between(lo, hi float64) float64 { return lo + (hi-lo)*g.r.Float64() }

// intBetween returns a uniform integer in [lo, hi].
func (g *rng) intBetween(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + g.r.IntN(hi-lo+1)
}

// logNormal returns a log-normal value with the given median and sigma
// (the standard deviation of its logarithm).
func (g *rng) logNormal(median, sigma float64) float64 {
	return median * math.Exp(sigma*g.r.NormFloat64())
}

// heavyInt returns a heavy-tailed count with the given mean, at most max:
// most draws are small, a few large, like fan-outs of real services.
func (g *rng) heavyInt(mean float64, max int) int {
	// A log-normal with sigma 0.9 has mean median*e^(0.405).
	v := int(math.Round(g.logNormal(mean/1.5, 0.9)))
	if v > max {
		v = max
	}
	if v < 0 {
		v = 0
	}
	return v
}

// weighted picks an index with probability proportional to w[i].
func (g *rng) weighted(w []float64) int {
	var sum float64
	for _, x := range w {
		sum += x
	}
	if sum <= 0 {
		return g.r.IntN(len(w))
	}
	t := g.r.Float64() * sum
	for i, x := range w {
		if t < x {
			return i
		}
		t -= x
	}
	return len(w) - 1
}
