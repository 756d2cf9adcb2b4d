package demo

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestScenarioTargets(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		kind     Kind
	}{
		{ScenarioFailingDependency, KindMidTier},
		{ScenarioSlowDatabase, KindDatabase},
		{ScenarioCanaryBad, ""}, // the busiest service with a canary, of any kind
		{ScenarioNewService, KindMidTier},
		{ScenarioBadPod, KindMidTier},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			topo, err := NewTopology(80, 11, tc.scenario)
			require.NoError(t, err)
			sc := topo.Scenario
			require.Equal(t, tc.scenario, sc.Name)
			require.NotNil(t, sc.Target)
			if tc.kind != "" {
				require.Equal(t, tc.kind, sc.Target.Kind)
			} else {
				require.Len(t, sc.Target.Workloads, 2)
				require.Equal(t, "v2", sc.Version)
			}
			require.NotEmpty(t, sc.Calls)
			if tc.scenario == ScenarioBadPod {
				require.Same(t, sc.Target.Workloads[0].Pods[0], sc.Pod)
				require.GreaterOrEqual(t, len(sc.Target.Workloads[0].Pods), 2, "the bad pod has siblings")
			} else {
				require.Nil(t, sc.Pod)
			}
			for _, id := range sc.Edges() {
				require.Contains(t, id, "->")
			}
			if tc.scenario == ScenarioNewService {
				require.True(t, sc.Target.New)
				for _, c := range sc.Calls {
					require.True(t, c.New)
					require.True(t, c.From == sc.Target || c.To == sc.Target)
				}
				return
			}
			for _, c := range sc.Calls {
				require.Equal(t, sc.Target, c.To)
			}
		})
	}
	topo, err := NewTopology(80, 11, ScenarioSteady)
	require.NoError(t, err)
	require.Nil(t, topo.Scenario.Target)
	for _, s := range topo.Services {
		require.False(t, s.New)
	}
}

func TestScenarioEffect(t *testing.T) {
	const p = 10 * time.Second
	for _, tc := range []struct {
		scenario string
		at       time.Duration
		want     effect
	}{
		{ScenarioSteady, 0, effect{latency: 1, canariesDeployed: true}},
		{ScenarioSteady, time.Hour, effect{latency: 1, canariesDeployed: true}},
		{ScenarioFailingDependency, p/2 - 1, effect{latency: 1}},
		{ScenarioFailingDependency, p / 2, effect{latency: 1, canariesDeployed: true}},
		{ScenarioFailingDependency, p - 1, effect{latency: 1, canariesDeployed: true}},
		{ScenarioFailingDependency, p, effect{latency: 1, failShare: FailShare, canariesDeployed: true}},
		{ScenarioSlowDatabase, p / 2, effect{latency: 1, canariesDeployed: true}},
		{ScenarioSlowDatabase, 3 * p, effect{latency: SlowFactor, canariesDeployed: true}},
		{ScenarioCanaryBad, p - 1, effect{latency: 1, canariesDeployed: true}},
		{ScenarioCanaryBad, p + RampPeriods*p/2, effect{latency: (1 + CanaryLatencyFactor) / 2.0, canaryErrors: CanaryErrorRate / 2, canariesDeployed: true}},
		{ScenarioCanaryBad, 100 * p, effect{latency: CanaryLatencyFactor, canaryErrors: CanaryErrorRate, canariesDeployed: true}},
		{ScenarioNewService, p - time.Millisecond, effect{latency: 1, canariesDeployed: true}},
		{ScenarioNewService, p, effect{latency: 1, newActive: true, canariesDeployed: true}},
		{ScenarioBadPod, p - 1, effect{latency: 1, canariesDeployed: true}},
		{ScenarioBadPod, p, effect{latency: 1, badPod: true, canariesDeployed: true}},
	} {
		t.Run(tc.scenario+"@"+tc.at.String(), func(t *testing.T) {
			sc := Scenario{Name: tc.scenario}
			got := sc.effectAt(tc.at, p)
			require.InDelta(t, tc.want.latency, got.latency, 1e-9)
			require.InDelta(t, tc.want.canaryErrors, got.canaryErrors, 1e-9)
			require.Equal(t, tc.want.failShare, got.failShare)
			require.Equal(t, tc.want.newActive, got.newActive)
			require.Equal(t, tc.want.badPod, got.badPod)
		})
	}
}

func TestExpectedEdges(t *testing.T) {
	topo, err := NewTopology(120, 2, ScenarioNewService)
	require.NoError(t, err)
	start := topo.Scenario.Start(time.Second)
	before := topo.ExpectedEdges(0, start, true)
	after := topo.ExpectedEdges(start, start, true)
	byID := map[string]ExpectedEdge{}
	for _, e := range after {
		byID[e.ID] = e
	}
	for _, id := range topo.Scenario.Edges() {
		require.Contains(t, byID, id, "new edge after the start")
	}
	require.Greater(t, len(after), len(before))
	for _, e := range before {
		require.NotContains(t, e.ID, topo.Scenario.Target.ID(), "the new service has no edge before the start")
	}

	provenance := map[string]int{}
	for _, e := range after {
		for _, p := range e.Provenance {
			provenance[p]++
		}
		require.Equal(t, e.Source+"->"+e.Target, e.ID)
	}
	require.Positive(t, provenance[ProvenanceSpan])
	require.Positive(t, provenance[ProvenanceAccessLog])
	require.Positive(t, provenance[ProvenanceMetric])

	// Every call shows, as the sidecars see it.
	for _, c := range topo.Calls {
		e, ok := byID[c.String()]
		require.True(t, ok, "edge of %s", c)
		require.Contains(t, e.Provenance, ProvenanceMetric)
		require.Contains(t, e.Provenance, ProvenanceAccessLog)
	}
	// Spans see database calls as queries on the sidecars' edge, and
	// topics their own way.
	var db, messaging, client bool
	for _, e := range after {
		db = db || slices.Contains(e.Protocols, "db") && slices.Contains(e.Protocols, "tcp") && strings.HasPrefix(e.Target, "service:")
		messaging = messaging || strings.Contains(e.Protocols[0], "messaging")
		client = client || e.Source == ClientID
	}
	require.True(t, db && messaging && client)
	require.Contains(t, byID, ClientID+"->"+topo.Gateway.ID())

	for _, e := range topo.ExpectedEdges(start, start, false) {
		require.NotContains(t, e.Provenance, ProvenanceSpan, "no spans without tracing")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"default", func(*Config) {}, ""},
		{"bare http address", func(c *Config) { c.ServerHTTP = "127.0.0.1:9999" }, ""},
		{"bad http url", func(c *Config) { c.ServerHTTP = "ftp://x" }, "--server-http"},
		{"bad grpc address", func(c *Config) { c.ServerGRPC = "localhost" }, "--server-grpc"},
		{"few services", func(c *Config) { c.Services = 3 }, "--services"},
		{"no rate", func(c *Config) { c.Rate = -1 }, "--rate"},
		{"negative duration", func(c *Config) { c.Duration = -time.Second }, "--duration"},
		{"unknown scenario", func(c *Config) { c.Scenario = "flood" }, "--scenario"},
		{"short period", func(c *Config) { c.ScenarioPeriod = time.Millisecond }, "--scenario-period"},
		{"sample above 1", func(c *Config) { c.TraceSample = 1.5 }, "--trace-sample"},
		{"short metrics interval", func(c *Config) { c.MetricsInterval = time.Millisecond }, "--metrics-interval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.edit(&cfg)
			err := cfg.Validate()
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
	zero := Config{}.withDefaults()
	require.NoError(t, zero.Validate())
	require.Equal(t, 60, zero.Services)
	require.Zero(t, zero.TraceSample, "zero is a valid share")
}

func TestCallRates(t *testing.T) {
	for _, n := range []int{40, 600} {
		topo, err := NewTopology(n, 4, ScenarioSteady)
		require.NoError(t, err)
		require.Len(t, topo.forwardOrder(), len(topo.Services), "the calls but the Back ones form a DAG")
		rates := topo.CallRates(1000)
		var sum float64
		for _, c := range topo.Calls {
			sum += rates[c.Index]
			if !c.Back {
				require.Positive(t, rates[c.Index], "%s carries traffic", c)
			}
		}
		require.InDelta(t, 1000, sum, 1, "the rates add up to Config.Rate")
	}
}
