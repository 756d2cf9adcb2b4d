package wal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/prometheus/prometheus/tsdb/wlog"
)

// Tail calls fn for every record from position from on, in order, waiting for
// new records when it reaches the head, until ctx is done. end is the
// position just after the record; pass it to Checkpoint once the record's
// contents are safe elsewhere. fn must not keep rec after it returns. When fn
// returns an error, Tail returns it. idle is called (when not nil) each time
// Tail has read everything committed so far and is about to wait.
func (w *WAL) Tail(ctx context.Context, from Position, fn func(rec []byte, end Position) error, idle func() error) error {
	seg := from.Segment
	for {
		done, err := w.tailSegment(ctx, seg, from, fn, idle)
		if err != nil {
			return err
		}
		if !done {
			return ctx.Err()
		}
		seg++
	}
}

// tailSegment reads segment seg to its end. It returns done=true when a later
// segment exists and this one is fully read.
func (w *WAL) tailSegment(ctx context.Context, seg int, from Position, fn func([]byte, Position) error, idle func() error) (bool, error) {
	f, err := w.openSegment(ctx, seg)
	if err != nil || f == nil {
		return false, err
	}
	defer f.Close()
	r := wlog.NewLiveReader(w.opts.Logger, nil, f)
	var plain []byte // records the log compressed itself, decompressed
	readAll := func() error {
		for r.Next() {
			end := Position{Segment: seg, Offset: int(r.Offset())}
			if seg == from.Segment && end.Offset <= from.Offset {
				continue // flushed before the checkpoint
			}
			if err := fn(decodeS2(&plain, r.Record()), end); err != nil {
				return err
			}
		}
		if err := r.Err(); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read wal segment %d: %w", seg, err)
		}
		return nil
	}
	retriedAt := int64(-1)
	for {
		if err := readAll(); err != nil {
			return false, err
		}
		head, changed := w.Head()
		if head.Segment > seg {
			// The writer moved on; whatever is left in this segment was
			// written before the switch. Read once more, then go on.
			return true, readAll()
		}
		if off := r.Offset(); int64(head.Offset) > off && retriedAt != off {
			retriedAt = off // committed data not yet seen: read again once
			continue
		}
		if idle != nil {
			if err := idle(); err != nil {
				return false, err
			}
		}
		select {
		case <-ctx.Done():
			return false, nil
		case <-changed:
		}
	}
}

// openSegment opens segment seg, waiting for it to be created.
func (w *WAL) openSegment(ctx context.Context, seg int) (*os.File, error) {
	for {
		f, err := os.Open(wlog.SegmentName(w.dir, seg))
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("open wal segment %d: %w", seg, err)
		}
		head, changed := w.Head()
		if head.Segment > seg {
			return nil, fmt.Errorf("wal segment %d is missing", seg)
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-changed:
		}
	}
}
