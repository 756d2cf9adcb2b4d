package edgestore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/graph/edgestore"
	"github.com/meshscope/meshscope/schema/chtest"
)

func TestMain(m *testing.M) {
	// clickhouse-go keeps no goroutines after Close; the private server's
	// supervisor ends in t.Cleanup.
	goleak.VerifyTestMain(m)
}

var base = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func party(ns, name, wl, ver string) graph.Party {
	return graph.Party{Kind: graph.KindService, Namespace: ns, Name: name, Workload: wl, Version: ver}
}

var (
	web  = party("shop", "web", "web-v1", "v1")
	cart = party("shop", "cart", "cart-v2", "v2")
	db   = graph.Party{Kind: graph.KindDatabase, Name: "postgresql/orders"}
)

func obs(at time.Time, src, dst graph.Party, n, errs uint64, ms int64, prov graph.Provenance) graph.Observation {
	return graph.Observation{TimeUnixNano: at.UnixNano(), Source: src, Destination: dst, Protocol: graph.ProtocolHTTP,
		Count: n, Errors: errs, DurationNanos: ms * int64(time.Millisecond), Provenance: prov, Reporter: graph.ReporterDestination}
}

// run starts b.Run and returns a function that stops it and waits.
func run(t *testing.T, b *graph.Builder) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	return func() {
		cancel()
		require.NoError(t, <-done)
	}
}

// Two builders ("replicas") write partial buckets for the same edges; the
// history sums them, through edges_10s and both rollups.
func TestReplicasSumInHistory(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	store := edgestore.New(st, edgestore.Config{})

	// Replica A flushes as it goes: its clock moves forward and Run's
	// ticks flush each bucket once it is closed.
	clkA := &clock{t: base.Add(5 * time.Second)}
	a := graph.NewBuilder(graph.BuilderConfig{Writer: store, Now: clkA.Now, Tick: 10 * time.Millisecond})
	stopA := run(t, a)
	a.Observe([]graph.Observation{obs(base.Add(5*time.Second), web, cart, 10, 1, 4, graph.FromAccessLog)})
	clkA.Set(base.Add(65 * time.Second))
	a.Observe([]graph.Observation{
		obs(base.Add(65*time.Second), web, cart, 5, 0, 8, graph.FromAccessLog),
		obs(base.Add(61*time.Second), cart, db, 3, 0, 1, graph.FromSpan),
	})
	clkA.Set(base.Add(125 * time.Second))
	stopA()

	// Replica B keeps everything until it stops, then flushes it all.
	clkB := &clock{t: base.Add(119 * time.Second)}
	b := graph.NewBuilder(graph.BuilderConfig{Writer: store, Now: clkB.Now, Horizon: 10 * time.Minute})
	stopB := run(t, b)
	b.Observe([]graph.Observation{
		obs(base.Add(5*time.Second), web, cart, 7, 0, 4, graph.FromSpan),
		obs(base.Add(119*time.Second), web, cart, 2, 2, 16, graph.FromSpan),
	})
	stopB()

	var rows10s uint64
	require.NoError(t, st.Conn().QueryRow(ctx, "SELECT count() FROM edges_10s").Scan(&rows10s))
	require.EqualValues(t, 5, rows10s, "A: 3 buckets, B: 2 buckets")

	for _, tc := range []struct {
		name             string
		from, to         time.Time
		requests, errors uint64
		meanMs           float64
	}{
		{"10s buckets and minutes", base.Add(10 * time.Second), base.Add(125 * time.Second), 7, 2, (5*8 + 2*16) / 7.0},
		{"minute rollup", base.Add(-50 * time.Minute), base.Add(10 * time.Minute), 24, 3, (10*4 + 5*8 + 7*4 + 2*16) / 24.0},
		{"hour rollup", base.Add(-2 * time.Hour), base.Add(22 * time.Hour), 24, 3, (10*4 + 5*8 + 7*4 + 2*16) / 24.0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := store.Range(ctx, graph.RangeQuery{From: tc.from, To: tc.to, Granularity: graph.GranularityService})
			require.NoError(t, err)
			require.Len(t, g.Edges, 2)
			e := g.Edges[1]
			require.Equal(t, "service:shop/web->service:shop/cart", e.ID)
			require.EqualValues(t, tc.requests, e.Requests)
			require.EqualValues(t, tc.errors, e.Errors)
			require.Equal(t, []string{"span", "accesslog"}, e.Provenance)
			require.InDelta(t, float64(tc.requests)/g.WindowSeconds, e.RPS, 1e-9)
			require.InDelta(t, tc.meanMs, e.MeanMs, 1e-9)
			require.Equal(t, "service:shop/cart->database:postgresql/orders", g.Edges[0].ID)
			require.EqualValues(t, 3, g.Edges[0].Requests)
			require.Len(t, g.Nodes, 3)
		})
	}

	gw, err := store.Range(ctx, graph.RangeQuery{From: base, To: base.Add(2 * time.Minute), Granularity: graph.GranularityVersion,
		Namespaces: []string{"shop"}})
	require.NoError(t, err)
	require.Equal(t, "version:shop/web/v1->version:shop/cart/v2", gw.Edges[1].ID)

	series, err := store.Series(ctx, graph.SeriesQuery{From: base, To: base.Add(3 * time.Minute), Step: time.Minute, Node: "service:shop/cart"})
	require.NoError(t, err)
	require.Equal(t, []int64{base.Unix(), base.Unix() + 60, base.Unix() + 120}, series.Time)
	require.Equal(t, []uint64{17, 7, 0}, series.Requests)
	require.Equal(t, []uint64{1, 2, 0}, series.Errors)
	require.InDelta(t, 17.0/60, series.RPS[0], 1e-9)

	edge, err := store.Series(ctx, graph.SeriesQuery{From: base, To: base.Add(30 * time.Second), Step: 10 * time.Second,
		Source: "workload:shop/cart-v2", Target: "database:postgresql/orders"})
	require.NoError(t, err)
	require.Equal(t, []uint64{0, 0, 0}, edge.Requests)
	edge, err = store.Series(ctx, graph.SeriesQuery{From: base, To: base.Add(2 * time.Hour), Step: time.Hour,
		Source: "workload:shop/cart-v2", Target: "database:postgresql/orders"})
	require.NoError(t, err)
	require.Equal(t, []uint64{3, 0}, edge.Requests)
}

// The SQL node id expressions agree with Party.NodeID.
func TestNodeIDExpressionsMatchGo(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	store := edgestore.New(st, edgestore.Config{})
	parties := []graph.Party{
		party("shop", "web", "web-v1", "v1"),
		party("shop", "web", "", "v1"),
		party("shop", "web", "web-v1", ""),
		party("shop", "", "web-v1", "v1"),
		party("", "legacy", "", ""),
		{Kind: graph.KindClient},
		{Kind: graph.KindClient, Namespace: "edge", Name: "ingress"},
		{Kind: graph.KindExternal, Name: "api.stripe.com"},
		{Kind: graph.KindDatabase, Name: "redis/cache"},
		{Kind: graph.KindMessaging, Name: "kafka/orders"},
	}
	var rows []graph.EdgeRow
	for i, p := range parties {
		rows = append(rows, graph.EdgeRow{BucketUnix: base.Unix() + int64(i)*10, Key: graph.EdgeKey{Source: p, Destination: p},
			Requests: 1, Provenance: graph.FromSpan})
	}
	require.NoError(t, store.WriteEdges(ctx, rows))
	for _, g := range graph.Granularities {
		for i, p := range parties {
			want := p.NodeID(g)
			s, err := store.Series(ctx, graph.SeriesQuery{From: base, To: base.Add(time.Duration(len(parties)) * 10 * time.Second),
				Step: 10 * time.Second, Source: want, Target: want})
			require.NoError(t, err)
			var hits []int
			for j, n := range s.Requests {
				if n > 0 {
					hits = append(hits, j)
				}
			}
			require.Contains(t, hits, i, "%s at %s", want, g)
		}
	}
}

// The same calls seen by spans (callee known to its version), access logs
// written by the caller's sidecar (callee known by its service) and metrics
// (no versions) land on four edge keys; read back from ClickHouse they count
// once, as in the live graph, at every granularity.
func TestHistoryCountsCallsOnceAcrossInputs(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	store := edgestore.New(st, edgestore.Config{})
	clk := &clock{t: base.Add(20 * time.Second)}
	b := graph.NewBuilder(graph.BuilderConfig{Writer: store, Now: clk.Now, Horizon: 10 * time.Minute})
	cartSvc := party("shop", "cart", "", "")
	cartV1 := party("shop", "cart", "cart-v1", "v1")
	cartV1NoVersion := party("shop", "cart", "cart-v1", "")
	webNoVersion := party("shop", "web", "web-v1", "")
	sourceSide := func(o graph.Observation) graph.Observation { o.Reporter = graph.ReporterSource; return o }
	b.Observe([]graph.Observation{
		obs(base.Add(12*time.Second), web, cartV1, 6, 1, 10, graph.FromSpan),
		obs(base.Add(12*time.Second), web, cart, 2, 0, 10, graph.FromSpan), // to the canary v2
		sourceSide(obs(base.Add(12*time.Second), web, cartSvc, 8, 1, 11, graph.FromAccessLog)),
		obs(base.Add(15*time.Second), webNoVersion, cartV1NoVersion, 6, 1, 12, graph.FromMetric),
		obs(base.Add(15*time.Second), webNoVersion, party("shop", "cart", "cart-v2", ""), 2, 0, 12, graph.FromMetric),
	})
	b.Advance(clk.Now())
	live := b.Latest(graph.GranularityService).Graph
	stop := run(t, b)
	stop()

	g, err := store.Range(ctx, graph.RangeQuery{From: base, To: base.Add(30 * time.Second), Granularity: graph.GranularityService})
	require.NoError(t, err)
	for _, gr := range []*graph.Graph{live, g} {
		require.Len(t, gr.Edges, 1)
		e := gr.Edges[0]
		require.Equal(t, "service:shop/web->service:shop/cart", e.ID)
		require.EqualValues(t, 8, e.Requests)
		require.EqualValues(t, 1, e.Errors)
		require.Equal(t, []string{"span", "accesslog", "metric"}, e.Provenance)
	}
	for _, gran := range []graph.Granularity{graph.GranularityWorkload, graph.GranularityVersion} {
		g, err := store.Range(ctx, graph.RangeQuery{From: base, To: base.Add(30 * time.Second), Granularity: gran})
		require.NoError(t, err)
		var total uint64
		for _, e := range g.Edges {
			total += e.Requests
		}
		require.EqualValues(t, 8, total, "%s: every granularity counts the same calls", gran)
	}
	// The buckets a restarted builder shows are the flushed rows.
	var buckets []graph.WarmBucket
	n, err := store.Buckets(ctx, base, base.Add(30*time.Second), func(b []graph.WarmBucket) { buckets = append(buckets, b...) })
	require.NoError(t, err)
	require.Equal(t, 5, n, "one row per key")
	var total uint64
	for _, b := range buckets {
		require.Equal(t, base.Add(10*time.Second).Unix(), b.StartUnix)
		total += b.Stats.Requests
	}
	require.EqualValues(t, 6+2+8+6+2, total, "every input's row, as flushed")

	// The node's and the edge's RED series count them once too.
	for _, q := range []graph.SeriesQuery{
		{From: base, To: base.Add(30 * time.Second), Step: 10 * time.Second, Node: "service:shop/cart"},
		{From: base, To: base.Add(30 * time.Second), Step: 10 * time.Second, Source: "service:shop/web", Target: "service:shop/cart"},
	} {
		series, err := store.Series(ctx, q)
		require.NoError(t, err)
		require.Equal(t, []uint64{0, 8, 0}, series.Requests, "%+v", q)
		require.Equal(t, []uint64{0, 1, 0}, series.Errors, "%+v", q)
	}
}

// A node's series split by its versions: each version's calls, counted once
// across inputs, and which versions started taking calls within the range.
func TestSeriesByVersion(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	store := edgestore.New(st, edgestore.Config{})
	cartV1 := party("shop", "cart", "cart-v1", "v1")
	cartV2 := party("shop", "cart", "cart-v2", "v2")
	row := func(at time.Time, src, dst graph.Party, n, errs uint64, prov graph.Provenance, rep graph.ReporterSet) graph.EdgeRow {
		return graph.EdgeRow{BucketUnix: at.Unix() / 10 * 10, Key: graph.EdgeKey{Source: src, Destination: dst, Protocol: graph.ProtocolHTTP},
			Requests: n, Errors: errs, Latency: []uint64{0, n}, Provenance: prov, Reporters: rep}
	}
	require.NoError(t, store.WriteEdges(ctx, []graph.EdgeRow{
		// v1 took calls three hours before the range: not new in it.
		row(base.Add(-3*time.Hour), web, cartV1, 4, 0, graph.FromSpan, graph.ReporterSet(0).With(graph.ReporterDestination)),
		row(base.Add(5*time.Second), web, cartV1, 10, 1, graph.FromSpan, graph.ReporterSet(0).With(graph.ReporterDestination)),
		row(base.Add(65*time.Second), web, cartV1, 6, 0, graph.FromSpan, graph.ReporterSet(0).With(graph.ReporterDestination)),
		// The canary's first calls, in the second minute, seen by spans; the
		// caller's proxy saw them by service only (a key that agrees with
		// v2's), which must not count twice.
		row(base.Add(75*time.Second), web, cartV2, 3, 2, graph.FromSpan, graph.ReporterSet(0).With(graph.ReporterDestination)),
		row(base.Add(75*time.Second), web, party("shop", "cart", "", ""), 3, 2, graph.FromMetric, graph.ReporterSet(0).With(graph.ReporterSource)),
		// Another service's v9 is not cart's.
		row(base.Add(75*time.Second), web, party("shop", "pay", "pay-v9", "v9"), 5, 0, graph.FromSpan, graph.ReporterSet(0).With(graph.ReporterDestination)),
	}))

	q := graph.SeriesQuery{From: base, To: base.Add(3 * time.Minute), Step: time.Minute, Node: "service:shop/cart", ByVersion: true}
	s, err := store.Series(ctx, q)
	require.NoError(t, err)
	require.Equal(t, []uint64{10, 9, 0}, s.Requests)
	require.Len(t, s.Versions, 2, "%+v", s.Versions)
	v1, v2 := s.Versions[0], s.Versions[1]
	require.Equal(t, "v1", v1.Version, "busiest first")
	require.False(t, v1.New)
	require.Equal(t, base.Unix(), v1.FirstSeen)
	require.EqualValues(t, 16, v1.TotalRequests)
	require.EqualValues(t, 1, v1.TotalErrors)
	require.Equal(t, []uint64{10, 6, 0}, v1.Requests)
	require.Equal(t, s.Time, v1.Time)

	require.Equal(t, "v2", v2.Version)
	require.True(t, v2.New, "no calls to v2 in the day before the range")
	require.Equal(t, base.Add(70*time.Second).Unix(), v2.FirstSeen, "a new version's first calls, to 10 s")
	require.Equal(t, []uint64{0, 3, 0}, v2.Requests)
	require.Equal(t, []float64{0, 2.0 / 3, 0}, v2.ErrorRate)
	require.EqualValues(t, 3, v2.TotalRequests)

	// A range that starts after the canary's first calls does not call it new.
	q.From, q.To = base.Add(2*time.Minute), base.Add(4*time.Minute)
	s, err = store.Series(ctx, q)
	require.NoError(t, err)
	require.Empty(t, s.Versions, "no calls in the range")
	q.From, q.To = base.Add(time.Hour), base.Add(2*time.Hour)
	require.NoError(t, store.WriteEdges(ctx, []graph.EdgeRow{row(base.Add(time.Hour+30*time.Second), web, cartV2, 1, 0, graph.FromSpan, graph.ReporterSet(0).With(graph.ReporterDestination))}))
	s, err = store.Series(ctx, q)
	require.NoError(t, err)
	require.Len(t, s.Versions, 1)
	require.False(t, s.Versions[0].New, "v2 took calls an hour before")

	// A service that took no calls before the range: the version it
	// started with is no deploy, one that came a step later is.
	// Calls of no known version are never new.
	pay := party("shop", "pay", "pay-v10", "v10")
	require.NoError(t, store.WriteEdges(ctx, []graph.EdgeRow{
		row(base.Add(125*time.Second), web, pay, 2, 0, graph.FromSpan, graph.ReporterSet(0).With(graph.ReporterDestination)),
		row(base.Add(125*time.Second), party("shop", "batch", "", ""), party("shop", "pay", "", ""), 1, 0, graph.FromMetric, graph.ReporterSet(0).With(graph.ReporterSource)),
	}))
	s, err = store.Series(ctx, graph.SeriesQuery{From: base, To: base.Add(3 * time.Minute), Step: time.Minute, Node: "service:shop/pay", ByVersion: true})
	require.NoError(t, err)
	require.Len(t, s.Versions, 3)
	require.Equal(t, "v9", s.Versions[0].Version)
	require.False(t, s.Versions[0].New)
	require.Equal(t, "v10", s.Versions[1].Version)
	require.True(t, s.Versions[1].New)
	require.Equal(t, "", s.Versions[2].Version)
	require.False(t, s.Versions[2].New)

	// Without ByVersion, no versions.
	q.ByVersion = false
	s, err = store.Series(ctx, q)
	require.NoError(t, err)
	require.Nil(t, s.Versions)
}

// A worker's series of the calls it made, by its versions.
func TestSeriesOutbound(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	store := edgestore.New(st, edgestore.Config{})
	dest := graph.ReporterSet(0).With(graph.ReporterDestination)
	row := func(at time.Time, src, dst graph.Party, n, errs uint64) graph.EdgeRow {
		return graph.EdgeRow{BucketUnix: at.Unix() / 10 * 10, Key: graph.EdgeKey{Source: src, Destination: dst, Protocol: graph.ProtocolHTTP},
			Requests: n, Errors: errs, Latency: []uint64{0, n}, Provenance: graph.FromSpan, Reporters: dest}
	}
	v1, v2 := party("shop", "worker", "worker-v1", "v1"), party("shop", "worker", "worker-v2", "v2")
	cart := party("shop", "cart", "cart-v1", "v1")
	require.NoError(t, store.WriteEdges(ctx, []graph.EdgeRow{
		row(base.Add(-2*time.Hour), v1, cart, 1, 0),
		row(base.Add(5*time.Second), v1, cart, 10, 0),
		row(base.Add(15*time.Second), v1, db, 4, 0),
		row(base.Add(70*time.Second), v2, cart, 6, 3),
		// Calls the worker took (none in the graph's sense here) are not
		// of its outbound series.
		row(base.Add(70*time.Second), web, v1, 2, 0),
	}))
	q := graph.SeriesQuery{From: base, To: base.Add(3 * time.Minute), Step: time.Minute, Node: "service:shop/worker", Outbound: true, ByVersion: true}
	s, err := store.Series(ctx, q)
	require.NoError(t, err)
	require.Equal(t, []uint64{14, 6, 0}, s.Requests)
	require.Equal(t, []uint64{0, 3, 0}, s.Errors)
	require.Len(t, s.Versions, 2)
	require.Equal(t, "v1", s.Versions[0].Version)
	require.False(t, s.Versions[0].New)
	require.EqualValues(t, 14, s.Versions[0].TotalRequests)
	require.Equal(t, "v2", s.Versions[1].Version)
	require.True(t, s.Versions[1].New, "first calls made in the range")
	require.Equal(t, base.Add(70*time.Second).Unix(), s.Versions[1].FirstSeen)

	q.Outbound = false
	s, err = store.Series(ctx, q)
	require.NoError(t, err)
	require.Equal(t, []uint64{0, 2, 0}, s.Requests, "the calls it took")
}

// The versions deployed within a range, over every service: those that took
// no calls in the day before while their service did, or that came after
// their service's first calls in the range.
func TestDeployments(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	store := edgestore.New(st, edgestore.Config{})
	dest := graph.ReporterSet(0).With(graph.ReporterDestination)
	rowFrom := func(at time.Time, src, dst graph.Party) graph.EdgeRow {
		return graph.EdgeRow{BucketUnix: at.Unix() / 10 * 10, Key: graph.EdgeKey{Source: src, Destination: dst, Protocol: graph.ProtocolHTTP},
			Requests: 1, Latency: []uint64{0, 1}, Provenance: graph.FromSpan, Reporters: dest}
	}
	row := func(at time.Time, dst graph.Party) graph.EdgeRow { return rowFrom(at, web, dst) }
	require.NoError(t, store.WriteEdges(ctx, []graph.EdgeRow{
		// cart: v1 for days, v2 deployed 5 minutes into the range.
		row(base.Add(-5*time.Hour), party("shop", "cart", "cart-v1", "v1")),
		row(base.Add(time.Minute), party("shop", "cart", "cart-v1", "v1")),
		row(base.Add(5*time.Minute+15*time.Second), party("shop", "cart", "cart-v2", "v2")),
		// pay: new in the range with v9; v10 a minute later.
		row(base.Add(2*time.Minute), party("pay", "pay", "pay-v9", "v9")),
		row(base.Add(3*time.Minute), party("pay", "pay", "pay-v10", "v10")),
		// search: v3 two days ago (past the lookback), again now.
		row(base.Add(-48*time.Hour), party("shop", "search", "search-v3", "v3")),
		row(base.Add(-time.Hour), party("shop", "search", "search-v4", "v4")),
		row(base.Add(4*time.Minute), party("shop", "search", "search-v3", "v3")),
		// A metric's TCP bytes alone before the range are no calls: v7 is
		// deployed in it.
		{BucketUnix: base.Add(-time.Hour).Unix(), Key: graph.EdgeKey{Source: web, Destination: party("shop", "search", "search-v7", "v7"), Protocol: graph.ProtocolTCP},
			BytesSent: 100, Provenance: graph.FromMetric, Reporters: dest},
		row(base.Add(6*time.Minute), party("shop", "search", "search-v7", "v7")),
		// A database's calls have no versions to deploy.
		row(base.Add(time.Minute), graph.Party{Kind: graph.KindDatabase, Name: "postgresql/orders", Version: "14"}),
		// worker only calls out: v1 for hours, v2 deployed in the range.
		rowFrom(base.Add(-2*time.Hour), party("shop", "worker", "worker-v1", "v1"), party("shop", "cart", "cart-v1", "v1")),
		rowFrom(base.Add(7*time.Minute+25*time.Second), party("shop", "worker", "worker-v2", "v2"), party("shop", "cart", "cart-v1", "v1")),
		// cart's v2 called the database before it took its first call:
		// its first calls are the first it made or took.
		rowFrom(base.Add(5*time.Minute+2*time.Second), party("shop", "cart", "cart-v2", "v2"), db),
	}))

	got, err := store.Deployments(ctx, graph.DeploymentsQuery{From: base, To: base.Add(10 * time.Minute)})
	require.NoError(t, err)
	require.Equal(t, []graph.Deployment{
		{Namespace: "shop", Service: "worker", Version: "v2", FirstSeen: base.Add(7*time.Minute + 20*time.Second).Unix()},
		{Namespace: "shop", Service: "search", Version: "v7", FirstSeen: base.Add(6 * time.Minute).Unix()},
		{Namespace: "shop", Service: "cart", Version: "v2", FirstSeen: base.Add(5 * time.Minute).Unix()},
		{Namespace: "shop", Service: "search", Version: "v3", FirstSeen: base.Add(4 * time.Minute).Unix()},
		{Namespace: "pay", Service: "pay", Version: "v10", FirstSeen: base.Add(3 * time.Minute).Unix()},
	}, got)

	// Over whole hours, read hour by hour, the first calls are still found
	// to 10 s; and where the range starts off the hour.
	for _, from := range []time.Time{base, base.Add(-30 * time.Minute)} {
		long, err := store.Deployments(ctx, graph.DeploymentsQuery{From: from, To: base.Add(2 * time.Hour)})
		require.NoError(t, err)
		require.Equal(t, got, long, "from %s", from)
	}

	got, err = store.Deployments(ctx, graph.DeploymentsQuery{From: base, To: base.Add(10 * time.Minute), Namespaces: []string{"pay"}})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "v10", got[0].Version)

	// A range after them: nothing new.
	got, err = store.Deployments(ctx, graph.DeploymentsQuery{From: base.Add(10 * time.Minute), To: base.Add(20 * time.Minute)})
	require.NoError(t, err)
	require.Empty(t, got)

	_, err = store.Deployments(ctx, graph.DeploymentsQuery{From: base, To: base})
	require.Error(t, err)
}
