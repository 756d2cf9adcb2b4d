package chstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
	"github.com/meshscope/meshscope/schema/chtest"
)

// Cluster mode on this machine: two private clickhouse-server processes are
// the shards of a cluster (chtest.Cluster).

const clusterName = chtest.ClusterName

// startShards starts two shards and returns a migrated store on each.
func startShards(t *testing.T) []*chstore.Store {
	t.Helper()
	stores := chtest.Cluster(t)
	for i, st := range stores {
		applied, err := st.AppliedMigrations(context.Background())
		require.NoError(t, err)
		require.Len(t, applied, len(schema.Migrations()), "shard %d", i+1)
	}
	return stores
}

func TestClusterRendering(t *testing.T) {
	v, err := schema.ParseVersion("24.8.4")
	require.NoError(t, err)
	cases := []struct {
		name                               string
		opts                               schema.RenderOptions
		onCluster, replicated, distributed bool
	}{
		{"single server", schema.RenderOptions{Version: v, Database: "m"}, false, false, false},
		{"cluster with keeper", schema.RenderOptions{Version: v, Database: "m", Cluster: "c"}, true, true, true},
		{"cluster per node", schema.RenderOptions{Version: v, Database: "m", Cluster: "c", PerNode: true}, false, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var all []string
			for _, m := range schema.Migrations() {
				all = append(all, m.Statements(tc.opts)...)
			}
			ddl := strings.Join(all, "\n")
			require.Equal(t, tc.onCluster, strings.Contains(ddl, "ON CLUSTER"))
			require.Equal(t, tc.replicated, strings.Contains(ddl, "ENGINE = Replicated"))
			require.Equal(t, tc.distributed, strings.Contains(ddl, "ENGINE = Distributed("))
			require.Equal(t, tc.distributed, strings.Contains(ddl, "`spans_local`"))
		})
	}
}

// queryUint64 runs a one-value query.
func queryUint64(t *testing.T, st *chstore.Store, q string, args ...any) uint64 {
	t.Helper()
	var n uint64
	require.NoError(t, st.Conn().QueryRow(context.Background(), q, args...).Scan(&n), q)
	return n
}

// waitCount waits until q answers want on every store: a Distributed table
// sends rows for other shards in the background.
func waitCount(t *testing.T, stores []*chstore.Store, q string, want uint64) {
	t.Helper()
	for i, st := range stores {
		var got uint64
		require.Eventually(t, func() bool {
			got = queryUint64(t, st, q)
			return got == want
		}, 60*time.Second, 50*time.Millisecond, "node %d: %s", i+1, q)
	}
}

func TestClusterTopology(t *testing.T) {
	stores := startShards(t)
	ctx := context.Background()
	for i, st := range stores {
		var shards, local uint64
		require.NoError(t, st.Conn().QueryRow(ctx,
			"SELECT toUInt64(count()), toUInt64(sum(is_local)) FROM system.clusters WHERE cluster = ?", clusterName).Scan(&shards, &local))
		require.EqualValues(t, 2, shards, "node %d sees both shards", i+1)
		require.EqualValues(t, 1, local, "node %d is one of them", i+1)
		for _, tc := range []struct{ table, engine string }{
			{"spans", "Distributed"}, {"spans_local", "MergeTree"},
			{"requests", "Distributed"}, {"requests_local", "MergeTree"},
			{"schema_migrations", "ReplacingMergeTree"},
		} {
			var engine string
			require.NoError(t, st.Conn().QueryRow(ctx, "SELECT engine FROM system.tables WHERE database = ? AND name = ?", st.Database(), tc.table).Scan(&engine))
			require.Equal(t, tc.engine, engine, "node %d table %s", i+1, tc.table)
		}
		ok, err := st.Current(ctx)
		require.NoError(t, err)
		require.True(t, ok, "node %d schema current", i+1)
	}
}

func TestClusterWritesSpreadAcrossShards(t *testing.T) {
	stores := startShards(t)
	ctx := context.Background()
	const traces, spansPerTrace, requests = 40, 5, 60
	r := rand.New(rand.NewPCG(1, 2))
	start := uint64(time.Now().Add(-time.Hour).UnixNano())
	b := &schema.Batch{}
	for i := range traces {
		var tid schema.TraceID
		for j := range tid {
			tid[j] = byte(r.Uint32())
		}
		for j := range spansPerTrace {
			b.Spans = append(b.Spans, schema.SpanRow{
				StartUnixNano: start + uint64(i*1000+j), DurationNanos: 1000, TraceID: tid, SpanID: schema.SpanID{byte(i), byte(j), 1},
				Name: fmt.Sprintf("GET /%d", j), Kind: schema.SpanKindServer, ServiceName: fmt.Sprintf("svc-%d", j), GRPCStatusCode: -1,
			})
		}
	}
	for i := range requests {
		b.Requests = append(b.Requests, schema.RequestRow{
			StartUnixNano: start, RequestID: fmt.Sprintf("req-%d", i), Source: "service:shop/web", Destination: "service:shop/cart",
			ResponseCode: 200, GRPCStatus: -1, UpstreamServiceTimeNanos: -1,
		})
	}
	// The insert path names the logical tables: in cluster mode those are
	// the Distributed tables, which route each row by its sharding key.
	require.NoError(t, stores[0].Write(ctx, b))

	waitCount(t, stores, "SELECT count() FROM spans", traces*spansPerTrace)
	waitCount(t, stores, "SELECT count() FROM requests", requests)
	waitCount(t, stores, "SELECT uniqExact(trace_id) FROM spans", traces)

	for _, tc := range []struct {
		table, key string
		total      uint64
	}{
		{"spans", "cityHash64(trace_id)", traces * spansPerTrace},
		{"requests", "cityHash64(request_id)", requests},
	} {
		t.Run(tc.table, func(t *testing.T) {
			var sum uint64
			for i, st := range stores {
				local := queryUint64(t, st, "SELECT count() FROM "+tc.table+"_local")
				require.NotZero(t, local, "shard %d holds part of %s", i+1, tc.table)
				sum += local
				// Distributed(cluster, db, table, key) with equal weights puts
				// a row on shard key % shards (0-based).
				misplaced := queryUint64(t, st, fmt.Sprintf("SELECT count() FROM %s_local WHERE %s %% 2 != %d", tc.table, tc.key, i))
				require.Zero(t, misplaced, "shard %d holds only its own rows of %s", i+1, tc.table)
			}
			require.Equal(t, tc.total, sum, "every row on exactly one shard")
		})
	}

	// A trace's spans are on one shard, so one node can pair them.
	var split uint64
	for _, st := range stores {
		// Traces whose spans are not all on this shard, counted on this shard.
		split += queryUint64(t, st, fmt.Sprintf(`SELECT count() FROM (
			SELECT trace_id, count() AS n FROM spans_local GROUP BY trace_id HAVING n != %d)`, spansPerTrace))
	}
	require.Zero(t, split)
	// The summaries view writes each shard's traces into that shard's
	// trace_summaries_local.
	for i, st := range stores {
		require.Equal(t, queryUint64(t, st, "SELECT uniqExact(trace_id) FROM spans_local"),
			queryUint64(t, st, "SELECT uniqExact(trace_id) FROM trace_summaries_local"), "shard %d", i+1)
	}

	// Any node answers for the whole cluster.
	for i, st := range stores {
		var name string
		var n uint64
		require.NoError(t, st.Conn().QueryRow(ctx, "SELECT name, count() FROM spans WHERE service_name = 'svc-3' GROUP BY name").Scan(&name, &n))
		require.Equal(t, "GET /3", name, "node %d", i+1)
		require.EqualValues(t, traces, n, "node %d", i+1)
		// The trace search's form for a service (query/traces.go): the
		// traces of a service's spans, every span of them summed. GLOBAL
		// runs the subquery over the Distributed table once (a plain IN is
		// refused: distributed_product_mode = 'deny').
		var found, spans uint64
		require.NoError(t, st.Conn().QueryRow(ctx, `SELECT toUInt64(count()), toUInt64(sum(n)) FROM (
			SELECT trace_id, count() AS n FROM spans
			WHERE trace_id GLOBAL IN (SELECT trace_id FROM spans WHERE service_name = 'svc-3')
			GROUP BY trace_id)`).Scan(&found, &spans))
		require.EqualValues(t, traces, found, "node %d", i+1)
		require.EqualValues(t, traces*spansPerTrace, spans, "node %d", i+1)
		// The same over the summaries, merged across the shards.
		require.NoError(t, st.Conn().QueryRow(ctx, `SELECT toUInt64(count()), toUInt64(sum(n)) FROM (
			SELECT trace_id, countMerge(spans) AS n FROM trace_summaries
			WHERE trace_id GLOBAL IN (SELECT trace_id FROM spans WHERE service_name = 'svc-3')
			GROUP BY trace_id)`).Scan(&found, &spans))
		require.EqualValues(t, traces, found, "node %d", i+1)
		require.EqualValues(t, traces*spansPerTrace, spans, "node %d", i+1)
	}
}

// fill builds one column of rows, taking each row's value of name or zero.
func fill[T any](rows []map[string]any, name string, zero T) []T {
	out := make([]T, len(rows))
	for i, r := range rows {
		if v, ok := r[name].(T); ok {
			out[i] = v
		} else {
			out[i] = zero
		}
	}
	return out
}

// tableColumns lays rows (column name to value) out in t's column order.
func tableColumns(t *testing.T, tbl schema.Table, rows []map[string]any) []any {
	t.Helper()
	cols := make([]any, len(tbl.Columns))
	for i, c := range tbl.Columns {
		switch c.Type {
		case "DateTime":
			cols[i] = fill(rows, c.Name, time.Unix(0, 0).UTC())
		case "String":
			cols[i] = fill(rows, c.Name, "")
		case "UInt8":
			cols[i] = fill(rows, c.Name, uint8(0))
		case "UInt64":
			cols[i] = fill(rows, c.Name, uint64(0))
		case "Array(UInt64)":
			cols[i] = fill(rows, c.Name, []uint64{})
		default:
			t.Fatalf("%s column %s: type %s not handled by this test", tbl.Name, c.Name, c.Type)
		}
	}
	return cols
}

func hasTable(name string) bool {
	for _, m := range schema.Migrations() {
		for _, obj := range m.Objects {
			if tbl, ok := obj.(schema.Table); ok && tbl.Name == name {
				return true
			}
		}
	}
	return false
}

// Every meshscope replica flushes its own partial edge rows; read through
// the Distributed tables, edges_10s and its rollups sum them across replicas
// and shards.
func TestClusterEdgeAggregatesSumAcrossShards(t *testing.T) {
	if !hasTable("edges_10s") {
		t.Skip("the schema has no edges_10s table")
	}
	stores := startShards(t)
	ctx := context.Background()
	bucket := time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)
	const destinations = 8
	var rows []map[string]any
	for d := range destinations {
		dst := fmt.Sprintf("svc-%d", d)
		// Two replicas' partial rows for the same edge and bucket, plus one
		// replica's row for the next bucket of the same minute.
		for _, part := range []struct {
			offset           time.Duration
			requests, errors uint64
			latency          []uint64
		}{
			{0, 10, 1, []uint64{1, 2, 3}},
			{0, 5, 0, []uint64{0, 1}},
			{10 * time.Second, 1, 1, []uint64{0, 0, 0, 1}},
		} {
			rows = append(rows, map[string]any{
				"timestamp": bucket.Add(part.offset), "source_kind": "service", "source_namespace": "shop", "source_name": "web",
				"destination_kind": "service", "destination_namespace": "shop", "destination_name": dst, "protocol": "http",
				"provenance": uint8(1), "reporters": uint8(4), "requests": part.requests, "errors": part.errors,
				"latency": part.latency, "latency_sum_ns": part.requests * 1000,
			})
		}
	}
	require.NoError(t, stores[0].InsertColumns(ctx, schema.Edges10sTable, tableColumns(t, schema.Edges10sTable, rows)))
	waitCount(t, stores, "SELECT count() FROM edges_10s", uint64(len(rows)))

	var sum uint64
	for i, st := range stores {
		local := queryUint64(t, st, "SELECT count() FROM edges_10s_local")
		require.NotZero(t, local, "shard %d holds some edges", i+1)
		sum += local
		misplaced := queryUint64(t, st, fmt.Sprintf("SELECT count() FROM edges_10s_local WHERE cityHash64(destination_namespace, destination_name) %% 2 != %d", i))
		require.Zero(t, misplaced, "shard %d holds only its own destinations", i+1)
	}
	require.EqualValues(t, len(rows), sum)

	queries := []struct{ name, sql string }{
		{"edges_10s", `SELECT destination_name, sum(requests), sum(errors), sumForEach(latency)
			FROM edges_10s GROUP BY destination_name ORDER BY destination_name`},
		{"edges_1m", `SELECT destination_name, sumMerge(requests), sumMerge(errors), sumForEachMerge(latency)
			FROM edges_1m GROUP BY destination_name ORDER BY destination_name`},
		{"edges_1h", `SELECT destination_name, sumMerge(requests), sumMerge(errors), sumForEachMerge(latency)
			FROM edges_1h GROUP BY destination_name ORDER BY destination_name`},
	}
	for _, q := range queries {
		t.Run(q.name, func(t *testing.T) {
			if !hasTable(q.name) {
				t.Skipf("the schema has no %s table", q.name)
			}
			var want []string
			for d := range destinations {
				want = append(want, fmt.Sprintf("svc-%d 16 2 [1 3 3 1]", d))
			}
			for i, st := range stores {
				read := func() []string {
					rs, err := st.Conn().Query(ctx, q.sql)
					require.NoError(t, err)
					defer rs.Close()
					var got []string
					for rs.Next() {
						var (
							dst       string
							req, errs uint64
							lat       []uint64
						)
						require.NoError(t, rs.Scan(&dst, &req, &errs, &lat))
						got = append(got, fmt.Sprintf("%s %d %d %v", dst, req, errs, lat))
					}
					require.NoError(t, rs.Err())
					return got
				}
				// A shard commits the rows of edges_10s_local a moment before
				// its materialized views have written the rollups.
				deadline := time.Now().Add(30 * time.Second)
				got := read()
				for !slices.Equal(want, got) && time.Now().Before(deadline) {
					time.Sleep(50 * time.Millisecond)
					got = read()
				}
				require.Equal(t, want, got, "read through node %d", i+1)
			}
		})
	}
}
