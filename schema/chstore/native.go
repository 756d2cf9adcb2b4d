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
type strColumn struct {
	enc  []byte
	rows int
}

func (c *strColumn) Append(v string) {
	if len(v) < 0x80 {
		c.enc = append(c.enc, byte(len(v))) // most values: a one-byte length
	} else {
		c.enc = binary.AppendUvarint(c.enc, uint64(len(v)))
	}
	c.enc = append(c.enc, v...)
	c.rows++
}

func (c *strColumn) Type() proto.ColumnType       { return proto.ColumnTypeString }
func (c *strColumn) Rows() int                    { return c.rows }
func (c *strColumn) EncodeColumn(b *proto.Buffer) { b.Buf = append(b.Buf, c.enc...) }
func (c *strColumn) WriteColumn(w *proto.Writer)  { w.ChainWrite(c.enc) }
func (c *strColumn) Reset()                       { c.enc, c.rows = c.enc[:0], 0 }
func (c *strColumn) values() any                  { return decodeStrings(string(c.enc), c.rows) }

// strArrColumn is an Array(String) column in its native encoding: the
// offsets (the running count of values at the end of each row), then the
// values as a String column.
type strArrColumn struct {
	offsets proto.ColUInt64
	data    strColumn
}

func (c *strArrColumn) Append(v []string) {
	for _, s := range v {
		c.data.Append(s)
	}
	c.offsets = append(c.offsets, uint64(c.data.rows))
}

func (c *strArrColumn) Type() proto.ColumnType { return proto.ColumnTypeString.Array() }
func (c *strArrColumn) Rows() int              { return len(c.offsets) }
func (c *strArrColumn) Reset()                 { c.offsets = c.offsets[:0]; c.data.Reset() }

func (c *strArrColumn) EncodeColumn(b *proto.Buffer) {
	c.offsets.EncodeColumn(b)
	c.data.EncodeColumn(b)
}

func (c *strArrColumn) WriteColumn(w *proto.Writer) {
	c.offsets.WriteColumn(w)
	c.data.WriteColumn(w)
}

func (c *strArrColumn) values() any {
	flat := decodeStrings(string(c.data.enc), c.data.rows)
	out := make([][]string, len(c.offsets))
	var start uint64
	for i, end := range c.offsets {
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
