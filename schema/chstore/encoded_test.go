package chstore

import (
	"bytes"
	"strings"
	"testing"

	"github.com/meshscope/meshscope/schema"
)

// encodedOf is the encoding of the rows of batches added in order.
func encodedOf(batches ...*schema.Batch) []byte {
	c := NewColumns()
	for _, b := range batches {
		c.Add(b)
	}
	return c.AppendEncoded(nil)
}

// TestEncodedColumnsAppend: columns that take encoded rows hold what
// columns given the same rows as rows hold, after rows of their own (array
// offsets continue from theirs), and again when reset and reused.
func TestEncodedColumnsAppend(t *testing.T) {
	a, b := testBatch(), benchRows()
	want := encodedOf(a, b, a)
	c := NewColumns()
	for range 2 {
		c.Add(a)
		if err := c.AddEncoded(encodedOf(b)); err != nil {
			t.Fatal(err)
		}
		if err := c.AddEncoded(encodedOf(a)); err != nil {
			t.Fatal(err)
		}
		if got := c.AppendEncoded(nil); !bytes.Equal(got, want) {
			t.Fatalf("encoded rows appended differ from the rows added")
		}
		checkRowCounts(t, c)
		c.Reset()
	}
	// Nothing encoded is nothing added.
	if err := c.AddEncoded(encodedOf()); err != nil {
		t.Fatal(err)
	}
	if c.Len() != 0 {
		t.Fatalf("%d rows from an empty encoding", c.Len())
	}
}

// TestEncodedColumnsDamage: every truncation of an encoding, and every
// byte of it changed, is an error that adds nothing, or (a changed value)
// rows whose columns still agree on their count.
func TestEncodedColumnsDamage(t *testing.T) {
	enc := encodedOf(testBatch())
	base := testBatch()
	before := encodedOf(base)
	for n := range len(enc) {
		c := NewColumns()
		c.Add(base)
		err := c.AddEncoded(enc[:n])
		if err == nil {
			t.Fatalf("truncated at %d of %d: no error", n, len(enc))
		}
		if n == len(enc)-1 && !strings.Contains(err.Error(), "requests.attr_values") {
			t.Fatalf("truncated in the last column: %v, want it named", err)
		}
		if !bytes.Equal(c.AppendEncoded(nil), before) {
			t.Fatalf("truncated at %d: columns changed by a failed add", n)
		}
	}
	for i := range enc {
		damaged := bytes.Clone(enc)
		damaged[i] ^= 0xa5
		c := NewColumns()
		c.Add(base)
		if err := c.AddEncoded(damaged); err != nil {
			if !bytes.Equal(c.AppendEncoded(nil), before) {
				t.Fatalf("byte %d changed: columns changed by a failed add", i)
			}
			continue
		}
		checkRowCounts(t, c)
	}
}

// checkRowCounts fails unless every column of each table has the same
// number of rows.
func checkRowCounts(t testing.TB, c *Columns) {
	t.Helper()
	for i := range numTables {
		tc := c.existing(i)
		for j, col := range tc {
			if got, want := col.(nativeColumn).Rows(), tc.rows(); got != want {
				t.Fatalf("%s.%s: %d rows, the table %d", tableDefs[i].Name, tableDefs[i].Columns[j].Name, got, want)
			}
		}
	}
}

// benchRows is rows of every table other than testBatch's.
func benchRows() *schema.Batch {
	b := testBatch()
	for i := range b.Spans {
		b.Spans[i].Name += "-b"
		b.Spans[i].AttrKeys = append(b.Spans[i].AttrKeys, "extra")
		b.Spans[i].AttrValues = append(b.Spans[i].AttrValues, "value")
	}
	b.MetricSamples[0].BucketCounts = []uint64{9, 9, 9, 9}
	return b
}

// FuzzAddEncoded: whatever the bytes, AddEncoded does not panic, and either
// fails leaving the columns as they were or leaves every table's columns
// agreeing on their row count, with an encoding that reads back the same.
func FuzzAddEncoded(f *testing.F) {
	f.Add(encodedOf(testBatch()))
	f.Add(encodedOf(benchRows()))
	f.Add(encodedOf())
	f.Add([]byte{1, 1, 0, 0, 0, 0})
	base := testBatch()
	before := encodedOf(base)
	f.Fuzz(func(t *testing.T, enc []byte) {
		c := NewColumns()
		c.Add(base)
		if err := c.AddEncoded(enc); err != nil {
			if !bytes.Equal(c.AppendEncoded(nil), before) {
				t.Fatal("columns changed by a failed add")
			}
			return
		}
		checkRowCounts(t, c)
		again := c.AppendEncoded(nil)
		d := NewColumns()
		if err := d.AddEncoded(again); err != nil {
			t.Fatalf("the encoding of added rows does not read back: %v", err)
		}
		if !bytes.Equal(d.AppendEncoded(nil), again) {
			t.Fatal("the encoding of added rows reads back different")
		}
	})
}

// TestExpectRowsGrowsOnce: columns told how many rows to expect make room
// for them when the first encoded rows arrive, so that adding the rest
// allocates nothing; the rows are the same as without the hint.
func TestExpectRowsGrowsOnce(t *testing.T) {
	a := testBatch()
	enc := encodedOf(a)
	const records = 40
	c, plain := NewColumns(), NewColumns()
	c.ExpectRows(records*len(a.Spans), records*len(a.Logs), records*len(a.MetricSeries), records*len(a.MetricSamples), records*len(a.Requests))
	add := func(c *Columns) {
		if err := c.AddEncoded(enc); err != nil {
			t.Fatal(err)
		}
	}
	add(c)
	// AllocsPerRun calls the function once more than it is asked to.
	if n := testing.AllocsPerRun(records-2, func() { add(c) }); n != 0 {
		t.Fatalf("%.1f allocations per record added after the first; want none", n)
	}
	for range records {
		add(plain)
	}
	if !bytes.Equal(c.AppendEncoded(nil), plain.AppendEncoded(nil)) {
		t.Fatal("rows added with an expectation differ from rows added without")
	}
	checkRowCounts(t, c)
}

// TestStringLengthsAroundOneByte: values just under, at and over the
// largest length a single varint byte holds read back as appended.
func TestStringLengthsAroundOneByte(t *testing.T) {
	var c strColumn
	var want []string
	for _, n := range []int{0, 1, 127, 128, 129, 300, 20000} {
		v := strings.Repeat("x", n)
		c.Append(v)
		want = append(want, v)
	}
	if err := checkStrings(c.enc, len(want)); err != nil {
		t.Fatal(err)
	}
	got := c.values().([]string)
	if len(got) != len(want) {
		t.Fatalf("%d values, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("value %d: %d bytes, want %d", i, len(got[i]), len(want[i]))
		}
	}
}
