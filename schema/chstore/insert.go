package chstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/meshscope/meshscope/schema"
)

// Write inserts every row of b, one INSERT per table, each naming its columns
// (ClickHouse 18.16 requires it) and filled column by column.
func (s *Store) Write(ctx context.Context, b *schema.Batch) error {
	c := s.getColumns()
	defer s.putColumns(c)
	c.Reset()
	c.Add(b)
	return s.WriteColumns(ctx, c)
}

// WriteColumns inserts the rows of c, one INSERT per table as Write does,
// through the HTTP interface when the store has it (Config.HTTPURL). c is
// left as it is, so a failed write can be retried.
func (s *Store) WriteColumns(ctx context.Context, c *Columns) error {
	for _, t := range c.tables() {
		if s.http != nil {
			sent, err := s.http.insert(ctx, t.table, t.cols, &c.scratch)
			if err != nil {
				return err
			}
			if sent {
				continue
			}
		}
		if err := s.insertBuf(ctx, t.table, t.cols, &c.scratch); err != nil {
			return err
		}
	}
	return nil
}

// tableColumns is a table and its columns.
type tableColumns struct {
	table schema.Table
	cols  tableCols
}

// tables lists the tables c has rows of.
func (c *Columns) tables() []tableColumns {
	var out []tableColumns
	for i := range numTables {
		if t := c.existing(i); t.rows() > 0 {
			out = append(out, tableColumns{tableDefs[i], t})
		}
	}
	return out
}

// InsertColumns inserts pre-built columns, one slice per column of t in
// order. Packages that own tables (edges) use it for their rows.
func (s *Store) InsertColumns(ctx context.Context, t schema.Table, columns []any) error {
	return s.insert(ctx, t, columns)
}

// InsertSQL is the INSERT statement for t, naming every column.
func InsertSQL(t schema.Table) string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = "`" + c.Name + "`"
	}
	return "INSERT INTO `" + t.Name + "` (" + strings.Join(names, ", ") + ")"
}

func (s *Store) insert(ctx context.Context, t schema.Table, columns []any) error {
	return s.insertBuf(ctx, t, columns, nil)
}

// insertBuf is insert with the scratch memory of sc (nil: new memory).
func (s *Store) insertBuf(ctx context.Context, t schema.Table, columns []any, sc *insertScratch) error {
	if len(columns) != len(t.Columns) {
		return fmt.Errorf("insert %s: %d columns built for %d in the table", t.Name, len(columns), len(t.Columns))
	}
	batch, err := s.conn.PrepareBatch(ctx, InsertSQL(t))
	if err != nil {
		return fmt.Errorf("insert %s: prepare: %w", t.Name, err)
	}
	if err := appendColumns(batch, t, columns, sc); err != nil {
		_ = batch.Abort()
		return err
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %s: send: %w", t.Name, err)
	}
	return nil
}

// piece is part of the encoding of a batch's native columns: buf[from:to],
// or a column's own bytes.
type piece struct {
	from, to int
	own      []byte
}

// ErrRejected is wrapped by the errors of inserts that fail on this side
// for good: the server's table does not take the rows as built (a column it
// lacks, or of a type the values cannot be converted to). Retrying cannot
// help, as retrying a server's exception cannot.
var ErrRejected = errors.New("rows do not fit the server's table")

// insertScratch is memory appendColumns reuses from one insert to the next.
type insertScratch struct {
	buf  proto.Buffer // encoded native columns other than strings
	lc   lowCardEncoder
	str  strColumn // a []string column on its way to lc
	body pieces    // an HTTP insert's body
}

// appendColumns appends columns to batch, with the scratch memory of sc
// (nil: new memory). Native columns of the server's type are handed to the
// batch's columns in their native encoding, which they decode (String
// columns are read where they are); String columns whose server type is
// LowCardinality(String) (ClickHouse 19.3+) are encoded as that first.
// Other columns are appended as Go slices.
func appendColumns(batch driver.Batch, t schema.Table, columns []any, sc *insertScratch) error {
	if sc == nil {
		sc = new(insertScratch)
	}
	buf := &sc.buf
	buf.Reset()
	var (
		cols    []column.Interface
		encoded []int // the columns decoded from buf, in order, and their rows
		rows    []int
		pieces  []piece // the encoding, in order
	)
	encode := func(c proto.ColInput) {
		from := len(buf.Buf)
		c.EncodeColumn(buf)
		pieces = append(pieces, piece{from: from, to: len(buf.Buf)})
	}
	own := func(b []byte) { pieces = append(pieces, piece{own: b}) }
	for i, col := range columns {
		if vals, ok := col.([]string); ok {
			// A column of Go strings (the edge and SLO tables build theirs
			// so): kept as such unless the server's type is
			// LowCardinality(String).
			if cols == nil {
				cols = batch.Columns()
			}
			if cols[i].Type() == lowCardString && cols[i].Rows() == 0 {
				sc.str.Reset()
				for _, v := range vals {
					sc.str.Append(v)
				}
				col = &sc.str
			}
		}
		if nc, ok := col.(nativeColumn); ok {
			if cols == nil {
				cols = batch.Columns()
			}
			if c, ok := nc.(*strColumn); ok && cols[i].Type() == lowCardString && cols[i].Rows() == 0 {
				from := len(buf.Buf)
				sc.lc.encode(buf, c)
				pieces = append(pieces, piece{from: from, to: len(buf.Buf)})
				encoded, rows = append(encoded, i), append(rows, nc.Rows())
				continue
			}
			if string(cols[i].Type()) == string(nc.Type()) && cols[i].Rows() == 0 {
				switch c := nc.(type) {
				case *strColumn:
					own(c.enc)
				case *strArrColumn:
					encode(c.offsets)
					own(c.data.enc)
				default:
					encode(nc)
				}
				encoded, rows = append(encoded, i), append(rows, nc.Rows())
				continue
			}
			col = nc.values()
		}
		if err := batch.Column(i).Append(col); err != nil {
			return fmt.Errorf("insert %s: column %s: %w: %w", t.Name, t.Columns[i].Name, ErrRejected, err)
		}
	}
	if len(encoded) == 0 {
		return nil
	}
	readers := make([]io.Reader, len(pieces))
	for i, p := range pieces {
		if p.own == nil {
			p.own = buf.Buf[p.from:p.to]
		}
		readers[i] = bytes.NewReader(p.own)
	}
	r := proto.NewReader(io.MultiReader(readers...))
	for k, i := range encoded {
		if err := cols[i].Decode(r, rows[k]); err != nil {
			return fmt.Errorf("insert %s: column %s: %w", t.Name, t.Columns[i].Name, err)
		}
	}
	return nil
}
