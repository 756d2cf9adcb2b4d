package query

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/graph"
)

// The graph parts are test doubles here: the server is what is tested.

// testNow is the server's clock in tests.
var testNow = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// staticLive is a graph.Live whose latest tick is fixed per granularity.
type staticLive struct {
	mu    sync.Mutex
	ticks map[graph.Granularity]*graph.Tick
}

func (l *staticLive) Latest(g graph.Granularity) *graph.Tick {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ticks[g]
}

func (l *staticLive) Subscribe(graph.Granularity, int) (<-chan *graph.Tick, func()) {
	ch := make(chan *graph.Tick)
	var once sync.Once
	return ch, func() { once.Do(func() { close(ch) }) }
}

// fakeHistory answers every range with its graph, re-timed, and records the
// queries.
type fakeHistory struct {
	mu      sync.Mutex
	graph   func(q graph.RangeQuery) *graph.Graph
	queries []graph.RangeQuery
}

func (h *fakeHistory) Range(_ context.Context, q graph.RangeQuery) (*graph.Graph, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.queries = append(h.queries, q)
	g := *h.graph(q)
	g.From, g.To, g.Granularity = q.From, q.To, q.Granularity
	return &g, nil
}

func (h *fakeHistory) last() graph.RangeQuery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.queries[len(h.queries)-1]
}

// fakeSeries answers series with one point per step and records the query.
type fakeSeries struct {
	mu   sync.Mutex
	last graph.SeriesQuery
}

func (f *fakeSeries) Series(_ context.Context, q graph.SeriesQuery) (*graph.Series, error) {
	f.mu.Lock()
	f.last = q
	f.mu.Unlock()
	s := &graph.Series{}
	for t := q.From; t.Before(q.To); t = t.Add(q.Step) {
		s.Time = append(s.Time, t.Unix())
		s.Requests = append(s.Requests, 10)
		s.Errors = append(s.Errors, 1)
		s.RPS = append(s.RPS, 1)
		s.ErrorRate = append(s.ErrorRate, 0.1)
		s.P50Ms = append(s.P50Ms, 1)
		s.P90Ms = append(s.P90Ms, 2)
		s.P95Ms = append(s.P95Ms, 3)
		s.P99Ms = append(s.P99Ms, 4)
	}
	return s, nil
}

func (f *fakeSeries) query() graph.SeriesQuery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// fakeDiff marks nodes and edges by presence only.
func fakeDiff(cur, base *graph.Graph) *graph.GraphDiff {
	d := &graph.GraphDiff{}
	inBase := map[string]bool{}
	for _, n := range base.Nodes {
		inBase[n.ID] = true
	}
	for _, n := range cur.Nodes {
		kind := "added"
		if inBase[n.ID] {
			kind = "same"
		}
		d.Nodes = append(d.Nodes, graph.DiffNode{Node: n, Diff: kind})
	}
	for _, e := range cur.Edges {
		d.Edges = append(d.Edges, graph.DiffEdge{Edge: e, Diff: "added"})
	}
	return d
}

// fakeAnalyze echoes its input.
func fakeAnalyze(kind string, g *graph.Graph, p graph.AnalyticsParams) (any, error) {
	if p.Depth > 50 {
		return nil, fmt.Errorf("depth %d is too deep", p.Depth)
	}
	return map[string]any{"kind": kind, "node": p.Node, "depth": p.Depth, "direction": p.Direction,
		"nodes": len(g.Nodes), "baseline": p.Baseline != nil}, nil
}

// shopGraph: web (shop) calls cart (shop) and pay (payments); cart calls
// the database and a service without namespace.
func shopGraph(g graph.Granularity) *graph.Graph {
	node := func(id, ns, name string, kind graph.NodeKind) graph.Node {
		return graph.Node{ID: id, Kind: kind, Namespace: ns, Name: name, Health: "healthy", RPSIn: 10, ErrorRateIn: 0.01, RequestsIn: 600, ErrorsIn: 6}
	}
	edge := func(src, dst string, p99 float64) graph.Edge {
		return graph.Edge{ID: src + "->" + dst, Source: src, Target: dst, Protocol: "http", Requests: 600, RPS: 10, P99Ms: p99, Provenance: []string{"span"}}
	}
	// cron took no calls and made some (its callees are not drawn).
	cron := node("service:ops/cron", "ops", "cron", graph.KindService)
	cron.RPSIn, cron.ErrorRateIn, cron.RequestsIn, cron.ErrorsIn, cron.RequestsOut = 0, 0, 0, 0, 120
	return &graph.Graph{
		Granularity: g, From: testNow.Add(-time.Minute), To: testNow, WindowSeconds: 60,
		Nodes: []graph.Node{
			node("service:shop/web", "shop", "web", graph.KindService),
			node("service:shop/cart", "shop", "cart", graph.KindService),
			node("service:payments/pay", "payments", "pay", graph.KindService),
			node("service:/legacy", "", "legacy", graph.KindService),
			node("database:postgres/carts", "", "postgres/carts", graph.KindDatabase),
			cron,
		},
		Edges: []graph.Edge{
			edge("service:shop/web", "service:shop/cart", 30),
			edge("service:shop/web", "service:payments/pay", 80),
			edge("service:shop/cart", "database:postgres/carts", 5),
			edge("service:shop/cart", "service:/legacy", 12),
			edge("service:payments/pay", "service:shop/cart", 45),
		},
	}
}

// client talks to a test server.
type client struct {
	t     *testing.T
	base  string
	token string
}

func (c client) do(method, path string, body io.Reader) (int, http.Header, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	require.NoError(c.t, err)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return resp.StatusCode, resp.Header, b
}

// get decodes a 2xx answer into v, or fails.
func (c client) get(path string, v any) {
	c.t.Helper()
	status, _, body := c.do(http.MethodGet, path, nil)
	require.Equal(c.t, http.StatusOK, status, "GET %s: %s", path, body)
	require.NoError(c.t, json.Unmarshal(body, v), string(body))
}

// apiErr is the API's error shape.
type apiErr struct {
	Error *string `json:"error"`
	Field *string `json:"field"`
}

// fail checks that GET path answers status with an error naming field.
func (c client) fail(path string, status int, field string) {
	c.t.Helper()
	got, _, body := c.do(http.MethodGet, path, nil)
	require.Equal(c.t, status, got, "GET %s: %s", path, body)
	var e apiErr
	require.NoError(c.t, json.Unmarshal(body, &e), string(body))
	require.NotNil(c.t, e.Error, string(body))
	require.NotEmpty(c.t, *e.Error)
	require.NotNil(c.t, e.Field, "field is always present: %s", body)
	require.Equal(c.t, field, *e.Field, string(body))
}

func (c client) postSQL(query, format string) (int, http.Header, []byte) {
	c.t.Helper()
	b, err := json.Marshal(map[string]string{"query": query, "format": format})
	require.NoError(c.t, err)
	return c.do(http.MethodPost, "/api/v1/sql", strings.NewReader(string(b)))
}

type testAPI struct {
	srv     *Server
	client  client
	history *fakeHistory
	series  *fakeSeries
}

// newTestAPI serves a server built from deps (graph doubles filled in where
// nil) over loopback.
func newTestAPI(t *testing.T, cfg Config, deps Deps) *testAPI {
	t.Helper()
	h := &fakeHistory{graph: func(q graph.RangeQuery) *graph.Graph { return shopGraph(q.Granularity) }}
	sr := &fakeSeries{}
	if deps.Live == nil {
		live := &staticLive{ticks: map[graph.Granularity]*graph.Tick{}}
		for _, g := range graph.Granularities {
			live.ticks[g] = &graph.Tick{Seq: 7, Graph: shopGraph(g)}
		}
		deps.Live = live
	}
	if deps.History == nil {
		deps.History = h
	}
	if deps.Series == nil {
		deps.Series = sr
	}
	if deps.Diff == nil {
		deps.Diff = fakeDiff
	}
	if deps.Analyze == nil {
		deps.Analyze = fakeAnalyze
	}
	if deps.Now == nil {
		deps.Now = func() time.Time { return testNow }
	}
	s, err := NewServer(cfg, deps)
	require.NoError(t, err)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		require.NoError(t, s.Close())
		hs.Close()
	})
	return &testAPI{srv: s, client: client{t: t, base: hs.URL}, history: h, series: sr}
}

// with returns the client reporting to t.
func (c client) with(t *testing.T) client {
	c.t = t
	return c
}

// newServerClient serves s as it is over loopback.
func newServerClient(t *testing.T, s *Server) client {
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return client{t: t, base: hs.URL}
}
