package envoy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
)

// side is one fixture line with its proxy.
type side struct {
	file    string
	line    int // 1-based
	emitter string
}

var (
	sourceSide = side{"istio-text.log", 6, "foo/sleep"}
	destSide   = side{"istio-text.log", 7, "foo/httpbin"}
)

// records parses fixture lines into records (cloned, so they can be kept).
func records(t *testing.T, sides ...side) []Record {
	t.Helper()
	p, err := accesslog.ParserFor(accesslog.PresetIstio)
	require.NoError(t, err)
	out := make([]Record, len(sides))
	for i, s := range sides {
		lines := readLines(t, s.file)
		var e accesslog.Entry
		require.NoError(t, p.Parse(lines[s.line-1], &e))
		out[i] = Record{Entry: e.Clone(), Emitter: mustEmitter(t, s.emitter, false), LogName: "istio"}
	}
	return out
}

// feed adds recs to one batch, settles it, and returns the batch.
func feed(r *Resolver, recs ...Record) *Batch {
	var b Batch
	for i := range recs {
		r.Add(&b, &recs[i])
	}
	r.Settle(&b)
	return &b
}

func reporters(obs []graph.Observation) []graph.Reporter {
	out := make([]graph.Reporter, len(obs))
	for i, o := range obs {
		out[i] = o.Reporter
	}
	return out
}

// TestTwoSidedCountedOnce: one request logged by both sidecars (same
// x-request-id, istio-text.log lines 6 and 7) keeps both rows but is one
// observation, the destination's, whatever the order and batching.
func TestTwoSidedCountedOnce(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, r *Resolver, c *testClock) (rows int, obs []graph.Observation)
	}{
		{"one batch, source first", func(t *testing.T, r *Resolver, c *testClock) (int, []graph.Observation) {
			b := feed(r, records(t, sourceSide, destSide)...)
			return b.Len(), b.Obs
		}},
		{"one batch, destination first", func(t *testing.T, r *Resolver, c *testClock) (int, []graph.Observation) {
			b := feed(r, records(t, destSide, sourceSide)...)
			return b.Len(), b.Obs
		}},
		{"source first, destination 3s later", func(t *testing.T, r *Resolver, c *testClock) (int, []graph.Observation) {
			b1 := feed(r, records(t, sourceSide)...)
			require.Empty(t, b1.Obs, "the source side waits")
			c.advance(3 * time.Second)
			b2 := feed(r, records(t, destSide)...)
			c.advance(time.Minute)
			b3 := feed(r)
			return b1.Len() + b2.Len(), append(b2.Obs, b3.Obs...)
		}},
		{"destination first, source 3s later", func(t *testing.T, r *Resolver, c *testClock) (int, []graph.Observation) {
			b1 := feed(r, records(t, destSide)...)
			require.Empty(t, b1.Obs, "the destination side waits for its caller")
			c.advance(3 * time.Second)
			b2 := feed(r, records(t, sourceSide)...)
			c.advance(time.Minute)
			b3 := feed(r)
			return b1.Len() + b2.Len(), append(b2.Obs, b3.Obs...)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			r := newTestResolver(t, c)
			rows, obs := tc.run(t, r, c)
			require.Equal(t, 2, rows, "both rows are kept")
			require.Len(t, obs, 1, "one call")
			require.Equal(t, graph.ReporterDestination, obs[0].Reporter)
			require.Equal(t, sleepFoo, obs[0].Source, "the caller is named, whichever side came first")
			require.Equal(t, httpbinFoo, obs[0].Destination)
			require.Equal(t, int64(3*ms), obs[0].DurationNanos, "the destination's latency")
			require.Equal(t, uint64(1), obs[0].MTLS)
			require.Empty(t, r.Flush(nil))
		})
	}
}

// TestSourceSideAlone: a source side whose destination never logs is
// counted once its wait is over, by Settle or by Run, and a destination
// side arriving after that is dropped.
func TestSourceSideAlone(t *testing.T) {
	c := newClock()
	r := newTestResolver(t, c)
	b := feed(r, records(t, sourceSide)...)
	require.Empty(t, b.Obs)
	c.advance(4 * time.Second)
	require.Empty(t, feed(r).Obs, "still waiting")
	c.advance(2 * time.Second)
	b = feed(r)
	require.Equal(t, []graph.Reporter{graph.ReporterSource}, reporters(b.Obs))
	require.Equal(t, httpbinFoo.Name, b.Obs[0].Destination.Name)

	c.advance(time.Second)
	b = feed(r, records(t, destSide)...)
	require.Empty(t, b.Obs, "the source already counted the request")
	require.Equal(t, 1, b.Len())

	c.advance(time.Minute)
	require.Empty(t, feed(r).Obs)
	require.Zero(t, r.dd.len(), "keys are forgotten after twice the wait")
}

// TestNotReached: a source side that never reached its destination (UH,
// UF, ... or code 0) is counted at once, and the destination side, should
// it come, is dropped.
func TestNotReached(t *testing.T) {
	c := newClock()
	r := newTestResolver(t, c)
	recs := records(t, sourceSide, destSide)
	recs[0].Entry.ResponseFlags, recs[0].Entry.Flags = "UF", accesslog.FlagUF
	recs[0].Entry.ResponseCode = 503
	b := feed(r, recs[0])
	require.Equal(t, []graph.Reporter{graph.ReporterSource}, reporters(b.Obs))
	require.Equal(t, uint64(1), b.Obs[0].Errors)
	b = feed(r, recs[1])
	require.Empty(t, b.Obs)

	recs = records(t, sourceSide)
	recs[0].Entry.RequestID = "other"
	recs[0].Entry.ResponseCode = 0
	b = feed(r, recs...)
	require.Equal(t, []graph.Reporter{graph.ReporterSource}, reporters(b.Obs), "code 0: no response")
}

// TestRetriedBatch: a batch appended again after a failed append is
// counted again (its observations reached no one the first time).
func TestRetriedBatch(t *testing.T) {
	c := newClock()
	r := newTestResolver(t, c)
	recs := records(t, sourceSide, destSide)
	require.Len(t, feed(r, recs...).Obs, 1)
	require.Len(t, feed(r, recs[1]).Obs, 1, "destination side retried")
	require.Empty(t, feed(r, recs[0]).Obs, "the destination counted it")
}

// TestEveryHopItsOwnCall: services forwarding x-request-id share it across
// hops; each hop (its own :authority) is its own call.
func TestEveryHopItsOwnCall(t *testing.T) {
	c := newClock()
	r := newTestResolver(t, c)
	recs := records(t, sourceSide, destSide, sourceSide, destSide)
	recs[2].Emitter = mustEmitter(t, "foo/httpbin", false)
	recs[2].Entry.Authority = "db:5432"
	recs[2].Entry.UpstreamCluster = "outbound|5432||db.foo.svc.cluster.local"
	recs[3].Emitter = mustEmitter(t, "foo/db", false)
	recs[3].Entry.Authority = "db:5432"
	b := feed(r, recs...)
	require.Equal(t, 4, b.Len())
	require.Len(t, b.Obs, 2)
	require.Equal(t, "sleep", b.Obs[0].Source.Name)
	require.Equal(t, "httpbin", b.Obs[1].Source.Name)
	require.Equal(t, "db", b.Obs[1].Destination.Name)
}

// TestTCPPairedByConnection: TCP entries have no request id; the
// connection's caller address pairs them.
func TestTCPPairedByConnection(t *testing.T) {
	c := newClock()
	r := newTestResolver(t, c)
	src := Record{Emitter: mustEmitter(t, "shop/cart", false), TCP: true, Entry: accesslog.Entry{
		StartTime: int64(ts("2024-01-11T21:09:42.835Z")), Duration: 5 * ms, UpstreamServiceTime: -1,
		BytesReceived: 10, BytesSent: 20, UpstreamHost: "10.0.0.9:5432",
		UpstreamCluster:      "outbound|5432||postgres.db.svc.cluster.local",
		UpstreamLocalAddress: "10.0.0.5:40000", DownstreamLocalAddress: "10.96.0.10:5432",
		DownstreamRemoteAddress: "10.0.0.5:39000",
	}}
	dst := Record{Emitter: mustEmitter(t, "db/postgres", false), TCP: true, Entry: accesslog.Entry{
		StartTime: int64(ts("2024-01-11T21:09:42.836Z")), Duration: 4 * ms, UpstreamServiceTime: -1,
		BytesReceived: 10, BytesSent: 20, UpstreamHost: "10.0.0.9:5432", UpstreamCluster: "inbound|5432||",
		DownstreamLocalAddress: "10.0.0.9:5432", DownstreamRemoteAddress: "10.0.0.5:40000",
		RequestedServerName: "outbound_.5432_._.postgres.db.svc.cluster.local",
	}}
	b := feed(r, src, dst)
	require.Equal(t, 2, b.Len())
	require.Len(t, b.Obs, 1)
	o := b.Obs[0]
	require.Equal(t, graph.ReporterDestination, o.Reporter)
	require.Equal(t, graph.ProtocolTCP, o.Protocol)
	require.Equal(t, "service:shop/cart", o.Source.NodeID(graph.GranularityService))
	require.Equal(t, "service:db/postgres", o.Destination.NodeID(graph.GranularityService))
	require.Equal(t, "tcp", b.Rows.Requests[1].Protocol)
}

// TestPendingBounded: beyond MaxPending entries are counted as they come.
func TestPendingBounded(t *testing.T) {
	c := newClock()
	r, err := NewResolver(Config{Now: c.now, MaxPending: 2})
	require.NoError(t, err)
	recs := records(t, sourceSide, sourceSide, sourceSide)
	recs[1].Entry.RequestID, recs[2].Entry.RequestID = "b", "c"
	b := feed(r, recs...)
	require.Len(t, b.Obs, 1, "the third did not fit and counts now")
	require.Equal(t, 2, r.dd.len())
	require.Len(t, r.Flush(nil), 2)
}

// TestRunReleases: Run appends observations whose wait is over, and the
// rest when it stops.
func TestRunReleases(t *testing.T) {
	c := newClock()
	var mu testAppender
	r, err := NewResolver(Config{Now: func() time.Time { return mu.now(c) }, Tick: 5 * time.Millisecond, Wait: time.Second})
	require.NoError(t, err)
	recs := records(t, sourceSide, sourceSide)
	recs[1].Entry.RequestID = "b"
	feed(r, recs[0])
	mu.advance(c, 500*time.Millisecond)
	feed(r, recs[1])
	ctx, cancel := contextWithCancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, &mu) }()
	mu.advance(c, 700*time.Millisecond)
	require.Eventually(t, func() bool { return mu.count() == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	require.Equal(t, 2, mu.count(), "the last one at shutdown")
}
