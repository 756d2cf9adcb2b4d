package pipeline

import (
	"testing"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/s2"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
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

// BenchmarkDecodeFlushBatch: the flusher's side, 100 records of 1,000 spans
// decoded into one batch of 100,000 rows; "fresh" starts from an empty batch
// (the first batches after a start), "reused" from a reset one (steady state).
func BenchmarkDecodeFlushBatch(b *testing.B) {
	rec := EncodeBatch(nil, benchSpans(1000))
	for _, reuse := range []bool{false, true} {
		name := "fresh"
		if reuse {
			name = "reused"
		}
		b.Run(name, func(b *testing.B) {
			out := new(schema.Batch)
			b.ReportAllocs()
			for b.Loop() {
				if reuse {
					out.Reset()
				} else {
					out = new(schema.Batch)
				}
				for range 100 {
					if err := DecodeBatch(rec, out); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100_000), "ns/span")
		})
	}
}

// BenchmarkDecodeRecordView: the flusher's side when it builds insert
// columns: each record of 1,000 spans decoded into a reset batch whose rows
// borrow the record ("view") or own a copy of it ("copy", DecodeBatch).
func BenchmarkDecodeRecordView(b *testing.B) {
	rec := EncodeBatch(nil, benchSpans(1000))
	for _, view := range []bool{false, true} {
		name := "copy"
		if view {
			name = "view"
		}
		b.Run(name, func(b *testing.B) {
			var out schema.Batch
			var v viewDecoder
			b.ReportAllocs()
			for b.Loop() {
				out.Reset()
				var err error
				if view {
					err = v.decode(rec, &out)
				} else {
					err = DecodeBatch(rec, &out)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/span")
		})
	}
}

// BenchmarkRecordToColumns: what a record of 1,000 spans costs on its way
// into the insert columns, both sides: "rows" (version 1) encodes the rows
// on the ingest side, and the flusher decodes them and adds them to the
// columns; "columns" (version 2) encodes the rows as columns on the ingest
// side, and the flusher appends those; "runs" (version 3, written today)
// is "columns" with the runs of repeated strings written once (all the
// spans here are of one resource). 100 records fill one 100,000-row batch,
// reset between iterations (steady state).
func BenchmarkRecordToColumns(b *testing.B) {
	in := benchSpans(1000)
	for _, way := range []string{"rows", "columns", "runs"} {
		b.Run(way, func(b *testing.B) {
			fb := newFlushBatch()
			pool := newColumnsPool()
			plain := chstore.NewColumns()
			var rec []byte
			b.ReportAllocs()
			for b.Loop() {
				fb.reset()
				for range 100 {
					switch way {
					case "rows":
						rec = EncodeBatch(rec[:0], in)
					case "columns":
						plain.Reset()
						plain.Add(in)
						rec = plain.AppendEncoded(append(rec[:0], recordColumns))
					default:
						rec = encodeColumns(rec[:0], in, pool)
					}
					if err := fb.add(rec); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100_000), "ns/span")
			b.ReportMetric(float64(len(rec))/1000, "record-B/span")
			// What the log's segments hold: records compress with S2 by
			// default, Snappy before.
			b.ReportMetric(float64(len(s2.Encode(nil, rec)))/1000, "s2-B/span")
			b.ReportMetric(float64(len(snappy.Encode(nil, rec)))/1000, "snappy-B/span")
		})
	}
}
