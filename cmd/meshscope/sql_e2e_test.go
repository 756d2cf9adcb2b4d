package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema/chtest"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// meshscope runs the binary (this test binary as main) and returns its
// standard output and error.
func meshscope(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "MESHSCOPE_TEST_MAIN=1")
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

func TestSQLCommandAgainstManagedClickHouse(t *testing.T) {
	srv := startServer(t, t.TempDir(), true)
	client := grpcTraceClient(t, srv.grpcAddr)
	_, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(traceBatch(0, 3, 0)))
	require.NoError(t, err)
	st := srv.store()
	eventually(t, "spans stored", 30*time.Second, func() (bool, string) {
		n := countRows(t, st, "SELECT count() FROM spans")
		return n == 3, itoa(n)
	})

	out, _, err := meshscope(t, "sql", "--data-dir", srv.dataDir, "--format", "csv", "SELECT name FROM spans ORDER BY name")
	require.NoError(t, err)
	require.Equal(t, "name\nop-0\nop-1\nop-2\n", out)

	out, _, err = meshscope(t, "sql", "--data-dir", srv.dataDir, "SELECT service_name, count() AS n FROM spans GROUP BY service_name")
	require.NoError(t, err)
	require.Regexp(t, `service_name\s+n\s*\ndurable\s+3\s*\n`, out)

	out, _, err = meshscope(t, "sql", "--data-dir", srv.dataDir, "--format", "json", "SELECT count() AS n FROM spans")
	require.NoError(t, err)
	require.Contains(t, out, `"rows":[[3]]`)

	_, stderr, err := meshscope(t, "sql", "--data-dir", srv.dataDir, "DROP TABLE spans")
	require.Error(t, err)
	require.Contains(t, stderr, "DROP")
	require.EqualValues(t, 3, countRows(t, st, "SELECT count() FROM spans"))

	_, stderr, err = meshscope(t, "sql", "--data-dir", t.TempDir(), "SELECT 1")
	require.Error(t, err)
	require.Contains(t, stderr, "no managed clickhouse")
}

// The backfill command: a database created with the trace summaries and
// the exception history has nothing to rebuild; it says what it backfills, and refuses anything else.
// (The rebuild itself is tested in schema/chstore.)
func TestBackfillCommand(t *testing.T) {
	ch := chtest.Server(t)
	dsn := ch.DSN("backfill")
	_, _, err := meshscope(t, "migrate", "--clickhouse", dsn)
	require.NoError(t, err)
	stdout, stderr, err := meshscope(t, "backfill", "--clickhouse", dsn, "trace-summaries")
	require.NoError(t, err, stderr)
	require.Equal(t, "nothing to backfill: the trace summaries hold every span\n", stdout)
	stdout, stderr, err = meshscope(t, "backfill", "--clickhouse", dsn, "exception-groups")
	require.NoError(t, err, stderr)
	require.Equal(t, "nothing to backfill: the exception history holds every stored exception\n", stdout)
	stdout, stderr, err = meshscope(t, "backfill", "--clickhouse", dsn, "exceptions")
	require.NoError(t, err, stderr)
	require.Equal(t, "nothing to backfill: the exceptions table holds every exception\n", stdout)
	_, stderr, err = meshscope(t, "backfill", "--clickhouse", dsn, "spans")
	require.Error(t, err)
	require.Contains(t, stderr, "what to backfill: trace-summaries, exception-groups or exceptions")
	_, stderr, err = meshscope(t, "backfill", "--clickhouse", ch.DSN("empty"), "trace-summaries")
	require.Error(t, err)
	require.Contains(t, stderr, "run meshscope migrate")
}
