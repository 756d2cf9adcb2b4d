package graph

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// memWriter keeps written rows; it fails the first failures calls, and
// blocks while block is set.
type memWriter struct {
	mu       sync.Mutex
	rows     []EdgeRow
	failures int
	calls    int
	block    chan struct{}
}

func (w *memWriter) WriteEdges(ctx context.Context, rows []EdgeRow) error {
	if w.block != nil {
		select {
		case <-w.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	if w.failures > 0 {
		w.failures--
		return errors.New("clickhouse unavailable")
	}
	for _, r := range rows {
		r.Latency = append([]uint64(nil), r.Latency...)
		w.rows = append(w.rows, r)
	}
	return nil
}

func (w *memWriter) total() (n uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.rows {
		n += r.Requests
	}
	return n
}

func TestFlushClosedBucketsAndRetry(t *testing.T) {
	clk := newFakeClock(t0.Add(3 * time.Second))
	w := &memWriter{failures: 1}
	reg := prometheus.NewRegistry()
	b := NewBuilder(BuilderConfig{Now: clk.Now, Writer: w, Registerer: reg, Tick: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()

	web, cart := svc("shop", "web"), svc("shop", "cart")
	b.Observe([]Observation{call(t0.Add(3*time.Second), web, cart, 4, FromAccessLog, ReporterDestination)})
	b.Observe([]Observation{call(t0.Add(3*time.Second), web, cart, 9, FromMetric, ReporterDestination)})
	clk.Set(t0.Add(15 * time.Second))
	b.Observe([]Observation{call(t0.Add(15*time.Second), web, cart, 2, FromAccessLog, ReporterSource)})
	// Bucket [0, 10) closes at 10 s and is flushed 30 s later.
	clk.Set(t0.Add(41 * time.Second))
	require.Eventually(t, func() bool { return w.total() == 4 }, 5*time.Second, 5*time.Millisecond)
	// Too late for the flushed bucket: dropped and counted.
	b.Observe([]Observation{call(t0.Add(5*time.Second), web, cart, 100, FromAccessLog, ReporterDestination)})
	require.EqualValues(t, 1, testutil.ToFloat64(b.m.droppedLate))

	cancel()
	require.NoError(t, <-done)
	require.EqualValues(t, 6, w.total(), "the open bucket is flushed on shutdown")
	w.mu.Lock()
	defer w.mu.Unlock()
	require.Len(t, w.rows, 2)
	r := w.rows[0]
	require.Equal(t, t0.Unix(), r.BucketUnix)
	require.Equal(t, FromAccessLog|FromMetric, r.Provenance)
	require.Equal(t, ReporterSet(1<<ReporterDestination), r.Reporters)
	require.EqualValues(t, 4, r.Latency[BucketOf(int64(5*time.Millisecond))])
	require.Len(t, r.Latency, BucketOf(int64(5*time.Millisecond))+1)
	require.Equal(t, t0.Unix()+10, w.rows[1].BucketUnix)
	require.EqualValues(t, 1, testutil.ToFloat64(b.m.flushFailures))
	require.EqualValues(t, 2, testutil.ToFloat64(b.m.flushedRows))
}

func TestSlowWriterDoesNotBlockObserve(t *testing.T) {
	clk := newFakeClock(t0)
	w := &memWriter{block: make(chan struct{})}
	b := NewBuilder(BuilderConfig{Now: clk.Now, Writer: w, FlushQueue: 1, Tick: 10 * time.Millisecond,
		ShutdownFlushTimeout: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	web, cart := svc("shop", "web"), svc("shop", "cart")
	for range 10 {
		now := clk.Add(10 * time.Second)
		b.Observe([]Observation{call(now, web, cart, 1, FromAccessLog, ReporterDestination)})
		b.Advance(now)
	}
	require.Positive(t, testutil.ToFloat64(b.m.flushDroppedQueue), "full queue drops instead of waiting")
	cancel()
	require.NoError(t, <-done, "shutdown gives up on a stuck writer")
}
