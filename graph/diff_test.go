package graph

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDiff(t *testing.T) {
	base := testGraph(
		Edge{Source: nWeb, Target: nCart, RPS: 10, ErrorRate: 0, P95Ms: 10},
		Edge{Source: nWeb, Target: nSearch, RPS: 10, ErrorRate: 0, P95Ms: 10},
		Edge{Source: nWeb, Target: nPricing, RPS: 10, P95Ms: 10},
		Edge{Source: nCart, Target: nDB, RPS: 1, P95Ms: 10},
	)
	cur := testGraph(
		Edge{Source: nWeb, Target: nCart, RPS: 12, ErrorRate: 0.005, P95Ms: 12},  // within thresholds
		Edge{Source: nWeb, Target: nSearch, RPS: 10, ErrorRate: 0.05, P95Ms: 10}, // errors up
		Edge{Source: nWeb, Target: nPricing, RPS: 10, P95Ms: 30},                 // slower
		Edge{Source: nCart, Target: "database:redis/cache", RPS: 1},              // new
	)
	d := Diff(cur, base, DiffThresholds{})
	got := map[string]string{}
	for _, e := range d.Edges {
		got[e.ID] = e.Diff
	}
	require.Equal(t, map[string]string{
		EdgeID(nWeb, nCart):                   DiffSame,
		EdgeID(nWeb, nSearch):                 DiffChanged,
		EdgeID(nWeb, nPricing):                DiffChanged,
		EdgeID(nCart, "database:redis/cache"): DiffAdded,
		EdgeID(nCart, nDB):                    DiffRemoved,
	}, got)
	for _, e := range d.Edges {
		switch e.Diff {
		case DiffAdded:
			require.Nil(t, e.Base)
		case DiffRemoved:
			require.Zero(t, e.Requests)
			require.EqualValues(t, 1, e.Base.RPS)
		default:
			require.NotNil(t, e.Base)
		}
	}
	nodes := map[string]string{}
	for _, n := range d.Nodes {
		nodes[n.ID] = n.Diff
	}
	require.Equal(t, DiffRemoved, nodes[nDB])
	require.Equal(t, DiffAdded, nodes["database:redis/cache"])
	require.Equal(t, DiffSame, nodes[nWeb], "node rates are not set in these graphs")

	// A tighter rate threshold marks the +20 % edge changed.
	d = Diff(cur, base, DiffThresholds{RateChange: 0.1})
	require.Equal(t, EdgeID(nWeb, nCart), d.Edges[2].ID)
	require.Equal(t, DiffChanged, d.Edges[2].Diff)
}

func TestHealth(t *testing.T) {
	h := HealthConfig{Rules: []HealthRule{
		{Namespace: "batch", HealthThresholds: HealthThresholds{Degraded: 0.05, Failing: 0.5}},
		{Namespace: "batch", Service: "flaky", HealthThresholds: HealthThresholds{Degraded: 0.2, Failing: 0.9}},
	}}
	require.NoError(t, h.Validate())
	for _, tc := range []struct {
		ns, name                     string
		reqIn, errIn, reqOut, errOut uint64
		want                         string
	}{
		{"shop", "web", 0, 0, 0, 0, HealthIdle},
		{"shop", "web", 10000, 5, 0, 0, HealthHealthy},
		{"shop", "web", 1000, 1, 0, 0, HealthDegraded},
		{"shop", "web", 100, 10, 0, 0, HealthFailing},
		{"shop", "web", 100, 0, 10, 5, HealthFailing},
		{"batch", "etl", 100, 4, 0, 0, HealthHealthy},
		{"batch", "etl", 100, 5, 0, 0, HealthDegraded},
		{"batch", "flaky", 100, 19, 0, 0, HealthHealthy},
		{"batch", "flaky", 100, 90, 0, 0, HealthFailing},
	} {
		require.Equal(t, tc.want, h.Health(tc.ns, tc.name, tc.reqIn, tc.errIn, tc.reqOut, tc.errOut), "%+v", tc)
	}
	require.ErrorContains(t, HealthConfig{Default: HealthThresholds{Degraded: 0.5, Failing: 0.1}}.Validate(), "health.default")
	require.ErrorContains(t, HealthConfig{Rules: []HealthRule{{}}}.Validate(), "health.rules[0].namespace")
}

func TestGroupAndFilter(t *testing.T) {
	g := testGraph(
		Edge{Source: nWeb, Target: nCart, RPS: 1},
		Edge{Source: nCart, Target: "service:billing/pay", RPS: 1},
		Edge{Source: "service:billing/pay", Target: "external:bank.example", RPS: 1},
	)
	groups, err := GroupNodes(g, "namespace")
	require.NoError(t, err)
	require.Len(t, groups, 3)
	require.Equal(t, "namespace:", groups[0].ID)
	require.Equal(t, "namespace:billing", groups[1].ID)
	require.EqualValues(t, 60, groups[1].RequestsIn)
	require.EqualValues(t, 60, groups[1].RequestsOut)
	require.Equal(t, []string{nCart, nWeb}, groups[2].Nodes)
	require.EqualValues(t, 0, groups[2].RequestsIn)
	_, err = GroupNodes(g, "planet")
	require.Error(t, err)

	f := FilterNamespaces(g, []string{"billing"})
	require.Len(t, f.Edges, 2)
	require.Len(t, f.Nodes, 3)
	require.Same(t, g, FilterNamespaces(g, nil))
}

func TestConfigValidateNamesKeys(t *testing.T) {
	cfg := BuilderConfig{Window: 1500 * time.Millisecond, SpanWait: time.Minute, FlushDelay: time.Second, Shards: 3,
		ProvenancePreference: []Provenance{FromSpan, FromSpan, FromMetric}}.WithDefaults()
	err := cfg.Validate()
	for _, key := range []string{"window:", "flush_delay:", "shards:", "provenance_preference[1]"} {
		require.ErrorContains(t, err, key)
	}
	require.NoError(t, BuilderConfig{}.WithDefaults().Validate())
	require.Panics(t, func() { NewBuilder(BuilderConfig{Shards: 3}) })
}
