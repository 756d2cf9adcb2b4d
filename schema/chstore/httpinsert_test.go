package chstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chlocal"
	"github.com/meshscope/meshscope/schema/chstore"
	"github.com/meshscope/meshscope/schema/chtest"
)

// openHTTP opens database db on srv, inserting through its HTTP interface,
// and applies the schema.
func openHTTP(t *testing.T, srv *chlocal.Server, db string, httpURL string) *chstore.Store {
	t.Helper()
	ctx := context.Background()
	st, err := chstore.Open(ctx, chstore.Config{DSN: srv.DSN(db), HTTPURL: httpURL})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	_, err = st.Migrate(ctx)
	require.NoError(t, err)
	return st
}

// rowsOf returns every row of table as text, sorted: each column through
// toString, tab-separated.
func rowsOf(t *testing.T, st *chstore.Store, table schema.Table) []string {
	t.Helper()
	var cols []string
	for _, c := range table.Columns {
		cols = append(cols, "toString(`"+c.Name+"`)")
	}
	return queryStrings(t, st, "SELECT concat("+strings.Join(cols, ", '\\t', ")+") AS r FROM `"+table.Name+"` ORDER BY r")
}

// queryStrings runs q, whose rows are one string, and returns them.
func queryStrings(t *testing.T, st *chstore.Store, q string) []string {
	t.Helper()
	rows, err := st.Conn().Query(context.Background(), q)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		require.NoError(t, rows.Scan(&r))
		out = append(out, r)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestHTTPAndNativeInsertsAgree inserts rows of every table, with empty,
// nil and filled arrays, through the HTTP interface into one database and
// through clickhouse-go's batch into another, and compares every column of
// every row.
func TestHTTPAndNativeInsertsAgree(t *testing.T) {
	srv := chtest.Server(t)
	viaHTTP := openHTTP(t, srv, "via_http", srv.HTTPURL())
	viaNative := openHTTP(t, srv, "via_native", "")
	ctx := context.Background()
	b := chstore.TestBatch()
	notSent, err := chstore.InsertOverHTTP(ctx, viaHTTP, b)
	require.NoError(t, err)
	require.Empty(t, notSent, "every table goes through the HTTP interface")
	require.NoError(t, viaNative.Write(ctx, b))
	for _, table := range []schema.Table{schema.SpansTable, schema.LogsTable, schema.MetricSeriesTable, schema.MetricSamplesTable, schema.RequestsTable} {
		want := rowsOf(t, viaNative, table)
		require.NotEmpty(t, want, table.Name)
		require.Equal(t, want, rowsOf(t, viaHTTP, table), table.Name)
	}
	// And Write, which serve's flusher uses, goes the same way.
	require.NoError(t, viaHTTP.Write(ctx, b))
	var n uint64
	require.NoError(t, viaHTTP.Conn().QueryRow(ctx, "SELECT count() FROM spans").Scan(&n))
	require.EqualValues(t, 2*len(b.Spans), n)
}

// TestHTTPInsertFallsBack checks that a table whose server type of a
// column is not the one built (here status_message is Nullable(String)) takes the
// clickhouse-go batch, which converts, instead of the HTTP interface.
func TestHTTPInsertFallsBack(t *testing.T) {
	srv := chtest.Server(t)
	st := openHTTP(t, srv, "altered", srv.HTTPURL())
	ctx := context.Background()
	require.NoError(t, st.Conn().Exec(ctx, "ALTER TABLE spans MODIFY COLUMN status_message Nullable(String)"))
	b := &schema.Batch{Spans: chstore.TestBatch().Spans, Logs: chstore.TestBatch().Logs}
	notSent, err := chstore.InsertOverHTTP(ctx, st, b)
	require.NoError(t, err)
	require.Equal(t, []string{"spans"}, notSent)
	require.NoError(t, st.Write(ctx, b))
	var msgs []string
	require.NoError(t, st.Conn().QueryRow(ctx, "SELECT groupArray(assumeNotNull(status_message)) FROM (SELECT status_message FROM spans ORDER BY start_time_unix_nano)").Scan(&msgs))
	require.Equal(t, []string{"", "boom", ""}, msgs)
	var logs uint64
	require.NoError(t, st.Conn().QueryRow(ctx, "SELECT count() FROM logs").Scan(&logs))
	require.EqualValues(t, 2*len(b.Logs), logs, "logs went through the HTTP interface both times")

	// A type the values cannot be converted to: rejected for good.
	require.NoError(t, st.Conn().Exec(ctx, "ALTER TABLE spans MODIFY COLUMN http_status_code String"))
	err = st.Write(ctx, b)
	require.ErrorIs(t, err, chstore.ErrRejected)
	require.ErrorContains(t, err, "http_status_code")
}

// TestHTTPInsertErrors checks the errors of the HTTP interface: a server's
// refusal is a *clickhouse.Exception with its code (the flusher retries
// those a few times, then sets the batch aside), no server a plain error
// (retried until it answers).
func TestHTTPInsertErrors(t *testing.T) {
	srv := chtest.Server(t)
	st := openHTTP(t, srv, "errs", srv.HTTPURL())
	ctx := context.Background()
	b := &schema.Batch{Spans: chstore.TestBatch().Spans}
	require.NoError(t, st.Write(ctx, b)) // the column types are known now
	require.NoError(t, st.Conn().Exec(ctx, "DROP TABLE spans"))
	err := st.Write(ctx, b)
	var exc *clickhouse.Exception
	require.True(t, errors.As(err, &exc), "got %v", err)
	require.EqualValues(t, 60, exc.Code, "UNKNOWN_TABLE: %v", err)
	require.Contains(t, err.Error(), "insert spans")
	// The table's columns are forgotten after a failure: the next insert
	// reads them again and says what is missing.
	err = st.Write(ctx, b)
	require.ErrorContains(t, err, "has no column")
	require.ErrorIs(t, err, chstore.ErrRejected)
	require.False(t, errors.As(err, &exc))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + l.Addr().String()
	require.NoError(t, l.Close())
	down := openHTTP(t, srv, "down", closed)
	require.NoError(t, st.Ping(ctx), "both interfaces answer")
	require.ErrorContains(t, down.Ping(ctx), "clickhouse HTTP interface", "readiness says inserts cannot go through")
	err = down.Write(ctx, b)
	require.Error(t, err)
	require.False(t, errors.As(err, &exc), "no server is not an exception: %v", err)
	require.Contains(t, err.Error(), "insert spans")

	_, err = chstore.Open(ctx, chstore.Config{DSN: srv.DSN("x"), HTTPURL: "tcp://" + l.Addr().String()})
	require.ErrorContains(t, err, "want http://host:8123")
}

// TestHTTPErrorText reads the exception code from the texts of ClickHouse
// 18.16 and later versions and from the header later versions add.
func TestHTTPErrorText(t *testing.T) {
	for _, tc := range []struct {
		header, body string
		code         int32
	}{
		{"", "Code: 60, e.displayText() = DB::Exception: Table errs.spans doesn't exist., e.what() = DB::Exception\n", 60},
		{"", "Code: 53. DB::Exception: Type mismatch for column name. (TYPE_MISMATCH) (version 24.8.4.13 (official build))\n", 53},
		{"241", "Code: 241. DB::Exception: Memory limit (total) exceeded. (MEMORY_LIMIT_EXCEEDED)", 241},
		{"", "<html>502 Bad Gateway</html>", 0},
	} {
		resp := &http.Response{Status: "502 Bad Gateway", StatusCode: 502, Header: http.Header{}}
		if tc.header != "" {
			resp.Header.Set("X-ClickHouse-Exception-Code", tc.header)
		}
		err := chstore.HTTPError(resp, []byte(tc.body))
		var exc *clickhouse.Exception
		if tc.code == 0 {
			require.False(t, errors.As(err, &exc), tc.body)
			require.ErrorContains(t, err, "502 Bad Gateway")
			continue
		}
		require.True(t, errors.As(err, &exc), tc.body)
		require.Equal(t, tc.code, exc.Code, tc.body)
		require.Equal(t, strings.TrimSpace(tc.body), exc.Message)
	}
}

// TestHTTPInsertBodyChunked: the body goes chunked, without a length, so
// that its pieces are written from their own memory, and arrives whole and
// in order (with its empty pieces, which must not end the chunked body).
func TestHTTPInsertBodyChunked(t *testing.T) {
	var got []byte
	var te []string
	var length int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		te, length = r.TransferEncoding, r.ContentLength
		got, _ = io.ReadAll(r.Body)
	}))
	defer srv.Close()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<14) // 256 KiB, beyond any copy buffer
	pieces := [][]byte{[]byte("head"), {}, big, []byte("x"), {}, big[:1000]}
	require.NoError(t, chstore.PostPieces(context.Background(), srv.URL+"/", pieces))
	require.Equal(t, []string{"chunked"}, te)
	require.Equal(t, int64(-1), length)
	require.Equal(t, bytes.Join(pieces, nil), got)
}
