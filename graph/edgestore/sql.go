package edgestore

import (
	"fmt"
	"strings"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/schema"
)

// dims are the key columns of the edges_* tables, after timestamp.
var dims = func() []string {
	var out []string
	for _, c := range schema.Edges10sTable.Columns[1:] {
		if c.Name == "provenance" {
			break
		}
		out = append(out, c.Name)
	}
	return out
}()

// measure is a measure column: its alias in queries, how a rollup merges it
// and how partial results add up.
type measure struct{ col, alias, merge, add string }

var measures = []measure{
	{"provenance", "prov", "groupBitOrMerge", "groupBitOr"},
	{"reporters", "reps", "groupBitOrMerge", "groupBitOr"},
	{"requests", "req", "sumMerge", "sum"},
	{"errors", "err", "sumMerge", "sum"},
	{"latency", "lat", "sumForEachMerge", "sumForEach"},
	{"latency_sum_ns", "latsum", "sumMerge", "sum"},
	{"bytes_sent", "sent", "sumMerge", "sum"},
	{"bytes_received", "recv", "sumMerge", "sum"},
	{"mtls", "mt", "sumMerge", "sum"},
	{"plaintext", "pt", "sumMerge", "sum"},
}

// seriesMeasures are the measures a series needs.
var seriesMeasures = []measure{measures[0], measures[2], measures[3], measures[4], measures[5]}

// branch aggregates one table's rows over cond AND filter per keys:
// rollups with their -Merge functions, edges_10s with the plain ones. keys
// are expressions with their aliases, groupBy the aliases.
func branch(t table, keys []string, groupBy string, ms []measure, cond, filter string) string {
	cols := append([]string{}, keys...)
	for _, m := range ms {
		f := m.add
		if t.rollup {
			f = m.merge
		}
		cols = append(cols, fmt.Sprintf("%s(%s) AS %s", f, m.col, m.alias))
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + t.name + " WHERE " + cond
	if filter != "" {
		q += " AND " + filter
	}
	return q + " GROUP BY " + groupBy
}

// combine adds up the branches per key (when there are several) and encodes
// the latency histogram as text: clickhouse-go scans Array columns element
// by element through reflection, while the offset of the first non-empty
// bucket and the comma-separated counts from it parse many times faster.
// keys are the key aliases; the result's columns are the keys, then the
// measures in order, the latency as two columns (lat_lo, lat_text).
func combine(keys []string, ms []measure, branches []string, orderBy string) string {
	from := branches[0]
	if len(branches) > 1 {
		cols := append([]string{}, keys...)
		for _, m := range ms {
			cols = append(cols, fmt.Sprintf("%s(%s) AS %s", m.add, m.alias, m.alias))
		}
		from = "SELECT " + strings.Join(cols, ", ") + " FROM (" + strings.Join(branches, " UNION ALL ") + ") GROUP BY " + strings.Join(keys, ", ")
	}
	cols := append([]string{}, keys...)
	for _, m := range ms {
		if m.col == "latency" {
			cols = append(cols, "arrayFirstIndex(x -> x > 0, lat) AS lat_lo",
				"if(lat_lo = 0, '', arrayStringConcat(arrayMap(x -> toString(x), arraySlice(lat, lat_lo)), ',')) AS lat_text")
			continue
		}
		cols = append(cols, m.alias)
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM (" + from + ")"
	if orderBy != "" {
		q += " ORDER BY " + orderBy
	}
	return q
}

// parseLatency fills h from the lat_lo and lat_text columns of combine.
func parseLatency(h *graph.Histogram, lo uint32, text string) error {
	*h = graph.Histogram{}
	if lo == 0 {
		return nil
	}
	i := int(lo) - 1
	var n uint64
	digits := false
	for j := 0; j <= len(text); j++ {
		if j == len(text) || text[j] == ',' {
			if !digits {
				return fmt.Errorf("latency %q: empty count", text)
			}
			if i < len(h) {
				h[i] = n
			}
			i, n, digits = i+1, 0, false
			continue
		}
		c := text[j]
		if c < '0' || c > '9' {
			return fmt.Errorf("latency %q: not a count", text)
		}
		n, digits = n*10+uint64(c-'0'), true
	}
	return nil
}

// quote makes a ClickHouse string literal.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// namespaceFilter keeps rows with either end in one of the namespaces.
func namespaceFilter(namespaces []string) string {
	if len(namespaces) == 0 {
		return ""
	}
	q := make([]string, len(namespaces))
	for i, ns := range namespaces {
		q[i] = quote(ns)
	}
	list := "[" + strings.Join(q, ", ") + "]"
	return fmt.Sprintf("(has(%s, source_namespace) OR has(%s, destination_namespace))", list, list)
}

// nodeIDExpr computes, in SQL, the node id of one side of a row at a
// granularity, exactly as graph.Party.NodeID does in Go.
func nodeIDExpr(side string, g graph.Granularity) string {
	c := func(name string) string { return side + "_" + name }
	service := fmt.Sprintf("concat('service:', %s, '/', if(%s != '', %s, %s))", c("namespace"), c("name"), c("name"), c("workload"))
	mesh := service
	if g == graph.GranularityWorkload || g == graph.GranularityVersion {
		mesh = fmt.Sprintf("if(%s != '', concat('workload:', %s, '/', %s), %s)", c("workload"), c("namespace"), c("workload"), service)
	}
	if g == graph.GranularityVersion {
		mesh = fmt.Sprintf("if(%s != '' AND %s != '', concat('version:', %s, '/', %s, '/', %s), %s)",
			c("version"), c("name"), c("namespace"), c("name"), c("version"), mesh)
	}
	return fmt.Sprintf("multiIf(%s IN ('', 'service', 'workload', 'version'), %s, %s = 'client', concat('client:', %s, '/', %s), concat(%s, ':', %s))",
		c("kind"), mesh, c("kind"), c("namespace"), c("name"), c("kind"), c("name"))
}
