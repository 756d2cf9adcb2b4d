package query

import (
	"net/http"
	"time"

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

// tableStorageJSON is one table of GET /api/v1/storage.
type tableStorageJSON struct {
	Name              string     `json:"name"`
	Rows              uint64     `json:"rows"`
	BytesOnDisk       uint64     `json:"bytes_on_disk"`
	BytesUncompressed uint64     `json:"bytes_uncompressed"`
	BytesPerRow       float64    `json:"bytes_per_row"`
	Parts             uint64     `json:"parts"`
	Partitions        uint64     `json:"partitions"`
	Oldest            *time.Time `json:"oldest,omitempty"`
	Newest            *time.Time `json:"newest,omitempty"`
}

// GET /api/v1/storage: what each table holds on the server meshscope reads
// (its active parts; on a cluster, that node's shard): rows, bytes on disk
// and uncompressed, bytes a row, parts, partitions and the time its rows
// span, the largest first, with the total on disk. The SQL console shows
// it beside the tables.
func (s *Server) getStorage(c echo.Context) error {
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	tables, err := s.deps.Store.Storage(ctx)
	if err != nil {
		return err
	}
	out := []tableStorageJSON{}
	var total uint64
	for _, t := range tables {
		j := tableStorageJSON{Name: t.Table, Rows: t.Rows, BytesOnDisk: t.BytesOnDisk, BytesUncompressed: t.BytesUncompressed, Parts: t.Parts, Partitions: t.Partitions}
		if t.Rows > 0 {
			j.BytesPerRow = float64(t.BytesOnDisk) / float64(t.Rows)
		}
		if !t.Oldest.IsZero() {
			j.Oldest, j.Newest = &t.Oldest, &t.Newest
		}
		total += t.BytesOnDisk
		out = append(out, j)
	}
	return c.JSON(http.StatusOK, map[string]any{"tables": out, "bytes_on_disk": total})
}
