package graph

import (
	"context"
	"errors"
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
		for rows := range b.flushQ {
			b.write(writeCtx, rows)
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
		if rows := b.sweep(now-b.window+1, flushTo); len(rows) > 0 {
			b.enqueue(rows)
		}
		b.nextFlush = flushTo
	}
	b.flushMu.Lock()
	b.flushClosed = true
	close(b.flushQ)
	b.flushMu.Unlock()
}

// enqueue hands rows to the writer goroutine without waiting: when the queue
// is full (the writer is slow or down) the rows are dropped and counted.
func (b *Builder) enqueue(rows []EdgeRow) {
	b.flushMu.Lock()
	defer b.flushMu.Unlock()
	if b.flushClosed {
		b.m.flushDroppedQueue.Add(float64(len(rows)))
		return
	}
	select {
	case b.flushQ <- rows:
	default:
		b.m.flushDroppedQueue.Add(float64(len(rows)))
		b.cfg.Logger.Warn("graph: edge flush queue full; bucket dropped", "rows", len(rows))
	}
}

// write writes one batch, retrying with backoff.
func (b *Builder) write(ctx context.Context, rows []EdgeRow) {
	backoff := 500 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := b.cfg.Writer.WriteEdges(ctx, rows)
		if err == nil {
			b.m.flushedRows.Add(float64(len(rows)))
			return
		}
		b.m.flushFailures.Inc()
		if attempt >= b.cfg.FlushRetries || ctx.Err() != nil {
			b.m.flushDroppedWrite.Add(float64(len(rows)))
			b.cfg.Logger.Error("graph: edge flush failed; bucket dropped", "rows", len(rows), "attempts", attempt+1, "err", err)
			return
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
