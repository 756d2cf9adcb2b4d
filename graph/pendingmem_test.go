package graph

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
)

// A client span waiting in the pairer's store for its other half holds no
// more than PendingSpanBytes of heap, the figure serve sizes the store by
// (--span-max-pending 0): measured over 200,000 calls to databases and
// external hosts, which never answer and so wait all of --span-wait.
func TestPendingSpanMemory(t *testing.T) {
	const n = 200_000
	clock := time.Unix(1_800_000_000, 0)
	bld := NewBuilder(BuilderConfig{MaxPendingSpans: 1 << 20, Now: func() time.Time { return clock }})
	spans := make([]schema.SpanRow, 256)
	for i := range spans {
		s := &spans[i]
		s.Kind, s.ServiceName, s.ServiceNamespace, s.ServiceVersion = schema.SpanKindClient, fmt.Sprintf("svc-%d", i%50), "shop", "v1"
		s.Name, s.HTTPMethod, s.HTTPStatusCode, s.GRPCStatusCode, s.DurationNanos = "GET /api/items/{id}", "GET", 200, -1, 3e6
		s.ServerAddress = fmt.Sprintf("db%d.example.com", i%12)
		s.HTTPRoute = "/api/items/{id}"
	}
	observe := func(count int, seq *uint64) {
		for done := 0; done < count; done += len(spans) {
			for i := range spans {
				*seq++
				s := &spans[i]
				binary.LittleEndian.PutUint64(s.TraceID[:], *seq)
				binary.LittleEndian.PutUint64(s.TraceID[8:], *seq*7919)
				binary.LittleEndian.PutUint64(s.SpanID[:], *seq*104729)
				s.StartUnixNano = uint64(clock.UnixNano())
			}
			bld.ObserveSpans(spans)
		}
	}
	var seq uint64
	// Warm the interned names and the maps' first growth out of the figure.
	observe(10*len(spans), &seq)
	before := bld.pairer.pending()
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	observe(n, &seq)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	waiting := bld.pairer.pending() - before
	require.GreaterOrEqual(t, waiting, n, "every span waits")
	per := float64(m1.HeapAlloc-m0.HeapAlloc) / float64(waiting)
	t.Logf("%d spans waiting, %.0f heap bytes each (PendingSpanBytes %d)", waiting, per, PendingSpanBytes)
	require.LessOrEqual(t, per, float64(PendingSpanBytes))
	runtime.KeepAlive(bld)
}
