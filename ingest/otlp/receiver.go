package otlp

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest"
	"github.com/meshscope/meshscope/schema"
)

// Config for the receivers.
type Config struct {
	// MaxRequestBytes bounds a request body (compressed and decompressed).
	// Default 16 MiB.
	MaxRequestBytes int64
	// Logger may be nil.
	Logger *slog.Logger
}

// Receiver turns OTLP exports into appended rows; the gRPC and HTTP front
// ends share it.
type Receiver struct {
	cfg     Config
	conv    *Converter
	app     ingest.Appender
	metrics *ingest.Metrics
	batches sync.Pool
}

// NewReceiver builds a receiver.
func NewReceiver(conv *Converter, app ingest.Appender, metrics *ingest.Metrics, cfg Config) *Receiver {
	if cfg.MaxRequestBytes == 0 {
		cfg.MaxRequestBytes = 16 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Receiver{cfg: cfg, conv: conv, app: app, metrics: metrics}
	r.batches.New = func() any { return new(schema.Batch) }
	return r
}

// result of one export: how many items were refused and why.
type result struct {
	rejected int64
	message  string
}

func (r *Receiver) getBatch() *schema.Batch { return r.batches.Get().(*schema.Batch) }

func (r *Receiver) putBatch(b *schema.Batch) {
	if b.Len() < 1<<16 {
		clear(b.Spans) // drop references for the collector
		clear(b.Logs)
		clear(b.MetricSeries)
		clear(b.MetricSamples)
		clear(b.Requests)
		b.Reset()
		r.batches.Put(b)
	}
}

func (r *Receiver) finish(ctx context.Context, receiver, signal string, accepted int, rej rejections, b *schema.Batch, obs []graph.Observation) (result, error) {
	for reason, n := range rej.reasons {
		r.metrics.Rejected.WithLabelValues(receiver, reason).Add(float64(n))
	}
	if accepted == 0 && rej.n > 0 {
		// Nothing usable: the whole request is bad input, not a partial success.
		return result{}, &ingest.InputError{Reason: "all_rejected", Err: errors.New(rej.summary(signal))}
	}
	if err := r.app.Append(ctx, b, obs); err != nil {
		reason := "internal"
		if errors.Is(err, ingest.ErrBackpressure) {
			reason = "backpressure"
		}
		r.metrics.Rejected.WithLabelValues(receiver, reason).Add(float64(accepted))
		return result{}, err
	}
	r.metrics.Accepted.WithLabelValues(receiver, signal).Add(float64(accepted))
	res := result{rejected: rej.n}
	if rej.n > 0 {
		res.message = rej.summary(signal)
	}
	return res, nil
}

func (r *rejections) summary(signal string) string {
	return strconv.FormatInt(r.n, 10) + " " + signal + " rejected; first: " + r.first
}

// Traces stores the spans of td.
func (r *Receiver) Traces(ctx context.Context, receiver string, td ptrace.Traces) (result, error) {
	b := r.getBatch()
	defer r.putBatch(b)
	rej := r.conv.TracesToRows(td, b)
	return r.finish(ctx, receiver, "spans", len(b.Spans), rej, b, nil)
}

// Logs stores the log records of ld (Envoy access logs as requests).
func (r *Receiver) Logs(ctx context.Context, receiver string, ld plog.Logs) (result, error) {
	b := r.getBatch()
	defer r.putBatch(b)
	var obs []graph.Observation
	rej := r.conv.LogsToRows(ld, b, &obs)
	if len(b.Requests) > 0 {
		r.metrics.Accepted.WithLabelValues(receiver, "requests").Add(float64(len(b.Requests)))
	}
	return r.finish(ctx, receiver, "logs", len(b.Logs)+len(b.Requests), rej, b, obs)
}

// Metrics stores the points of md and derives observations from them.
func (r *Receiver) Metrics(ctx context.Context, receiver string, md pmetric.Metrics) (result, error) {
	b := r.getBatch()
	defer r.putBatch(b)
	rej := r.conv.MetricsToRows(md, b)
	var obs []graph.Observation
	if r.conv.Metrics != nil {
		obs = r.conv.Metrics(b.MetricSeries, b.MetricSamples)
	}
	// Write each series row once per process.
	kept := b.MetricSeries[:0]
	for _, s := range b.MetricSeries {
		if r.conv.series.add(s.SeriesID) {
			kept = append(kept, s)
		}
	}
	b.MetricSeries = kept
	return r.finish(ctx, receiver, "metric_points", len(b.MetricSamples), rej, b, obs)
}
