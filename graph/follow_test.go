package graph

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeHistory answers Range from a fixed edge list, recording the queries.
type fakeHistory struct {
	mu      sync.Mutex
	queries []RangeQuery
	fail    bool
}

func (h *fakeHistory) Range(_ context.Context, q RangeQuery) (*Graph, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.queries = append(h.queries, q)
	if h.fail {
		return nil, errors.New("clickhouse down")
	}
	a := NewAssembler(q.Granularity, nil)
	sel := newSelection(&preference{provAccess, provSpan, provMetric})
	sel.Add(&EdgeKey{Source: svc("shop", "web"), Destination: svc("shop", "cart")}, &EdgeStats{Requests: uint64(len(h.queries))})
	sel.AddTo(a)
	return a.Graph(q.From, q.To), nil
}

func TestLiveFromHistory(t *testing.T) {
	h := &fakeHistory{}
	clk := newFakeClock(t0.Add(47 * time.Second))
	f := LiveFromHistory(h, FollowConfig{Now: clk.Now, Poll: 100 * time.Millisecond})
	sub, end := f.Subscribe(GranularityService, 4)
	defer end()
	require.NoError(t, f.PollOnce(context.Background()))
	require.Len(t, h.queries, 3)
	q := h.queries[0]
	require.Equal(t, t0.Unix(), q.To.Unix(), "lag 40s, aligned to 10s")
	require.Equal(t, time.Minute, q.To.Sub(q.From))
	tick := <-sub
	require.EqualValues(t, 1, tick.Seq)
	require.Len(t, tick.Delta.EdgesAdded, 1)
	require.Equal(t, GranularityVersion, f.Latest(GranularityVersion).Graph.Granularity)

	h.mu.Lock()
	h.fail = true
	h.mu.Unlock()
	require.Error(t, f.PollOnce(context.Background()))
	require.EqualValues(t, 1, f.Latest(GranularityService).Seq, "a failed poll publishes nothing")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	cancel()
	require.NoError(t, <-done)
	_, open := <-sub
	require.False(t, open, "Run closes subscriptions when it ends")
}
