// Package pipeline is meshscope's durable ingest path. Append (the
// ingest.Appender that every receiver calls) encodes a batch into one
// write-ahead log record, returns once it is committed, and then hands spans
// and observations to the live graph. Run tails the log and writes the rows
// to ClickHouse in large columnar batches, advancing the log's checkpoint
// after each successful write, retrying while ClickHouse is down. Delivery to
// ClickHouse is at least once: a crash between a write and its checkpoint
// writes that batch again, the same rows in the same order, which
// ClickHouse's insert deduplication drops where it has it (replicated
// tables). It never imports query/.
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
	"github.com/meshscope/meshscope/schema/chstore"
)

// ColumnWriter stores rows built into insert columns; *chstore.Store
// implements it. The flusher builds a batch's columns record by record as it
// reads the log (while the previous batch is being inserted): a record holds
// its rows as columns already, so adding it is one copy per column.
type ColumnWriter interface {
	WriteColumns(ctx context.Context, c *chstore.Columns) error
}

// Config tunes the flusher.
type Config struct {
	// FlushRows: a batch is written once it holds this many rows. Default 100,000.
	FlushRows int
	// FlushInterval: a non-empty batch is written at least this often, and
	// whenever the flusher has caught up with the log. Default 1s.
	FlushInterval time.Duration
	// MaxAttempts for a batch that ClickHouse rejects with an exception, or
	// whose rows do not fit its tables (chstore.ErrRejected), but not after
	// a connection failure, before it is set aside in DeadLetterDir.
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
	store ColumnWriter
	sink  graph.Sink
	bufs  sync.Pool  // record buffers
	cols  *sync.Pool // columns a request's rows are encoded through
	m     pipelineMetrics
}

type pipelineMetrics struct {
	rows        *prometheus.CounterVec
	flushes     prometheus.Counter
	flushErrors *prometheus.CounterVec
	flushTime   prometheus.Histogram
	deadLetters prometheus.Counter
	replayed    prometheus.Counter
	lag         prometheus.Gauge
}

// New builds a pipeline. sink may be nil (no live graph).
func New(w *wal.WAL, store ColumnWriter, sink graph.Sink, cfg Config) *Pipeline {
	cfg.defaults()
	p := &Pipeline{cfg: cfg, wal: w, store: store, sink: sink}
	p.bufs.New = func() any { b := make([]byte, 0, 64<<10); return &b }
	p.cols = newColumnsPool()
	p.m = pipelineMetrics{
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "meshscope", Subsystem: "flush", Name: "rows_total",
			Help: "Rows written to ClickHouse, by table."}, []string{"table"}),
		flushes: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "meshscope", Subsystem: "flush", Name: "batches_total",
			Help: "Batches written to ClickHouse."}),
		flushErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "meshscope", Subsystem: "flush", Name: "errors_total",
			Help: "Failed batch writes, by kind (connection; exception: the server refused the batch; rejected: its rows do not fit the server's table)."}, []string{"kind"}),
		flushTime: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "meshscope", Subsystem: "flush", Name: "duration_seconds",
			Help: "Time to write one batch to ClickHouse.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "meshscope", Subsystem: "flush", Name: "dead_letter_batches_total",
			Help: "Batches ClickHouse kept rejecting, set aside in the dead-letter directory."}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "meshscope", Subsystem: "flush", Name: "replayed_batches_total",
			Help: "Batches that were being written when the process stopped, written again as they were at start."}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "meshscope", Subsystem: "flush", Name: "last_success_timestamp_seconds",
			Help: "Time of the last successful batch write."}),
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(p.m.rows, p.m.flushes, p.m.flushErrors, p.m.flushTime, p.m.deadLetters, p.m.replayed, p.m.lag)
	}
	return p
}

// Append implements ingest.Appender.
func (p *Pipeline) Append(ctx context.Context, b *schema.Batch, obs []graph.Observation) error {
	if b != nil && b.Len() > 0 {
		bp := p.bufs.Get().(*[]byte)
		rec := encodeColumns((*bp)[:0], b, p.cols)
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
		b   *flushBatch
		end wal.Position
	}
	// The writer outlives ctx by the final flush, bounded below.
	wctx, cancelWriter := context.WithCancel(context.Background())
	defer cancelWriter()
	jobs := make(chan job)
	free := make(chan *flushBatch, 2)
	free <- newFlushBatch()
	writerDone := make(chan error, 1)
	go func() {
		for j := range jobs {
			if err := p.wal.Intend(j.end); err != nil {
				// Only a replay after a crash loses by it: the batch it
				// writes may then differ from this one.
				p.cfg.Logger.Warn("batch intent not recorded", "err", err)
			}
			err := p.write(wctx, j.b)
			if err == nil {
				err = p.wal.Checkpoint(j.end)
			}
			if err != nil {
				writerDone <- err
				return
			}
			j.b.reset()
			free <- j.b
		}
		writerDone <- nil
	}()

	acc := newFlushBatch()
	var last wal.Position
	lastFlush := time.Now()
	writerExited := false // its error was received
	flush := func() error {
		if acc.len() == 0 {
			return nil
		}
		held := acc.sizes()
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
		// The next batch is likely to be as large: its columns grow to
		// that at once if they are not yet.
		acc.cols.ExpectRows(held.spans, held.logs, held.series, held.samples, held.requests)
		lastFlush = time.Now()
		return nil
	}
	// A batch that was being written when the process stopped is written
	// again as it was, so that ClickHouse's insert deduplication can drop
	// it where it landed (see wal.Intend); later batches form as usual.
	replayEnd, replay := p.wal.Intended()
	if replay {
		p.cfg.Logger.Info("writing again the batch in flight when the process stopped", "from", p.wal.Released(), "to", replayEnd)
	}
	err := p.wal.Tail(ctx, p.wal.Released(), func(rec []byte, end wal.Position) error {
		if err := acc.add(rec); err != nil {
			// A record we wrote but cannot read is a bug or disk damage:
			// keep it for inspection and go on.
			p.cfg.Logger.Error("unreadable wal record set aside", "err", err, "segment", end.Segment, "offset", end.Offset)
			p.deadLetter(rec)
		}
		last = end
		if replay {
			if last.Before(replayEnd) {
				return nil
			}
			replay = false
			p.m.replayed.Inc()
			return flush()
		}
		if acc.len() >= p.cfg.FlushRows || time.Since(lastFlush) >= p.cfg.FlushInterval {
			return flush()
		}
		return nil
	}, func() error {
		if replay {
			// Caught up with the log before the batch's end: its records
			// are not all there (Intended checks they were at open).
			p.cfg.Logger.Warn("the log ends before the batch in flight did; writing what it holds", "at", last, "batch_end", replayEnd)
			replay = false
		}
		return flush()
	})
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

// flushBatch is what the flusher fills from the log and writes: insert
// columns.
type flushBatch struct {
	cols    *chstore.Columns
	scratch *schema.Batch // a version 1 record's rows, on their way to cols
	view    viewDecoder   // decodes those into scratch
}

func newFlushBatch() *flushBatch {
	return &flushBatch{cols: chstore.NewColumns(), scratch: new(schema.Batch)}
}

// add appends the rows of one record. A record that does not decode is an
// error; a version 1 record then adds the rows read before the damage, a
// record of columns adds nothing.
func (b *flushBatch) add(rec []byte) error {
	if len(rec) > 0 && (rec[0] == recordColumns || rec[0] == recordColumnRuns) {
		add := b.cols.AddRecord
		if rec[0] == recordColumns {
			add = b.cols.AddEncoded
		}
		if err := add(rec[1:]); err != nil {
			return fmt.Errorf("decode wal record: %w", err)
		}
		return nil
	}
	b.scratch.Reset()
	err := b.view.decode(rec, b.scratch) // rows borrowing rec, copied by Add
	b.cols.Add(b.scratch)
	return err
}

func (b *flushBatch) len() int { return b.cols.Len() }

func (b *flushBatch) sizes() batchSizes {
	var n batchSizes
	n.spans, n.logs, n.series, n.samples, n.requests = b.cols.Rows()
	return n
}

func (b *flushBatch) reset() {
	b.cols.Reset()
	b.scratch.Reset()
}

// record is the batch as one write-ahead log record, for dead letters.
func (b *flushBatch) record() []byte {
	return b.cols.AppendEncoded([]byte{recordColumns})
}

// write stores b, retrying connection failures until ctx ends and server
// exceptions up to MaxAttempts times (then the batch goes to dead letters).
func (p *Pipeline) write(ctx context.Context, b *flushBatch) error {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := p.store.WriteColumns(ctx, b.cols)
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
		if errors.As(err, &exc) || errors.Is(err, chstore.ErrRejected) {
			kind = "exception"
			if exc == nil {
				kind = "rejected"
			}
			if attempt >= p.cfg.MaxAttempts {
				p.cfg.Logger.Error("clickhouse keeps rejecting a batch; set aside", "err", err, "rows", b.len())
				p.deadLetter(b.record())
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

func (p *Pipeline) countRows(b *flushBatch) {
	sz := b.sizes()
	for table, n := range map[string]int{"spans": sz.spans, "logs": sz.logs, "metric_series": sz.series,
		"metric_samples": sz.samples, "requests": sz.requests} {
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
