package graph

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stretchr/testify/require"
)

// fakeClock is a settable clock for builders under test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *fakeClock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func svc(ns, name string) Party { return Party{Kind: KindService, Namespace: ns, Name: name} }

func call(at time.Time, src, dst Party, n uint64, prov Provenance, rep Reporter) Observation {
	return Observation{TimeUnixNano: at.UnixNano(), Source: src, Destination: dst, Protocol: ProtocolHTTP,
		Count: n, DurationNanos: int64(5 * time.Millisecond), Provenance: prov, Reporter: rep}
}

func edgeByID(g *Graph, id string) *Edge {
	for i := range g.Edges {
		if g.Edges[i].ID == id {
			return &g.Edges[i]
		}
	}
	return nil
}

func TestBuilderWindowSlides(t *testing.T) {
	clk := newFakeClock(t0)
	b := NewBuilder(BuilderConfig{Now: clk.Now})
	web, cart := svc("shop", "web"), svc("shop", "cart")
	b.Observe([]Observation{call(t0, web, cart, 3, FromAccessLog, ReporterDestination)})
	b.Advance(clk.Now())
	tick := b.Latest(GranularityService)
	require.NotNil(t, tick)
	e := edgeByID(tick.Graph, "service:shop/web->service:shop/cart")
	require.NotNil(t, e)
	require.EqualValues(t, 3, e.Requests)
	require.InDelta(t, 3.0/60, e.RPS, 1e-9)
	require.Len(t, tick.Delta.EdgesAdded, 1)
	require.Len(t, tick.Delta.NodesAdded, 2)

	// 30 s later: still in the window, nothing changed.
	b.Observe([]Observation{call(clk.Add(30*time.Second), web, cart, 2, FromAccessLog, ReporterDestination)})
	b.Advance(clk.Now())
	tick = b.Latest(GranularityService)
	require.EqualValues(t, 5, edgeByID(tick.Graph, "service:shop/web->service:shop/cart").Requests)
	require.Len(t, tick.Delta.EdgesUpdated, 1)

	// 31 s more: the first 3 left the window.
	b.Advance(clk.Add(31 * time.Second))
	tick = b.Latest(GranularityService)
	require.EqualValues(t, 2, edgeByID(tick.Graph, "service:shop/web->service:shop/cart").Requests)

	// 60 s more: all gone, the edge is removed.
	b.Advance(clk.Add(60 * time.Second))
	tick = b.Latest(GranularityService)
	require.Empty(t, tick.Graph.Edges)
	require.Equal(t, []string{"service:shop/web->service:shop/cart"}, tick.Delta.EdgesRemoved)
	require.Equal(t, uint64(4), tick.Seq)
	require.Equal(t, uint64(3), tick.Delta.BaseSeq)
}

func TestBuilderCustomWindowAndRunOnce(t *testing.T) {
	clk := newFakeClock(t0)
	b := NewBuilder(BuilderConfig{Now: clk.Now, Horizon: 5 * time.Minute})
	web, cart := svc("shop", "web"), svc("shop", "cart")
	b.Observe([]Observation{call(t0.Add(-4*time.Minute), web, cart, 2, FromMetric, ReporterSource)})
	b.Observe([]Observation{call(t0, web, cart, 1, FromMetric, ReporterSource)})
	g, err := b.Graph(GranularityWorkload, 5*time.Minute)
	require.NoError(t, err)
	require.EqualValues(t, 3, g.Edges[0].Requests)
	require.InDelta(t, 3.0/300, g.Edges[0].RPS, 1e-9)
	g, err = b.Graph(GranularityService, time.Minute)
	require.NoError(t, err)
	require.EqualValues(t, 1, g.Edges[0].Requests)
	_, err = b.Graph(GranularityService, 6*time.Minute)
	require.ErrorContains(t, err, "horizon")
	_, err = b.Graph("planet", time.Minute)
	require.Error(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, b.Run(ctx))
	require.Error(t, b.Run(ctx), "a builder runs once")
}

// Calls of unknown latency (metric series without a histogram) count as
// calls but leave the mean to the calls whose latency is known. Seen twice
// in the same second and slot (Istio TCP counters from two remote_write
// requests) they add up without touching the latency range: the tick used
// to slice the window's histogram from bucket -1 and panic.
func TestMeanLatencyIgnoresCallsOfUnknownLatency(t *testing.T) {
	clk := newFakeClock(t0)
	b := NewBuilder(BuilderConfig{Now: clk.Now})
	web, cat := svc("shop", "web"), svc("shop", "catalog")
	untimed := call(t0, web, cat, 4, FromMetric, ReporterDestination)
	untimed.DurationNanos = -1
	b.Observe([]Observation{untimed})
	b.Observe([]Observation{untimed, call(t0.Add(time.Second), web, cat, 2, FromMetric, ReporterDestination)})
	b.Advance(clk.Add(2 * time.Second))
	e := edgeByID(b.Latest(GranularityService).Graph, "service:shop/web->service:shop/catalog")
	require.NotNil(t, e)
	require.EqualValues(t, 10, e.Requests)
	require.InDelta(t, 5.0, e.MeanMs, 1e-9, "the mean of the 2 timed calls, not spread over all 10")
}

// A metric delta of bytes alone (Istio's TCP byte counters grow on a
// long-lived connection while no new connection opens) adds its bytes to
// the edge, live and in the flushed bucket; without calls or bytes an
// observation is invalid.
func TestBytesAloneAddToTheEdge(t *testing.T) {
	clk := newFakeClock(t0)
	w := &memWriter{}
	reg := prometheus.NewRegistry()
	b := NewBuilder(BuilderConfig{Now: clk.Now, Writer: w, Registerer: reg})
	app, db := svc("shop", "app"), svc("shop", "mysql")
	opened := call(t0, app, db, 2, FromMetric, ReporterDestination)
	opened.Protocol, opened.DurationNanos, opened.BytesSent = ProtocolTCP, -1, 100
	streamed := opened
	streamed.TimeUnixNano, streamed.Count, streamed.BytesSent, streamed.BytesReceived = t0.Add(15*time.Second).UnixNano(), 0, 4000, 90000
	nothing := streamed
	nothing.BytesSent, nothing.BytesReceived = 0, 0
	clk.Set(t0.Add(15 * time.Second))
	b.Observe([]Observation{opened, streamed, nothing})
	require.EqualValues(t, 1, testutil.ToFloat64(b.m.droppedInvalid))
	b.Advance(clk.Add(time.Second))
	e := edgeByID(b.Latest(GranularityService).Graph, "service:shop/app->service:shop/mysql")
	require.NotNil(t, e)
	require.EqualValues(t, 2, e.Requests)
	require.EqualValues(t, 4100, e.BytesSent)
	require.EqualValues(t, 90000, e.BytesReceived)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	cancel()
	require.NoError(t, <-done)
	var sent, recv, requests uint64
	for _, r := range w.copyRows() {
		sent, recv, requests = sent+r.BytesSent, recv+r.BytesReceived, requests+r.Requests
	}
	require.EqualValues(t, 2, requests)
	require.EqualValues(t, 4100, sent, "the bucket of bytes alone is written too")
	require.EqualValues(t, 90000, recv)
}

// A flood of unique parties stops at MaxEdges: the edges already live keep
// counting, observations of new edges are dropped and counted.
func TestMaxEdgesBoundsLiveEdges(t *testing.T) {
	clk := newFakeClock(t0)
	reg := prometheus.NewRegistry()
	b := NewBuilder(BuilderConfig{Now: clk.Now, MaxEdges: 8, Shards: 1, Registerer: reg})
	web := svc("shop", "web")
	var obs []Observation
	for i := range 20 {
		obs = append(obs, call(t0, web, Party{Kind: KindExternal, Name: fmt.Sprintf("host-%d.example", i)}, 1, FromSpan, ReporterSource))
	}
	b.Observe(obs)
	b.Observe(obs[:3]) // live edges still count
	b.Advance(clk.Add(time.Second))
	g := b.Latest(GranularityService).Graph
	require.Len(t, g.Edges, 8)
	var total uint64
	for _, e := range g.Edges {
		total += e.Requests
	}
	require.EqualValues(t, 8+3, total)
	require.EqualValues(t, 12, testutil.ToFloat64(b.m.droppedEdgeLimit))
}
