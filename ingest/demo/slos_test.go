package demo

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/slo/spec"
)

// Every scenario's example SLOs are a valid spec, name services of the
// mesh, and include one on the scenario's target that its change breaks.
func TestSLOs(t *testing.T) {
	for _, scenario := range Scenarios() {
		t.Run(scenario, func(t *testing.T) {
			cfg := Config{Services: 40, Seed: 7, Scenario: scenario}
			data, err := SLOs(cfg)
			require.NoError(t, err)
			parsed, err := spec.Parse(data, spec.DefaultAlerting())
			require.NoError(t, err, "%s", data)

			topo, err := NewTopology(40, 7, scenario)
			require.NoError(t, err)
			byName := map[string]spec.SLO{}
			for _, p := range parsed {
				ref := p.Spec.Target.Service
				if f := p.Spec.Target.Filter; f != nil {
					ref = f.Source
				}
				ns, name, ok := spec.ServiceParts(ref)
				require.True(t, ok, "%s: target %+v", p.Spec.Name, p.Spec.Target)
				require.NotNil(t, topo.Service(ns, name), "%s: no service %s/%s in the mesh", p.Spec.Name, ns, name)
				byName[p.Spec.Name] = p.Spec
			}
			gw := topo.Gateway.Namespace + "/" + topo.Gateway.Name
			for _, n := range []string{"ingress-availability", "ingress-latency"} {
				require.Equal(t, &spec.Filter{Source: gw}, byName[n].Target.Filter, n)
			}
			require.Equal(t, spec.Latency, byName["ingress-latency"].SLI.Kind)

			sc := topo.Scenario
			switch scenario {
			case ScenarioSteady, ScenarioNewService:
				require.Len(t, parsed, 2)
			case ScenarioFailingDependency, ScenarioCanaryBad, ScenarioBadPod:
				s, ok := byName[sc.Target.Name+"-availability"]
				require.True(t, ok, "%s", data)
				require.Equal(t, sc.Target.Namespace+"/"+sc.Target.Name, s.Target.Service)
				require.Equal(t, spec.Availability, s.SLI.Kind)
			case ScenarioSlowDatabase:
				s, ok := byName[sc.Target.Name+"-latency"]
				require.True(t, ok, "%s", data)
				require.Equal(t, spec.Latency, s.SLI.Kind)
				// Met by the database's usual latency, missed once slowed.
				th := s.SLI.Threshold.D()
				require.Greater(t, th, sc.Target.Latency.Median)
				require.Less(t, th, SlowFactor*sc.Target.Latency.Median)
			}
		})
	}
}

func TestLatencyThreshold(t *testing.T) {
	for _, tc := range []struct {
		l    Latency
		want time.Duration
	}{
		{Latency{Median: 2 * time.Millisecond, Sigma: 0.5}, 9 * time.Millisecond},  // 2 ms × e^1.5 = 8.96 ms
		{Latency{Median: 2 * time.Millisecond, Sigma: 1.5}, 16 * time.Millisecond}, // capped at 8 × the median
		{Latency{Median: 100 * time.Microsecond, Sigma: 0.2}, time.Millisecond},    // at least 1 ms
	} {
		require.Equal(t, tc.want, latencyThreshold(tc.l), "%+v", tc.l)
	}
}
