// Package pipeline is meshscope's durable ingest path. Append (the
// ingest.Appender that every receiver calls) encodes a batch into one
// write-ahead log record, returns once it is committed, and then hands spans
// and observations to the live graph. Run tails the log and writes the rows
// to ClickHouse in large columnar batches, advancing the log's checkpoint
// after each successful write, retrying while ClickHouse is down. Delivery to
// ClickHouse is at least once: a crash between a write and its checkpoint
// replays that batch. It never imports query/.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest"
	"github.com/meshscope/meshscope/ingest/wal"
	"github.com/meshscope/meshscope/schema"
)

// Writer stores batches; *chstore.Store implements it.
type Writer interface {
	Write(ctx context.Context, b *schema.Batch) error
}

// Config tunes the flusher.
type Config struct {
	// FlushRows: a batch is written once it holds this many rows. Default 100,000.
	FlushRows int
	// FlushInterval: a non-empty batch is written at least this often, and
	// whenever the flusher has caught up with the log. Default 1s.
	FlushInterval time.Duration
	// MaxAttempts for a batch that ClickHouse rejects with an exception
	// (not a connection failure) before it is set aside in DeadLetterDir.
	// Default 5.
	MaxAttempts int
	// DeadLetterDir receives batches ClickHouse rejected MaxAttempts times,
	// as write-ahead log records, so nothing accepted is lost.
	DeadLetterDir string
	// Logger and Registerer may be nil.
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

func (c *Config) defaults() {
	if c.FlushRows == 0 {
		c.FlushRows = 100_000
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = time.Second
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 5
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Pipeline connects receivers, the write-ahead log, ClickHouse and the graph.
type Pipeline struct {
	cfg   Config
	wal   *wal.WAL
	store Writer
	sink  graph.Sink
	bufs  sync.Pool
	m     pipelineMetrics
}

type pipelineMetrics struct {
	rows        *prometheus.CounterVec
	flushes     prometheus.Counter
	flushErrors *prometheus.CounterVec
	flushTime   prometheus.Histogram
	deadLetters prometheus.Counter
	lag         prometheus.Gauge
}

// New builds a pipeline. sink may be nil (no live graph).
func New(w *wal.WAL, store Writer, sink graph.Sink, cfg Config) *Pipeline {
	cfg.defaults()
	p := &Pipeline{cfg: cfg, wal: w, store: store, sink: sink}
	p.bufs.New = func() any { b := make([]byte, 0, 64<<10); return &b }
	p.m = pipelineMetrics{
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "meshscope", Subsystem: "flush", Name: "rows_total",
			Help: "Rows written to ClickHouse, by table."}, []string{"table"}),
		flushes: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "meshscope", Subsystem: "flush", Name: "batches_total",
			Help: "Batches written to ClickHouse."}),
		flushErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "meshscope", Subsystem: "flush", Name: "errors_total",
			Help: "Failed batch writes, by kind (connection, exception)."}, []string{"kind"}),
		flushTime: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "meshscope", Subsystem: "flush", Name: "duration_seconds",
			Help: "Time to write one batch to ClickHouse.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "meshscope", Subsystem: "flush", Name: "dead_letter_batches_total",
			Help: "Batches ClickHouse kept rejecting, set aside in the dead-letter directory."}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "meshscope", Subsystem: "flush", Name: "last_success_timestamp_seconds",
			Help: "Time of the last successful batch write."}),
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(p.m.rows, p.m.flushes, p.m.flushErrors, p.m.flushTime, p.m.deadLetters, p.m.lag)
	}
	return p
}

// Append implements ingest.Appender.
func (p *Pipeline) Append(ctx context.Context, b *schema.Batch, obs []graph.Observation) error {
	if b != nil && b.Len() > 0 {
		bp := p.bufs.Get().(*[]byte)
		rec := EncodeBatch((*bp)[:0], b)
		err := p.wal.Append(ctx, rec)
		if cap(rec) <= 4<<20 {
			*bp = rec[:0]
			p.bufs.Put(bp)
		}
		if errors.Is(err, wal.ErrFull) {
			return fmt.Errorf("%w (%d bytes waiting for ClickHouse)", ingest.ErrBackpressure, p.wal.PendingBytes())
		}
		if err != nil {
			return err
		}
	}
	if p.sink != nil {
		if b != nil && len(b.Spans) > 0 {
			p.sink.ObserveSpans(b.Spans)
		}
		if len(obs) > 0 {
			p.sink.Observe(obs)
		}
	}
	return nil
}

// Run writes the log's records to ClickHouse until ctx is done, then writes
// what it holds and returns. Decoding the next batch overlaps with the
// insert of the previous one: one batch is written (by a second goroutine)
// while the next fills; checkpoints advance in log order.
func (p *Pipeline) Run(ctx context.Context) error {
	type job struct {
		b   *schema.Batch
		end wal.Position
	}
	// The writer outlives ctx by the final flush, bounded below.
	wctx, cancelWriter := context.WithCancel(context.Background())
	defer cancelWriter()
	jobs := make(chan job)
	free := make(chan *schema.Batch, 2)
	free <- new(schema.Batch)
	writerDone := make(chan error, 1)
	go func() {
		for j := range jobs {
			err := p.write(wctx, j.b)
			if err == nil {
				err = p.wal.Checkpoint(j.end)
			}
			if err != nil {
				writerDone <- err
				return
			}
			j.b.Reset()
			free <- j.b
		}
		writerDone <- nil
	}()

	acc := new(schema.Batch)
	var last wal.Position
	lastFlush := time.Now()
	writerExited := false // its error was received
	flush := func() error {
		if acc.Len() == 0 {
			return nil
		}
		sizes := sizesOf(acc)
		select {
		case jobs <- job{acc, last}:
		case err := <-writerDone:
			writerExited = true
			return err
		}
		select {
		case acc = <-free:
		case err := <-writerDone:
			writerExited = true
			return err
		}
		sizes.presize(acc)
		lastFlush = time.Now()
		return nil
	}
	err := p.wal.Tail(ctx, p.wal.Released(), func(rec []byte, end wal.Position) error {
		if err := DecodeBatch(rec, acc); err != nil {
			// A record we wrote but cannot read is a bug or disk damage:
			// keep it for inspection and go on.
			p.cfg.Logger.Error("unreadable wal record set aside", "err", err, "segment", end.Segment, "offset", end.Offset)
			p.deadLetter(rec)
		}
		last = end
		if acc.Len() >= p.cfg.FlushRows || time.Since(lastFlush) >= p.cfg.FlushInterval {
			return flush()
		}
		return nil
	}, flush)
	if ctx.Err() == nil {
		cancelWriter()
		close(jobs)
		if !writerExited {
			<-writerDone
		}
		return err
	}
	// Final flush: ClickHouse may still be up. What does not make it in
	// time stays in the log for the next start.
	ferr := flush()
	close(jobs)
	if ferr == nil {
		select {
		case ferr = <-writerDone:
		case <-time.After(10 * time.Second):
			ferr = errors.New("timed out")
			cancelWriter()
			<-writerDone
		}
	}
	if ferr != nil {
		p.cfg.Logger.Warn("final flush failed; the write-ahead log keeps the rows", "err", ferr)
	}
	return nil
}

// batchSizes are a batch's row counts per table.
type batchSizes struct{ spans, logs, series, samples, requests int }

func sizesOf(b *schema.Batch) batchSizes {
	return batchSizes{len(b.Spans), len(b.Logs), len(b.MetricSeries), len(b.MetricSamples), len(b.Requests)}
}

// presize gives the empty batch b room for the rows of the batch just
// flushed, so that a batch the flusher has not filled before is allocated
// once rather than grown (and copied) as it fills. A batch back from the
// writer keeps its capacity and is left alone.
func (s batchSizes) presize(b *schema.Batch) {
	b.Spans = fit(b.Spans, s.spans)
	b.Logs = fit(b.Logs, s.logs)
	b.MetricSeries = fit(b.MetricSeries, s.series)
	b.MetricSamples = fit(b.MetricSamples, s.samples)
	b.Requests = fit(b.Requests, s.requests)
}

func fit[T any](rows []T, n int) []T {
	if len(rows) == 0 && cap(rows) < n {
		return make([]T, 0, n)
	}
	return rows
}

// write stores b, retrying connection failures until ctx ends and server
// exceptions up to MaxAttempts times (then the batch goes to dead letters).
func (p *Pipeline) write(ctx context.Context, b *schema.Batch) error {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := p.store.Write(ctx, b)
		if err == nil {
			p.m.flushTime.Observe(time.Since(start).Seconds())
			p.m.flushes.Inc()
			p.m.lag.SetToCurrentTime()
			p.countRows(b)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var exc *clickhouse.Exception
		kind := "connection"
		if errors.As(err, &exc) {
			kind = "exception"
			if attempt >= p.cfg.MaxAttempts {
				p.cfg.Logger.Error("clickhouse keeps rejecting a batch; set aside", "err", err, "rows", b.Len())
				p.deadLetter(EncodeBatch(nil, b))
				return nil
			}
		}
		p.m.flushErrors.WithLabelValues(kind).Inc()
		p.cfg.Logger.Warn("write to clickhouse failed; retrying", "err", err, "attempt", attempt, "backoff", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (p *Pipeline) countRows(b *schema.Batch) {
	for table, n := range map[string]int{"spans": len(b.Spans), "logs": len(b.Logs), "metric_series": len(b.MetricSeries),
		"metric_samples": len(b.MetricSamples), "requests": len(b.Requests)} {
		if n > 0 {
			p.m.rows.WithLabelValues(table).Add(float64(n))
		}
	}
}

func (p *Pipeline) deadLetter(rec []byte) {
	p.m.deadLetters.Inc()
	if p.cfg.DeadLetterDir == "" {
		return
	}
	if err := os.MkdirAll(p.cfg.DeadLetterDir, 0o755); err != nil {
		p.cfg.Logger.Error("create dead-letter dir", "err", err)
		return
	}
	name := filepath.Join(p.cfg.DeadLetterDir, fmt.Sprintf("batch-%d.rec", time.Now().UnixNano()))
	if err := os.WriteFile(name, rec, 0o644); err != nil {
		p.cfg.Logger.Error("write dead letter", "err", err, "file", name)
	}
}
