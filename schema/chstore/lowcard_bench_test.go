package chstore

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/ClickHouse/ch-go/proto"
)

// BenchmarkLowCardColumn fills a clickhouse-go LowCardinality(String)
// column with 100,000 rows of 12 distinct values (service names in a batch
// of spans), as the insert of a String column into a server from 19.3
// does: "append" hands the values to the column's Append, "encode" encodes
// them as LowCardinality and lets the column decode that.
func BenchmarkLowCardColumn(b *testing.B) {
	c := new(strColumn)
	for i := range 100_000 {
		c.Append(fmt.Sprintf("service-%d", (i/8)%12))
	}
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			col := newColumn(b, string(lowCardString))
			if _, err := col.Append(c.values()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*c.rows), "ns/row")
	})
	b.Run("encode", func(b *testing.B) {
		var e lowCardEncoder
		var buf proto.Buffer
		b.ReportAllocs()
		for b.Loop() {
			col := newColumn(b, string(lowCardString))
			buf.Reset()
			e.encode(&buf, c)
			if err := col.Decode(proto.NewReader(bytes.NewReader(buf.Buf)), c.rows); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*c.rows), "ns/row")
	})
}
