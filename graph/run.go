package graph

import (
	"context"
	"errors"
	"os"
	"time"
)

// Run ticks every Tick until ctx is done, while a background goroutine
// writes the flushed buckets. When ctx is done it flushes everything still
// held (open buckets as partial rows: readers sum rows), waits for the writer
// at most ShutdownFlushTimeout, closes every subscription and returns nil.
// Run may be called once.
func (b *Builder) Run(ctx context.Context) error {
	if !b.running.CompareAndSwap(false, true) {
		return errors.New("graph: builder already running")
	}
	writeCtx, cancelWrites := context.WithCancel(context.Background())
	defer cancelWrites()
	written := make(chan struct{})
	go func() {
		defer close(written)
		for it := range b.flushQ {
			// The snapshot goes first: a crash between it and the rows loses
			// the rows (as without snapshots) but never counts them twice.
			if it.snap != nil {
				b.writeSnapshot(it.snap)
			}
			ok := len(it.rows) == 0 || b.write(writeCtx, it.rows)
			if it.final && ok && b.cfg.SnapshotPath != "" {
				// Everything is written: nothing for a restart to restore.
				if err := os.Remove(b.cfg.SnapshotPath); err != nil && !errors.Is(err, os.ErrNotExist) {
					b.cfg.Logger.Warn("graph: remove snapshot", "err", err)
				}
			}
		}
	}()
	t := time.NewTicker(b.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			b.flushAll()
			stop := time.AfterFunc(b.cfg.ShutdownFlushTimeout, cancelWrites)
			<-written
			stop.Stop()
			b.pub.Close()
			return nil
		case <-t.C:
			b.Advance(b.cfg.Now())
		}
	}
}

// flushAll queues every bucket still held, then closes the queue.
func (b *Builder) flushAll() {
	b.tickMu.Lock()
	defer b.tickMu.Unlock()
	if b.cfg.Writer != nil {
		now := b.cfg.Now().Unix()
		flushTo := floorTo(now, BucketSeconds) + BucketSeconds
		b.enqueue(flushItem{rows: b.sweep(now-b.window+1, flushTo, nil), final: true})
		b.nextFlush = flushTo
	}
	b.flushMu.Lock()
	b.flushClosed = true
	close(b.flushQ)
	b.flushMu.Unlock()
}

// flushItem is one flush for the writer goroutine: rows for edges_10s, and
// the snapshot of the buckets still open after them, if any. final is the
// flush of everything at shutdown.
type flushItem struct {
	rows  []EdgeRow
	snap  *snapshot
	final bool
}

// enqueue hands a flush to the writer goroutine without waiting: when the
// queue is full (the writer is slow or down) its rows are dropped and
// counted.
func (b *Builder) enqueue(it flushItem) {
	b.flushMu.Lock()
	defer b.flushMu.Unlock()
	if b.flushClosed {
		b.m.flushDroppedQueue.Add(float64(len(it.rows)))
		return
	}
	select {
	case b.flushQ <- it:
	default:
		b.m.flushDroppedQueue.Add(float64(len(it.rows)))
		b.cfg.Logger.Warn("graph: edge flush queue full; bucket dropped", "rows", len(it.rows))
	}
}

// write writes one batch, retrying with backoff, and reports whether it
// was written.
func (b *Builder) write(ctx context.Context, rows []EdgeRow) bool {
	backoff := 500 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := b.cfg.Writer.WriteEdges(ctx, rows)
		if err == nil {
			b.m.flushedRows.Add(float64(len(rows)))
			return true
		}
		b.m.flushFailures.Inc()
		if attempt >= b.cfg.FlushRetries || ctx.Err() != nil {
			b.m.flushDroppedWrite.Add(float64(len(rows)))
			b.cfg.Logger.Error("graph: edge flush failed; bucket dropped", "rows", len(rows), "attempts", attempt+1, "err", err)
			return false
		}
		b.cfg.Logger.Warn("graph: edge flush failed; retrying", "rows", len(rows), "in", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		backoff = min(backoff*2, 30*time.Second)
	}
}
