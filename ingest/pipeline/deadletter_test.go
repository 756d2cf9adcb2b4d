package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/ingest/wal"
	"github.com/meshscope/meshscope/schema/chstore"
)

// refuser is a ColumnWriter standing in for ClickHouse's answers (what is
// tested is the flusher's handling of them): it fails every write with err
// and counts the attempts.
type refuser struct {
	mu       sync.Mutex
	err      error
	attempts int
}

func (r *refuser) WriteColumns(context.Context, *chstore.Columns) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	return r.err
}

func (r *refuser) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts
}

// A batch that ClickHouse refuses (an exception) or whose rows do not fit
// its tables (chstore.ErrRejected) is tried MaxAttempts times, then set
// aside as one record of every row in the dead-letter directory, counted,
// and checkpointed past; a connection failure is retried without end.
func TestDeadLetters(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		dead bool
	}{
		{"exception", fmt.Errorf("insert spans: %w", &clickhouse.Exception{Code: 53, Message: "type mismatch"}), true},
		{"rejected", fmt.Errorf("insert spans: column x: %w: %w", chstore.ErrRejected, errors.New("cannot convert")), true},
		{"connection", errors.New("dial tcp: connection refused"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			w, err := wal.Open(t.TempDir(), wal.Options{NoSync: true})
			require.NoError(t, err)
			defer w.Close()
			dir := filepath.Join(t.TempDir(), "dead-letter")
			store := &refuser{err: tc.err}
			p := New(w, store, nil, Config{FlushRows: 3, FlushInterval: time.Hour, MaxAttempts: 2, DeadLetterDir: dir})
			a, b := spans("a", 2), spans("b", 1)
			require.NoError(t, p.Append(ctx, a, nil))
			require.NoError(t, p.Append(ctx, b, nil))
			stop := runPipeline(ctx, p)
			if !tc.dead {
				require.Eventually(t, func() bool { return store.count() >= 3 }, 10*time.Second, 10*time.Millisecond, "retried past MaxAttempts")
				stop()
				require.Zero(t, testutil.ToFloat64(p.m.deadLetters))
				require.NoDirExists(t, dir)
				require.GreaterOrEqual(t, testutil.ToFloat64(p.m.flushErrors.WithLabelValues("connection")), 2.0, "counted as connection failures")
				return
			}
			require.Eventually(t, func() bool { return testutil.ToFloat64(p.m.deadLetters) == 1 }, 10*time.Second, 10*time.Millisecond)
			stop()
			require.Equal(t, 2, store.count(), "MaxAttempts")
			require.Equal(t, 1.0, testutil.ToFloat64(p.m.flushErrors.WithLabelValues(tc.name)))
			files, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Len(t, files, 1)
			rec, err := os.ReadFile(filepath.Join(dir, files[0].Name()))
			require.NoError(t, err)
			fb := newFlushBatch()
			require.NoError(t, fb.add(rec))
			require.True(t, bytes.Equal(encoded(a, b), fb.cols.AppendEncoded(nil)), "the dead letter holds every row of the batch")
			head, _ := w.Head()
			require.Equal(t, head, w.Released(), "the checkpoint moved past the batch")
		})
	}
}
