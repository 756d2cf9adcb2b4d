package chstore_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
	"github.com/meshscope/meshscope/schema/chtest"
)

// BenchmarkWriteSpans inserts batches of 100,000 spans into a real
// ClickHouse with the columnar batch API. ns/span is wall time, which includes
// the server's work on the insert; cpu-ns/span is this process's CPU (client
// side only: the server is another process).
func BenchmarkWriteSpans(b *testing.B) {
	st, _ := chtest.Store(b, "meshscope")
	batch := benchSpans()
	benchInserts(b, len(batch.Spans), func() error { return st.Write(context.Background(), batch) })
}

// BenchmarkWriteColumns inserts the same 100,000 spans' columns, built once,
// again and again: cpu-ns/span is what the insert costs this process beyond
// building the columns, nearly all of it clickhouse-go's (its columns read
// the encoded columns, then it encodes them again for the wire).
func BenchmarkWriteColumns(b *testing.B) {
	st, _ := chtest.Store(b, "meshscope")
	batch := benchSpans()
	cols := chstore.NewColumns()
	cols.Add(batch)
	benchInserts(b, len(batch.Spans), func() error { return st.WriteColumns(context.Background(), cols) })
}

// benchInserts runs insert, which inserts spans rows, b.N times and reports
// wall and CPU time per span.
func benchInserts(b *testing.B, spans int, insert func() error) {
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		if err := insert(); err != nil {
			b.Fatal(err)
		}
	}
	cpu := processCPU() - cpu0
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*spans), "cpu-ns/span")
}

// benchSpans is 100,000 spans shaped like HTTP server spans.
func benchSpans() *schema.Batch {
	batch := &schema.Batch{Spans: make([]schema.SpanRow, 100_000)}
	for i := range batch.Spans {
		batch.Spans[i] = schema.SpanRow{
			StartUnixNano: uint64(1795000000000000000 + i*1000), DurationNanos: 1_000_000,
			TraceID: schema.TraceID{byte(i), byte(i >> 8), 3}, SpanID: schema.SpanID{byte(i), byte(i >> 8), 9}, Name: "GET /api/cart", Kind: 2,
			ServiceName: "cart", ServiceNamespace: "shop", Workload: "cart", HTTPMethod: "GET", HTTPRoute: "/api/cart",
			HTTPStatusCode: 200, GRPCStatusCode: -1, ServerAddress: "cart",
			ResourceKeys: []string{"service.name", "k8s.namespace.name"}, ResourceValues: []string{"cart", "shop"},
			AttrKeys: []string{"http.request.method", "http.route", "http.response.status_code"}, AttrValues: []string{"GET", "/api/cart", "200"},
		}
	}
	return batch
}

// processCPU is the user and system CPU time used by this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
