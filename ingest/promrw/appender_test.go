package promrw

import (
	"context"
	"slices"
	"sync"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/schema"
)

// memAppender is an in-memory ingest.Appender that keeps copies of what it
// takes, or refuses it with err.
type memAppender struct {
	mu      sync.Mutex
	err     error
	batches int
	series  []schema.MetricSeriesRow
	samples []schema.MetricSampleRow
	obs     []graph.Observation
}

func (a *memAppender) Append(_ context.Context, b *schema.Batch, obs []graph.Observation) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return a.err
	}
	a.batches++
	for _, r := range b.MetricSeries {
		r.LabelKeys, r.LabelValues = slices.Clone(r.LabelKeys), slices.Clone(r.LabelValues)
		a.series = append(a.series, r)
	}
	for _, s := range b.MetricSamples {
		s.BucketBounds, s.BucketCounts = slices.Clone(s.BucketBounds), slices.Clone(s.BucketCounts)
		s.ExpPositiveCounts, s.ExpNegativeCounts = slices.Clone(s.ExpPositiveCounts), slices.Clone(s.ExpNegativeCounts)
		a.samples = append(a.samples, s)
	}
	for _, o := range obs {
		if o.Latency != nil {
			h := *o.Latency
			o.Latency = &h
		}
		a.obs = append(a.obs, o)
	}
	return nil
}

func (a *memAppender) setErr(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.err = err
}

// snapshot returns copies of what was appended so far.
func (a *memAppender) snapshot() ([]schema.MetricSeriesRow, []schema.MetricSampleRow, []graph.Observation) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.series), slices.Clone(a.samples), slices.Clone(a.obs)
}

// discardAppender takes everything and keeps nothing.
type discardAppender struct{}

func (discardAppender) Append(context.Context, *schema.Batch, []graph.Observation) error { return nil }
