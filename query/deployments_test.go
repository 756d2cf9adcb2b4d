package query

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/graph/edgestore"
	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chtest"
)

// deploymentJSON is an entry of GET /api/v1/deployments.
type deploymentJSON struct {
	Namespace, Service, Version, Node string
	Calls                             string
	FirstSeen                         time.Time `json:"first_seen"`
	Requests, Errors                  uint64
	RPS                               float64
	ErrorRate                         float64 `json:"error_rate"`
	P99Ms                             float64 `json:"p99_ms"`
	Health                            string
	Regressions                       []string
	NewExceptions                     []struct{ Type, Source string } `json:"new_exceptions"`
	Baseline                          struct {
		Versions         []string
		Requests, Errors uint64
		ErrorRate        float64 `json:"error_rate"`
		P99Ms            float64 `json:"p99_ms"`
	}
}

// The versions deployed within a range, from the real edge tables, each
// with its numbers beside its service's other versions'.
func TestDeployments(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	es := edgestore.New(st, edgestore.Config{})
	web := graph.Party{Kind: graph.KindService, Namespace: "shop", Name: "web", Workload: "web", Version: "v1"}
	cart := func(v string) graph.Party {
		return graph.Party{Kind: graph.KindService, Namespace: "shop", Name: "cart", Workload: "cart-" + v, Version: v}
	}
	row := func(at time.Time, dst graph.Party, n, errs uint64, ms int) graph.EdgeRow {
		lat := make([]uint64, ms+1)
		lat[ms] = n
		return graph.EdgeRow{BucketUnix: at.Unix() / 10 * 10, Key: graph.EdgeKey{Source: web, Destination: dst, Protocol: graph.ProtocolHTTP},
			Requests: n, Errors: errs, Latency: lat, Provenance: graph.FromSpan, Reporters: graph.ReporterSet(0).With(graph.ReporterDestination)}
	}
	require.NoError(t, es.WriteEdges(context.Background(), []graph.EdgeRow{
		row(testNow.Add(-5*time.Hour), cart("v1"), 5, 0, 40),
		row(testNow.Add(-50*time.Minute), cart("v1"), 30, 0, 40),
		row(testNow.Add(-20*time.Minute), cart("v2"), 120, 48, 60),
		row(testNow.Add(-15*time.Minute), cart("v1"), 150, 0, 40),
	}))
	// cart's exceptions: one type known before v2's first calls, one new
	// after them.
	exception := func(at time.Time, typ string) schema.SpanRow { return chtest.ExceptionSpan(at, "shop", "cart", typ) }
	require.NoError(t, st.Write(context.Background(), &schema.Batch{Spans: []schema.SpanRow{
		exception(testNow.Add(-40*time.Minute), "Timeout"), exception(testNow.Add(-12*time.Minute), "Timeout"),
		exception(testNow.Add(-12*time.Minute), "NullPointerException"),
	}}))
	api := newTestAPI(t, Config{}, Deps{History: es, Deployments: es, Store: st})

	var got struct{ Deployments []deploymentJSON }
	api.client.with(t).get("/api/v1/deployments?from=now-1h&to=now", &got)
	require.Len(t, got.Deployments, 1)
	d := got.Deployments[0]
	require.Equal(t, "shop", d.Namespace)
	require.Equal(t, "cart", d.Service)
	require.Equal(t, "v2", d.Version)
	require.Equal(t, "version:shop/cart/v2", d.Node)
	require.Equal(t, testNow.Add(-20*time.Minute), d.FirstSeen)
	require.EqualValues(t, 120, d.Requests)
	require.EqualValues(t, 48, d.Errors)
	require.InDelta(t, 0.4, d.ErrorRate, 1e-9)
	require.Equal(t, "failing", d.Health)
	require.Equal(t, "inbound", d.Calls)
	require.InDelta(t, 120.0/(20*60), d.RPS, 1e-9, "over the time since its first calls")
	require.Equal(t, []string{"v1"}, d.Baseline.Versions)
	require.EqualValues(t, 150, d.Baseline.Requests, "v1's calls since v2's first only")
	require.Zero(t, d.Baseline.ErrorRate)
	require.Greater(t, d.P99Ms, d.Baseline.P99Ms, "the canary's calls took longer")
	require.Equal(t, []string{"errors", "latency"}, d.Regressions)
	require.Equal(t, []struct{ Type, Source string }{{"NullPointerException", "span"}}, d.NewExceptions, "first seen since v2's first calls")

	// Without the numbers: which version was deployed when, nothing
	// compared.
	var bare struct {
		Deployments []map[string]any
	}
	api.client.with(t).get("/api/v1/deployments?from=now-1h&to=now&numbers=false", &bare)
	require.Len(t, bare.Deployments, 1)
	require.Equal(t, "version:shop/cart/v2", bare.Deployments[0]["node"])
	require.Equal(t, testNow.Add(-20*time.Minute).Format(time.RFC3339), bare.Deployments[0]["first_seen"])
	for _, k := range []string{"requests", "baseline", "regressions", "new_exceptions"} {
		require.NotContains(t, bare.Deployments[0], k, "nothing compared")
	}
	api.client.with(t).fail("/api/v1/deployments?numbers=maybe", http.StatusBadRequest, "numbers")

	api.client.with(t).get("/api/v1/deployments?from=now-1h&to=now&namespace=pay", &got)
	require.Empty(t, got.Deployments)
	api.client.with(t).get("/api/v1/deployments?from=now-15m&to=now", &got)
	require.Empty(t, got.Deployments, "v2 took calls before the range")
	api.client.with(t).fail("/api/v1/deployments?from=later", http.StatusBadRequest, "from")

	// The newest limit only, saying there are more.
	var limited struct {
		Deployments []any
		More        bool
	}
	api.client.with(t).get("/api/v1/deployments?from=now-1h&to=now", &limited)
	require.False(t, limited.More)
	require.NoError(t, es.WriteEdges(context.Background(), []graph.EdgeRow{row(testNow.Add(-10*time.Minute), cart("v3"), 5, 0, 40)}))
	api.client.with(t).get("/api/v1/deployments?from=now-1h&to=now&limit=1", &limited)
	require.Len(t, limited.Deployments, 1, "the newest, v3")
	require.True(t, limited.More)
	api.client.with(t).fail("/api/v1/deployments?limit=0", http.StatusBadRequest, "limit")

	// A worker that only calls out: deployed by its first call made, and
	// compared by the calls its versions made.
	worker := func(v string) graph.Party {
		return graph.Party{Kind: graph.KindService, Namespace: "shop", Name: "worker", Workload: "worker-" + v, Version: v}
	}
	db := graph.Party{Kind: graph.KindDatabase, Name: "postgresql/orders"}
	made := func(at time.Time, src graph.Party, n, errs uint64) graph.EdgeRow {
		r := row(at, db, n, errs, 5)
		r.Key.Source = src
		return r
	}
	require.NoError(t, es.WriteEdges(context.Background(), []graph.EdgeRow{
		made(testNow.Add(-3*time.Hour), worker("v1"), 40, 0),
		made(testNow.Add(-30*time.Minute), worker("v2"), 100, 30),
		made(testNow.Add(-25*time.Minute), worker("v1"), 200, 1),
	}))
	api.client.with(t).get("/api/v1/deployments?from=now-1h&to=now", &got)
	var w *deploymentJSON
	for i := range got.Deployments {
		if got.Deployments[i].Service == "worker" {
			w = &got.Deployments[i]
		}
	}
	require.NotNil(t, w, "the worker's v2 was deployed: %+v", got.Deployments)
	require.Equal(t, "v2", w.Version)
	require.Equal(t, testNow.Add(-30*time.Minute), w.FirstSeen)
	require.Equal(t, "outbound", w.Calls)
	require.EqualValues(t, 100, w.Requests)
	require.EqualValues(t, 30, w.Errors)
	require.Equal(t, []string{"v1"}, w.Baseline.Versions)
	require.EqualValues(t, 200, w.Baseline.Requests)
	require.Equal(t, []string{"errors"}, w.Regressions)

	none := newTestAPI(t, Config{}, Deps{})
	none.client.with(t).fail("/api/v1/deployments", http.StatusServiceUnavailable, "")
}
