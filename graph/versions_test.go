package graph

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewVersion(t *testing.T) {
	for _, tc := range []struct {
		name          string
		v             VersionSeen
		serviceBefore bool
		serviceFirst  int64
		want          bool
	}{
		{"deployed into a running service", VersionSeen{Version: "v2", FirstSeen: 100}, true, 10, true},
		{"seen the day before", VersionSeen{Version: "v2", FirstSeen: 100, Before: true}, true, 10, false},
		{"a new service's first version", VersionSeen{Version: "v1", FirstSeen: 10}, false, 10, false},
		{"a new service's later version", VersionSeen{Version: "v2", FirstSeen: 20}, false, 10, true},
		{"no known version", VersionSeen{FirstSeen: 100}, true, 10, false},
	} {
		require.Equal(t, tc.want, NewVersion(tc.v, tc.serviceBefore, tc.serviceFirst), tc.name)
	}
}

func TestRegressions(t *testing.T) {
	base := VersionCalls{Requests: 1000, Errors: 10, P99Ms: 100}
	for _, tc := range []struct {
		name    string
		version VersionCalls
		want    []string
	}{
		{"alike", VersionCalls{Requests: 100, Errors: 1, P99Ms: 110}, []string{}},
		{"errors just within a point", VersionCalls{Requests: 100, Errors: 2, P99Ms: 100}, []string{}},
		// 3 % against 1 %: two points, but 3 of 100 calls could read so by
		// chance (z 1.8).
		{"errors, not significant", VersionCalls{Requests: 100, Errors: 3, P99Ms: 100}, []string{}},
		{"errors", VersionCalls{Requests: 100, Errors: 10, P99Ms: 100}, []string{"errors"}},
		{"errors, significant over more calls", VersionCalls{Requests: 2000, Errors: 60, P99Ms: 100}, []string{"errors"}},
		{"latency", VersionCalls{Requests: 100, Errors: 0, P99Ms: 151}, []string{"latency"}},
		{"latency of too few calls", VersionCalls{Requests: RegressionP99MinRequests - 1, Errors: 0, P99Ms: 400}, []string{}},
		{"both", VersionCalls{Requests: 100, Errors: 50, P99Ms: 400}, []string{"errors", "latency"}},
		{"too few calls", VersionCalls{Requests: RegressionMinRequests - 1, Errors: 19, P99Ms: 400}, []string{}},
	} {
		require.Equal(t, tc.want, Regressions(tc.version, base), tc.name)
	}
	require.Equal(t, []string{}, Regressions(VersionCalls{Requests: 100, Errors: 50}, VersionCalls{Requests: 5}), "a baseline of too few calls")
	require.Equal(t, []string{"errors"}, Regressions(VersionCalls{Requests: 100, Errors: 50, P99Ms: 9}, VersionCalls{Requests: 100}), "no baseline latency")
}

func TestVersionsCalls(t *testing.T) {
	g := &Graph{
		Nodes: []Node{
			{ID: "version:shop/cart/v1", Kind: KindVersion, Namespace: "shop", Name: "cart", Version: "v1", RequestsIn: 90, ErrorsIn: 1, Health: "healthy"},
			{ID: "version:shop/cart/v2", Kind: KindVersion, Namespace: "shop", Name: "cart", Version: "v2", RequestsIn: 10, ErrorsIn: 5, Health: "failing"},
			{ID: "version:shop/cart/v0", Kind: KindVersion, Namespace: "shop", Name: "cart", Version: "v0", RequestsIn: 5},
			{ID: "version:pay/cart/v1", Kind: KindVersion, Namespace: "pay", Name: "cart", Version: "v1", RequestsIn: 7},
		},
		Edges: []Edge{
			{Source: "service:shop/web", Target: "version:shop/cart/v1", P99Ms: 20},
			{Source: "service:shop/api", Target: "version:shop/cart/v1", P99Ms: 30},
			{Source: "service:shop/web", Target: "version:shop/cart/v2", P99Ms: 90},
		},
	}
	c := VersionsCalls(g, "shop", "cart", "v2")
	require.Equal(t, VersionCalls{Requests: 10, Errors: 5, P99Ms: 90}, c.Own)
	require.Equal(t, VersionCalls{Requests: 95, Errors: 1, P99Ms: 30}, c.Baseline)
	require.Equal(t, []string{"v0", "v1"}, c.Others)
	require.Equal(t, "failing", c.Node.Health)
	require.False(t, c.Outbound)
	c = VersionsCalls(g, "shop", "cart", "v9")
	require.Nil(t, c.Node)
	require.Equal(t, VersionCalls{Requests: 105, Errors: 6, P99Ms: 90}, c.Baseline)
}

// A version that took no calls is compared by the calls it made.
func TestVersionsCallsOutbound(t *testing.T) {
	g := &Graph{
		Nodes: []Node{
			{ID: "version:shop/worker/v1", Kind: KindVersion, Namespace: "shop", Name: "worker", Version: "v1", RequestsOut: 200, ErrorsOut: 2},
			{ID: "version:shop/worker/v2", Kind: KindVersion, Namespace: "shop", Name: "worker", Version: "v2", RequestsOut: 50, ErrorsOut: 20},
			{ID: "version:shop/cart/v1", Kind: KindVersion, Namespace: "shop", Name: "cart", Version: "v1", RequestsIn: 250, ErrorsIn: 22, RequestsOut: 7},
		},
		Edges: []Edge{
			{Source: "version:shop/worker/v1", Target: "version:shop/cart/v1", P99Ms: 20},
			{Source: "version:shop/worker/v2", Target: "version:shop/cart/v1", P99Ms: 70},
			{Source: "version:shop/cart/v1", Target: "database:postgresql/orders", P99Ms: 5},
		},
	}
	c := VersionsCalls(g, "shop", "worker", "v2")
	require.True(t, c.Outbound)
	require.Equal(t, VersionCalls{Requests: 50, Errors: 20, P99Ms: 70}, c.Own)
	require.Equal(t, VersionCalls{Requests: 200, Errors: 2, P99Ms: 20}, c.Baseline)
	require.Equal(t, []string{"v1"}, c.Others)
	require.Equal(t, []string{"errors"}, Regressions(c.Own, c.Baseline))
	// A version that took calls is compared by those, whatever it made.
	c = VersionsCalls(g, "shop", "cart", "v1")
	require.False(t, c.Outbound)
	require.Equal(t, VersionCalls{Requests: 250, Errors: 22, P99Ms: 70}, c.Own)
}
