package otlp

import (
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/meshscope/meshscope/schema"
)

// benchRequest is an export of 1,000 spans shaped like real HTTP traffic.
func benchRequest(b *testing.B) []byte {
	td := ptrace.NewTraces()
	for s := range 10 {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", s))
		rs.Resource().Attributes().PutStr("k8s.namespace.name", "shop")
		rs.Resource().Attributes().PutStr("k8s.pod.name", fmt.Sprintf("svc-%d-7d9f8b6c5d-x2x4z", s))
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		now := time.Now()
		for i := range 100 {
			sp := spans.AppendEmpty()
			sp.SetTraceID(pcommon.TraceID{byte(s), byte(i), 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
			sp.SetSpanID(pcommon.SpanID{byte(s), byte(i), 3, 4, 5, 6, 7, 8})
			sp.SetParentSpanID(pcommon.SpanID{byte(s), byte(i), 3, 4, 5, 6, 7, 9})
			sp.SetName("GET /api/cart")
			sp.SetKind(ptrace.SpanKindServer)
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
			sp.Attributes().PutStr("http.request.method", "GET")
			sp.Attributes().PutStr("http.route", "/api/cart")
			sp.Attributes().PutInt("http.response.status_code", 200)
			sp.Attributes().PutStr("server.address", "cart")
		}
	}
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkDecodeTraces: pdata protobuf decoding alone (the baseline).
func BenchmarkDecodeTraces(b *testing.B) {
	body := benchRequest(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/span")
}

// BenchmarkDecodeAndConvertTraces: decoding plus conversion to rows.
func BenchmarkDecodeAndConvertTraces(b *testing.B) {
	body := benchRequest(b)
	c := NewConverter(1000)
	var batch schema.Batch
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			b.Fatal(err)
		}
		batch.Reset()
		c.TracesToRows(req.Traces(), &batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/span")
}
