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
	"github.com/meshscope/meshscope/schema/chstore"
)

// recorder is a ColumnWriter that keeps the encoding of every batch it is
// given. The write numbered hold (from 1) does not return until release
// is closed: the process "stops" while that batch is in flight.
type recorder struct {
	mu      sync.Mutex
	batches [][]byte
	rows    int
	hold    int
	held    chan struct{}
	release chan struct{}
}

func newRecorder(hold int) *recorder {
	return &recorder{hold: hold, held: make(chan struct{}), release: make(chan struct{})}
}

func (r *recorder) WriteColumns(_ context.Context, c *chstore.Columns) error {
	r.mu.Lock()
	r.batches = append(r.batches, c.AppendEncoded(nil))
	r.rows += c.Len()
	n := len(r.batches)
	r.mu.Unlock()
	if n == r.hold {
		close(r.held)
		<-r.release
	}
	return nil
}

func (r *recorder) written() ([][]byte, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.batches...), r.rows
}

// encoded is the encoding of the rows of batches, in order.
func encoded(batches ...*schema.Batch) []byte {
	c := chstore.NewColumns()
	for _, b := range batches {
		c.Add(b)
	}
	return c.AppendEncoded(nil)
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
	stop2 := runPipeline(ctx, p2)
	require.Eventually(t, func() bool {
		_, n := second.written()
		return n == 10
	}, 10*time.Second, 10*time.Millisecond, "every row written after the restart")
	got, _ := second.written()
	firstGot, _ := first.written()
	require.Equal(t, firstGot[0], got[0], "the batch in flight, written again as it was")
	require.Equal(t, encoded(spans("a1", 2), spans("a2", 2)), got[0])
	require.Equal(t, encoded(spans("b1", 2), spans("b2", 2), spans("b3", 2)), got[1])
	require.Equal(t, 1.0, testutil.ToFloat64(p2.m.replayed))
	stop2()
	require.NoError(t, w2.Close())

	stop1()
	close(first.release)
	<-done1
	require.NoError(t, w1.Close())
}

// A log written by an earlier release holds records of rows (version 1):
// they are read as before, in order with the records of columns that
// follow them.
func TestRecordsOfRowsStillRead(t *testing.T) {
	ctx := context.Background()
	w, err := wal.Open(t.TempDir(), wal.Options{NoSync: true})
	require.NoError(t, err)
	defer w.Close()
	require.NoError(t, w.Append(ctx, EncodeBatch(nil, spans("old", 3))))
	rec := newRecorder(0)
	p := New(w, rec, nil, Config{FlushRows: 1000, FlushInterval: time.Hour})
	require.NoError(t, p.Append(ctx, spans("new", 2), nil))
	stop := runPipeline(ctx, p)
	require.Eventually(t, func() bool {
		_, n := rec.written()
		return n == 5
	}, 10*time.Second, 10*time.Millisecond)
	got, _ := rec.written()
	require.Equal(t, [][]byte{encoded(spans("old", 3), spans("new", 2))}, got)
	stop()
}

// runPipeline runs p until the stop it returns is called, which waits for
// Run to return.
func runPipeline(ctx context.Context, p *Pipeline) (stop func()) {
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = p.Run(runCtx); close(done) }()
	return func() { cancel(); <-done }
}
