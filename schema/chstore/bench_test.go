package chstore_test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

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
// building the columns. "http" sends them through the HTTP interface as they
// are (serve's way with the server it manages, and with --clickhouse-http);
// "native" through clickhouse-go's batch, whose columns decode them and
// encode them again for the wire (a DSN alone), in the same run.
func BenchmarkWriteColumns(b *testing.B) {
	srv := chtest.Server(b)
	batch := benchSpans()
	cols := chstore.NewColumns()
	cols.Add(batch)
	for _, way := range []string{"http", "native"} {
		b.Run(way, func(b *testing.B) {
			cfg := chstore.Config{DSN: srv.DSN(way)}
			if way == "http" {
				cfg.HTTPURL = srv.HTTPURL()
			}
			ctx := context.Background()
			st, err := chstore.Open(ctx, cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			if _, err := st.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			benchInserts(b, len(batch.Spans), func() error { return st.WriteColumns(ctx, cols) })
		})
	}
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

// BenchmarkWriteSpansLowCard is BenchmarkWriteSpans into a spans table
// whose schema.Column.LowCard columns are LowCardinality(String), as servers
// from 19.3 have them (ClickHouse 18.16 has them behind
// allow_experimental_low_cardinality_type), against the table with String
// columns (the 18.16 schema) in the same run.
func BenchmarkWriteSpansLowCard(b *testing.B) {
	srv := chtest.Server(b)
	ctx := clickhouse.Context(context.Background(), clickhouse.WithSettings(clickhouse.Settings{
		"allow_experimental_low_cardinality_type": 1,
	}))
	batch := benchSpans()
	for _, lowCard := range []bool{false, true} {
		name := "String"
		if lowCard {
			name = "LowCardinality"
		}
		b.Run(name, func(b *testing.B) {
			st, err := chstore.Open(ctx, chstore.Config{DSN: srv.DSN(strings.ToLower(name))})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			if err := st.Conn().Exec(ctx, "DROP TABLE IF EXISTS spans"); err != nil {
				b.Fatal(err)
			}
			if err := st.Conn().Exec(ctx, createTable(schema.SpansTable, lowCard, "MergeTree() ORDER BY (service_name, name, timestamp)")); err != nil {
				b.Fatal(err)
			}
			benchInserts(b, len(batch.Spans), func() error { return st.Write(ctx, batch) })
		})
	}
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
