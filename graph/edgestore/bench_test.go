package edgestore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/graph/edgestore"
	"github.com/meshscope/meshscope/schema/chtest"
)

// seedDay inserts 24 hours of 10,000 edges between 1,000 services (ten
// callees each, in 20 namespaces) into edges_10s with one bulk INSERT ...
// SELECT FROM numbers(): one row per edge per hour, which the materialized
// views roll up into edges_1m and edges_1h.
func seedDay(tb testing.TB, ctx context.Context, st interface {
	Exec(context.Context, string, ...any) error
}, start time.Time) {
	tb.Helper()
	const edges, services = 10_000, 1000
	q := fmt.Sprintf(`INSERT INTO edges_10s (timestamp, source_kind, source_cluster, source_namespace, source_name,
		source_workload, source_version, destination_kind, destination_cluster, destination_namespace, destination_name,
		destination_workload, destination_version, protocol, provenance, reporters, requests, errors, latency,
		latency_sum_ns, bytes_sent, bytes_received, mtls, plaintext)
	SELECT toDateTime(%d + intDiv(number, %d) * 3600), 'service', '', concat('ns', toString(src %% 20)), concat('svc', toString(src)),
		concat('svc', toString(src), '-v1'), 'v1', 'service', '', concat('ns', toString(dst %% 20)), concat('svc', toString(dst)),
		concat('svc', toString(dst), '-v1'), 'v1', 'http', toUInt8(2), toUInt8(4), toUInt64(3600), toUInt64(number %% 7),
		arrayMap(i -> toUInt64(if(i >= 50 AND i < 70, 180, 0)), range(70)), toUInt64(3600 * 5000000), toUInt64(3600 * 200),
		toUInt64(3600 * 1500), toUInt64(3600), toUInt64(0)
	FROM (SELECT number, (number %% %d) %% %d AS src, (src + 1 + intDiv(number %% %d, %d)) %% %d AS dst FROM numbers(%d))`,
		start.Unix(), edges, edges, services, edges, services, services, 24*edges)
	if err := st.Exec(ctx, q); err != nil {
		tb.Fatalf("seed: %v", err)
	}
}

// BenchmarkRange24h reads the service graph of a whole day of 1,000
// services and 10,000 edges from the real ClickHouse.
func BenchmarkRange24h(b *testing.B) {
	st, _ := chtest.Store(b, "meshscope")
	ctx := context.Background()
	start := base.Truncate(time.Hour)
	seedDay(b, ctx, st.Conn(), start)
	store := edgestore.New(st, edgestore.Config{})
	for _, tc := range []struct {
		name     string
		from, to time.Time
	}{
		{"aligned", start, start.Add(24 * time.Hour)},
		{"unaligned", start.Add(17 * time.Minute), start.Add(24*time.Hour + 17*time.Minute)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				g, err := store.Range(ctx, graph.RangeQuery{From: tc.from, To: tc.to, Granularity: graph.GranularityService})
				if err != nil {
					b.Fatal(err)
				}
				if len(g.Edges) != 10_000 || len(g.Nodes) != 1000 {
					b.Fatalf("%d edges, %d nodes", len(g.Edges), len(g.Nodes))
				}
			}
		})
	}
	// 50 canaries deployed at noon: version v2 of svc0..svc49, a row a
	// minute for their first hour.
	q := fmt.Sprintf(`INSERT INTO edges_10s (timestamp, source_kind, source_cluster, source_namespace, source_name,
		source_workload, source_version, destination_kind, destination_cluster, destination_namespace, destination_name,
		destination_workload, destination_version, protocol, provenance, reporters, requests, errors, latency,
		latency_sum_ns, bytes_sent, bytes_received, mtls, plaintext)
	SELECT toDateTime(%d + (number %% 60) * 60), 'service', '', 'ns0', 'svc0', 'svc0-v1', 'v1', 'service', '',
		concat('ns', toString(intDiv(number, 60) %% 20)), concat('svc', toString(intDiv(number, 60))),
		concat('svc', toString(intDiv(number, 60)), '-v2'), 'v2', 'http', toUInt8(1), toUInt8(4), toUInt64(6), toUInt64(1),
		[toUInt64(0), toUInt64(6)], toUInt64(6000000), toUInt64(0), toUInt64(0), toUInt64(0), toUInt64(0)
	FROM numbers(%d)`, start.Add(12*time.Hour).Unix(), 50*60)
	if err := st.Conn().Exec(ctx, q); err != nil {
		b.Fatalf("seed canaries: %v", err)
	}
	b.Run("deployments", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d, err := store.Deployments(ctx, graph.DeploymentsQuery{From: start.Add(time.Hour), To: start.Add(24 * time.Hour)})
			if err != nil {
				b.Fatal(err)
			}
			if len(d) != 50 || d[0].FirstSeen != start.Add(12*time.Hour).Unix() {
				b.Fatalf("%d deployments: %+v", len(d), d[:min(len(d), 2)])
			}
		}
	})
	for _, byVersion := range []bool{false, true} {
		name := "series"
		if byVersion {
			name = "series-by-version"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s, err := store.Series(ctx, graph.SeriesQuery{From: start, To: start.Add(24 * time.Hour), Step: time.Hour, Node: "service:ns1/svc1", ByVersion: byVersion})
				if err != nil {
					b.Fatal(err)
				}
				if s.Requests[0] != 10*3600 {
					b.Fatalf("requests %d", s.Requests[0])
				}
				if byVersion && (len(s.Versions) != 2 || !s.Versions[1].New) {
					b.Fatalf("versions %+v", s.Versions)
				}
			}
		})
	}
}
