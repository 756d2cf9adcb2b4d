package graph

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// Calls a caller's access log names by the callee's service and spans name
// by its version count once; the span key is left out, and counted so.
func TestKeysOfLessTrustedInputsAreLeftOut(t *testing.T) {
	clk := newFakeClock(t0.Add(5 * time.Second))
	reg := prometheus.NewRegistry()
	b := NewBuilder(BuilderConfig{Now: clk.Now, Registerer: reg})
	web := Party{Kind: KindService, Namespace: "shop", Name: "web", Workload: "web-v1", Version: "v1"}
	cart := svc("shop", "cart")
	cartV2 := Party{Kind: KindService, Namespace: "shop", Name: "cart", Workload: "cart-v2", Version: "v2"}
	cartV3 := Party{Kind: KindService, Namespace: "shop", Name: "cart", Workload: "cart-v3", Version: "v3"}
	b.Observe([]Observation{
		call(t0, web, cart, 5, FromAccessLog, ReporterSource),
		call(t0, web, cartV2, 5, FromSpan, ReporterDestination),
	})
	b.Advance(clk.Now())
	e := edgeByID(b.Latest(GranularityService).Graph, "service:shop/web->service:shop/cart")
	require.NotNil(t, e)
	require.EqualValues(t, 5, e.Requests)
	require.Equal(t, []string{"span", "accesslog"}, e.Provenance)
	require.EqualValues(t, 1, testutil.ToFloat64(b.m.keysLeftOut))

	// Keys that disagree are other calls: access logs that name v3 do not
	// cover the spans of v2.
	b2 := NewBuilder(BuilderConfig{Now: clk.Now})
	b2.Observe([]Observation{
		call(t0, web, cartV3, 3, FromAccessLog, ReporterDestination),
		call(t0, web, cartV2, 5, FromSpan, ReporterDestination),
	})
	b2.Advance(clk.Now())
	e = edgeByID(b2.Latest(GranularityService).Graph, "service:shop/web->service:shop/cart")
	require.NotNil(t, e)
	require.EqualValues(t, 8, e.Requests)
}
