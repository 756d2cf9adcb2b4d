package chstore

import (
	"encoding/binary"
	"time"
	"unsafe"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"

	"github.com/meshscope/meshscope/schema"
)

// nativeColumn is a column built in ClickHouse's native layout with ch-go's
// proto columns. When the server's type for the column is the one built,
// appendColumns encodes it and lets the batch's column decode it: arrays are
// filled without boxing every element into an interface (clickhouse-go's
// Append of [][]string does), and every column is allocated once at its final
// size instead of grown row by row. When the server's type differs (a
// LowCardinality(String) column on a newer server) the values are appended as
// a Go slice, as any other column.
type nativeColumn interface {
	proto.ColInput
	Reset()
	// values returns the rows as a Go slice ([]string, [][]string ...).
	values() any
}

// native wraps a ch-go column of T as a nativeColumn.
type native[T any] struct{ proto.ColumnOf[T] }

func (c native[T]) values() any {
	out := make([]T, c.Rows())
	for i := range out {
		out[i] = c.Row(i)
	}
	return out
}

// strColumn is a String column kept in its native encoding (each value
// after its length as a varint), which is what insert hands to the batch's
// column: appending a value is one copy.
//
// With runs set (record columns, runs.go), a value equal to the one
// appended before it adds a row to that value's run instead of its bytes:
// enc then holds each run's value once and lens each run's rows.
type strColumn struct {
	enc  []byte
	rows int

	runs bool
	lens []uint32
	last string // the last value appended, with runs
}

func (c *strColumn) Append(v string) {
	if c.runs {
		// The same string (a resource's, on each of its spans) compares
		// without reading its bytes.
		if n := len(c.lens); n > 0 && v == c.last {
			c.lens[n-1]++
			c.rows++
			return
		}
		c.lens, c.last = append(c.lens, 1), v
	}
	if len(v) < 0x80 {
		c.enc = append(c.enc, byte(len(v))) // most values: a one-byte length
	} else {
		c.enc = binary.AppendUvarint(c.enc, uint64(len(v)))
	}
	c.enc = append(c.enc, v...)
	c.rows++
}

// appendPlain appends the column's native encoding, runs expanded.
func (c *strColumn) appendPlain(dst []byte) []byte {
	if !c.runs || len(c.lens) == c.rows {
		return append(dst, c.enc...) // no run longer than a row
	}
	// Values of runs of one row lie in enc as they are written: copied a
	// stretch at a time.
	from, at := 0, 0
	for _, n := range c.lens {
		end := strEnd(c.enc, at)
		if n > 1 {
			dst = append(dst, c.enc[from:end]...)
			for range n - 1 {
				dst = append(dst, c.enc[at:end]...)
			}
			from = end
		}
		at = end
	}
	return append(dst, c.enc[from:]...)
}

func (c *strColumn) Type() proto.ColumnType       { return proto.ColumnTypeString }
func (c *strColumn) Rows() int                    { return c.rows }
func (c *strColumn) EncodeColumn(b *proto.Buffer) { b.Buf = c.appendPlain(b.Buf) }
func (c *strColumn) WriteColumn(w *proto.Writer) {
	if c.runs {
		w.ChainWrite(c.appendPlain(nil))
		return
	}
	w.ChainWrite(c.enc)
}
func (c *strColumn) Reset() {
	c.enc, c.rows, c.lens, c.last = c.enc[:0], 0, c.lens[:0], ""
}
func (c *strColumn) values() any { return decodeStrings(string(c.appendPlain(nil)), c.rows) }

// strArrColumn is an Array(String) column in its native encoding: the
// offsets (the running count of values at the end of each row), then the
// values as a String column.
//
// With runs set, as strColumn: a row equal to the one before it adds to
// that row's run; offsets and data then hold each run's row once, lens
// each run's rows, and rows the rows.
type strArrColumn struct {
	offsets proto.ColUInt64
	data    strColumn

	runs bool
	lens []uint32
	last []string
	rows int
}

func (c *strArrColumn) Append(v []string) {
	if c.runs {
		c.rows++
		if n := len(c.lens); n > 0 && equalStrings(v, c.last) {
			c.lens[n-1]++
			return
		}
		c.lens, c.last = append(c.lens, 1), v
	}
	for _, s := range v {
		c.data.Append(s)
	}
	c.offsets = append(c.offsets, uint64(c.data.rows))
}

// equalStrings reports whether a and b hold the same strings.
func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (c *strArrColumn) Type() proto.ColumnType { return proto.ColumnTypeString.Array() }
func (c *strArrColumn) Rows() int {
	if c.runs {
		return c.rows
	}
	return len(c.offsets)
}
func (c *strArrColumn) Reset() {
	c.offsets = c.offsets[:0]
	c.data.Reset()
	c.lens, c.last, c.rows = c.lens[:0], nil, 0
}

// eachRun calls f with each run of a column with runs: its rows, and its
// row's element count and elements' encoding.
func (c *strArrColumn) eachRun(f func(rows uint32, elems uint64, enc []byte)) {
	var start uint64
	at := 0
	for i, n := range c.lens {
		end, from := c.offsets[i], at
		for range end - start {
			at = strEnd(c.data.enc, at)
		}
		f(n, end-start, c.data.enc[from:at])
		start = end
	}
}

// plain returns the column with its runs expanded (c itself without).
func (c *strArrColumn) plain() *strArrColumn {
	if !c.runs || len(c.lens) == c.rows {
		return c
	}
	var b proto.Buffer
	c.EncodeColumn(&b)
	out := &strArrColumn{offsets: make(proto.ColUInt64, c.rows)}
	for i := range out.offsets {
		out.offsets[i] = binary.LittleEndian.Uint64(b.Buf[8*i:])
	}
	out.data.enc = b.Buf[8*c.rows:]
	if c.rows > 0 {
		out.data.rows = int(out.offsets[c.rows-1])
	}
	return out
}

func (c *strArrColumn) EncodeColumn(b *proto.Buffer) {
	if !c.runs || len(c.lens) == c.rows {
		c.offsets.EncodeColumn(b) // no run longer than a row
		c.data.EncodeColumn(b)
		return
	}
	// Runs expanded, straight into b: offsets, then elements.
	var total uint64
	c.eachRun(func(rows uint32, elems uint64, _ []byte) {
		for range rows {
			total += elems
			b.Buf = binary.LittleEndian.AppendUint64(b.Buf, total)
		}
	})
	// Rows of runs of one row lie in data as they are written: copied a
	// stretch at a time.
	from, at := 0, 0
	c.eachRun(func(rows uint32, _ uint64, enc []byte) {
		at += len(enc)
		if rows > 1 {
			b.Buf = append(b.Buf, c.data.enc[from:at]...)
			for range rows - 1 {
				b.Buf = append(b.Buf, enc...)
			}
			from = at
		}
	})
	b.Buf = append(b.Buf, c.data.enc[from:at]...)
}

func (c *strArrColumn) WriteColumn(w *proto.Writer) {
	p := c.plain()
	p.offsets.WriteColumn(w)
	p.data.WriteColumn(w)
}

func (c *strArrColumn) values() any {
	p := c.plain()
	flat := decodeStrings(string(p.data.enc), p.data.rows)
	out := make([][]string, len(p.offsets))
	var start uint64
	for i, end := range p.offsets {
		out[i] = flat[start:end:end]
		start = end
	}
	return out
}

// decodeStrings reads n length-prefixed strings from enc, as substrings.
func decodeStrings(enc string, n int) []string {
	out := make([]string, n)
	for i := range out {
		l, k := binary.Uvarint([]byte(enc[:min(len(enc), binary.MaxVarintLen64)]))
		enc = enc[k:]
		out[i], enc = enc[:l], enc[l:]
	}
	return out
}

func nat[T any](c proto.ColumnOf[T]) nativeColumn { return native[T]{c} }

// The column constructors below return the column to fill and the same
// column as a nativeColumn, for the list of a table's columns.

func strCol() (*strColumn, nativeColumn) {
	c := new(strColumn)
	return c, c
}

func fixedCol(size int) (*proto.ColFixedStr, nativeColumn) {
	c := new(proto.ColFixedStr)
	c.SetSize(size)
	return c, nat[[]byte](c)
}

func dateCol() (*proto.ColDateTime, nativeColumn) {
	c := new(proto.ColDateTime)
	return c, nat[time.Time](c)
}

func strArrCol() (*strArrColumn, nativeColumn) {
	c := new(strArrColumn)
	return c, c
}

func u64ArrCol() (*proto.ColArr[uint64], nativeColumn) {
	c := proto.NewArray[uint64](new(proto.ColUInt64))
	return c, nat[[]uint64](c)
}

func f64ArrCol() (*proto.ColArr[float64], nativeColumn) {
	c := proto.NewArray[float64](new(proto.ColFloat64))
	return c, nat[[]float64](c)
}

func fixedArrCol(size int) (*proto.ColArr[[]byte], nativeColumn) {
	d := new(proto.ColFixedStr)
	d.SetSize(size)
	c := proto.NewArray[[]byte](d)
	return c, nat[[][]byte](c)
}

// numCol is a numeric column of ch-go's slice types (proto.ColUInt64 ...).
func numCol[T any, C any, P interface {
	*C
	proto.ColumnOf[T]
}]() (P, nativeColumn) {
	c := P(new(C))
	return c, nat[T](c)
}

// appendTraceIDs and appendSpanIDs append one row to an Array(FixedString(N)).
func appendTraceIDs(a *proto.ColArr[[]byte], ids []schema.TraceID) {
	d := a.Data.(*proto.ColFixedStr)
	for j := range ids {
		d.Append(ids[j][:])
	}
	a.Offsets = append(a.Offsets, uint64(d.Rows()))
}

func appendSpanIDs(a *proto.ColArr[[]byte], ids []schema.SpanID) {
	d := a.Data.(*proto.ColFixedStr)
	for j := range ids {
		d.Append(ids[j][:])
	}
	a.Offsets = append(a.Offsets, uint64(d.Rows()))
}

// dt is the DateTime (seconds) of a time in nanoseconds.
func dt(ns uint64) proto.DateTime { return proto.DateTime(ns / 1e9) }

// lowCardString is the type of String columns made LowCardinality on
// servers that have it (schema.Column.LowCard).
const lowCardString column.Type = "LowCardinality(String)"

// The bits of a LowCardinality column's serialization type (ClickHouse's
// SerializationLowCardinality): the dictionary is sent with the column
// ("additional keys") and replaces any earlier one.
const (
	lowCardAdditionalKeys   = 1 << 9
	lowCardUpdateDictionary = 1 << 10
)

// lowCardEncoder encodes String columns as LowCardinality(String) columns
// in the native format: the HTTP insert sends them so, and clickhouse-go's
// LowCardinality columns take them with Decode, which reads each distinct
// value once and the keys as one block, where its Append boxes every value
// into an interface and looks it up in a map of interfaces. It keeps its
// memory from one column to the next.
type lowCardEncoder struct {
	index map[string]uint32 // value -> key, the values being views of the column
	keys  []uint32
	dict  strColumn
}

// encode appends c as a LowCardinality(String) column without its state
// prefix (the batch writes that): the serialization type, the dictionary
// (the distinct values, "" first, as clickhouse-go's own columns have it)
// as a String column after its size, then the row count and each row's key
// in the narrowest unsigned type that holds them. A column of no rows is
// nothing, as clickhouse-go's Decode expects.
func (e *lowCardEncoder) encode(b *proto.Buffer, c *strColumn) {
	if c.rows == 0 {
		return
	}
	if e.index == nil {
		e.index = make(map[string]uint32)
	}
	clear(e.index)
	e.keys = e.keys[:0]
	e.dict.Reset()
	e.dict.Append("")
	e.index[""] = 0
	last, lastKey := "", uint32(0) // consecutive rows often repeat a value
	enc := c.enc
	for range c.rows {
		l, k := binary.Uvarint(enc)
		enc = enc[k:]
		v := unsafe.String(unsafe.SliceData(enc), int(l))
		enc = enc[l:]
		if v != last {
			key, ok := e.index[v]
			if !ok {
				key = uint32(e.dict.rows)
				e.index[v] = key
				e.dict.Append(v)
			}
			last, lastKey = v, key
		}
		e.keys = append(e.keys, lastKey)
	}
	var keyType uint64 // 0 UInt8, 1 UInt16, 2 UInt32
	switch {
	case e.dict.rows > 1<<16:
		keyType = 2
	case e.dict.rows > 1<<8:
		keyType = 1
	}
	b.PutUInt64(lowCardAdditionalKeys | lowCardUpdateDictionary | keyType)
	b.PutInt64(int64(e.dict.rows))
	b.Buf = append(b.Buf, e.dict.enc...)
	b.PutInt64(int64(len(e.keys)))
	switch keyType {
	case 0:
		for _, k := range e.keys {
			b.Buf = append(b.Buf, byte(k))
		}
	case 1:
		for _, k := range e.keys {
			b.Buf = binary.LittleEndian.AppendUint16(b.Buf, uint16(k))
		}
	default:
		for _, k := range e.keys {
			b.Buf = binary.LittleEndian.AppendUint32(b.Buf, k)
		}
	}
	clear(e.index) // drop the views of c
}
