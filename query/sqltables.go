package query

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/meshscope/meshscope/schema"
)

// SQLTable describes a table that SQL may read, for the SQL console's table
// browser: the tables the schema's migrations create, as docs/schema.md
// lists them.
type SQLTable struct {
	Name    string      `json:"name"`
	Doc     string      `json:"doc"`
	Columns []SQLColumn `json:"columns"`
}

// SQLColumn is a column of an SQLTable.
type SQLColumn struct {
	Name string `json:"name"`
	// Type is the portable type (as on ClickHouse 18.16); newer servers
	// may wrap it in LowCardinality.
	Type string `json:"type"`
	Doc  string `json:"doc"`
}

// SQLTables lists the tables of the schema (GET /api/v1/sql/tables), in
// the order the migrations create them, then the bookkeeping table.
func SQLTables() []SQLTable {
	var out []SQLTable
	add := func(t schema.Table) {
		st := SQLTable{Name: t.Name, Doc: t.Doc, Columns: make([]SQLColumn, 0, len(t.Columns))}
		for _, c := range t.Columns {
			st.Columns = append(st.Columns, SQLColumn{Name: c.Name, Type: c.Type, Doc: c.Doc})
		}
		out = append(out, st)
	}
	for _, m := range schema.Migrations() {
		for _, obj := range m.Objects {
			if t, ok := obj.(schema.Table); ok {
				add(t)
			}
		}
	}
	add(schema.MigrationsTable)
	return out
}

// GET /api/v1/sql/tables
func (s *Server) getSQLTables(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"tables": SQLTables()})
}
