package demo

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGeneratorFollowsTopology(t *testing.T) {
	cfg := testConfig()
	cfg.TraceSample = 0
	g, topo := newTestGenerator(t, cfg, discard{})
	const trees = 4000
	counts := make([]float64, len(topo.Calls))
	total := 0
	for range trees {
		total += g.simulate()
		for _, h := range g.tree.hops {
			if h.call != nil {
				counts[h.call.Index]++
			}
		}
	}
	mean := float64(total) / trees
	require.InEpsilon(t, topo.CallsPerRequest, mean, 0.1, "simulated trees have the topology's mean size")

	// The busiest calls are made as often as CallRates says.
	rates := topo.CallRates(topo.CallsPerRequest) // one root request per second
	for _, c := range topo.Calls {
		if rates[c.Index] > 0.5 {
			require.InEpsilon(t, rates[c.Index], counts[c.Index]/trees, 0.15, "%s", c)
		}
	}
}

func TestGeneratorRate(t *testing.T) {
	cfg := testConfig()
	cfg.Rate = 5000
	g, _ := newTestGenerator(t, cfg, discard{})
	now := time.Now()
	for i := range 50 {
		g.generate(now.Add(time.Duration(i)*tick), tick)
	}
	calls := float64(g.cnt.calls.Load())
	require.InEpsilon(t, 5000, calls, 0.05, "a second's worth of ticks makes Rate calls")
}

func TestGeneratorDeterministic(t *testing.T) {
	run := func(salt uint64) []byte {
		c := &capture{}
		g, _ := newTestGenerator(t, testConfig(), c)
		if salt != 0 {
			g.reseed(salt)
		}
		generateAll(g, 30, time.Unix(1_800_000_000, 0))
		var out []byte
		for _, a := range c.alsBatches {
			out = append(out, a.entries...)
		}
		for _, e := range c.exports {
			out = append(out, e...)
		}
		return out
	}
	require.Equal(t, run(0), run(0), "equal seeds give equal telemetry")
	require.Equal(t, run(5), run(5), "and equal salts")
	// Another salt (Run's start time), other ids: the first trace of
	// each run differs.
	traceIDs := func(salt uint64) map[string]bool {
		c := &capture{}
		g, topo := newTestGenerator(t, testConfig(), c)
		g.reseed(salt)
		generateAll(g, 30, time.Unix(1_800_000_000, 0))
		ids := map[string]bool{}
		for k := range decodeSpans(t, topo, c.exports) {
			ids[k.trace.String()] = true
		}
		return ids
	}
	a, b := traceIDs(5), traceIDs(6)
	require.NotEmpty(t, a)
	for id := range a {
		require.False(t, b[id], "trace %s in both runs", id)
	}
}

func TestGeneratorScenarios(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		check    func(t *testing.T, g *generator, topo *Topology)
	}{
		{ScenarioFailingDependency, func(t *testing.T, g *generator, topo *Topology) {
			var failed, all int
			for range 3000 {
				g.simulate()
				for _, h := range g.tree.hops {
					if h.call != nil && h.call.To == topo.Scenario.Target {
						all++
						if h.out.failed() {
							failed++
						}
					}
				}
			}
			require.Positive(t, all)
			require.InDelta(t, FailShare, float64(failed)/float64(all), 0.1)
		}},
		{ScenarioNewService, func(t *testing.T, g *generator, topo *Topology) {
			seen := false
			for range 500 {
				g.simulate()
				for _, h := range g.tree.hops {
					seen = seen || (h.call != nil && h.call.New)
				}
			}
			require.True(t, seen, "the new service's calls are made after the start")
		}},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			cfg := testConfig()
			cfg.Scenario = tc.scenario
			g, topo := newTestGenerator(t, cfg, discard{})
			for range 500 { // before the start: nothing changed
				g.simulate()
				for _, h := range g.tree.hops {
					if h.call != nil {
						require.False(t, h.call.New)
						require.NotEqual(t, outConnFailure, h.out)
					}
				}
			}
			g.setElapsed(cfg.ScenarioPeriod)
			tc.check(t, g, topo)
		})
	}
}
