package graph

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A restarted builder shows the buckets its predecessor flushed while they
// are in the window, adds its own calls, and lets them go as the window
// slides past them.
func TestWarmBucketsShowUntilTheWindowPassesThem(t *testing.T) {
	start := t0.Add(100 * time.Second)
	clk := newFakeClock(start)
	b := NewBuilder(BuilderConfig{Now: clk.Now})
	web, cart := svc("shop", "web"), svc("shop", "cart")
	key := EdgeKey{Source: web, Destination: cart, Protocol: ProtocolHTTP}
	flushed := func(at time.Duration, n uint64) WarmBucket {
		st := EdgeStats{Requests: n, Errors: 1, Provenance: FromAccessLog, Reporters: 1 << ReporterDestination, LatencySumNanos: n * 5e6}
		st.Latency[BucketOf(5e6)] = n
		return WarmBucket{StartUnix: t0.Add(at).Unix(), Key: key, Stats: st}
	}
	b.Warm([]WarmBucket{
		flushed(50*time.Second, 5),
		flushed(70*time.Second, 7),
		flushed(90*time.Second, 3),    // the previous process's last, partial bucket
		flushed(100*time.Second, 100), // began after the start: this builder's own
	})
	b.Observe([]Observation{call(start, web, cart, 2, FromAccessLog, ReporterDestination)})
	b.Advance(clk.Now())
	e := edgeByID(b.Latest(GranularityService).Graph, "service:shop/web->service:shop/cart")
	require.NotNil(t, e)
	require.EqualValues(t, 5+7+3+2, e.Requests)
	require.EqualValues(t, 3, e.Errors)
	require.InDelta(t, 5.0, e.MeanMs, 1e-9)

	b.Advance(clk.Add(11 * time.Second)) // the window now starts after 50 s
	e = edgeByID(b.Latest(GranularityService).Graph, "service:shop/web->service:shop/cart")
	require.EqualValues(t, 7+3+2, e.Requests)

	b.Advance(clk.Add(60 * time.Second)) // past everything
	require.Empty(t, b.Latest(GranularityService).Graph.Edges)
	require.Empty(t, b.warm)
}

// A bucket the builder has flushed itself is not taken: the rows read back
// for it may hold the builder's own calls, which its window shows already.
func TestWarmSkipsBucketsTheBuilderFlushed(t *testing.T) {
	clk := newFakeClock(t0.Add(100 * time.Second))
	cfg := BuilderConfig{Now: clk.Now, Window: 5 * time.Minute, SpanWait: time.Second, FlushDelay: time.Second}
	key := EdgeKey{Source: svc("shop", "web"), Destination: svc("shop", "cart"), Protocol: ProtocolHTTP}
	bucket := []WarmBucket{{StartUnix: t0.Add(90 * time.Second).Unix(), Key: key,
		Stats: EdgeStats{Requests: 4, Provenance: FromSpan}}}
	requests := func(b *Builder) uint64 {
		var n uint64
		for _, e := range b.Latest(GranularityService).Graph.Edges {
			n += e.Requests
		}
		return n
	}

	fresh := NewBuilder(cfg)
	fresh.Warm(bucket)
	fresh.Advance(clk.Now())
	require.EqualValues(t, 4, requests(fresh), "not flushed by this builder yet: shown")

	later := NewBuilder(cfg)
	later.Advance(clk.Add(12 * time.Second)) // buckets up to 110 s are closed and flushed
	later.Warm(bucket)
	later.Advance(clk.Now())
	require.Zero(t, requests(later))
}
