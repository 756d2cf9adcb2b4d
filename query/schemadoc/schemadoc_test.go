package schemadoc

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/query/adhoc"
	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
	"github.com/meshscope/meshscope/schema/chtest"
)

var update = flag.Bool("update", false, "rewrite the generated tables of docs/schema.md")

const docPath = "../../docs/schema.md"

func readDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(docPath)
	require.NoError(t, err)
	return string(b)
}

// TestDocListsEveryColumn keeps docs/schema.md's table reference equal to
// what the registered migrations create.
func TestDocListsEveryColumn(t *testing.T) {
	doc := readDoc(t)
	want, ok := Splice(doc, Document())
	require.True(t, ok, "docs/schema.md lost its markers %q and %q", BeginMarker, EndMarker)
	if *update {
		require.NoError(t, os.WriteFile(docPath, []byte(want), 0o644))
		doc = want
	}
	require.Equal(t, want, doc, "docs/schema.md is out of date: run go test ./query/schemadoc -update")
	tables := []schema.Table{schema.MigrationsTable}
	for _, m := range schema.Migrations() {
		for _, obj := range m.Objects {
			if tbl, ok := obj.(schema.Table); ok {
				tables = append(tables, tbl)
			}
		}
	}
	for _, tbl := range tables {
		at := strings.Index(doc, "### `"+tbl.Name+"`")
		require.GreaterOrEqual(t, at, 0, "table %s is not documented", tbl.Name)
		section := doc[at:]
		if end := strings.Index(section[1:], "\n### "); end > 0 {
			section = section[:end]
		}
		require.NotEmpty(t, tbl.Doc, "table %s has no Doc", tbl.Name)
		for _, c := range tbl.Columns {
			require.NotEmpty(t, c.Doc, "%s.%s has no Doc", tbl.Name, c.Name)
			require.Contains(t, section, "| `"+c.Name+"` |", "%s.%s is not in its table's section", tbl.Name, c.Name)
		}
	}
}

var sqlBlock = regexp.MustCompile("(?s)```sql\n(.*?)```")

// grafanaMacros replaces the Grafana ClickHouse data source's macros the
// way the plugin does, for a range [from, to] and an interval.
func grafanaMacros(q string, from, to time.Time, interval time.Duration) string {
	q = regexp.MustCompile(`\$__timeFilter\((\w+)\)`).ReplaceAllString(q,
		fmt.Sprintf("$1 >= toDateTime(%d) AND $1 <= toDateTime(%d)", from.Unix(), to.Unix()))
	return strings.NewReplacer(
		"$__interval_s", fmt.Sprint(int(interval.Seconds())),
		"$__fromTime", fmt.Sprintf("toDateTime(%d)", from.Unix()),
		"$__toTime", fmt.Sprintf("toDateTime(%d)", to.Unix()),
	).Replace(q)
}

// TestExampleQueries runs every ```sql block of docs/schema.md through the
// SQL API's path (guard, readonly=1, limits) on a real ClickHouse holding a
// little of everything, and expects rows from each.
func TestExampleQueries(t *testing.T) {
	blocks := sqlBlock.FindAllStringSubmatch(readDoc(t), -1)
	require.GreaterOrEqual(t, len(blocks), 10)
	st, _ := chtest.Store(t, "meshscope")
	now := time.Now().UTC()
	seed(t, st, now.Add(-2*time.Minute))
	for i, b := range blocks {
		q := grafanaMacros(b[1], now.Add(-time.Hour), now, time.Minute)
		name := strings.Fields(q)
		t.Run(fmt.Sprintf("%02d %s", i+1, strings.Join(name[:min(len(name), 6)], " ")), func(t *testing.T) {
			require.NotContains(t, q, "$__", "unknown Grafana macro")
			var out bytes.Buffer
			stats, err := adhoc.Run(context.Background(), st.Conn(), q, adhoc.Limits{}, &out, adhoc.FormatJSON)
			require.NoError(t, err, q)
			require.Positive(t, stats.Rows, "no rows from\n%s", q)
		})
	}
}

// seed writes a little of everything at time at.
func seed(t *testing.T, st *chstore.Store, at time.Time) {
	t.Helper()
	ctx := context.Background()
	start := uint64(at.UnixNano())
	trace := schema.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	span := func(id, parent byte, svc, route string, kind, status uint8, dur time.Duration) schema.SpanRow {
		r := schema.SpanRow{StartUnixNano: start + uint64(id)*1000, DurationNanos: uint64(dur), TraceID: trace, SpanID: schema.SpanID{id},
			Name: "GET " + route, Kind: kind, StatusCode: status, ServiceName: svc, ServiceNamespace: "shop", HTTPRoute: route,
			GRPCStatusCode: -1, AttrKeys: []string{"http.route"}, AttrValues: []string{route}}
		if parent != 0 {
			r.ParentSpanID = schema.SpanID{parent}
		}
		return r
	}
	// The failed server span of version v2 recorded an exception.
	withException := func(r schema.SpanRow) schema.SpanRow {
		r.ServiceVersion = "v2"
		r.EventTimes, r.EventNames = []uint64{r.StartUnixNano + 1000}, []string{"exception"}
		r.EventAttrs = []string{`{"exception.type":"java.net.SocketTimeoutException","exception.message":"Read timed out"}`}
		return r
	}
	req := func(dst string, code uint16, flags string) schema.RequestRow {
		return schema.RequestRow{StartUnixNano: start, DurationNanos: 1e6, UpstreamServiceTimeNanos: -1, Source: "service:shop/web",
			Destination: dst, ResponseCode: code, ResponseFlags: flags, GRPCStatus: -1, Path: "/cart"}
	}
	require.NoError(t, st.Write(ctx, &schema.Batch{
		Spans: []schema.SpanRow{
			span(1, 0, "web", "/checkout", schema.SpanKindServer, schema.StatusUnset, 80*time.Millisecond),
			span(2, 1, "web", "/checkout", schema.SpanKindClient, schema.StatusError, 60*time.Millisecond),
			withException(span(3, 2, "cart", "/cart", schema.SpanKindServer, schema.StatusError, 50*time.Millisecond)),
		},
		Requests: []schema.RequestRow{req("service:shop/cart", 200, ""), req("service:shop/cart", 503, "UH"), req("service:shop/cart", 0, "UF,URX")},
		Logs:     []schema.LogRow{{TimeUnixNano: start, ServiceName: "cart", SeverityNumber: 17, SeverityText: "ERROR", Body: "upstream reset"}},
		MetricSeries: []schema.MetricSeriesRow{{SeriesID: 7, MetricName: "istio_requests_total", Type: schema.MetricSum, Monotonic: true,
			LabelKeys: []string{"destination_service"}, LabelValues: []string{"cart.shop.svc.cluster.local"}}},
		MetricSamples: []schema.MetricSampleRow{
			{SeriesID: 7, MetricName: "istio_requests_total", TimeUnixNano: start - 60e9, Value: 100},
			{SeriesID: 7, MetricName: "istio_requests_total", TimeUnixNano: start, Value: 160},
		},
	}))
	// Edge buckets as a graph builder flushes them; the views roll them up.
	bucket := at.Unix() / 10 * 10
	require.NoError(t, st.Conn().Exec(ctx, fmt.Sprintf(
		"INSERT INTO edges_10s (timestamp, source_kind, source_namespace, source_name, destination_kind, destination_namespace, destination_name, protocol, provenance, reporters, requests, errors, latency, latency_sum_ns) "+
			"SELECT toDateTime(%d), 'service', 'shop', 'web', 'service', 'shop', 'cart', 'http', 3, 4, 100, 2, [0, 0, 0, 10, 80, 10], 5000000", bucket)))
}
