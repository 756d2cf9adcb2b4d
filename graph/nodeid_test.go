package graph

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNodeIDPerGranularity(t *testing.T) {
	full := Party{Kind: KindService, Cluster: "east", Namespace: "shop", Name: "cart", Workload: "cart-v2", Version: "v2"}
	for _, tc := range []struct {
		name                       string
		p                          Party
		service, workload, version string
	}{
		{"fully known", full, "service:shop/cart", "workload:shop/cart-v2", "version:shop/cart/v2"},
		{"no version", Party{Namespace: "shop", Name: "cart", Workload: "cart"}, "service:shop/cart", "workload:shop/cart", "workload:shop/cart"},
		{"no workload", Party{Kind: KindService, Namespace: "shop", Name: "cart", Version: "v1"}, "service:shop/cart", "service:shop/cart", "version:shop/cart/v1"},
		{"workload only", Party{Kind: KindWorkload, Namespace: "shop", Workload: "cart-v1"}, "service:shop/cart-v1", "workload:shop/cart-v1", "workload:shop/cart-v1"},
		{"unknown namespace", Party{Kind: KindService, Name: "legacy"}, "service:/legacy", "service:/legacy", "service:/legacy"},
		{"external", Party{Kind: KindExternal, Name: "api.stripe.com", Namespace: "x"}, "external:api.stripe.com", "external:api.stripe.com", "external:api.stripe.com"},
		{"database", Party{Kind: KindDatabase, Name: "postgresql/orders"}, "database:postgresql/orders", "database:postgresql/orders", "database:postgresql/orders"},
		{"messaging", Party{Kind: KindMessaging, Name: "kafka/orders"}, "messaging:kafka/orders", "messaging:kafka/orders", "messaging:kafka/orders"},
		{"unknown client", Party{Kind: KindClient}, "client:/", "client:/", "client:/"},
		{"named client", Party{Kind: KindClient, Namespace: "edge", Name: "gw"}, "client:edge/gw", "client:edge/gw", "client:edge/gw"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.service, tc.p.NodeID(GranularityService))
			require.Equal(t, tc.workload, tc.p.NodeID(GranularityWorkload))
			require.Equal(t, tc.version, tc.p.NodeID(GranularityVersion))
			for _, g := range Granularities {
				id := tc.p.NodeID(g)
				parsed, err := ParseNodeID(id)
				require.NoError(t, err, id)
				require.Equal(t, id, parsed.NodeID(parsed.Granularity()), "round trip of %s", id)
				require.Equal(t, tc.p.NodeKind(g), parsed.Kind)
			}
		})
	}
}

func TestParseNodeIDRejects(t *testing.T) {
	for _, id := range []string{"", "cart", "service:cart", "workload:shop/", "version:shop/cart", "version:shop/cart/",
		"external:", "database:postgres", "planet:earth"} {
		_, err := ParseNodeID(id)
		require.Error(t, err, id)
	}
}

func TestParseEdgeID(t *testing.T) {
	src, dst, err := ParseEdgeID("service:shop/web->external:a->b.example")
	require.NoError(t, err)
	require.Equal(t, "service:shop/web", src)
	require.Equal(t, "external:a->b.example", dst)
	src, dst, err = ParseEdgeID(EdgeID("version:shop/cart/v1", "database:redis/cache"))
	require.NoError(t, err)
	require.Equal(t, "version:shop/cart/v1", src)
	require.Equal(t, "database:redis/cache", dst)
	_, _, err = ParseEdgeID("service:shop/web")
	require.Error(t, err)
}

func TestAtGranularityKeepsWhatTheNodeShows(t *testing.T) {
	p := Party{Kind: KindService, Cluster: "east", Namespace: "shop", Name: "cart", Workload: "cart-v2", Version: "v2"}
	require.Equal(t, Party{Kind: KindService, Cluster: "east", Namespace: "shop", Name: "cart"}, p.AtGranularity(GranularityService))
	require.Equal(t, Party{Kind: KindWorkload, Cluster: "east", Namespace: "shop", Name: "cart", Workload: "cart-v2"}, p.AtGranularity(GranularityWorkload))
	require.Equal(t, Party{Kind: KindVersion, Cluster: "east", Namespace: "shop", Name: "cart", Version: "v2"}, p.AtGranularity(GranularityVersion))
}
