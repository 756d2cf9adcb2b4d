package meshmetrics

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/schema"
)

// obsAppender records the observations appended to it; it refuses the
// first refuse calls. The pipeline is tested on its own.
type obsAppender struct {
	mu     sync.Mutex
	refuse int
	got    []graph.Observation
}

func (a *obsAppender) Append(_ context.Context, b *schema.Batch, obs []graph.Observation) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if b != nil {
		return errors.New("rows appended by the sweep")
	}
	if a.refuse > 0 {
		a.refuse--
		return errors.New("refused")
	}
	a.got = append(a.got, obs...)
	return nil
}

func (a *obsAppender) observations() []graph.Observation {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]graph.Observation(nil), a.got...)
}

// TestRunEmitsWhenSamplesStop: a group left waiting for a series that
// never comes, with no samples after it, is emitted by Run once its
// assembly wait is over, and again after the appender refused it once.
func TestRunEmitsWhenSamplesStop(t *testing.T) {
	d, clk := newTest(t, Config{AssemblyWait: 10 * time.Second})
	req := seriesRow("istio_requests_total", istioKV...)
	size := seriesRow("istio_request_bytes_sum", istioKV...)
	rows := []schema.MetricSeriesRow{req, size}
	require.Empty(t, d.Derive(rows, []schema.MetricSampleRow{at(req, 0, 100), at(size, 0, 1000)}, nil))
	require.Len(t, d.Derive(rows, []schema.MetricSampleRow{at(req, 15, 110), at(size, 15, 2000)}, nil), 1)
	require.Empty(t, d.Derive(rows, []schema.MetricSampleRow{at(req, 30, 125)}, nil), "waits for the byte sum")
	clk.advance(11 * time.Second) // the clock is read by Run from here on only

	app := &obsAppender{refuse: 1}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx, time.Millisecond, app); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for len(app.observations()) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	got := app.observations()
	require.Len(t, got, 1, "the refused delta comes again, once")
	require.Equal(t, uint64(15), got[0].Count)
}
