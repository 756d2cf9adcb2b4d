package adhoc

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
	"github.com/meshscope/meshscope/schema/chtest"
)

// ClickHouse error codes the tests expect.
const (
	codeTimeout     = 159 // TIMEOUT_EXCEEDED
	codeReadonly    = 164 // READONLY
	codeMemory      = 241 // MEMORY_LIMIT_EXCEEDED
	codeTooManyRows = 396 // TOO_MANY_ROWS_OR_BYTES
)

// TestClickHouse runs every test that needs a server against one throwaway
// ClickHouse.
func TestClickHouse(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	seed(t, st)
	t.Run("HostileSQL", func(t *testing.T) { testHostileSQL(t, st) })
	t.Run("ReadonlyWithoutGuard", func(t *testing.T) { testReadonlyWithoutGuard(t, st) })
	t.Run("Limits", func(t *testing.T) { testLimits(t, st.Conn()) })
	t.Run("JSON", func(t *testing.T) { testJSON(t, st.Conn()) })
	t.Run("CSV", func(t *testing.T) { testCSV(t, st.Conn()) })
	t.Run("Streaming", func(t *testing.T) { testStreaming(t, st.Conn()) })
	t.Run("Cancel", func(t *testing.T) { testCancel(t, st.Conn()) })
}

var seedTrace = schema.TraceID{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}

func seed(t *testing.T, st *chstore.Store) {
	t.Helper()
	start := uint64(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC).UnixNano())
	require.NoError(t, st.Write(context.Background(), &schema.Batch{
		Spans: []schema.SpanRow{
			{StartUnixNano: start, DurationNanos: 2e6, TraceID: seedTrace, SpanID: schema.SpanID{1}, Name: "GET /cart", Kind: schema.SpanKindServer, ServiceName: "cart", ServiceNamespace: "shop", GRPCStatusCode: -1},
			{StartUnixNano: start + 1e5, DurationNanos: 1e6, TraceID: seedTrace, SpanID: schema.SpanID{2}, ParentSpanID: schema.SpanID{1}, Name: "SELECT", Kind: schema.SpanKindClient, ServiceName: "cart", ServiceNamespace: "shop", GRPCStatusCode: -1},
		},
	}))
}

// state is what hostile queries must not change.
func state(t *testing.T, conn driver.Conn) (tables []string, spans uint64) {
	t.Helper()
	ctx := context.Background()
	rows, err := conn.Query(ctx, "SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name")
	require.NoError(t, err)
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		tables = append(tables, n)
	}
	require.NoError(t, rows.Err())
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM spans").Scan(&spans))
	return tables, spans
}

// hostile lists queries that must never run. what names the construct the
// guard refuses; code, for queries that pass the guard, is the ClickHouse
// error the server answers because of readonly=1 or the limits.
var hostile = []struct {
	name, q, what string
	code          int32
}{
	{"insert values", "INSERT INTO spans (name) VALUES ('x')", "INSERT", 0},
	{"insert select", "insert into spans select * from spans", "INSERT", 0},
	{"second statement", "SELECT 1; DROP TABLE spans", "multiple statements", 0},
	{"second select", "SELECT 1;SELECT 2", "multiple statements", 0},
	{"drop table", "DROP TABLE spans", "DROP", 0},
	{"drop database", "DROP DATABASE meshscope", "DROP", 0},
	{"truncate", "TRUNCATE TABLE spans", "TRUNCATE", 0},
	{"alter delete", "ALTER TABLE spans DELETE WHERE 1", "ALTER", 0},
	{"alter update", "ALTER TABLE spans UPDATE name = '' WHERE 1", "ALTER", 0},
	{"create table", "CREATE TABLE x (a UInt8) ENGINE = Memory", "CREATE", 0},
	{"create as select", "CREATE TABLE x ENGINE = Log AS SELECT * FROM spans", "CREATE", 0},
	{"rename", "RENAME TABLE spans TO spans_old", "RENAME", 0},
	{"optimize", "OPTIMIZE TABLE spans FINAL", "OPTIMIZE", 0},
	{"grant", "GRANT ALL ON *.* TO default", "GRANT", 0},
	{"system shutdown", "SYSTEM SHUTDOWN", "SYSTEM", 0},
	{"system drop cache", "system drop dns cache", "SYSTEM", 0},
	{"kill", "KILL QUERY WHERE 1", "KILL", 0},
	{"attach", "ATTACH TABLE spans", "ATTACH", 0},
	{"detach", "DETACH TABLE spans", "DETACH", 0},
	{"set", "SET readonly = 0", "SET", 0},
	{"use", "USE system", "USE", 0},
	{"delete", "DELETE FROM spans WHERE 1", "DELETE", 0},
	{"settings readonly", "SELECT 1 SETTINGS readonly = 0", "SETTINGS", 0},
	{"settings limits", "SELECT * FROM spans SETTINGS max_result_rows = 0, max_execution_time = 0", "SETTINGS", 0},
	{"url", "SELECT * FROM url('http://169.254.169.254/latest/meta-data/', CSV, 'a String')", "url()", 0},
	{"file", "SELECT * FROM file('/etc/passwd', CSV, 'a String')", "file()", 0},
	{"remote", "SELECT * FROM remote('10.0.0.1:9000', system.one)", "remote()", 0},
	{"remoteSecure", "SELECT * FROM remoteSecure('10.0.0.1:9440', system.one)", "remotesecure()", 0},
	{"cluster", "SELECT * FROM cluster('c', system.one)", "cluster()", 0},
	{"s3", "SELECT * FROM s3('https://bucket.s3.amazonaws.com/key', 'CSV')", "s3()", 0},
	{"hdfs", "SELECT * FROM hdfs('hdfs://host/file', 'CSV', 'a String')", "hdfs()", 0},
	{"mysql", "SELECT * FROM mysql('host:3306', 'db', 't', 'u', 'p')", "mysql()", 0},
	{"postgresql", "SELECT * FROM postgresql('host:5432', 'db', 't', 'u', 'p')", "postgresql()", 0},
	{"jdbc", "SELECT * FROM jdbc('jdbc:mysql://host/db', 't')", "jdbc()", 0},
	{"odbc", "SELECT * FROM odbc('DSN=x', 't')", "odbc()", 0},
	{"input", "SELECT * FROM input('a String')", "input()", 0},
	{"executable", "SELECT * FROM executable('x.sh', CSV, 'a String')", "executable()", 0},
	{"scalar file", "SELECT file('/etc/passwd')", "file()", 0},
	{"backquoted url", "SELECT * FROM `url`('http://x', CSV, 'a String')", "url()", 0},
	{"double-quoted file", `SELECT * FROM "file"('/etc/passwd', CSV, 'a String')`, "file()", 0},
	{"upper-case url", "SELECT * FROM URL('http://x', CSV, 'a String')", "url()", 0},
	{"comma join url", "SELECT * FROM spans, url('http://x', CSV, 'a String')", "url()", 0},
	{"subquery file", "SELECT * FROM (SELECT * FROM file('/etc/passwd', CSV, 'a String'))", "file()", 0},
	{"union remote", "SELECT 1 UNION ALL SELECT dummy FROM remote('h', system.one)", "remote()", 0},
	{"cte url", "WITH x AS (SELECT * FROM url('http://x', CSV, 'a String')) SELECT * FROM x", "url()", 0},
	{"join mysql", "SELECT * FROM spans JOIN mysql('h', 'db', 't', 'u', 'p') USING trace_id", "mysql()", 0},
	{"unknown table function", "SELECT * FROM azureBlobStorageX('x')", "azureblobstoragex()", 0},
	{"into outfile", "SELECT * FROM spans INTO OUTFILE '/tmp/spans.tsv'", "INTO OUTFILE", 0},
	{"format clause", "SELECT 1 FORMAT TabSeparated", "FORMAT", 0},
	{"comment then statement", "SELECT 1 /* c */; DROP TABLE spans", "multiple statements", 0},
	{"dashes in string", "SELECT '--', 1; DROP TABLE spans -- '", "multiple statements", 0},
	{"line comment", "SELECT 1 -- c\n; DROP TABLE spans", "multiple statements", 0},
	{"hidden by comment", "/* hidden */ DROP TABLE spans", "DROP", 0},
	{"nested comment", "SELECT 1 /* /* */ DROP TABLE spans */", "nested comment", 0},
	{"unterminated quote", "SELECT 'a'' ; DROP TABLE spans", "unterminated quote", 0},
	{"hash comment", "SELECT 1 # ; DROP TABLE spans", "#", 0},
	{"heredoc", "SELECT $$ -- $$; DROP TABLE spans", "$", 0},
	{"nul byte", "SELECT 1\x00; DROP TABLE spans", "NUL byte", 0},
	{"exists then truncate", "EXISTS TABLE spans; TRUNCATE TABLE spans", "multiple statements", 0},
	{"check table", "CHECK TABLE spans", "CHECK", 0},
	{"exchange", "EXCHANGE TABLES spans AND logs", "EXCHANGE", 0},

	// Past the guard: the server refuses because of readonly=1 or the limits.
	{"readonly numbers", "SELECT * FROM numbers(10)", "", codeReadonly},
	{"readonly merge", "SELECT count() FROM merge(currentDatabase(), '^spans$')", "", codeReadonly},
	{"readonly describe numbers", "DESCRIBE TABLE numbers(1)", "", codeReadonly},
	{"endless scan", "SELECT count() FROM system.numbers", "", codeTimeout},
	{"endless result", "SELECT number FROM system.numbers", "", codeTooManyRows},
	{"memory hog", "SELECT groupArray(number) FROM (SELECT number FROM system.numbers LIMIT 50000000)", "", codeMemory},
}

func testHostileSQL(t *testing.T, st *chstore.Store) {
	conn := st.Conn()
	tables, spans := state(t, conn)
	lim := Limits{MaxExecutionTime: time.Second, MaxResultRows: 1000, MaxMemoryUsage: 32 << 20}
	require.GreaterOrEqual(t, len(hostile), 30)
	for _, tc := range hostile {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			stats, err := Run(context.Background(), conn, tc.q, lim, &out, FormatJSON)
			require.Error(t, err)
			require.False(t, stats.Started)
			require.Zero(t, out.Len(), "nothing written for a refused query")
			if tc.what != "" {
				var refused *RefusedError
				require.True(t, errors.As(err, &refused), "want a refusal by the guard, got %v", err)
				require.Equal(t, tc.what, refused.What)
				require.Contains(t, err.Error(), strings.TrimSuffix(tc.what, "()"))
				return
			}
			var ex *clickhouse.Exception
			require.True(t, errors.As(err, &ex), "want a server refusal, got %v", err)
			require.Equal(t, tc.code, ex.Code, ex.Message)
		})
	}
	gotTables, gotSpans := state(t, conn)
	require.Equal(t, tables, gotTables)
	require.Equal(t, spans, gotSpans)
}

// testReadonlyWithoutGuard sends what the guard refuses straight to the
// server with the settings Run uses: readonly=1 alone must stop every write,
// every settings change and every table function. (KILL QUERY is allowed
// by readonly=1, for one's own queries; only the guard refuses it.)
func testReadonlyWithoutGuard(t *testing.T, st *chstore.Store) {
	conn := st.Conn()
	tables, spans := state(t, conn)
	v, err := conn.ServerVersion()
	require.NoError(t, err)
	ctx := clickhouse.Context(context.Background(), clickhouse.WithSettings(DefaultLimits.Settings(v.Revision)))
	for _, q := range []string{
		"INSERT INTO spans (name) SELECT 'x'",
		"INSERT INTO spans (name) VALUES ('x')",
		"CREATE TABLE x (a UInt8) ENGINE = Memory",
		"CREATE DATABASE other",
		"DROP TABLE spans",
		"TRUNCATE TABLE spans",
		"ALTER TABLE spans DELETE WHERE 1",
		"RENAME TABLE spans TO spans_old",
		"OPTIMIZE TABLE spans FINAL",
		"DETACH TABLE spans",
		"SET readonly = 0",
		"SELECT 1 SETTINGS readonly = 0",
		"SELECT 1 SETTINGS max_execution_time = 0",
		"SELECT * FROM url('http://127.0.0.1:1/', CSV, 'a String')",
		"SELECT * FROM file('/etc/passwd', CSV, 'a String')",
		"SELECT * FROM remote('127.0.0.1', system.one)",
		"SYSTEM DROP DNS CACHE",
	} {
		t.Run(q, func(t *testing.T) {
			err := conn.Exec(ctx, q)
			var ex *clickhouse.Exception
			require.True(t, errors.As(err, &ex), "want a server refusal, got %v", err)
			require.EqualValues(t, codeReadonly, ex.Code, ex.Message)
		})
	}
	gotTables, gotSpans := state(t, conn)
	require.Equal(t, tables, gotTables)
	require.Equal(t, spans, gotSpans)
}

func testLimits(t *testing.T, conn driver.Conn) {
	ctx := context.Background()
	run := func(q string, lim Limits) error {
		var out bytes.Buffer
		_, err := Run(ctx, conn, q, lim, &out, FormatJSON)
		return err
	}
	code := func(t *testing.T, err error) int32 {
		var ex *clickhouse.Exception
		require.True(t, errors.As(err, &ex), "want a server error, got %v", err)
		return ex.Code
	}
	t.Run("max_result_rows", func(t *testing.T) {
		q := "SELECT number FROM system.numbers LIMIT 500"
		require.NoError(t, run(q, Limits{MaxResultRows: 500}))
		require.EqualValues(t, codeTooManyRows, code(t, run(q, Limits{MaxResultRows: 499})))
	})
	t.Run("max_execution_time", func(t *testing.T) {
		// 18.16 caps sleep() at 3 s per block.
		require.NoError(t, run("SELECT sleep(2)", Limits{MaxExecutionTime: 5 * time.Second}))
		require.EqualValues(t, codeTimeout, code(t, run("SELECT sleep(3)", Limits{MaxExecutionTime: time.Second})))
	})
	t.Run("context deadline does not lift max_execution_time", func(t *testing.T) {
		dctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		var out bytes.Buffer
		_, err := Run(dctx, conn, "SELECT sleep(3)", Limits{MaxExecutionTime: time.Second}, &out, FormatJSON)
		require.EqualValues(t, codeTimeout, code(t, err))
	})
	t.Run("max_memory_usage", func(t *testing.T) {
		q := "SELECT length(groupArray(number)) FROM (SELECT number FROM system.numbers LIMIT 2000000)"
		require.NoError(t, run(q, Limits{MaxMemoryUsage: 1 << 30}))
		require.EqualValues(t, codeMemory, code(t, run(q, Limits{MaxMemoryUsage: 8 << 20})))
	})
	t.Run("max_query_bytes", func(t *testing.T) {
		err := run("SELECT '"+strings.Repeat("x", 100)+"'", Limits{MaxQueryBytes: 50})
		var refused *RefusedError
		require.True(t, errors.As(err, &refused))
		require.Equal(t, "query length", refused.What)
	})
	t.Run("unknown format", func(t *testing.T) {
		_, err := Run(ctx, conn, "SELECT 1", Limits{}, &bytes.Buffer{}, "xml")
		var refused *RefusedError
		require.True(t, errors.As(err, &refused))
		require.Equal(t, "format", refused.What)
	})
}

type jsonResult struct {
	Columns []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"columns"`
	Rows         [][]any `json:"rows"`
	RowsRead     uint64  `json:"rows_read"`
	RowsReturned uint64  `json:"rows_returned"`
	ElapsedMs    float64 `json:"elapsed_ms"`
	Error        string  `json:"error"`
}

func testJSON(t *testing.T, conn driver.Conn) {
	var out bytes.Buffer
	stats, err := Run(context.Background(), conn,
		"SELECT hex(trace_id) AS h, trace_id, span_id, parent_span_id, name, duration_ns, timestamp, toDate(timestamp) AS d, [span_id] AS ids, nan AS n, NULL AS nothing "+
			"FROM spans ORDER BY start_time_unix_nano", Limits{}, &out, "")
	require.NoError(t, err)
	require.True(t, stats.Started)
	require.EqualValues(t, 2, stats.Rows)
	var res jsonResult
	require.NoError(t, json.Unmarshal(out.Bytes(), &res), out.String())
	require.Len(t, res.Columns, 11)
	require.Equal(t, "trace_id", res.Columns[1].Name)
	require.Equal(t, "FixedString(16)", res.Columns[1].Type)
	require.Len(t, res.Rows, 2)
	first := res.Rows[0]
	require.Equal(t, "DEADBEEF0102030405060708090A0B0C", first[0])
	require.Equal(t, "deadbeef0102030405060708090a0b0c", first[1], "FixedString ids are shown as hex")
	require.Equal(t, "0100000000000000", first[2])
	require.Equal(t, "0000000000000000", first[3])
	require.Equal(t, "GET /cart", first[4])
	require.EqualValues(t, 2e6, first[5])
	require.Equal(t, "2026-11-27T10:00:00Z", first[6])
	require.Equal(t, "2026-11-27", first[7])
	require.Equal(t, []any{"0100000000000000"}, first[8])
	require.Nil(t, first[9], "NaN is null")
	require.Nil(t, first[10])
	require.EqualValues(t, 2, res.RowsReturned)
	require.Empty(t, res.Error)

	out.Reset()
	_, err = Run(context.Background(), conn, "SELECT name FROM spans WHERE 0", Limits{}, &out, FormatJSON)
	require.NoError(t, err)
	res = jsonResult{}
	require.NoError(t, json.Unmarshal(out.Bytes(), &res), out.String())
	require.Len(t, res.Columns, 1)
	require.Empty(t, res.Rows)
}

func testCSV(t *testing.T, conn driver.Conn) {
	var out bytes.Buffer
	_, err := Run(context.Background(), conn,
		"SELECT trace_id, name, duration_ns, [1, 2] AS a, 'x,\"y\"' AS s, NULL AS n FROM spans ORDER BY start_time_unix_nano LIMIT 1", Limits{}, &out, FormatCSV)
	require.NoError(t, err)
	records, err := csv.NewReader(&out).ReadAll()
	require.NoError(t, err)
	require.Equal(t, [][]string{
		{"trace_id", "name", "duration_ns", "a", "s", "n"},
		{"deadbeef0102030405060708090a0b0c", "GET /cart", "2000000", "[1,2]", `x,"y"`, ""},
	}, records)
}

// flushRecorder records what had been written at each Flush.
type flushRecorder struct {
	bytes.Buffer
	flushes []int
}

func (f *flushRecorder) Flush() { f.flushes = append(f.flushes, f.Len()) }

func testStreaming(t *testing.T, conn driver.Conn) {
	ctx := context.Background()
	t.Run("large result streams", func(t *testing.T) {
		var out flushRecorder
		stats, err := Run(ctx, conn, "SELECT number, toString(number) AS s FROM system.numbers LIMIT 100000", Limits{}, &out, FormatJSON)
		require.NoError(t, err)
		require.EqualValues(t, 100000, stats.Rows)
		require.Greater(t, len(out.flushes), 5, "flushed while streaming")
		var res jsonResult
		require.NoError(t, json.Unmarshal(out.Bytes(), &res))
		require.Len(t, res.Rows, 100000)
		require.GreaterOrEqual(t, res.RowsRead, uint64(100000))
	})
	t.Run("error after the first rows is reported in the output", func(t *testing.T) {
		var out bytes.Buffer
		stats, err := Run(ctx, conn, "SELECT number, throwIf(number = 100000) FROM system.numbers LIMIT 200000", Limits{}, &out, FormatJSON)
		require.Error(t, err)
		require.True(t, stats.Started)
		var res jsonResult
		require.NoError(t, json.Unmarshal(out.Bytes(), &res), "the partial output is still valid JSON")
		require.NotEmpty(t, res.Error)
		require.Less(t, len(res.Rows), 200000)
	})
	t.Run("error within the held-back output writes nothing", func(t *testing.T) {
		var out bytes.Buffer
		stats, err := Run(ctx, conn, "SELECT number, throwIf(number = 100000) FROM system.numbers LIMIT 200000", Limits{}, &out, FormatCSV)
		if stats.Started {
			require.Contains(t, out.String(), "#error: ")
		}
		require.Error(t, err)
		out.Reset()
		stats, err = Run(ctx, conn, "SELECT throwIf(1)", Limits{}, &out, FormatJSON)
		require.Error(t, err)
		require.False(t, stats.Started)
		require.Zero(t, out.Len())
	})
}

func testCancel(t *testing.T, conn driver.Conn) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := Run(ctx, conn, "SELECT count() FROM system.numbers", Limits{MaxExecutionTime: 30 * time.Second}, &bytes.Buffer{}, FormatJSON)
	require.Error(t, err)
	require.Less(t, time.Since(start), 10*time.Second)
	// The connection pool still works afterwards.
	var one uint8
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT 1").Scan(&one))
}
