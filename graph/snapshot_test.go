package graph

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// snapshotCalls are the calls of the crash test: several buckets, edges,
// provenances (one second seen by two inputs), errors, unknown latency,
// latency histograms and bytes.
func snapshotCalls() []Observation {
	web, cart, db := svc("shop", "web"), svc("shop", "cart"), Party{Kind: KindDatabase, Name: "postgresql/orders"}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	var obs []Observation
	for _, s := range []int{3, 9, 15, 16, 25, 31} {
		o := call(at(s), web, cart, uint64(s), FromAccessLog, ReporterDestination)
		o.Errors, o.BytesSent, o.BytesReceived, o.MTLS = 1, 100, 2000, uint64(s)
		obs = append(obs, o, call(at(s), web, cart, 2*uint64(s), FromMetric, ReporterDestination))
		q := call(at(s), cart, db, 3, FromSpan, ReporterSource)
		q.DurationNanos = int64(s) * int64(time.Millisecond)
		obs = append(obs, q)
	}
	untimed := call(at(16), web, cart, 7, FromMetric, ReporterSource)
	untimed.DurationNanos = -1
	hist := call(at(25), cart, db, 4, FromMetric, ReporterDestination)
	hist.Latency = &Histogram{}
	hist.Latency[40], hist.Latency[60] = 1, 3
	return append(obs, untimed, untimed, hist)
}

// runBuilder runs b until the returned stop is called.
func runBuilder(t *testing.T, b *Builder) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	return func() {
		cancel()
		require.NoError(t, <-done)
	}
}

// A builder that dies after a flush leaves the buckets it had not written in
// its snapshot; the next one restores them and writes them when due. Every
// call then lands in edges_10s once, exactly as with a builder that never
// stopped; a clean stop removes the snapshot.
func TestSnapshotRestoresOpenBucketsAfterACrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "graph-snapshot")
	cfg := func(clk *fakeClock, w *memWriter, reg *prometheus.Registry) BuilderConfig {
		return BuilderConfig{Now: clk.Now, Writer: w, SnapshotPath: path, Registerer: reg, Tick: 10 * time.Millisecond}
	}
	late := call(t0.Add(5*time.Second), svc("shop", "web"), svc("shop", "cart"), 1000, FromAccessLog, ReporterDestination)
	after := call(t0.Add(17*time.Second), svc("shop", "web"), svc("shop", "cart"), 5, FromAccessLog, ReporterDestination)

	// The control never stops.
	clkC, wC := newFakeClock(t0.Add(32*time.Second)), &memWriter{}
	control := NewBuilder(cfg(clkC, wC, prometheus.NewRegistry()))
	control.cfg.SnapshotPath = ""
	control.Observe(snapshotCalls())
	clkC.Set(t0.Add(45 * time.Second))
	control.Advance(clkC.Now())
	control.Observe([]Observation{late, after})
	stopC := runBuilder(t, control)
	clkC.Set(t0.Add(75 * time.Second))
	stopC()

	// The first builder writes bucket [0, 10) at 40 s, with the snapshot of
	// the rest, and dies.
	clkA, wA := newFakeClock(t0.Add(32*time.Second)), &memWriter{}
	regA := prometheus.NewRegistry()
	first := NewBuilder(cfg(clkA, wA, regA))
	stopA := runBuilder(t, first)
	first.Observe(snapshotCalls())
	clkA.Set(t0.Add(41 * time.Second))
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(first.m.snapshots.WithLabelValues("written")) >= 1 && len(wA.copyRows()) > 0
	}, 5*time.Second, 5*time.Millisecond)
	require.FileExists(t, path)
	for _, r := range wA.copyRows() {
		require.Less(t, r.BucketUnix, t0.Unix()+10, "only the due bucket is written")
	}

	// The next one restores the rest before taking input: a call for the
	// written bucket is late, a call for a restored one adds to it.
	clkB, wB := newFakeClock(t0.Add(45*time.Second)), &memWriter{}
	regB := prometheus.NewRegistry()
	second := NewBuilder(cfg(clkB, wB, regB))
	cells, err := second.Restore()
	require.NoError(t, err)
	require.Positive(t, cells)
	second.Observe([]Observation{late, after})
	require.EqualValues(t, 1, testutil.ToFloat64(second.m.droppedLate))
	stopB := runBuilder(t, second)
	clkB.Set(t0.Add(75 * time.Second))
	stopB()

	require.ElementsMatch(t, wC.copyRows(), append(wA.copyRows(), wB.copyRows()...),
		"the rows of the crashed and the restarted builder are the rows of one that never stopped")
	_, err = os.Stat(path)
	require.ErrorIs(t, err, os.ErrNotExist, "a clean stop leaves no snapshot")

	// The dead builder's goroutines end with the test.
	stopA()
}

// A snapshot that cannot be read is an error, not a silent empty graph.
func TestRestoreRejectsADamagedSnapshot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "graph-snapshot")
	require.NoError(t, os.WriteFile(path, []byte("not a snapshot"), 0o644))
	b := NewBuilder(BuilderConfig{Now: newFakeClock(t0).Now, Writer: &memWriter{}, SnapshotPath: path})
	_, err := b.Restore()
	require.ErrorContains(t, err, "graph snapshot")
}

func (w *memWriter) copyRows() []EdgeRow {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]EdgeRow(nil), w.rows...)
}

// BenchmarkSnapshot takes and writes one snapshot of 50,000 edges with 40
// open seconds of calls each (the flush delay and a bucket), as every tick
// that flushes a bucket does (every 10 seconds).
func BenchmarkSnapshot(b *testing.B) {
	parties := benchParties(5000)
	edges := benchEdges(5000, 50_000)
	clk := newFakeClock(time.Now().Truncate(10 * time.Second))
	path := filepath.Join(b.TempDir(), "graph-snapshot")
	bld := NewBuilder(BuilderConfig{Now: clk.Now, Writer: &memWriter{}, SnapshotPath: path})
	start := clk.Now()
	for s := range 40 {
		at := start.Add(time.Duration(s) * time.Second)
		clk.Set(at)
		bld.Observe(benchObservations(parties, edges, len(edges), at))
	}
	var size int64
	var capture time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		snap := newSnapshot(start.Unix(), start.Unix(), int(size))
		for i := range bld.shards {
			sh := &bld.shards[i]
			sh.mu.Lock()
			sh.each(func(e *edgeState) bool { snap.add(e); return false })
			sh.mu.Unlock()
		}
		snap.end()
		capture += time.Since(t0)
		bld.writeSnapshot(snap)
		st, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		size = st.Size()
	}
	b.ReportMetric(float64(size)/(1<<20), "MiB")
	b.ReportMetric(float64(capture.Milliseconds())/float64(b.N), "capture-ms")
}

// A snapshot that cannot be written takes the previous one away: that one
// holds cells of the bucket about to be written, which a restart would
// count again.
func TestFailedSnapshotRemovesThePreviousOne(t *testing.T) {
	path := filepath.Join(t.TempDir(), "graph-snapshot")
	require.NoError(t, os.WriteFile(path, []byte("previous"), 0o644))
	require.NoError(t, os.Mkdir(path+".tmp", 0o755)) // where the new one would be written
	b := NewBuilder(BuilderConfig{Now: newFakeClock(t0).Now, Writer: &memWriter{}, SnapshotPath: path})
	s := newSnapshot(t0.Unix(), t0.Unix(), 0)
	s.end()
	b.writeSnapshot(s)
	require.EqualValues(t, 1, testutil.ToFloat64(b.m.snapshots.WithLabelValues("failed")))
	_, err := os.Stat(path)
	require.ErrorIs(t, err, os.ErrNotExist)
}
