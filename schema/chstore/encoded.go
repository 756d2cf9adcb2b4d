package chstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"github.com/ClickHouse/ch-go/proto"

	"github.com/meshscope/meshscope/schema"
)

// Columns in their native encoding, as the write-ahead log keeps each
// request's rows (ingest/pipeline): AppendEncoded writes them and
// AddEncoded appends them to other columns with one copy per column, where
// rows would be decoded field by field and their values appended one by
// one.
//
// Layout: for each table (spans, logs, metric series, metric samples,
// requests) a uvarint row count; when it is not zero, each of the table's
// columns as a 4-byte little-endian byte length and the column's native
// encoding (ClickHouse's, as ch-go's columns write it: fixed-width values
// little-endian, strings after their uvarint length, arrays as the running
// element counts then the elements).

// AppendEncoded appends the encoding of c's rows to dst.
func (c *Columns) AppendEncoded(dst []byte) []byte { return c.appendColumns(dst, false) }

// appendColumns is AppendEncoded, or with forms AppendRecord.
func (c *Columns) appendColumns(dst []byte, forms bool) []byte {
	b := proto.Buffer{Buf: dst}
	for i := range numTables {
		t := c.existing(i)
		rows := t.rows()
		b.Buf = binary.AppendUvarint(b.Buf, uint64(rows))
		if rows == 0 {
			continue
		}
		for _, col := range t {
			at := len(b.Buf)
			b.Buf = append(b.Buf, 0, 0, 0, 0)
			if forms {
				appendColumnForm(&b, col.(nativeColumn))
			} else {
				col.(nativeColumn).EncodeColumn(&b)
			}
			binary.LittleEndian.PutUint32(b.Buf[at:], uint32(len(b.Buf)-at-4))
		}
	}
	return b.Buf
}

// AddEncoded appends rows encoded by AppendEncoded. Encoded rows that do not
// read back whole, column by column, add nothing and are an error saying
// where they stop making sense.
func (c *Columns) AddEncoded(src []byte) error { return c.addColumns(src, false) }

// addColumns is AddEncoded, or with forms AddRecord.
func (c *Columns) addColumns(src []byte, forms bool) error {
	if c.runs {
		return errors.New("encoded columns: record columns take rows only")
	}
	budget := maxExpansion(len(src)) // what runs may expand to
	// The first pass checks everything, the second appends.
	for pass := range 2 {
		apply := pass == 1
		s := src
		for i := range numTables {
			rows64, k := binary.Uvarint(s)
			if k <= 0 || rows64 > uint64(len(s)) {
				return fmt.Errorf("encoded columns: %s: bad row count", tableDefs[i].Name)
			}
			s = s[k:]
			rows := int(rows64)
			if rows == 0 {
				continue
			}
			var t tableCols
			scale := 1 // a column short of room grows to hold scale times this
			if apply {
				t = c.table(i)
				if rest := c.expect[i] - t.rows(); rest > rows {
					scale = (rest + rows - 1) / rows
				}
			} else {
				t = tableTemplates[i]
			}
			for j, col := range t {
				if len(s) < 4 {
					return fmt.Errorf("encoded columns: %s.%s: truncated", tableDefs[i].Name, tableDefs[i].Columns[j].Name)
				}
				n := int(binary.LittleEndian.Uint32(s))
				if n > len(s)-4 {
					return fmt.Errorf("encoded columns: %s.%s: %d bytes, %d left", tableDefs[i].Name, tableDefs[i].Columns[j].Name, n, len(s)-4)
				}
				b := s[4 : 4+n]
				s = s[4+n:]
				form := byte(formPlain)
				if forms {
					if len(b) == 0 {
						return fmt.Errorf("encoded columns: %s.%s: no form", tableDefs[i].Name, tableDefs[i].Columns[j].Name)
					}
					form, b = b[0], b[1:]
				}
				var err error
				switch form {
				case formPlain:
					err = addEncoded(col, b, rows, apply, scale)
				case formRuns:
					err = addRuns(col, b, rows, apply, scale, &budget)
				default:
					err = fmt.Errorf("unknown form %d", form)
				}
				if err != nil {
					// Only the first pass fails: it checked what the
					// second appends.
					return fmt.Errorf("encoded columns: %s.%s: %w", tableDefs[i].Name, tableDefs[i].Columns[j].Name, err)
				}
			}
		}
		if !apply && len(s) != 0 {
			return fmt.Errorf("encoded columns: %d bytes after the last table", len(s))
		}
	}
	return nil
}

// numTables is the number of tables Columns holds.
const numTables = 5

// tableDefs are the tables Columns holds, in its order.
var tableDefs = [numTables]schema.Table{schema.SpansTable, schema.LogsTable, schema.MetricSeriesTable, schema.MetricSamplesTable, schema.RequestsTable}

// tableTemplates are empty columns of each table, for checking encoded
// columns against their types before any are appended to.
var tableTemplates = [numTables]tableCols{newSpanCols().cols, newLogCols().cols, newSeriesCols().cols, newSampleCols().cols, newRequestCols().cols}

// existing returns table i's columns, nil before its first rows.
func (c *Columns) existing(i int) tableCols {
	switch i {
	case 0:
		return c.spanCols()
	case 1:
		return c.logCols()
	case 2:
		return c.seriesCols()
	case 3:
		return c.sampleCols()
	default:
		return c.requestCols()
	}
}

// table returns table i's columns, making them if need be.
func (c *Columns) table(i int) tableCols {
	switch i {
	case 0:
		if c.spans == nil {
			c.spans = newSpanCols()
			c.made(c.spans.cols)
		}
	case 1:
		if c.logs == nil {
			c.logs = newLogCols()
			c.made(c.logs.cols)
		}
	case 2:
		if c.series == nil {
			c.series = newSeriesCols()
			c.made(c.series.cols)
		}
	case 3:
		if c.samples == nil {
			c.samples = newSampleCols()
			c.made(c.samples.cols)
		}
	default:
		if c.requests == nil {
			c.requests = newRequestCols()
			c.made(c.requests.cols)
		}
	}
	return c.existing(i)
}

// addEncoded appends rows rows of col's native encoding b to col, or, when
// apply is false, only checks that b is exactly that. A column without room
// for b grows to hold scale times as much (see grow).
func addEncoded(col any, b []byte, rows int, apply bool, scale int) error {
	if n, ok := col.(interface{ column() any }); ok {
		col = n.column()
	}
	switch c := col.(type) {
	case *strColumn:
		if !apply {
			return checkStrings(b, rows)
		}
		c.enc = append(grow(c.enc, len(b), scale), b...)
		c.rows += rows
	case *strArrColumn:
		data, elems, err := checkOffsets(b, rows)
		if err != nil || !apply {
			if err == nil {
				err = checkStrings(data, elems)
			}
			return err
		}
		addOffsets(&c.offsets, b[:8*rows], uint64(c.data.rows), scale)
		c.data.enc = append(grow(c.data.enc, len(data), scale), data...)
		c.data.rows += elems
	case *proto.ColFixedStr:
		if len(b) != rows*c.Size {
			return fmt.Errorf("%d bytes for %d values of %d", len(b), rows, c.Size)
		}
		if apply {
			c.Buf = append(grow(c.Buf, len(b), scale), b...)
		}
	case *proto.ColDateTime:
		return addFixed(&c.Data, b, rows, apply, scale)
	case *proto.ColUInt8:
		return addFixed((*[]uint8)(c), b, rows, apply, scale)
	case *proto.ColUInt16:
		return addFixed((*[]uint16)(c), b, rows, apply, scale)
	case *proto.ColUInt32:
		return addFixed((*[]uint32)(c), b, rows, apply, scale)
	case *proto.ColUInt64:
		return addFixed((*[]uint64)(c), b, rows, apply, scale)
	case *proto.ColInt16:
		return addFixed((*[]int16)(c), b, rows, apply, scale)
	case *proto.ColInt32:
		return addFixed((*[]int32)(c), b, rows, apply, scale)
	case *proto.ColInt64:
		return addFixed((*[]int64)(c), b, rows, apply, scale)
	case *proto.ColFloat64:
		return addFixed((*[]float64)(c), b, rows, apply, scale)
	case *proto.ColArr[uint64]:
		return addArray(&c.Offsets, c.Data, b, rows, apply, scale)
	case *proto.ColArr[float64]:
		return addArray(&c.Offsets, c.Data, b, rows, apply, scale)
	case *proto.ColArr[[]byte]:
		return addArray(&c.Offsets, c.Data, b, rows, apply, scale)
	default:
		return fmt.Errorf("no encoded form for %T", col)
	}
	return nil
}

func (c native[T]) column() any { return c.ColumnOf }

// addFixed appends rows values of a fixed-width type, little-endian in b,
// as the native format and the hosts meshscope is built for have them
// (ch-go's columns copy them the same way).
func addFixed[T any](dst *[]T, b []byte, rows int, apply bool, scale int) error {
	var zero T
	size := int(unsafe.Sizeof(zero))
	if len(b) != rows*size {
		return fmt.Errorf("%d bytes for %d values of %d", len(b), rows, size)
	}
	if !apply || rows == 0 {
		return nil
	}
	n := len(*dst)
	*dst = grow(*dst, rows, scale)[:n+rows]
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&(*dst)[n])), len(b)), b)
	return nil
}

// addArray appends rows rows of an array column (offsets, then elements)
// whose elements are fixed-width.
func addArray(offsets *proto.ColUInt64, data proto.ColInput, b []byte, rows int, apply bool, scale int) error {
	elems, n, err := checkOffsets(b, rows)
	if err != nil {
		return err
	}
	base := uint64(data.Rows())
	if err := addEncoded(data, elems, n, apply, scale); err != nil || !apply {
		return err
	}
	addOffsets(offsets, b[:8*rows], base, scale)
	return nil
}

// checkOffsets checks the running element counts of rows array rows at the
// start of b and returns the encoded elements after them and their number.
func checkOffsets(b []byte, rows int) (elems []byte, n int, err error) {
	if len(b) < 8*rows {
		return nil, 0, fmt.Errorf("%d bytes for %d array offsets", len(b), rows)
	}
	var last uint64
	for i := range rows {
		o := binary.LittleEndian.Uint64(b[8*i:])
		if o < last || o > uint64(len(b)) {
			return nil, 0, fmt.Errorf("array offset %d of row %d after %d", o, i, last)
		}
		last = o
	}
	return b[8*rows:], int(last), nil
}

// addOffsets appends encoded running element counts, each plus base (the
// elements the column holds already).
func addOffsets(dst *proto.ColUInt64, b []byte, base uint64, scale int) {
	n := len(*dst)
	*dst = grow(*dst, len(b)/8, scale)[:n+len(b)/8]
	d := (*dst)[n:]
	for i := range d {
		d[i] = base + binary.LittleEndian.Uint64(b[8*i:])
	}
}

// maxGrowBytes bounds what grow reserves beyond doubling a column.
const maxGrowBytes = 64 << 20

// grow returns s with room for n more elements. When s must grow it makes
// room for n*scale more, the caller's estimate of what s will take before
// it is reset (a flush batch's rows of a table over the rows of the record
// at hand), up to maxGrowBytes, and at least doubles: appending alone grows
// a large slice by a quarter at a time, which copies a 100,000-row batch's
// columns about four times over (and faults in fresh memory each time) on
// the way to their final size.
func grow[T any](s []T, n, scale int) []T {
	if cap(s)-len(s) >= n {
		return s
	}
	var zero T
	more := n
	if scale > 1 {
		more = max(n, min(n*scale, maxGrowBytes/max(1, int(unsafe.Sizeof(zero)))))
	}
	// make, unlike append or slices.Grow, leaves memory fresh from the
	// system as it is (already zero) instead of clearing it again.
	ns := make([]T, len(s), len(s)+max(more, len(s)))
	copy(ns, s)
	return ns
}

var errStrings = errors.New("strings do not fill their bytes")

// checkStrings checks that b is exactly n strings, each after its uvarint
// length.
func checkStrings(b []byte, n int) error {
	at := 0 // where the next string's length starts; at most len(b)
	for range n {
		if at < len(b) && b[at] < 0x80 {
			at += 1 + int(b[at]) // a length under 128: one byte
			if at > len(b) {
				return errStrings
			}
			continue
		}
		l, k := binary.Uvarint(b[at:])
		if k <= 0 || l > uint64(len(b)-at-k) {
			return errStrings
		}
		at += k + int(l)
	}
	if at != len(b) {
		return errStrings
	}
	return nil
}
