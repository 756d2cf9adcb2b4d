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

// A key without calls (a metric's bytes alone, in a range where the metric
// saw no new connection) neither shows nor keeps a less trusted input's key
// of the same calls out, even when metrics are the most trusted input.
func TestSelectionIgnoresKeysWithoutCalls(t *testing.T) {
	sel, err := NewSelection([]Provenance{FromMetric, FromAccessLog, FromSpan})
	if err != nil {
		t.Fatal(err)
	}
	app, db := svc("shop", "app"), svc("shop", "mysql")
	metric := EdgeKey{Source: app, Destination: db, Protocol: ProtocolTCP}
	access := metric // the access log knows the workloads, the metric not
	access.Source.Workload, access.Destination.Workload = "app-v1", "mysql-0"
	sel.Add(&metric, &EdgeStats{BytesSent: 5000, BytesReceived: 90000, Provenance: FromMetric})
	sel.Add(&access, &EdgeStats{Requests: 3, BytesSent: 10, Provenance: FromAccessLog})
	a := NewAssembler(GranularityService, &HealthConfig{})
	sel.AddTo(a)
	g := a.Graph(t0, t0.Add(time.Minute))
	e := edgeByID(g, "service:shop/app->service:shop/mysql")
	if e == nil || e.Requests != 3 {
		t.Fatalf("edge %+v, want the access log's 3 calls", e)
	}
}
