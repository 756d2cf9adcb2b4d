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
		flushed(95*time.Second, 100), // ends after the start: this builder's to flush
	})
	b.Observe([]Observation{call(start, web, cart, 2, FromAccessLog, ReporterDestination)})
	b.Advance(clk.Now())
	e := edgeByID(b.Latest(GranularityService).Graph, "service:shop/web->service:shop/cart")
	require.NotNil(t, e)
	require.EqualValues(t, 5+7+2, e.Requests)
	require.EqualValues(t, 2, e.Errors)
	require.InDelta(t, 5.0, e.MeanMs, 1e-9)

	b.Advance(clk.Add(11 * time.Second)) // the window now starts after 50 s
	e = edgeByID(b.Latest(GranularityService).Graph, "service:shop/web->service:shop/cart")
	require.EqualValues(t, 7+2, e.Requests)

	b.Advance(clk.Add(60 * time.Second)) // past everything
	require.Empty(t, b.Latest(GranularityService).Graph.Edges)
	require.Empty(t, b.warm)
}
