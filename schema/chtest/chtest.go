// Package chtest gives tests a real, throwaway ClickHouse: a private
// clickhouse-server started under t.TempDir() and stopped by t.Cleanup. When
// no server binary exists the test fails with the install hint, unless
// MESHSCOPE_SKIP_CLICKHOUSE=1 asks to skip instead.
package chtest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chlocal"
	"github.com/meshscope/meshscope/schema/chstore"
)

// requireBinary fails the test with the install hint when no server binary
// exists, or skips it when MESHSCOPE_SKIP_CLICKHOUSE=1.
func requireBinary(t testing.TB) {
	t.Helper()
	if _, _, err := chlocal.FindBinary(); err != nil {
		if os.Getenv("MESHSCOPE_SKIP_CLICKHOUSE") == "1" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
}

// Server starts a private clickhouse-server for the test.
func Server(t testing.TB) *chlocal.Server {
	t.Helper()
	return ServerWithUsers(t, nil)
}

// ServerWithUsers is Server with users besides the password-less default
// one, by name, with their passwords.
func ServerWithUsers(t testing.TB, users map[string]string) *chlocal.Server {
	t.Helper()
	requireBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := chlocal.Start(ctx, chlocal.Options{Dir: t.TempDir(), Users: users})
	if err != nil {
		t.Fatalf("start clickhouse: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

// Store starts a server, opens database db on it and applies the schema.
// It inserts through the server's HTTP interface, as serve does with the
// server it manages.
func Store(t testing.TB, db string) (*chstore.Store, *chlocal.Server) {
	t.Helper()
	srv := Server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := chstore.Open(ctx, chstore.Config{DSN: srv.DSN(db), HTTPURL: srv.HTTPURL()})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return st, srv
}

// ClusterName is the cluster Cluster starts.
const ClusterName = "meshscope"

// Cluster starts two private servers as the two shards of cluster
// ClusterName (remote_servers and macros from chlocal.StartCluster) and
// returns a migrated store on each, database meshscope. ClickHouse 18.16 has
// no Keeper and no ZooKeeper, so each node is migrated on its own
// (ClusterDDLPerNode: no ON CLUSTER, non-replicated *_local tables); the
// Distributed tables, the sharding keys and the insert path (the HTTP
// interface, into the Distributed tables) are the ones production clusters
// use.
func Cluster(t testing.TB) []*chstore.Store {
	t.Helper()
	requireBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	servers, err := chlocal.StartCluster(ctx, ClusterName, 2, chlocal.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	stores := make([]*chstore.Store, len(servers))
	for i, srv := range servers {
		t.Cleanup(func() { _ = srv.Stop() })
		st, err := chstore.Open(ctx, chstore.Config{DSN: srv.DSN("meshscope"), HTTPURL: srv.HTTPURL(), Cluster: ClusterName, ClusterDDLPerNode: true})
		if err != nil {
			t.Fatalf("open shard %d: %v", i+1, err)
		}
		t.Cleanup(func() { _ = st.Close() })
		if _, err := st.Migrate(ctx); err != nil {
			t.Fatalf("migrate shard %d: %v", i+1, err)
		}
		stores[i] = st
	}
	return stores
}

// Upgraded rewrites st's schema_migrations as a database upgraded to
// migration id at upgradedAt would have it: every other registered
// migration recorded 30 days before, that one then. Objects a migration
// creates judge from these records what they cover (trace summaries,
// exception history).
func Upgraded(t testing.TB, st *chstore.Store, id int, upgradedAt time.Time) {
	t.Helper()
	ctx := context.Background()
	if err := st.Conn().Exec(ctx, "TRUNCATE TABLE "+schema.MigrationsTable.Name); err != nil {
		t.Fatal(err)
	}
	var ids []uint32
	var names []string
	var at []time.Time
	for _, m := range schema.Migrations() {
		when := upgradedAt.Add(-30 * 24 * time.Hour)
		if m.ID == id {
			when = upgradedAt
		}
		ids, names, at = append(ids, uint32(m.ID)), append(names, m.Name), append(at, when.UTC().Truncate(time.Second))
	}
	if err := st.InsertColumns(ctx, schema.MigrationsTable, []any{ids, names, at}); err != nil {
		t.Fatal(err)
	}
}

// ExceptionSpan is a span of service (in namespace) that recorded an
// exception of type typ at at, for tests of the exception history; its ids
// come from at, so spans of different times differ.
func ExceptionSpan(at time.Time, namespace, service, typ string) schema.SpanRow {
	ts := uint64(at.UnixNano())
	return schema.SpanRow{StartUnixNano: ts, TraceID: schema.TraceID{1, byte(ts >> 8), byte(ts)}, SpanID: schema.SpanID{byte(ts >> 8), byte(ts)},
		Name: "op", ServiceName: service, ServiceNamespace: namespace, GRPCStatusCode: -1,
		EventTimes: []uint64{ts}, EventNames: []string{"exception"}, EventAttrs: []string{`{"exception.type":"` + typ + `"}`}}
}
