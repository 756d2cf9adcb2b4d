package wal

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// collect tails w from p until n records are seen.
func collect(t *testing.T, w *WAL, from Position, n int) ([]string, Position) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got []string
	var last Position
	errDone := errors.New("done")
	err := w.Tail(ctx, from, func(rec []byte, end Position) error {
		got = append(got, string(rec))
		last = end
		if len(got) == n {
			return errDone
		}
		return nil
	}, nil)
	require.ErrorIs(t, err, errDone, "read %d of %d records", len(got), n)
	return got, last
}

func TestConcurrentAppendsAreReadBackInCommitOrder(t *testing.T) {
	w, err := Open(t.TempDir(), Options{SegmentSize: 64 << 10})
	require.NoError(t, err)
	defer w.Close()
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				require.NoError(t, w.Append(context.Background(), append(fmt.Appendf(nil, "w%d-%04d-", g, i), noise(200)...)))
			}
		}()
	}
	wg.Wait()
	got, _ := collect(t, w, Position{}, writers*each)
	// Each writer's records appear in its own order (segments rolled over).
	next := map[byte]int{}
	for _, r := range got {
		var g, i int
		_, err := fmt.Sscanf(r[:7], "w%d-%04d", &g, &i)
		require.NoError(t, err)
		require.Equal(t, next[byte(g)], i)
		next[byte(g)]++
	}
	head, _ := w.Head()
	require.Positive(t, head.Segment, "records span several segments")
}

// noise is a record of n random bytes that, as every caller's record, does
// not start with s2Record (Append refuses those).
func noise(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.IntN(256))
	}
	if n > 0 && b[0] == s2Record {
		b[0] = 0
	}
	return b
}

func TestCheckpointSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(dir, Options{SegmentSize: 64 << 10})
	require.NoError(t, err)
	for i := range 100 {
		require.NoError(t, w.Append(context.Background(), append(fmt.Appendf(nil, "rec-%03d-", i), noise(1000)...)))
	}
	got, _ := collect(t, w, Position{}, 60)
	require.Equal(t, "rec-059", got[59][:7])
	// Checkpoint after record 59.
	_, end := collect(t, w, Position{}, 60)
	require.NoError(t, w.Checkpoint(end))
	require.NoError(t, w.Close())

	w2, err := Open(dir, Options{SegmentSize: 64 << 10})
	require.NoError(t, err)
	defer w2.Close()
	require.Equal(t, end, w2.Released())
	rest, _ := collect(t, w2, w2.Released(), 40)
	require.Equal(t, "rec-060", rest[0][:7])
	require.Equal(t, "rec-099", rest[39][:7])
}

func TestAppendFailsWhenFull(t *testing.T) {
	w, err := Open(t.TempDir(), Options{MaxBytes: 10 << 10, NoSync: true})
	require.NoError(t, err)
	defer w.Close()
	var full bool
	for range 100 {
		if err := w.Append(context.Background(), noise(1024)); err != nil {
			require.ErrorIs(t, err, ErrFull)
			full = true
			break
		}
	}
	require.True(t, full)
	require.GreaterOrEqual(t, w.PendingBytes(), int64(10<<10))
	// Releasing everything makes room again.
	head, _ := w.Head()
	require.NoError(t, w.Checkpoint(head))
	require.NoError(t, w.Append(context.Background(), []byte("again")))
}

func TestAppendAfterCloseFails(t *testing.T) {
	w, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.ErrorIs(t, w.Append(context.Background(), []byte("x")), ErrClosed)
}

// A batch intent is found again on reopen while it starts at the
// checkpoint and the log holds its records, and only then.
func TestIntentSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 64 << 10, NoSync: true}
	w, err := Open(dir, opts)
	require.NoError(t, err)
	for i := range 20 {
		require.NoError(t, w.Append(context.Background(), fmt.Appendf(nil, "rec-%03d", i)))
	}
	_, first := collect(t, w, Position{}, 5)
	_, second := collect(t, w, Position{}, 12)
	_, ok := w.Intended()
	require.False(t, ok, "a new log intends nothing")
	require.NoError(t, w.Checkpoint(first))
	require.NoError(t, w.Intend(second))
	require.NoError(t, w.Close())

	reopen := func() *WAL {
		w, err := Open(dir, opts)
		require.NoError(t, err)
		return w
	}
	w = reopen()
	end, ok := w.Intended()
	require.True(t, ok)
	require.Equal(t, second, end)
	// Written: the checkpoint moves to the batch's end, the intent is done.
	require.NoError(t, w.Checkpoint(second))
	require.NoError(t, w.Close())
	w = reopen()
	_, ok = w.Intended()
	require.False(t, ok, "the checkpoint passed the batch")
	require.NoError(t, w.Close())

	// An intent past the log's head (its records lost) is ignored.
	w = reopen()
	require.NoError(t, w.Intend(Position{Segment: second.Segment + 5, Offset: 1}))
	require.NoError(t, w.Close())
	w = reopen()
	defer w.Close()
	_, ok = w.Intended()
	require.False(t, ok, "an intent beyond the head")
}

// A log written with one compression reads back whole after a restart with
// another: each record says how it is compressed. Smaller on disk with zstd.
func TestCompressionsMix(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var want []string
	pending := map[string]int64{}
	for _, c := range []string{"snappy", "zstd", "none", "s2", "snappy", "s2"} {
		w, err := Open(dir, Options{Compression: c})
		require.NoError(t, err, c)
		before := w.PendingBytes()
		for i := range 20 {
			// Compressible records, as real ones are.
			rec := fmt.Sprintf("%s-%02d-%s", c, i, strings.Repeat("service:shop/cart GET /api/cart 200 ", 40))
			require.NoError(t, w.Append(ctx, []byte(rec)))
			want = append(want, rec)
		}
		pending[c] = w.PendingBytes() - before
		got, _ := collect(t, w, Position{}, len(want))
		require.Equal(t, want, got, "after writing with %s", c)
		require.NoError(t, w.Close())
	}
	require.Less(t, pending["zstd"], pending["none"])
	require.Less(t, pending["snappy"], pending["none"])
	require.Less(t, pending["s2"], pending["none"])

	// The log's own marker is not a caller's first byte.
	w, err := Open(dir, Options{Compression: "none"})
	require.NoError(t, err)
	require.ErrorIs(t, w.Append(ctx, []byte{s2Record, 1, 2}), errS2Prefix)
	require.NoError(t, w.Close())
	// A record marked but not S2 reads back as it is.
	var buf []byte
	require.Equal(t, []byte{s2Record, 9, 9, 9}, decodeS2(&buf, []byte{s2Record, 9, 9, 9}))

	_, err = Open(dir, Options{Compression: "lz4"})
	require.ErrorContains(t, err, `wal compression "lz4"`)
}
