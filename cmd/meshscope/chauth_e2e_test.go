package main

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/meshscope/meshscope/schema/chtest"
)

// A ClickHouse of one's own whose user has a password (one that needs
// escaping in a URL and in XML): serve migrates and inserts with the DSN's
// credentials, through the HTTP interface (--clickhouse-http) and through
// the native protocol, and `meshscope sql` reads with them; a wrong
// password is an error that says so.
func TestClickHouseUserWithPassword(t *testing.T) {
	const user, password = "ingest", `p@ss:w/rd?&<"x">#`
	ch := chtest.ServerWithUsers(t, map[string]string{user: password})
	dsn := func(db, password string) string {
		return "clickhouse://" + url.UserPassword(user, password).String() + "@" + ch.Addr() + "/" + db
	}
	for _, way := range []struct {
		name  string
		extra []string
	}{
		{"http", []string{"--clickhouse-http", ch.HTTPURL()}},
		{"native", nil},
	} {
		t.Run(way.name, func(t *testing.T) {
			db := dsn("meshscope_"+way.name, password)
			srv := startServer(t, t.TempDir(), true, append([]string{"--clickhouse", db}, way.extra...)...)
			client := grpcTraceClient(t, srv.grpcAddr)
			_, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(traceBatch(0, 5, 0)))
			require.NoError(t, err)
			st := openStore(t, db)
			eventually(t, "spans stored", 30*time.Second, func() (bool, string) {
				n := countRows(t, st, "SELECT count() FROM spans")
				return n == 5, itoa(n)
			})
			require.Zero(t, srv.metric("meshscope_flush_errors_total"), "no failed insert")

			out, stderr, err := meshscope(t, "sql", "--clickhouse", db, "--format", "csv", "SELECT count() AS n FROM spans")
			require.NoError(t, err, stderr)
			require.Equal(t, "n\n5\n", out)
		})
	}

	_, stderr, err := meshscope(t, "sql", "--clickhouse", dsn("meshscope_http", "wrong"), "SELECT 1")
	require.Error(t, err)
	require.Contains(t, strings.ToLower(stderr), "password", "the error names the cause: %s", stderr)
}
