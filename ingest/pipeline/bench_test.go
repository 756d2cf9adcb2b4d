package pipeline

import (
	"testing"

	"github.com/meshscope/meshscope/schema"
)

func benchSpans(n int) *schema.Batch {
	b := &schema.Batch{Spans: make([]schema.SpanRow, n)}
	for i := range b.Spans {
		b.Spans[i] = schema.SpanRow{
			StartUnixNano: uint64(1795000000000000000 + i), DurationNanos: 1_000_000,
			TraceID: schema.TraceID{byte(i), 2, 3}, SpanID: schema.SpanID{byte(i), 9}, Name: "GET /api/cart", Kind: 2,
			ServiceName: "cart", ServiceNamespace: "shop", Workload: "cart", HTTPMethod: "GET", HTTPRoute: "/api/cart",
			HTTPStatusCode: 200, GRPCStatusCode: -1, ServerAddress: "cart",
			ResourceKeys: []string{"service.name", "k8s.namespace.name", "k8s.pod.name"}, ResourceValues: []string{"cart", "shop", "cart-7d9f8b6c5d-x2x4z"},
			AttrKeys: []string{"http.request.method", "http.route", "http.response.status_code", "server.address"}, AttrValues: []string{"GET", "/api/cart", "200", "cart"},
		}
	}
	return b
}

// BenchmarkEncodeDecodeRecord: one write-ahead log record of 1,000 spans
// encoded on the ingest side and decoded by the flusher.
func BenchmarkEncodeDecodeRecord(b *testing.B) {
	in := benchSpans(1000)
	var buf []byte
	var out schema.Batch
	b.ReportAllocs()
	for b.Loop() {
		buf = EncodeBatch(buf[:0], in)
		out.Reset()
		if err := DecodeBatch(buf, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/span")
	b.ReportMetric(float64(len(buf))/1000, "record-B/span")
}
