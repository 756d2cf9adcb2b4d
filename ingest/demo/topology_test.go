package demo

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
)

func TestNewTopologySize(t *testing.T) {
	for _, n := range []int{MinServices, 60, 300, 1500} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			topo, err := NewTopology(n, 1, ScenarioSteady)
			require.NoError(t, err)
			kinds := map[Kind]int{}
			for i, s := range topo.Services {
				require.Equal(t, i, s.Index)
				kinds[s.Kind]++
			}
			require.Equal(t, n, len(topo.Services)-kinds[KindExternal]-kinds[KindJob], "services of the mesh")
			for _, k := range []Kind{KindGateway, KindFrontend, KindAPI, KindMidTier, KindWorker, KindCache, KindDatabase, KindBroker, KindExternal} {
				require.Positive(t, kinds[k], "kind %s", k)
			}
			require.Equal(t, 1, kinds[KindGateway])
			require.GreaterOrEqual(t, len(topo.Namespaces), 6)
			require.NotEmpty(t, topo.Topics)
			require.Greater(t, topo.CallsPerRequest, 5.0)
			require.LessOrEqual(t, topo.CallsPerRequest, 61.0)
		})
	}
}

func TestTopologyReachable(t *testing.T) {
	topo, err := NewTopology(300, 3, ScenarioSteady)
	require.NoError(t, err)
	seen := map[*Service]bool{}
	var visit func(s *Service)
	visit = func(s *Service) {
		if seen[s] {
			return
		}
		seen[s] = true
		for _, c := range s.Calls {
			if c.Back {
				continue
			}
			visit(c.To)
			if c.Kind == CallProduce {
				for _, w := range c.Topic.Consumers {
					visit(w)
				}
			}
		}
	}
	visit(topo.Gateway)
	for _, j := range topo.Jobs {
		visit(j)
	}
	for _, s := range topo.Services {
		require.True(t, seen[s], "%s is not reachable from the gateway or a job", s.ID())
	}
}

func TestTopologyJobs(t *testing.T) {
	for _, tc := range []struct{ services, jobs int }{{12, 0}, {29, 0}, {30, 1}, {60, 1}, {90, 2}, {300, 3}, {2000, 3}} {
		topo, err := NewTopology(tc.services, 7, ScenarioSteady)
		require.NoError(t, err)
		require.Len(t, topo.Jobs, tc.jobs, "%d services", tc.services)
		require.Equal(t, topo.Jobs, topo.ServicesOf(KindJob))
		if tc.jobs == 0 {
			require.Zero(t, topo.JobShare)
			continue
		}
		require.Positive(t, topo.JobShare)
		for _, j := range topo.Jobs {
			require.Empty(t, j.Callers, "nothing calls a job")
			require.Empty(t, j.Endpoints, "a job serves nothing")
			require.Contains(t, topo.Canaries(), j, "a job runs a canary")
			var requests int
			for _, c := range j.Calls {
				if c.Kind == CallRequest {
					requests++
					require.Contains(t, []Kind{KindAPI, KindMidTier}, c.To.Kind)
				}
			}
			require.GreaterOrEqual(t, requests, 2, "%s calls APIs and mid-tier services", j.ID())
			require.Equal(t, 1.0, j.Calls[0].Probability, "a run always makes its first call")
		}
	}
}

// fanIn returns the numbers of callers (distinct calling services) of the
// services, largest first.
func fanIn(topo *Topology) []int {
	var out []int
	for _, s := range topo.Services {
		callers := map[*Service]bool{}
		for _, c := range s.Callers {
			callers[c.From] = true
		}
		out = append(out, len(callers))
	}
	sort.Sort(sort.Reverse(sort.IntSlice(out)))
	return out
}

func TestTopologyHubs(t *testing.T) {
	for _, tc := range []struct {
		services, minMax int
	}{
		{60, 12},
		{1000, 100},
		{3000, 250},
	} {
		t.Run(fmt.Sprint(tc.services), func(t *testing.T) {
			topo, err := NewTopology(tc.services, 1, ScenarioSteady)
			require.NoError(t, err)
			in := fanIn(topo)
			median := in[len(in)/2]
			require.GreaterOrEqual(t, in[0], tc.minMax, "the biggest hub's fan-in")
			require.LessOrEqual(t, median, 3, "a long tail of services with few callers")
			require.GreaterOrEqual(t, in[0], 10*max(median, 1))
			// A few hubs take a large share of all edges.
			total, top := 0, 0
			for i, n := range in {
				total += n
				if i < len(in)/20 {
					top += n
				}
			}
			require.Greater(t, float64(top)/float64(total), 0.25, "share of edges into the top 5%% of services")
		})
	}
}

// depth is the longest chain of request calls from s (not following calls
// against the layering).
func depth(s *Service, memo map[*Service]int) int {
	if d, ok := memo[s]; ok {
		return d
	}
	memo[s] = 0
	best := 0
	for _, c := range s.Calls {
		if c.Kind == CallRequest && !c.Back {
			best = max(best, 1+depth(c.To, memo))
		}
	}
	memo[s] = best
	return best
}

func TestTopologyDepthAndCycles(t *testing.T) {
	for _, tc := range []struct{ services, minDepth, cycles int }{
		{60, 4, 1},
		{1000, 7, 2},
	} {
		t.Run(fmt.Sprint(tc.services), func(t *testing.T) {
			topo, err := NewTopology(tc.services, 1, ScenarioSteady)
			require.NoError(t, err)
			require.GreaterOrEqual(t, depth(topo.Gateway, map[*Service]int{}), tc.minDepth)
			cycles := 0
			for _, c := range topo.Calls {
				if c.Back && calls(c.To, c.From) {
					cycles++
					require.Less(t, c.Probability, 0.1, "calls closing cycles are rare")
				}
			}
			require.Equal(t, tc.cycles, cycles)
		})
	}
}

func TestTopologyCanaries(t *testing.T) {
	topo, err := NewTopology(200, 5, ScenarioSteady)
	require.NoError(t, err)
	canaries := topo.Canaries()
	apps := len(topo.ServicesOf(KindFrontend)) + len(topo.ServicesOf(KindAPI)) + len(topo.ServicesOf(KindMidTier))
	require.GreaterOrEqual(t, len(canaries), apps/12, "about one application in eight has a canary")
	require.LessOrEqual(t, len(canaries)-len(topo.Jobs), apps/8)
	require.Contains(t, canaries, busiest(topo.ServicesOf(KindAPI)))
	for _, s := range canaries {
		require.Len(t, s.Workloads, 2)
		v1, v2 := s.Workloads[0], s.Workloads[1]
		require.Equal(t, "v1", v1.Version)
		require.Equal(t, "v2", v2.Version)
		require.InDelta(t, 1, v1.Weight+v2.Weight, 1e-9)
		require.True(t, v2.Weight >= 0.1 && v2.Weight <= 0.25, "v2 weight %g", v2.Weight)
	}
	for _, w := range topo.Workloads {
		app, version := accesslog.SplitWorkload(w.Name)
		require.Equal(t, w.Service.Name, app, "workload %s", w.Name)
		require.Equal(t, w.Version, version, "workload %s", w.Name)
		for _, p := range w.Pods {
			require.Equal(t, w.Name, accesslog.PodWorkload(p.Name), "pod %s", p.Name)
		}
	}
}

func TestTopologyMix(t *testing.T) {
	topo, err := NewTopology(300, 9, ScenarioSteady)
	require.NoError(t, err)
	var mtls, plain, traced, untraced, grpc, passthrough int
	for _, s := range topo.Services {
		if !s.Meshed {
			if s.Passthrough {
				passthrough++
			}
			continue
		}
		if s.MTLS {
			mtls++
		} else {
			plain++
		}
		if s.Kind == KindMidTier {
			if s.Traced {
				traced++
			} else {
				untraced++
			}
		}
		if s.Protocol == ProtocolGRPC {
			grpc++
		}
	}
	require.Greater(t, mtls, 4*plain, "most services use mutual TLS")
	require.Positive(t, plain, "some are plaintext")
	require.Greater(t, traced, 4*untraced)
	require.Positive(t, untraced, "some services are not instrumented")
	require.Positive(t, grpc)
	require.Positive(t, passthrough)
	require.NotNil(t, topo.Service("", "api.stripe.com"))
}

// fingerprint renders everything a topology is made of.
func fingerprint(topo *Topology) string {
	var b strings.Builder
	for _, s := range topo.Services {
		fmt.Fprintf(&b, "%s %s %s %d %v %v %v %s %g\n", s.ID(), s.Kind, s.Protocol, s.Port, s.MTLS, s.Traced, s.Latency, s.Address, s.ErrorRate)
		for _, w := range s.Workloads {
			fmt.Fprintf(&b, " %s %g", w.Name, w.Weight)
			for _, p := range w.Pods {
				fmt.Fprintf(&b, " %s %s", p.Name, p.IP)
			}
		}
	}
	for _, c := range topo.Calls {
		fmt.Fprintf(&b, "%s %s %g %d %v\n", c, c.Kind, c.Probability, c.Repeat, c.Critical)
	}
	return b.String()
}

func TestTopologyDeterministic(t *testing.T) {
	a, err := NewTopology(120, 42, ScenarioCanaryBad)
	require.NoError(t, err)
	b, err := NewTopology(120, 42, ScenarioCanaryBad)
	require.NoError(t, err)
	require.Equal(t, fingerprint(a), fingerprint(b))
	c, err := NewTopology(120, 43, ScenarioCanaryBad)
	require.NoError(t, err)
	require.NotEqual(t, fingerprint(a), fingerprint(c))

	// The scenario changes the mesh only by what it adds.
	for _, sc := range Scenarios() {
		d, err := NewTopology(120, 42, sc)
		require.NoError(t, err)
		require.Equal(t, fingerprint(a), fingerprint(withoutNew(d)), sc)
	}
}

// withoutNew returns a copy of topo without the new-service scenario's
// service and calls.
func withoutNew(topo *Topology) *Topology {
	out := *topo
	out.Services, out.Calls = nil, nil
	for _, s := range topo.Services {
		if !s.New {
			out.Services = append(out.Services, s)
		}
	}
	for _, c := range topo.Calls {
		if !c.New {
			out.Calls = append(out.Calls, c)
		}
	}
	return &out
}

func TestNewTopologyErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		services int
		scenario string
		want     string
	}{
		{"too few", MinServices - 1, ScenarioSteady, "--services"},
		{"too many", MaxServices + 1, ScenarioSteady, "--services"},
		{"unknown scenario", 60, "meteor", "--scenario"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewTopology(tc.services, 1, tc.scenario)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
