package chstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
	"github.com/meshscope/meshscope/schema/chtest"
)

// TestLowCardinalityInsert inserts the same rows into tables whose String
// columns are plain and into tables whose schema.Column.LowCard columns are
// LowCardinality(String), as servers from 19.3 have them, and reads every
// such column back from both. ClickHouse 18.16 has LowCardinality behind
// allow_experimental_low_cardinality_type, with the native format of later
// versions, so the columns the insert encodes as LowCardinality go to a
// real server here.
func TestLowCardinalityInsert(t *testing.T) {
	srv := chtest.Server(t)
	ctx := clickhouse.Context(context.Background(), clickhouse.WithSettings(clickhouse.Settings{
		"allow_experimental_low_cardinality_type": 1,
	}))
	tables := []schema.Table{schema.SpansTable, schema.LogsTable, schema.MetricSeriesTable, schema.MetricSamplesTable, schema.RequestsTable}
	open := func(db string, lowCard bool, httpURL string) *chstore.Store {
		st, err := chstore.Open(ctx, chstore.Config{DSN: srv.DSN(db), HTTPURL: httpURL})
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		for _, tbl := range tables {
			require.NoError(t, st.Conn().Exec(ctx, createTable(tbl, lowCard, "Memory")))
		}
		require.NoError(t, st.Write(ctx, chstore.TestBatch()))
		return st
	}
	// The LowCardinality columns are encoded by the store in both ways of
	// inserting: for clickhouse-go's columns and for the HTTP interface.
	plain, lowCard, lowCardHTTP := open("plain", false, ""), open("lowcard", true, ""), open("lowcard_http", true, srv.HTTPURL())
	read := func(st *chstore.Store, table, col string) []string {
		return queryStrings(t, st, "SELECT toString(`"+col+"`) FROM `"+table+"`")
	}
	checked, filled := 0, 0
	for _, tbl := range tables {
		for _, c := range tbl.Columns {
			if !c.LowCard {
				continue
			}
			var typ string
			require.NoError(t, lowCard.Conn().QueryRow(ctx, "SELECT type FROM system.columns WHERE database = 'lowcard' AND table = ? AND name = ?", tbl.Name, c.Name).Scan(&typ))
			require.Equal(t, "LowCardinality(String)", typ, "%s.%s", tbl.Name, c.Name)
			want := read(plain, tbl.Name, c.Name)
			require.NotEmpty(t, want, "%s.%s", tbl.Name, c.Name)
			require.Equal(t, want, read(lowCard, tbl.Name, c.Name), "%s.%s", tbl.Name, c.Name)
			require.Equal(t, want, read(lowCardHTTP, tbl.Name, c.Name), "%s.%s over HTTP", tbl.Name, c.Name)
			checked++
			if want[0] != "" {
				filled++
			}
		}
	}
	require.Greater(t, checked, 30)
	require.Greater(t, filled, 25, "the rows fill most LowCardinality columns")
}

// createTable is a CREATE TABLE statement for t with the given engine, its
// LowCard columns LowCardinality(String) when lowCard is set.
func createTable(t schema.Table, lowCard bool, engine string) string {
	var cols []string
	for _, c := range t.Columns {
		typ := c.Type
		if c.LowCard && lowCard {
			typ = "LowCardinality(" + typ + ")"
		}
		cols = append(cols, "`"+c.Name+"` "+typ)
	}
	return "CREATE TABLE `" + t.Name + "` (" + strings.Join(cols, ", ") + ") ENGINE = " + engine
}

// TestLowCardinalityFromSlices inserts Go string slices (as the edge and SLO
// tables build their columns) into LowCardinality(String) columns of a real
// server and reads them back.
func TestLowCardinalityFromSlices(t *testing.T) {
	srv := chtest.Server(t)
	ctx := clickhouse.Context(context.Background(), clickhouse.WithSettings(clickhouse.Settings{
		"allow_experimental_low_cardinality_type": 1,
	}))
	st, err := chstore.Open(ctx, chstore.Config{DSN: srv.DSN("slices")})
	require.NoError(t, err)
	defer st.Close()
	tbl := schema.Table{Name: "t", Columns: []schema.Column{
		{Name: "a", Type: "String", LowCard: true}, {Name: "n", Type: "UInt8"}, {Name: "b", Type: "String", LowCard: true},
	}}
	require.NoError(t, st.Conn().Exec(ctx, createTable(tbl, true, "Memory")))
	a := []string{"cart", "", "cart", "web", "é", "web"}
	b := []string{"x", "y", "", "", "x", "z"}
	require.NoError(t, st.InsertColumns(ctx, tbl, []any{a, []uint8{1, 2, 3, 4, 5, 6}, b}))
	rows, err := st.Conn().Query(ctx, "SELECT toString(a), toString(b) FROM t ORDER BY n")
	require.NoError(t, err)
	defer rows.Close()
	var gotA, gotB []string
	for rows.Next() {
		var x, y string
		require.NoError(t, rows.Scan(&x, &y))
		gotA, gotB = append(gotA, x), append(gotB, y)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, a, gotA)
	require.Equal(t, b, gotB)
}
