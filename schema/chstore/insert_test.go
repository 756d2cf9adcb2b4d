package chstore

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"

	"github.com/meshscope/meshscope/schema"
)

// testBatch has rows of every table with empty, nil and filled arrays.
func testBatch() *schema.Batch {
	return &schema.Batch{
		Spans: []schema.SpanRow{
			{StartUnixNano: 1795000000123456789, DurationNanos: 4500, TraceID: schema.TraceID{1, 2, 3}, SpanID: schema.SpanID{9}, ParentSpanID: schema.SpanID{4},
				Name: "GET /cart", Kind: 2, StatusCode: 2, StatusMessage: "boom", ServiceName: "cart", ServiceNamespace: "shop", ServiceVersion: "v1",
				Workload: "cart", ScopeName: "s", ScopeVersion: "1", HTTPMethod: "GET", HTTPRoute: "/cart", HTTPStatusCode: 503, GRPCStatusCode: -1,
				PeerService: "p", ServerAddress: "cart", DBSystem: "d", DBName: "n", MessagingSystem: "m", MessagingDestination: "q",
				ResourceKeys: []string{"service.name", ""}, ResourceValues: []string{"cart", "é"}, AttrKeys: []string{"a"}, AttrValues: []string{"b"},
				EventTimes: []uint64{1, 2}, EventNames: []string{"e1", "e2"}, EventAttrs: []string{"{}", `{"k":"v"}`},
				LinkTraceIDs: []schema.TraceID{{7}, {8, 8}}, LinkSpanIDs: []schema.SpanID{{8}, {9, 9}}, LinkAttrs: []string{"{}", ""}},
			{StartUnixNano: 1795000001000000000, GRPCStatusCode: 3, AttrKeys: []string{}, AttrValues: []string{}},
			{Name: "third", ResourceKeys: []string{"k"}, ResourceValues: []string{"v"}},
		},
		Logs: []schema.LogRow{
			{TimeUnixNano: 1795000000123456789, ObservedTimeUnixNano: 1795000000223456789, TraceID: schema.TraceID{1}, SpanID: schema.SpanID{2}, Flags: 1,
				SeverityNumber: 9, SeverityText: "INFO", ServiceName: "cart", ServiceNamespace: "shop", ScopeName: "s", EventName: "e", Body: "hello",
				ResourceKeys: []string{"a"}, ResourceValues: []string{"b"}, AttrKeys: []string{"c", "d"}, AttrValues: []string{"e", "f"}},
			{ObservedTimeUnixNano: 1795000009000000000, Body: ""},
		},
		MetricSeries: []schema.MetricSeriesRow{
			{SeriesID: 42, MetricName: "up", Type: schema.MetricGauge, Unit: "1", Description: "d", Temporality: 2, Monotonic: true, ServiceName: "s",
				Source: "otlp", FirstSeenUnix: 1795000000, ResourceKeys: []string{"r"}, ResourceValues: []string{"v"}, LabelKeys: []string{"job"}, LabelValues: []string{"x"}},
			{SeriesID: 43, MetricName: "down"},
		},
		MetricSamples: []schema.MetricSampleRow{
			{SeriesID: 42, MetricName: "up", TimeUnixNano: 1795000000123456789, StartTimeUnixNano: 1, Value: 1.5, Count: 3, Sum: 4.5, Min: 1, Max: 2,
				BucketBounds: []float64{1, 2}, BucketCounts: []uint64{1, 2, 3}, ExpScale: -2, ExpZeroCount: 1, ExpPositiveOffset: 3,
				ExpPositiveCounts: []uint64{4}, ExpNegativeOffset: -5, ExpNegativeCounts: []uint64{6, 7}, Quantiles: []float64{0.5}, QuantileValues: []float64{9}, Flags: 1},
			{SeriesID: 43, MetricName: "down", TimeUnixNano: 1795000001000000000},
		},
		Requests: []schema.RequestRow{
			{StartUnixNano: 1795000000123456789, DurationNanos: 7, UpstreamServiceTimeNanos: -1, Reporter: "source", Emitter: "shop/web", LogName: "istio",
				Source: "service:shop/web", SourceNamespace: "shop", SourceWorkload: "web", SourceApp: "web", SourceVersion: "v1",
				Destination: "service:shop/cart", DestinationNamespace: "shop", DestinationWorkload: "cart", DestinationApp: "cart", DestinationVersion: "v2",
				Protocol: "HTTP/1.1", Method: "GET", Path: "/cart", Authority: "cart", ResponseCode: 200, GRPCStatus: -1, ResponseFlags: "UH",
				ResponseCodeDetails: "via_upstream", ConnectionTerminationDetails: "t", UpstreamTransportFailureReason: "f", BytesReceived: 10, BytesSent: 20,
				UpstreamHost: "10.0.0.1:80", UpstreamCluster: "outbound|80||cart", UpstreamLocalAddress: "10.0.0.2:1", DownstreamLocalAddress: "10.0.0.2:80",
				DownstreamRemoteAddress: "10.0.0.3:5", RequestedServerName: "sni", RouteName: "default", RequestID: "rid", UserAgent: "curl", XForwardedFor: "1.2.3.4",
				TraceID: schema.TraceID{5}, MTLS: 1, AttrKeys: []string{"k"}, AttrValues: []string{"v"}},
			{ResponseCode: 0, GRPCStatus: 14},
		},
	}
}

// TestNativeColumnsMatchSlices checks, for every column of every table, that
// the column decoded from its native encoding is the column clickhouse-go
// builds from the same values given as Go slices, and that the slices hold
// the rows' values.
func TestNativeColumnsMatchSlices(t *testing.T) {
	b := testBatch()
	a := NewColumns()
	a.Add(b)
	for _, tc := range []struct {
		table schema.Table
		cols  []any
		rows  int
	}{
		{schema.SpansTable, a.spanCols(), len(b.Spans)},
		{schema.LogsTable, a.logCols(), len(b.Logs)},
		{schema.MetricSeriesTable, a.seriesCols(), len(b.MetricSeries)},
		{schema.MetricSamplesTable, a.sampleCols(), len(b.MetricSamples)},
		{schema.RequestsTable, a.requestCols(), len(b.Requests)},
	} {
		if len(tc.cols) != len(tc.table.Columns) {
			t.Fatalf("%s: %d columns built for %d", tc.table.Name, len(tc.cols), len(tc.table.Columns))
		}
		for i, c := range tc.cols {
			def := tc.table.Columns[i]
			nc := c.(nativeColumn)
			if string(nc.Type()) != def.Type {
				t.Errorf("%s.%s: built %s, table has %s", tc.table.Name, def.Name, nc.Type(), def.Type)
				continue
			}
			if nc.Rows() != tc.rows {
				t.Errorf("%s.%s: %d rows, want %d", tc.table.Name, def.Name, nc.Rows(), tc.rows)
			}
			decoded := newColumn(t, def.Type)
			var buf proto.Buffer
			nc.EncodeColumn(&buf)
			if err := decoded.Decode(proto.NewReader(bytes.NewReader(buf.Buf)), nc.Rows()); err != nil {
				t.Fatalf("%s.%s: decode: %v", tc.table.Name, def.Name, err)
			}
			appended := newColumn(t, def.Type)
			if _, err := appended.Append(nc.values()); err != nil {
				t.Fatalf("%s.%s: append: %v", tc.table.Name, def.Name, err)
			}
			var x, y proto.Buffer
			decoded.Encode(&x)
			appended.Encode(&y)
			if !bytes.Equal(x.Buf, y.Buf) {
				t.Errorf("%s.%s: decoded and appended columns differ", tc.table.Name, def.Name)
			}
			if def.LowCard {
				// A newer server's LowCardinality(String) column takes the
				// column through the encoder, and what it then sends reads
				// back as the same rows.
				checkLowCard(t, tc.table.Name+"."+def.Name, nc.(*strColumn), appended, new(lowCardEncoder))
			}
		}
	}
	// A few values read back from the columns as clickhouse-go scans them.
	spans := a.spanCols()
	check := func(col any, typ string, row int, dest, want any) {
		t.Helper()
		c := newColumn(t, typ)
		if _, err := c.Append(col.(nativeColumn).values()); err != nil {
			t.Fatal(err)
		}
		if err := c.ScanRow(dest, row); err != nil {
			t.Fatal(err)
		}
		if got := reflect.ValueOf(dest).Elem().Interface(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s row %d: got %v, want %v", typ, row, got, want)
		}
	}
	var (
		s   string
		ss  []string
		u64 []uint64
		u   uint64
	)
	check(spans[7], "String", 0, &s, "GET /cart")
	check(spans[3], "FixedString(16)", 0, &s, string(b.Spans[0].TraceID[:]))
	check(spans[27], "Array(String)", 0, &ss, []string{"service.name", ""})
	check(spans[27], "Array(String)", 1, &ss, []string{})
	check(spans[31], "Array(UInt64)", 0, &u64, []uint64{1, 2})
	check(spans[34], "Array(FixedString(16))", 0, &ss, []string{string(b.Spans[0].LinkTraceIDs[0][:]), string(b.Spans[0].LinkTraceIDs[1][:])})
	check(spans[1], "UInt64", 0, &u, uint64(1795000000123456789))
}

// checkLowCard encodes c with e as a LowCardinality(String) column, decodes
// it with clickhouse-go's column, sends that as the batch would (state prefix
// and column) and reads it back as the server's answer would be read: every
// stage must hold the rows of want, c's values as a String column.
func checkLowCard(t *testing.T, name string, c *strColumn, want column.Interface, e *lowCardEncoder) {
	t.Helper()
	var enc proto.Buffer
	e.encode(&enc, c)
	lcw := newColumn(t, string(lowCardString))
	r := proto.NewReader(bytes.NewReader(enc.Buf))
	if err := lcw.Decode(r, c.Rows()); err != nil {
		t.Fatalf("%s: decode LowCardinality: %v", name, err)
	}
	var wire proto.Buffer
	if err := lcw.(column.CustomSerialization).WriteStatePrefix(&wire); err != nil {
		t.Fatal(err)
	}
	lcw.Encode(&wire)
	lc := newColumn(t, string(lowCardString))
	r = proto.NewReader(bytes.NewReader(wire.Buf))
	if err := lc.(column.CustomSerialization).ReadStatePrefix(r); err != nil {
		t.Fatal(err)
	}
	if err := lc.Decode(r, c.Rows()); err != nil {
		t.Fatalf("%s: decode what was sent: %v", name, err)
	}
	for _, col := range []column.Interface{lcw, lc} {
		if col.Rows() != want.Rows() {
			t.Fatalf("%s: %d rows, want %d", name, col.Rows(), want.Rows())
		}
		for r := 0; r < want.Rows(); r++ {
			if got, want := col.Row(r, false), want.Row(r, false); got != want {
				t.Fatalf("%s row %d: LowCardinality %q, String %q", name, r, got, want)
			}
		}
	}
}

// TestLowCardKeyTypes checks the LowCardinality encoding with keys of each
// width: a dictionary of up to 256 values ("" and 255 others) has UInt8
// keys, up to 65,536 UInt16 keys, more UInt32 keys.
func TestLowCardKeyTypes(t *testing.T) {
	e := new(lowCardEncoder) // reused, as inserts reuse it
	for _, tc := range []struct{ distinct, keyType int }{
		{0, 0}, {1, 0}, {255, 0}, {256, 1}, {65535, 1}, {65536, 2}, {70000, 2},
	} {
		c := new(strColumn)
		var vals []string
		add := func(v string) { c.Append(v); vals = append(vals, v) }
		add("")
		for i := range tc.distinct {
			add(fmt.Sprintf("value-%d", i))
			if i%3 == 0 {
				add("")
			}
		}
		for i := 0; i < tc.distinct; i += 1 + tc.distinct/10 {
			add(fmt.Sprintf("value-%d", i)) // seen before
			add(fmt.Sprintf("value-%d", i)) // and again right away
		}
		want := newColumn(t, "String")
		if _, err := want.Append(vals); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%d distinct", tc.distinct)
		checkLowCard(t, name, c, want, e)
		var enc proto.Buffer
		e.encode(&enc, c)
		if got := int(enc.Buf[0]); got != tc.keyType {
			t.Errorf("%s: key type %d, want %d", name, got, tc.keyType)
		}
	}
}

func newColumn(t testing.TB, typ string) column.Interface {
	t.Helper()
	c, err := column.Type(typ).Column("c", &column.ServerContext{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestColumnsReuse checks that columns reset and refilled with fewer rows
// hold only the new rows, and that Add appends.
func TestColumnsReuse(t *testing.T) {
	b := testBatch()
	a := NewColumns()
	a.Add(b)
	a.Reset()
	if n := a.Len(); n != 0 {
		t.Fatalf("%d rows after Reset", n)
	}
	a.Add(&schema.Batch{Spans: b.Spans[2:]})
	cols := a.spanCols()
	for i, c := range cols {
		if n := c.(nativeColumn).Rows(); n != 1 {
			t.Errorf("column %d: %d rows after reuse, want 1", i, n)
		}
	}
	if got := cols[27].(nativeColumn).values().([][]string); !reflect.DeepEqual(got, [][]string{{"k"}}) {
		t.Errorf("resource keys after reuse: %q", got)
	}
	a.Add(&schema.Batch{Spans: b.Spans[:1], Requests: b.Requests})
	if spans, logs, _, _, requests := a.Rows(); spans != 2 || logs != 0 || requests != len(b.Requests) {
		t.Errorf("rows after a second Add: %d spans, %d logs, %d requests", spans, logs, requests)
	}
	if got := a.spanCols()[27].(nativeColumn).values().([][]string); !reflect.DeepEqual(got, [][]string{{"k"}, {"service.name", ""}}) {
		t.Errorf("resource keys after a second Add: %q", got)
	}
}
