package chstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"reflect"
	"testing"

	"github.com/meshscope/meshscope/schema"
)

// recordOf is the record of the rows of batches added in order.
func recordOf(batches ...*schema.Batch) []byte {
	c := NewRecordColumns()
	for _, b := range batches {
		c.Add(b)
	}
	return c.AppendRecord(nil)
}

// repeated is n copies of each row of b, in runs, with values that differ
// from row to row in some columns and repeat in others (as a request's spans
// repeat their resource's).
func repeated(b *schema.Batch, n int) *schema.Batch {
	var out schema.Batch
	for _, s := range b.Spans {
		for i := range n {
			s.Name = fmt.Sprintf("op-%d", i%7)                                    // runs of one row: left plain
			s.HTTPRoute = []string{"/a", "/b", "/b", "/c", "/c", "/c", "/d"}[i%7] // runs of 1 to 3: plain
			s.ResourceValues = [][]string{{"a"}, {"b"}, {"b"}, {}, {}, {}, {"c", "d"}}[i%7]
			s.AttrKeys = []string{"a", "b"}
			s.AttrValues = []string{fmt.Sprint(i / 3), "x"} // short runs
			out.Spans = append(out.Spans, s)
		}
	}
	for range n {
		out.Logs = append(out.Logs, b.Logs...)
		out.MetricSeries = append(out.MetricSeries, b.MetricSeries...)
		out.MetricSamples = append(out.MetricSamples, b.MetricSamples...)
		out.Requests = append(out.Requests, b.Requests...)
	}
	return &out
}

// TestRecordsAddAsEncoded: a record's rows, runs or not, add to columns as
// the same rows' plain encoding does, after rows of their own, and again
// when the columns are reset and reused; rows that repeat take a record
// fewer bytes than their encoding, each column in the form it should.
func TestRecordsAddAsEncoded(t *testing.T) {
	a, b, r := testBatch(), benchRows(), repeated(testBatch(), 1000)
	want := encodedOf(a, b, r, a)
	c := NewColumns()
	for range 2 {
		c.Add(a)
		for _, x := range []*schema.Batch{b, r, a} {
			if err := c.AddRecord(recordOf(x)); err != nil {
				t.Fatal(err)
			}
		}
		if got := c.AppendEncoded(nil); !bytes.Equal(got, want) {
			t.Fatalf("the rows of records differ from the rows added")
		}
		checkRowCounts(t, c)
		c.Reset()
	}
	if rec, enc := len(recordOf(r)), len(encodedOf(r)); rec >= enc*9/10 {
		t.Fatalf("repeated rows: a record of %d bytes, their encoding %d", rec, enc)
	}
	got := formsOf(t, recordOf(r))
	for col, want := range map[string]byte{
		"spans.service_name": formRuns, "spans.resource_keys": formRuns, "spans.attr_keys": formRuns,
		"spans.attr_values":     formRuns,  // runs of 3
		"spans.name":            formPlain, // no run longer than a row
		"spans.http_route":      formPlain, // runs too short
		"spans.resource_values": formPlain, // runs of 1 to 3 rows
		"spans.trace_id":        formPlain, // not a string column
	} {
		if got[col] != want {
			t.Errorf("%s: form %d, want %d", col, got[col], want)
		}
	}
	// Rows that do not repeat: the encoding, and a byte per column.
	if rec, enc := len(recordOf(a)), len(encodedOf(a)); rec > enc+len(tableDefs[0].Columns)*5+64 {
		t.Fatalf("rows that do not repeat: a record of %d bytes, their encoding %d", rec, enc)
	}
	// Record columns encode, and read as values, as any columns.
	rc, pc := NewRecordColumns(), NewColumns()
	rc.Add(r)
	pc.Add(r)
	if !bytes.Equal(rc.AppendEncoded(nil), pc.AppendEncoded(nil)) {
		t.Fatal("record columns encode differently")
	}
	for i := range numTables {
		rt, pt := rc.existing(i), pc.existing(i)
		for j := range rt {
			if !reflect.DeepEqual(rt[j].(nativeColumn).values(), pt[j].(nativeColumn).values()) {
				t.Fatalf("%s.%s: record columns' values differ", tableDefs[i].Name, tableDefs[i].Columns[j].Name)
			}
		}
	}
	if err := rc.AddRecord(recordOf(a)); err == nil {
		t.Fatal("record columns took a record")
	}
	if err := c.AddRecord(recordOf()); err != nil || c.Len() != 0 {
		t.Fatalf("an empty record: %v, %d rows", err, c.Len())
	}
}

// formsOf returns the form of each column of rec, by table.column.
func formsOf(t *testing.T, rec []byte) map[string]byte {
	t.Helper()
	forms := map[string]byte{}
	for i := range numTables {
		rows, k := binary.Uvarint(rec)
		rec = rec[k:]
		if rows == 0 {
			continue
		}
		for _, col := range tableDefs[i].Columns {
			n := binary.LittleEndian.Uint32(rec)
			forms[tableDefs[i].Name+"."+col.Name] = rec[4]
			rec = rec[4+n:]
		}
	}
	return forms
}

// TestRecordDamage: every truncation of a record with runs, and every byte
// of it changed, is an error that adds nothing, or rows whose columns still
// agree on their count.
func TestRecordDamage(t *testing.T) {
	rec := recordOf(repeated(testBatch(), 3))
	base := testBatch()
	before := encodedOf(base)
	for n := range len(rec) {
		c := NewColumns()
		c.Add(base)
		if err := c.AddRecord(rec[:n]); err == nil {
			t.Fatalf("truncated at %d of %d: no error", n, len(rec))
		}
		if !bytes.Equal(c.AppendEncoded(nil), before) {
			t.Fatalf("truncated at %d: columns changed by a failed add", n)
		}
	}
	for i := range rec {
		for _, flip := range []byte{0xa5, 0x01, 0x80} {
			damaged := bytes.Clone(rec)
			damaged[i] ^= flip
			c := NewColumns()
			c.Add(base)
			if err := c.AddRecord(damaged); err != nil {
				if !bytes.Equal(c.AppendEncoded(nil), before) {
					t.Fatalf("byte %d changed: columns changed by a failed add", i)
				}
				continue
			}
			checkRowCounts(t, c)
		}
	}
}

// TestRunsExpansionBounded: runs whose counts would expand a small record
// into gigabytes are refused before anything is allocated.
func TestRunsExpansionBounded(t *testing.T) {
	// One run of 2^32-1 rows of a 100-byte value, in 107 bytes.
	runs := []byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f, 100}
	runs = append(runs, bytes.Repeat([]byte{'x'}, 100)...)
	budget := maxExpansion(len(runs))
	var col strColumn
	if err := addRuns(&col, runs, 1<<32-1, false, 1, &budget); err == nil {
		t.Fatal("a run of 2^32-1 rows of 100 bytes passed the check")
	}
	if len(col.enc) != 0 {
		t.Fatal("something was added")
	}
	// The same run of 3 rows passes, and expands.
	runs[1], runs[2], runs[3], runs[4], runs[5] = 3, 0, 0, 0, 0
	runs = append(runs[:2], runs[6:]...)
	budget = maxExpansion(len(runs))
	if err := addRuns(&col, runs, 3, false, 1, &budget); err != nil {
		t.Fatal(err)
	}
	if err := addRuns(&col, runs, 3, true, 1, nil); err != nil || col.rows != 3 || len(col.enc) != 303 {
		t.Fatalf("%v: %d rows in %d bytes, want 3 in 303", err, col.rows, len(col.enc))
	}
}

// FuzzAddRecord: whatever the bytes, AddRecord does not panic, and either
// fails leaving the columns as they were or leaves every table's columns
// agreeing on their row count, with a record that reads back the same.
func FuzzAddRecord(f *testing.F) {
	f.Add(recordOf(testBatch()))
	f.Add(recordOf(repeated(testBatch(), 4)))
	f.Add(recordOf(benchRows()))
	f.Add(recordOf())
	base := testBatch()
	before := encodedOf(base)
	f.Fuzz(func(t *testing.T, rec []byte) {
		c := NewColumns()
		c.Add(base)
		if err := c.AddRecord(rec); err != nil {
			if !bytes.Equal(c.AppendEncoded(nil), before) {
				t.Fatal("columns changed by a failed add")
			}
			return
		}
		checkRowCounts(t, c)
		again := c.AppendRecord(nil)
		d := NewColumns()
		if err := d.AddRecord(again); err != nil {
			t.Fatalf("the record of added rows does not read back: %v", err)
		}
		if !bytes.Equal(d.AppendEncoded(nil), c.AppendEncoded(nil)) {
			t.Fatal("the record of added rows reads back different")
		}
	})
}
