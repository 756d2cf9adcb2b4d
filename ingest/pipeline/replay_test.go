package pipeline

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/ingest/wal"
	"github.com/meshscope/meshscope/schema"
)

// recorder is a Writer that keeps the span names of every batch it is
// given. The write numbered hold (from 1) does not return until release
// is closed: the process "stops" while that batch is in flight.
type recorder struct {
	mu      sync.Mutex
	batches [][]string
	hold    int
	held    chan struct{}
	release chan struct{}
}

func newRecorder(hold int) *recorder {
	return &recorder{hold: hold, held: make(chan struct{}), release: make(chan struct{})}
}

func (r *recorder) Write(_ context.Context, b *schema.Batch) error {
	var names []string
	for _, s := range b.Spans {
		names = append(names, s.Name)
	}
	r.mu.Lock()
	r.batches = append(r.batches, names)
	n := len(r.batches)
	r.mu.Unlock()
	if n == r.hold {
		close(r.held)
		<-r.release
	}
	return nil
}

func (r *recorder) written() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]string(nil), r.batches...)
}

func spans(prefix string, n int) *schema.Batch {
	b := &schema.Batch{}
	for i := range n {
		b.Spans = append(b.Spans, schema.SpanRow{Name: fmt.Sprintf("%s-%d", prefix, i), TraceID: schema.TraceID{1}, SpanID: schema.SpanID{byte(i + 1)}})
	}
	return b
}

// A process that stops while a batch is being written leaves it to the
// next start, which writes exactly that batch first, the same rows in the
// same order (so that ClickHouse's insert deduplication can drop it), even
// though more records followed it in the log, and then the rest.
func TestCrashReplaysTheBatchInFlight(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{FlushRows: 1000, FlushInterval: time.Hour}
	ctx := context.Background()

	w1, err := wal.Open(dir, wal.Options{NoSync: true})
	require.NoError(t, err)
	first := newRecorder(1)
	p1 := New(w1, first, nil, cfg)
	for _, name := range []string{"a1", "a2"} {
		require.NoError(t, p1.Append(ctx, spans(name, 2), nil))
	}
	ctx1, stop1 := context.WithCancel(ctx)
	done1 := make(chan struct{})
	go func() { _ = p1.Run(ctx1); close(done1) }()
	<-first.held // a1 and a2 are being written
	for _, name := range []string{"b1", "b2", "b3"} {
		require.NoError(t, p1.Append(ctx, spans(name, 2), nil))
	}

	// The next process starts on the same log while the first is stuck in
	// its write: the checkpoint is still before a1.
	w2, err := wal.Open(dir, wal.Options{NoSync: true})
	require.NoError(t, err)
	end, ok := w2.Intended()
	require.True(t, ok, "the batch in flight is recorded")
	require.Equal(t, wal.Position{}, w2.Released())
	require.NotZero(t, end)
	second := newRecorder(0)
	p2 := New(w2, second, nil, cfg)
	require.Zero(t, testutil.ToFloat64(p2.m.replayed))
	ctx2, stop2 := context.WithCancel(ctx)
	done2 := make(chan struct{})
	go func() { _ = p2.Run(ctx2); close(done2) }()
	require.Eventually(t, func() bool {
		n := 0
		for _, b := range second.written() {
			n += len(b)
		}
		return n == 10
	}, 10*time.Second, 10*time.Millisecond, "every row written after the restart")
	got := second.written()
	require.Equal(t, first.written()[0], got[0], "the batch in flight, written again as it was")
	require.Equal(t, []string{"a1-0", "a1-1", "a2-0", "a2-1"}, got[0])
	require.Equal(t, []string{"b1-0", "b1-1", "b2-0", "b2-1", "b3-0", "b3-1"}, got[1])
	require.Equal(t, 1.0, testutil.ToFloat64(p2.m.replayed))
	stop2()
	<-done2
	require.NoError(t, w2.Close())

	stop1()
	close(first.release)
	<-done1
	require.NoError(t, w1.Close())
}
