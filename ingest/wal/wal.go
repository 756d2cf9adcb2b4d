// Package wal is meshscope's write-ahead log: records are appended with group
// commit (many concurrent appenders share one write and one fsync) to segment
// files managed by Prometheus' tsdb/wlog, read back in order by one tailing
// reader, and released by a checkpoint once their contents are in ClickHouse.
// It knows nothing of what the records hold.
package wal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/tsdb/fileutil"
	"github.com/prometheus/prometheus/tsdb/wlog"
	"github.com/prometheus/prometheus/util/compression"
)

// ErrFull is returned by Append when the unflushed part of the log is at its
// bound.
var ErrFull = errors.New("write-ahead log full")

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("write-ahead log closed")

// Position is a place in the log: a segment and a byte offset in it.
type Position struct {
	Segment int `json:"segment"`
	Offset  int `json:"offset"`
}

// Before reports whether p comes before q.
func (p Position) Before(q Position) bool {
	return p.Segment < q.Segment || (p.Segment == q.Segment && p.Offset < q.Offset)
}

// Options configure a log.
type Options struct {
	// SegmentSize in bytes (multiple of 32 KiB); default 32 MiB.
	SegmentSize int
	// MaxBytes bounds the unflushed part of the log; Append fails with
	// ErrFull beyond it. Default 1 GiB.
	MaxBytes int64
	// NoSync skips the fsync after each group commit. Records still reach
	// the operating system before Append returns, so they survive a crash of
	// the process (kill -9) but not of the machine.
	NoSync bool
	// Compression of records in the segments: "s2" (default), "snappy",
	// "zstd" (the fewest bytes on disk for the most CPU) or "none". Each
	// record says how it is compressed, so a log written with one reads
	// with any. wlog compresses with snappy and zstd; S2 (klauspost's
	// faster extension of snappy, which also compresses better) the log
	// does itself: such a record is, to wlog, an uncompressed one whose
	// first byte is s2Record.
	Compression string
	// Logger and Registerer may be nil.
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// WAL is an open write-ahead log.
type WAL struct {
	dir     string
	opts    Options
	log     *wlog.WL
	reqs    chan *appendReq
	quit    chan struct{}
	stopped chan struct{}
	closing sync.Once

	mu       sync.Mutex
	head     Position      // end of the last committed record
	changed  chan struct{} // closed and replaced after each commit
	released Position      // checkpoint: everything before it is flushed
	intended Position      // end of the batch in flight when the log was opened, if any

	pending atomic.Int64 // bytes between checkpoint and head (estimate)

	metrics walMetrics
}

type walMetrics struct {
	bytes, records, commits prometheus.Counter
	pending, max            prometheus.GaugeFunc
}

type appendReq struct {
	rec  []byte
	size int // of the record before the log's own compression
	done chan error
}

// Open opens or creates the log in dir and reads its checkpoint.
func Open(dir string, opts Options) (*WAL, error) {
	if opts.SegmentSize == 0 {
		opts.SegmentSize = 32 << 20
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = 1 << 30
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create wal dir: %w", err)
	}
	if opts.Compression == "" {
		opts.Compression = CompressionS2
	}
	logCompression := compression.Type(opts.Compression)
	switch {
	case opts.Compression == CompressionS2:
		logCompression = compression.None
	case !slices.Contains(compression.Types(), logCompression):
		return nil, fmt.Errorf("wal compression %q: want one of %v", opts.Compression, append([]compression.Type{CompressionS2}, compression.Types()...))
	}
	l, err := wlog.NewSize(opts.Logger, nil, dir, opts.SegmentSize, logCompression)
	if err != nil {
		return nil, fmt.Errorf("open wal %s: %w", dir, err)
	}
	seg, off, err := l.LastSegmentAndOffset()
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("open wal %s: %w", dir, err)
	}
	w := &WAL{
		dir: dir, opts: opts, log: l,
		reqs: make(chan *appendReq, 1024), quit: make(chan struct{}), stopped: make(chan struct{}),
		head: Position{seg, off}, changed: make(chan struct{}),
	}
	cp, err := readCheckpoint(dir)
	if err != nil {
		l.Close()
		return nil, err
	}
	if first, _, err := wlog.Segments(dir); err == nil && cp.Segment < first {
		cp = Position{Segment: first}
	}
	w.released = cp
	if in, err := readIntent(dir); err != nil {
		opts.Logger.Warn("unreadable batch intent ignored", "err", err)
	} else if in.Start == cp && cp.Before(in.End) && !w.head.Before(in.End) {
		w.intended = in.End
	}
	w.pending.Store(w.distance(cp, w.head))
	w.metrics = walMetrics{
		bytes:   prometheus.NewCounter(prometheus.CounterOpts{Namespace: "meshscope", Subsystem: "wal", Name: "written_bytes_total", Help: "Bytes appended to the write-ahead log (before compression)."}),
		records: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "meshscope", Subsystem: "wal", Name: "records_total", Help: "Records appended to the write-ahead log."}),
		commits: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "meshscope", Subsystem: "wal", Name: "commits_total", Help: "Group commits (one write and one fsync each)."}),
		pending: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "meshscope", Subsystem: "wal", Name: "pending_bytes", Help: "Bytes in the log not yet flushed to ClickHouse."}, func() float64 { return float64(w.pending.Load()) }),
		max: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "meshscope", Subsystem: "wal", Name: "max_bytes",
			Help: "The most unflushed bytes the log holds (--wal-max-bytes); at it, receivers answer retryable errors."}, func() float64 { return float64(opts.MaxBytes) }),
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(w.metrics.bytes, w.metrics.records, w.metrics.commits, w.metrics.pending, w.metrics.max)
	}
	go w.commitLoop()
	return w, nil
}

func (w *WAL) distance(from, to Position) int64 {
	return int64(to.Segment-from.Segment)*int64(w.opts.SegmentSize) + int64(to.Offset-from.Offset)
}

// Dir is the log's directory.
func (w *WAL) Dir() string { return w.dir }

// PendingBytes is how much of the log has not been released by a checkpoint.
func (w *WAL) PendingBytes() int64 { return w.pending.Load() }

// Append writes rec and returns once it is in the log (and fsynced unless
// NoSync). The log keeps no reference to rec after Append returns.
func (w *WAL) Append(ctx context.Context, rec []byte) error {
	if w.pending.Load() >= w.opts.MaxBytes {
		return ErrFull
	}
	select {
	case <-w.quit:
		return ErrClosed
	default:
	}
	if len(rec) > 0 && rec[0] == s2Record {
		return errS2Prefix
	}
	size := len(rec)
	if w.opts.Compression == CompressionS2 {
		bp := s2Bufs.Get().(*[]byte)
		defer s2Bufs.Put(bp) // once the loop is done with the request
		rec = encodeS2(bp, rec)
	}
	req := &appendReq{rec: rec, size: size, done: make(chan error, 1)}
	select {
	case w.reqs <- req:
	case <-w.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-w.stopped:
		// The loop answered or drained every request queued before it
		// stopped; a request queued after that is refused here.
		select {
		case err := <-req.done:
			return err
		default:
			return ErrClosed
		}
	}
}

// commitLoop takes every queued request, writes them with one Log call and
// one fsync, and answers them all.
func (w *WAL) commitLoop() {
	defer close(w.stopped)
	var batch []*appendReq
	var recs [][]byte
	for {
		batch, recs = batch[:0], recs[:0]
		select {
		case r := <-w.reqs:
			batch = append(batch, r)
		case <-w.quit:
			w.drain()
			return
		}
	more:
		for len(batch) < 4096 {
			select {
			case r := <-w.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		var size int
		for _, r := range batch {
			recs = append(recs, r.rec)
			size += r.size
		}
		err := w.log.Log(recs...)
		if err == nil && !w.opts.NoSync {
			err = w.log.Sync()
		}
		if err != nil {
			err = fmt.Errorf("write wal: %w", err)
		} else {
			w.advance(size, len(batch))
		}
		for _, r := range batch {
			r.done <- err
		}
	}
}

func (w *WAL) drain() {
	for {
		select {
		case r := <-w.reqs:
			r.done <- ErrClosed
		default:
			return
		}
	}
}

func (w *WAL) advance(size, n int) {
	seg, off, err := w.log.LastSegmentAndOffset()
	w.mu.Lock()
	if err == nil {
		w.head = Position{seg, off}
	}
	w.pending.Store(w.distance(w.released, w.head))
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
	w.metrics.bytes.Add(float64(size))
	w.metrics.records.Add(float64(n))
	w.metrics.commits.Inc()
}

// Head returns the end of the last committed record and a channel closed at
// the next commit.
func (w *WAL) Head() (Position, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.head, w.changed
}

// Checkpoint records that everything before p is flushed, and deletes the
// segments wholly before p.
func (w *WAL) Checkpoint(p Position) error {
	if err := writeJSON(w.dir, "checkpoint.json", p, !w.opts.NoSync); err != nil {
		return fmt.Errorf("write wal checkpoint: %w", err)
	}
	w.mu.Lock()
	w.released = p
	w.pending.Store(w.distance(p, w.head))
	w.mu.Unlock()
	if err := w.log.Truncate(p.Segment); err != nil {
		return fmt.Errorf("truncate wal below segment %d: %w", p.Segment, err)
	}
	return nil
}

// intent is the batch the flusher is writing: the records from Start (the
// checkpoint then) up to End.
type intent struct {
	Start Position `json:"start"`
	End   Position `json:"end"`
}

// Intend records that the records from the checkpoint up to end are being
// written to ClickHouse as one batch. If the process stops before the
// checkpoint moves to end, the next start can write exactly that batch
// again (Intended): ClickHouse drops an inserted block equal to one it
// already has on replicated tables (replicated_deduplication_window) and on
// tables with a non_replicated_deduplication_window, so the rows land once.
func (w *WAL) Intend(end Position) error {
	if err := writeJSON(w.dir, "intent.json", intent{Start: w.Released(), End: end}, !w.opts.NoSync); err != nil {
		return fmt.Errorf("write wal batch intent: %w", err)
	}
	return nil
}

// Intended returns the end of the batch that was being written from the
// checkpoint when the log was last closed or the process stopped, if the
// checkpoint did not move past it and the log holds its records.
func (w *WAL) Intended() (Position, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.intended, w.intended != (Position{})
}

func readIntent(dir string) (intent, error) {
	var in intent
	if err := readJSON(dir, "intent.json", &in); err != nil {
		return intent{}, fmt.Errorf("read wal batch intent: %w", err)
	}
	return in, nil
}

// Released is the last checkpoint.
func (w *WAL) Released() Position {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.released
}

func readCheckpoint(dir string) (Position, error) {
	var p Position
	if err := readJSON(dir, "checkpoint.json", &p); err != nil {
		return Position{}, fmt.Errorf("read wal checkpoint: %w", err)
	}
	return p, nil
}

// readJSON decodes dir/name into v; a missing file leaves v as it is.
func readJSON(dir, name string, v any) error {
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeJSON replaces dir/name with v's JSON encoding (written aside, then
// renamed over it, so a reader sees the old or the new file, whole). With
// sync the file and the directory are synced, so the new file also
// survives a machine crash.
func writeJSON(dir, name string, v any, sync bool) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if !sync {
		return os.Rename(tmp, filepath.Join(dir, name))
	}
	return fileutil.Rename(tmp, filepath.Join(dir, name)) // and syncs the directory
}

// Close stops accepting appends and closes the log. Appends already queued
// fail with ErrClosed or complete.
func (w *WAL) Close() error {
	var err error
	w.closing.Do(func() {
		close(w.quit)
		<-w.stopped
		err = w.log.Close()
	})
	return err
}
