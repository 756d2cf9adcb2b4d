package query

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/graph"
)

func ids[T any](items []T, id func(T) string) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, id(it))
	}
	return out
}

func nodeIDs(g graph.Graph) []string { return ids(g.Nodes, func(n graph.Node) string { return n.ID }) }
func edgeIDs(g graph.Graph) []string { return ids(g.Edges, func(e graph.Edge) string { return e.ID }) }

func TestGraph(t *testing.T) {
	api := newTestAPI(t, Config{}, Deps{})

	t.Run("live", func(t *testing.T) {
		var g graph.Graph
		api.client.with(t).get("/api/v1/graph", &g)
		require.Equal(t, graph.GranularityService, g.Granularity)
		require.Len(t, g.Nodes, 6)
		require.Len(t, g.Edges, 5)
		require.Empty(t, api.history.queries, "the live graph does not touch ClickHouse")
	})
	t.Run("live namespace filter", func(t *testing.T) {
		var g graph.Graph
		api.client.with(t).get("/api/v1/graph?namespace=payments", &g)
		require.ElementsMatch(t, []string{"service:shop/web", "service:shop/cart", "service:payments/pay"}, nodeIDs(g))
		require.ElementsMatch(t, []string{"service:shop/web->service:payments/pay", "service:payments/pay->service:shop/cart"}, edgeIDs(g))
	})
	t.Run("live granularity", func(t *testing.T) {
		var g graph.Graph
		api.client.with(t).get("/api/v1/graph?granularity=workload", &g)
		require.Equal(t, graph.GranularityWorkload, g.Granularity)
	})
	t.Run("range", func(t *testing.T) {
		var g graph.Graph
		api.client.with(t).get("/api/v1/graph?from=now-2h&to=now-1h&granularity=version&namespace=ops,nothing", &g)
		q := api.history.last()
		require.Equal(t, testNow.Add(-2*time.Hour), q.From)
		require.Equal(t, testNow.Add(-time.Hour), q.To)
		require.Equal(t, graph.GranularityVersion, q.Granularity)
		require.Equal(t, []string{"nothing", "ops"}, q.Namespaces)
		require.True(t, g.From.Equal(q.From))
		require.Equal(t, []string{"service:ops/cron"}, nodeIDs(g), "filtered by namespace")
	})
	t.Run("range from only runs to now", func(t *testing.T) {
		var g graph.Graph
		api.client.with(t).get("/api/v1/graph?from=1795000000", &g)
		q := api.history.last()
		require.Equal(t, time.Unix(1795000000, 0).UTC(), q.From)
		require.Equal(t, testNow, q.To)
	})
	for _, tc := range []struct{ name, path, field string }{
		{"unknown granularity", "/api/v1/graph?granularity=pod", "granularity"},
		{"to without from", "/api/v1/graph?to=now", "from"},
		{"from after to", "/api/v1/graph?from=now&to=now-1h", "from"},
		{"bad from", "/api/v1/graph?from=yesterday", "from"},
		{"bad to", "/api/v1/graph?from=now-1h&to=soon", "to"},
	} {
		t.Run(tc.name, func(t *testing.T) { api.client.with(t).fail(tc.path, http.StatusBadRequest, tc.field) })
	}
}

func TestGraphDiff(t *testing.T) {
	api := newTestAPI(t, Config{}, Deps{})
	var d struct {
		Granularity string           `json:"granularity"`
		From        time.Time        `json:"from"`
		To          time.Time        `json:"to"`
		BaseFrom    time.Time        `json:"base_from"`
		BaseTo      time.Time        `json:"base_to"`
		Nodes       []graph.DiffNode `json:"nodes"`
		Edges       []graph.DiffEdge `json:"edges"`
	}
	t.Run("range with default baseline", func(t *testing.T) {
		api.client.with(t).get("/api/v1/graph/diff?from=now-1h&to=now", &d)
		base := api.history.last()
		require.Equal(t, testNow.Add(-2*time.Hour), base.From, "the hour before")
		require.Equal(t, testNow.Add(-time.Hour), base.To)
		require.Len(t, d.Nodes, 6)
		require.Equal(t, "same", d.Nodes[0].Diff)
		require.Len(t, d.Edges, 5)
	})
	t.Run("explicit baseline", func(t *testing.T) {
		api.client.with(t).get("/api/v1/graph/diff?from=now-1h&base_from=now-25h&base_to=now-24h&namespace=ops", &d)
		base := api.history.last()
		require.Equal(t, testNow.Add(-25*time.Hour), base.From)
		require.Equal(t, []string{"ops"}, base.Namespaces)
		require.Len(t, d.Nodes, 1)
	})
	t.Run("live against the window before", func(t *testing.T) {
		api.client.with(t).get("/api/v1/graph/diff", &d)
		base := api.history.last()
		require.Equal(t, testNow.Add(-2*time.Minute), base.From)
		require.Equal(t, testNow.Add(-time.Minute), base.To)
		require.Equal(t, testNow.Add(-2*time.Minute), d.BaseFrom)
	})
	t.Run("base_to without base_from", func(t *testing.T) {
		api.client.with(t).fail("/api/v1/graph/diff?base_to=now", http.StatusBadRequest, "base_from")
	})
}

func TestAnalytics(t *testing.T) {
	api := newTestAPI(t, Config{}, Deps{})
	type result struct {
		Kind      string `json:"kind"`
		Node      string `json:"node"`
		Depth     int    `json:"depth"`
		Direction string `json:"direction"`
		Nodes     int    `json:"nodes"`
		Baseline  bool   `json:"baseline"`
	}
	for _, kind := range graph.AnalyticsKinds {
		t.Run(kind, func(t *testing.T) {
			var r result
			api.client.with(t).get("/api/v1/graph/analytics/"+kind+"?node=service:shop/cart&depth=3&direction=upstream", &r)
			require.Equal(t, result{Kind: kind, Node: "service:shop/cart", Depth: 3, Direction: "upstream", Nodes: 6, Baseline: kind == "new-dependencies"}, r)
		})
	}
	t.Run("range and namespace", func(t *testing.T) {
		var r result
		api.client.with(t).get("/api/v1/graph/analytics/cycles?from=now-1h&namespace=ops", &r)
		require.Equal(t, 1, r.Nodes)
	})
	for _, tc := range []struct {
		name, path string
		status     int
		field      string
	}{
		{"unknown kind", "/api/v1/graph/analytics/astrology", http.StatusNotFound, "kind"},
		{"blast radius needs a node", "/api/v1/graph/analytics/blast-radius", http.StatusBadRequest, "node"},
		{"critical path needs a node", "/api/v1/graph/analytics/critical-path", http.StatusBadRequest, "node"},
		{"node not in graph", "/api/v1/graph/analytics/blast-radius?node=service:shop/nope", http.StatusNotFound, "node"},
		{"bad direction", "/api/v1/graph/analytics/blast-radius?node=service:shop/cart&direction=sideways", http.StatusBadRequest, "direction"},
		{"bad depth", "/api/v1/graph/analytics/cycles?depth=-1", http.StatusBadRequest, "depth"},
		{"analysis refuses", "/api/v1/graph/analytics/cycles?depth=99", http.StatusBadRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) { api.client.with(t).fail(tc.path, tc.status, tc.field) })
	}
}

func TestServices(t *testing.T) {
	api := newTestAPI(t, Config{}, Deps{})
	type summary struct {
		ID, Namespace, Name string
		P99Ms               float64 `json:"p99_ms"`
		RPSIn               float64 `json:"rps_in"`
		Health              string
	}
	var list struct{ Services []summary }

	t.Run("list", func(t *testing.T) {
		api.client.with(t).get("/api/v1/services", &list)
		require.Equal(t, []string{"service:/legacy", "service:ops/cron", "service:payments/pay", "service:shop/cart", "service:shop/web"},
			ids(list.Services, func(s summary) string { return s.ID }))
		cart := list.Services[3]
		require.Equal(t, 45.0, cart.P99Ms, "the highest inbound p99")
		require.Equal(t, 10.0, cart.RPSIn)
		require.Equal(t, "healthy", cart.Health)
	})
	t.Run("namespace", func(t *testing.T) {
		api.client.with(t).get("/api/v1/services?namespace=shop", &list)
		require.Equal(t, []string{"service:shop/cart", "service:shop/web"}, ids(list.Services, func(s summary) string { return s.ID }))
	})
	t.Run("range", func(t *testing.T) {
		api.client.with(t).get("/api/v1/services?from=now-1d", &list)
		require.Equal(t, testNow.Add(-24*time.Hour), api.history.last().From)
		require.Len(t, list.Services, 5)
	})

	type detail struct {
		Node        graph.Node   `json:"node"`
		Series      graph.Series `json:"series"`
		StepSeconds float64      `json:"step_seconds"`
		Callers     []graph.Edge `json:"callers"`
		Callees     []graph.Edge `json:"callees"`
	}
	t.Run("detail", func(t *testing.T) {
		var d detail
		api.client.with(t).get("/api/v1/services/shop/cart", &d)
		require.Equal(t, "service:shop/cart", d.Node.ID)
		require.Equal(t, 30.0, d.StepSeconds, "an hour at 30s is 120 points")
		require.Len(t, d.Series.Time, 120)
		require.Len(t, d.Series.P99Ms, 120)
		q := api.series.query()
		require.Equal(t, "service:shop/cart", q.Node)
		require.Equal(t, testNow.Add(-time.Hour), q.From)
		require.ElementsMatch(t, []string{"service:shop/web->service:shop/cart", "service:payments/pay->service:shop/cart"}, ids(d.Callers, func(e graph.Edge) string { return e.ID }))
		require.ElementsMatch(t, []string{"service:shop/cart->database:postgres/carts", "service:shop/cart->service:/legacy"}, ids(d.Callees, func(e graph.Edge) string { return e.ID }))
	})
	t.Run("detail without namespace", func(t *testing.T) {
		var d detail
		api.client.with(t).get("/api/v1/services/_/legacy?from=now-8h&to=now-2h&step=5m", &d)
		require.Equal(t, "service:/legacy", d.Node.ID)
		require.Len(t, d.Series.Time, 72)
		require.Equal(t, 5*time.Minute, api.series.query().Step)
		require.Equal(t, testNow.Add(-8*time.Hour), api.history.last().From, "a past range reads the range graph")
	})
	t.Run("detail with an empty namespace segment", func(t *testing.T) {
		var d detail
		api.client.with(t).get("/api/v1/services//legacy", &d)
		require.Equal(t, "service:/legacy", d.Node.ID)
	})
	t.Run("step in seconds", func(t *testing.T) {
		var d detail
		api.client.with(t).get("/api/v1/services/shop/web?step=60", &d)
		require.Equal(t, 60.0, d.StepSeconds)
		require.False(t, api.series.query().ByVersion)
	})
	t.Run("by version", func(t *testing.T) {
		var d detail
		api.client.with(t).get("/api/v1/services/shop/cart?versions=true", &d)
		require.True(t, api.series.query().ByVersion)
	})
	t.Run("direction", func(t *testing.T) {
		for _, tc := range []struct{ path, want string }{
			{"/api/v1/services/shop/cart", "inbound"},
			// cron took no calls and made some: the calls it made.
			{"/api/v1/services/ops/cron", "outbound"},
			{"/api/v1/services/ops/cron?direction=inbound", "inbound"},
			{"/api/v1/services/shop/cart?direction=outbound", "outbound"},
		} {
			var d struct{ Direction string }
			api.client.with(t).get(tc.path, &d)
			require.Equal(t, tc.want, d.Direction, tc.path)
			require.Equal(t, tc.want == "outbound", api.series.query().Outbound, tc.path)
		}
	})
	for _, tc := range []struct {
		name, path string
		status     int
		field      string
	}{
		{"unknown service", "/api/v1/services/shop/nope", http.StatusNotFound, "name"},
		{"too many points", "/api/v1/services/shop/cart?step=1s", http.StatusBadRequest, "step"},
		{"step too small", "/api/v1/services/shop/cart?step=0.5", http.StatusBadRequest, "step"},
		{"bad step", "/api/v1/services/shop/cart?step=often", http.StatusBadRequest, "step"},
		{"bad range", "/api/v1/services/shop/cart?from=now&to=now-1h", http.StatusBadRequest, "from"},
		{"bad versions", "/api/v1/services/shop/cart?versions=some", http.StatusBadRequest, "versions"},
		{"bad direction", "/api/v1/services/shop/cart?direction=sideways", http.StatusBadRequest, "direction"},
		{"bad namespace filter time", "/api/v1/services?from=x", http.StatusBadRequest, "from"},
	} {
		t.Run(tc.name, func(t *testing.T) { api.client.with(t).fail(tc.path, tc.status, tc.field) })
	}
}

func TestEdgeWithoutClickHouse(t *testing.T) {
	api := newTestAPI(t, Config{}, Deps{})
	var d struct {
		Edge         graph.Edge
		Series       graph.Series
		ErrorsByCode map[string]uint64 `json:"errors_by_code"`
	}
	api.client.with(t).get("/api/v1/edges?source=service:shop/web&destination=service:shop/cart&from=now-10m", &d)
	require.Equal(t, "service:shop/web->service:shop/cart", d.Edge.ID)
	require.Len(t, d.Series.Time, 60, "10 minutes at 10s")
	q := api.series.query()
	require.Equal(t, "service:shop/web", q.Source)
	require.Equal(t, "service:shop/cart", q.Target)
	require.NotNil(t, d.ErrorsByCode)
	require.Empty(t, d.ErrorsByCode)
	require.False(t, q.ByVersion)
	api.client.with(t).get("/api/v1/edges?source=service:shop/web&destination=service:shop/cart&from=now-10m&versions=true", &d)
	require.True(t, api.series.query().ByVersion)

	api.client.with(t).fail("/api/v1/edges?source=service:shop/web&destination=service:shop/cart&versions=2", http.StatusBadRequest, "versions")
	api.client.with(t).fail("/api/v1/edges?destination=service:shop/cart", http.StatusBadRequest, "source")
	api.client.with(t).fail("/api/v1/edges?source=service:shop/web", http.StatusBadRequest, "destination")
	api.client.with(t).fail("/api/v1/edges?source=service:shop/cart&destination=service:shop/web", http.StatusNotFound, "source")
}

func TestUnavailable(t *testing.T) {
	s, err := NewServer(Config{}, Deps{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	api := newServerClient(t, s)
	for _, path := range []string{
		"/api/v1/graph",
		"/api/v1/graph?from=now-1h",
		"/api/v1/graph/diff",
		"/api/v1/graph/analytics/cycles",
		"/api/v1/graph/stream",
		"/api/v1/services",
		"/api/v1/traces",
		"/api/v1/traces/0102030405060708090a0b0c0d0e0f10",
		"/api/v1/requests",
	} {
		t.Run(path, func(t *testing.T) { api.with(t).fail(path, http.StatusServiceUnavailable, "") })
	}
	status, _, _ := api.postSQL("SELECT 1", "")
	require.Equal(t, http.StatusServiceUnavailable, status)
	api.fail("/api/v1/nowhere", http.StatusNotFound, "")
}
