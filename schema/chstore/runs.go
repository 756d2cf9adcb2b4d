package chstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/ClickHouse/ch-go/proto"
)

// Records: the encoding of AppendEncoded with each column's form first,
// what the write-ahead log keeps of each request (ingest/pipeline). A
// request's spans repeat many values row after row: their resource's
// attributes, service name and scope on every span of a resource, the same
// attribute keys on every span an instrumentation makes. Record columns
// (NewRecordColumns) keep such runs of equal rows of their string and
// string-array columns as each run's row once and its count, and records
// hold them so, which takes the log a fraction of the bytes to encode,
// compress, write, read and decompress; the flusher expands them as it
// appends them to its batch. Columns of other types, and those whose rows
// mostly differ, are written as AppendEncoded writes them.
//
// Layout of a column in a record: its 4-byte length, as in AppendEncoded,
// then its form: formPlain and the column's native encoding, or formRuns
// and a uvarint count of runs, each a uvarint count of rows and the row:
// a string column's value as the native encoding has it (uvarint length,
// bytes); a string-array column's uvarint element count and elements.
const (
	formPlain = 0
	formRuns  = 1
)

// AppendRecord appends the record of c's rows to dst (see above). Columns
// that are not record columns write every column plain.
func (c *Columns) AppendRecord(dst []byte) []byte { return c.appendColumns(dst, true) }

// appendColumnForm appends col in the form that takes fewer bytes.
func appendColumnForm(b *proto.Buffer, col nativeColumn) {
	switch c := col.(type) {
	case *strColumn:
		if c.runs && worthRuns(len(c.lens), c.rows) {
			b.Buf = appendStrRuns(append(b.Buf, formRuns), c)
			return
		}
	case *strArrColumn:
		if c.runs && worthRuns(len(c.lens), c.rows) {
			b.Buf = appendArrRuns(append(b.Buf, formRuns), c)
			return
		}
	}
	b.Buf = append(b.Buf, formPlain)
	col.EncodeColumn(b)
}

// AddRecord appends the rows of a record written by AppendRecord, as
// AddEncoded does those of AppendEncoded: a record that does not read back
// whole adds nothing and is an error saying where it stops making sense.
func (c *Columns) AddRecord(src []byte) error { return c.addColumns(src, true) }

// worthRuns: runs take a column's rows when they are at most half as many.
func worthRuns(runs, rows int) bool { return runs <= rows/2 }

// strEnd returns the end of the native-encoded string whose length starts
// at b[at], in columns this process built (so well formed).
func strEnd(b []byte, at int) int {
	if b[at] < 0x80 {
		return at + 1 + int(b[at])
	}
	n, k := binary.Uvarint(b[at:])
	return at + k + int(n)
}

// strEndChecked is strEnd for bytes from outside: ok is false when the
// string is not all there.
func strEndChecked(b []byte, at int) (end int, ok bool) {
	if at >= len(b) {
		return 0, false
	}
	if b[at] < 0x80 {
		end = at + 1 + int(b[at])
		return end, end <= len(b)
	}
	n, k := binary.Uvarint(b[at:])
	if k <= 0 || n > uint64(len(b)-at-k) {
		return 0, false
	}
	return at + k + int(n), true
}

// appendStrRuns appends the runs of a record column.
func appendStrRuns(dst []byte, c *strColumn) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(c.lens)))
	at := 0
	for _, n := range c.lens {
		end := strEnd(c.enc, at)
		dst = append(binary.AppendUvarint(dst, uint64(n)), c.enc[at:end]...)
		at = end
	}
	return dst
}

// appendArrRuns appends the runs of a record array column.
func appendArrRuns(dst []byte, c *strArrColumn) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(c.lens)))
	c.eachRun(func(rows uint32, elems uint64, enc []byte) {
		dst = binary.AppendUvarint(binary.AppendUvarint(dst, uint64(rows)), elems)
		dst = append(dst, enc...)
	})
	return dst
}

// maxExpansion bounds the bytes the runs of a record of n bytes may expand
// to: far beyond what requests repeat (a resource's attributes over each of
// its spans), short of damaged counts exhausting memory.
func maxExpansion(n int) uint64 { return expansionFactor*uint64(n) + 1<<20 }

const expansionFactor = 1024

var errRuns = errors.New("runs do not fill their bytes")

// run is one run read from a record: n rows of the value v (a string's
// encoding, or an array row's elements' encodings, elems of them).
type run struct {
	n, elems int
	v        []byte
}

// readRun reads the run at b[at:] of a column of rows rows (array: an
// array column's), left rows not yet covered, and returns where it ends.
func readRun(b []byte, at, left int, array bool) (r run, end int, err error) {
	n, k := binary.Uvarint(b[at:])
	if k <= 0 || n == 0 || n > uint64(left) {
		return r, 0, fmt.Errorf("run of %d rows where %d are left", n, left)
	}
	r.n, at = int(n), at+k
	from := at
	if !array {
		end, ok := strEndChecked(b, at)
		if !ok {
			return r, 0, errRuns
		}
		r.v = b[from:end]
		return r, end, nil
	}
	elems, k := binary.Uvarint(b[at:])
	if k <= 0 || elems > uint64(len(b)-at-k) {
		return r, 0, fmt.Errorf("array row of %d elements in %d bytes", elems, len(b)-at)
	}
	r.elems, at = int(elems), at+k
	from = at
	for range r.elems {
		var ok bool
		if at, ok = strEndChecked(b, at); !ok {
			return r, 0, errRuns
		}
	}
	r.v = b[from:at]
	return r, at, nil
}

// addRuns appends (apply) or checks the runs b of a column of rows rows,
// charging what they expand to against budget when checking.
func addRuns(col any, b []byte, rows int, apply bool, scale int, budget *uint64) error {
	var array bool
	switch col.(type) {
	case *strColumn:
	case *strArrColumn:
		array = true
	default:
		return fmt.Errorf("runs of a %T column", col)
	}
	count, k := binary.Uvarint(b)
	if k <= 0 || count == 0 || count > uint64(rows) {
		return fmt.Errorf("%d runs for %d rows", count, rows)
	}
	start := k
	if !apply {
		at, left := start, rows
		for range count {
			r, end, err := readRun(b, at, left, array)
			if err != nil {
				return err
			}
			hi, size := bits.Mul64(uint64(r.n), uint64(len(r.v))+8)
			if hi != 0 || size > *budget {
				return fmt.Errorf("runs expand past %d times the record's size", expansionFactor)
			}
			*budget -= size
			at, left = end, left-r.n
		}
		if left != 0 {
			return fmt.Errorf("runs cover %d of %d rows", rows-left, rows)
		}
		if at != len(b) {
			return fmt.Errorf("%d bytes after the last run", len(b)-at)
		}
		return nil
	}
	// Checked: each run reads back. Size first, then append.
	var size int
	at, left := start, rows
	for range count {
		r, end, _ := readRun(b, at, left, array)
		size += r.n * len(r.v)
		at, left = end, left-r.n
	}
	at, left = start, rows
	switch c := col.(type) {
	case *strColumn:
		c.enc = grow(c.enc, size, scale)
		for range count {
			r, end, _ := readRun(b, at, left, false)
			for range r.n {
				c.enc = append(c.enc, r.v...)
			}
			at, left = end, left-r.n
		}
		c.rows += rows
	case *strArrColumn:
		n := len(c.offsets)
		c.offsets = grow(c.offsets, rows, scale)[:n+rows]
		offs := c.offsets[n:]
		c.data.enc = grow(c.data.enc, size, scale)
		elem := uint64(c.data.rows)
		for range count {
			r, end, _ := readRun(b, at, left, true)
			for j := range r.n {
				c.data.enc = append(c.data.enc, r.v...)
				elem += uint64(r.elems)
				offs[j] = elem
			}
			offs = offs[r.n:]
			at, left = end, left-r.n
		}
		c.data.rows = int(elem)
	}
	return nil
}
