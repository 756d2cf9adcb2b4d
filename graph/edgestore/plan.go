package edgestore

import (
	"fmt"
	"strings"
	"time"
)

// Which table answers which part of a range.
//
// A range is first aligned to a resolution chosen by its length: 10 seconds
// up to 20 minutes, a minute up to 20 hours, an hour beyond (from rounded
// down, to rounded up). The aligned range is then cut into the coarsest
// aligned pieces: whole hours from edges_1h, whole minutes around them from
// edges_1m, and the remaining 10 second buckets from edges_10s. The answer is
// exact at the resolution, and reads at most 2 x 59 minute rows and 2 x 5
// bucket rows per edge beyond the hour rows.

type table struct {
	name   string
	step   int64 // seconds per row
	rollup bool  // AggregatingMergeTree: read with -Merge
}

var (
	t10s = table{"edges_10s", 10, false}
	t1m  = table{"edges_1m", 60, true}
	t1h  = table{"edges_1h", 3600, true}
)

// segment is a time range [from, to) in Unix seconds read from one table.
type segment struct {
	t        table
	from, to int64
}

// resolutionFor picks the alignment of a range of the given length.
func resolutionFor(length time.Duration) int64 {
	switch {
	case length > 20*time.Hour:
		return 3600
	case length > 20*time.Minute:
		return 60
	}
	return 10
}

// plan cuts [from, to), aligned to 10 s, into segments; tables coarser than
// maxStep are not used.
func plan(from, to, maxStep int64) []segment {
	var out []segment
	var cut func(a, b int64, tables []table)
	cut = func(a, b int64, tables []table) {
		if a >= b {
			return
		}
		t := tables[0]
		if len(tables) == 1 {
			out = append(out, segment{t, a, b})
			return
		}
		lo, hi := ceilTo(a, t.step), floorTo(b, t.step)
		if lo >= hi {
			cut(a, b, tables[1:])
			return
		}
		cut(a, lo, tables[1:])
		out = append(out, segment{t, lo, hi})
		cut(hi, b, tables[1:])
	}
	tables := []table{t1h, t1m, t10s}
	for len(tables) > 1 && tables[0].step > maxStep {
		tables = tables[1:]
	}
	cut(from, to, tables)
	return out
}

// byTable groups segments into one time condition per table, in a fixed
// order.
func byTable(segs []segment) []struct {
	t    table
	cond string
} {
	var out []struct {
		t    table
		cond string
	}
	for _, t := range []table{t10s, t1m, t1h} {
		var conds []string
		for _, s := range segs {
			if s.t == t {
				conds = append(conds, fmt.Sprintf("(timestamp >= toDateTime(%d) AND timestamp < toDateTime(%d))", s.from, s.to))
			}
		}
		if len(conds) > 0 {
			out = append(out, struct {
				t    table
				cond string
			}{t, "(" + strings.Join(conds, " OR ") + ")"})
		}
	}
	return out
}

func floorTo(v, step int64) int64 {
	q := v / step
	if v%step != 0 && v < 0 {
		q--
	}
	return q * step
}

func ceilTo(v, step int64) int64 { return -floorTo(-v, step) }

func unixNow() int64 { return time.Now().Unix() }
