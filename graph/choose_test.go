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

// Root server spans of a traced callee whose caller is not traced are
// calls from the unknown caller to the spans; when the callee's proxy names
// its callers in access logs or metrics, those spans' calls are the named
// callers' and count there alone.
func TestUnknownCallerOfSpansYieldsToTheProxysNamedCallers(t *testing.T) {
	web, cart, legacy, db := svc("shop", "web"), svc("shop", "cart"), svc("shop", "legacy"), svc("shop", "db")
	cartV1 := Party{Kind: KindService, Namespace: "shop", Name: "cart", Workload: "cart-v1"}
	client := Party{Kind: KindClient}
	const clientCart, webCart = "client:/->service:shop/cart", "service:shop/web->service:shop/cart"
	tests := []struct {
		name string
		obs  []Observation
		want map[string]uint64 // edges and their calls; no other edge
	}{
		{"istio: the callee's sidecar names the caller", []Observation{
			call(t0, web, cart, 5, FromAccessLog, ReporterSource),
			call(t0, web, cart, 5, FromAccessLog, ReporterDestination),
			call(t0, client, cartV1, 5, FromSpan, ReporterDestination),
		}, map[string]uint64{webCart: 5}},
		{"linkerd: the callee's proxy reports its own calls, metrics name its callers", []Observation{
			call(t0, web, cart, 5, FromMetric, ReporterSource),
			call(t0, cart, db, 2, FromMetric, ReporterSource),
			call(t0, client, cartV1, 5, FromSpan, ReporterDestination),
		}, map[string]uint64{webCart: 5, "service:shop/cart->service:shop/db": 2}},
		{"a caller outside the mesh: the proxy sees the unknown caller too", []Observation{
			call(t0, web, cart, 5, FromAccessLog, ReporterDestination),
			call(t0, client, cart, 3, FromAccessLog, ReporterDestination),
			call(t0, client, cartV1, 3, FromSpan, ReporterDestination),
		}, map[string]uint64{webCart: 5, clientCart: 3}},
		{"a callee without a proxy: nothing names its other callers", []Observation{
			call(t0, web, legacy, 4, FromAccessLog, ReporterSource),
			call(t0, client, legacy, 6, FromSpan, ReporterDestination),
		}, map[string]uint64{"service:shop/web->service:shop/legacy": 4, "client:/->service:shop/legacy": 6}},
		{"a traced caller through its sidecar to a callee without a proxy", []Observation{
			call(t0, web, legacy, 4, FromAccessLog, ReporterSource),
			call(t0, web, legacy, 4, FromSpan, ReporterDestination),
			call(t0, client, legacy, 6, FromSpan, ReporterDestination),
		}, map[string]uint64{"service:shop/web->service:shop/legacy": 4, "client:/->service:shop/legacy": 6}},
		{"an SDK's client metrics name callers, but see no caller of their own", []Observation{
			call(t0, web, cart, 5, FromMetric, ReporterUnknown), // web's SDK
			call(t0, cart, db, 2, FromMetric, ReporterUnknown),  // cart's SDK
			call(t0, client, cartV1, 3, FromSpan, ReporterDestination),
		}, map[string]uint64{webCart: 5, "service:shop/cart->service:shop/db": 2, clientCart: 3}},
		{"an SDK's client metrics of calls the sidecars logged count once", []Observation{
			call(t0, Party{Kind: KindService, Namespace: "shop", Name: "web", Workload: "web-v1", Version: "v1"},
				Party{Kind: KindService, Namespace: "shop", Name: "cart", Workload: "cart-v1", Version: "v1"}, 5, FromAccessLog, ReporterDestination),
			call(t0, Party{Kind: KindService, Namespace: "shop", Name: "web", Workload: "web-v1", Version: "v1"}, cart, 5, FromMetric, ReporterUnknown),
		}, map[string]uint64{webCart: 5}},
		{"spans alone", []Observation{
			call(t0, web, cart, 5, FromSpan, ReporterDestination),
			call(t0, client, cart, 2, FromSpan, ReporterDestination),
		}, map[string]uint64{webCart: 5, clientCart: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check := func(g *Graph) {
				t.Helper()
				got := map[string]uint64{}
				for _, e := range g.Edges {
					got[e.ID] = e.Requests
				}
				require.Equal(t, tc.want, got)
			}
			// The live graph.
			clk := newFakeClock(t0.Add(5 * time.Second))
			b := NewBuilder(BuilderConfig{Now: clk.Now})
			b.Observe(tc.obs)
			b.Advance(clk.Now())
			check(b.Latest(GranularityService).Graph)
			// A graph read back from stored keys.
			sel, err := NewSelection(nil)
			require.NoError(t, err)
			keys := map[EdgeKey]*EdgeStats{}
			for _, o := range tc.obs {
				k := EdgeKey{Source: o.Source, Destination: o.Destination, Protocol: o.Protocol}
				if keys[k] == nil {
					keys[k] = &EdgeStats{}
				}
				st := keys[k]
				st.Requests = max(st.Requests, o.Count) // inputs of one key see the same calls
				st.Provenance |= o.Provenance
				st.Reporters = st.Reporters.With(o.Reporter)
			}
			for k, st := range keys {
				sel.Add(&k, st)
			}
			a := NewAssembler(GranularityService, &HealthConfig{})
			sel.AddTo(a)
			check(a.Graph(t0, t0.Add(time.Minute)))
		})
	}
}

// A database the mesh proxies is one edge: spans count its queries
// (protocol db), the proxies the TCP connections that carry them; the edge
// shows the more trusted input's numbers and lists both inputs.
func TestDatabaseQueriesAndConnectionsAreOneEdge(t *testing.T) {
	cart := svc("shop", "cart")
	queries := EdgeKey{Source: cart, Destination: svc("data", "stock-mysql"), Protocol: ProtocolDB}
	conns := EdgeKey{Source: cart, Protocol: ProtocolTCP,
		Destination: Party{Kind: KindService, Namespace: "data", Name: "stock-mysql", Workload: "stock-mysql-0"}}
	for _, tc := range []struct {
		order []Provenance
		want  uint64
		proto string
	}{
		{nil, 4, "tcp"}, // access logs first, by default
		{[]Provenance{FromSpan, FromAccessLog, FromMetric}, 40, "db"},
	} {
		sel, err := NewSelection(tc.order)
		require.NoError(t, err)
		sel.Add(&queries, &EdgeStats{Requests: 40, Provenance: FromSpan})
		sel.Add(&conns, &EdgeStats{Requests: 4, Provenance: FromAccessLog | FromMetric})
		a := NewAssembler(GranularityService, &HealthConfig{})
		sel.AddTo(a)
		g := a.Graph(t0, t0.Add(time.Minute))
		require.Len(t, g.Edges, 1)
		e := g.Edges[0]
		require.Equal(t, "service:shop/cart->service:data/stock-mysql", e.ID)
		require.Equal(t, tc.want, e.Requests)
		require.Equal(t, tc.proto, e.Protocol)
		require.Equal(t, []string{"tcp", "db"}, e.Protocols)
		require.Equal(t, []string{"span", "accesslog", "metric"}, e.Provenance)
	}
}
