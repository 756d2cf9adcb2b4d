// Package sli computes service level indicators in ClickHouse: the SQL that
// sums good and total requests of an SLO's target over every window at once
// (from the requests table, or from server spans for services without access
// logs), the hourly counts that cache error budgets (from raw rows or the
// edges_1h aggregates), the per-step series a backtest replays, and the
// failing edges and example trace ids that annotate alerts. It reads
// ClickHouse only, imports slo/spec and slo/alert of meshscope, and never
// imports query/ or ingest/; the counting rules are in rule.go.
package sli

import (
	"context"
	"fmt"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/meshscope/meshscope/slo/spec"
)

// Querier runs read queries; clickhouse-go's driver.Conn implements it.
type Querier interface {
	Query(ctx context.Context, query string, args ...any) (driver.Rows, error)
}

// Sources of counts.
const (
	FromRequests = "requests"
	FromSpans    = "spans"
	FromEdges    = "edges"
)

// cond is a SQL condition with its bound arguments.
type cond struct {
	sql  string
	args []any
}

func and(cs ...cond) cond {
	var parts []string
	var args []any
	for _, c := range cs {
		if c.sql == "" {
			continue
		}
		parts = append(parts, "("+c.sql+")")
		args = append(args, c.args...)
	}
	if len(parts) == 0 {
		return cond{sql: "1"}
	}
	return cond{sql: strings.Join(parts, " AND "), args: args}
}

// requestsTarget selects the target's rows of the requests table.
func requestsTarget(t spec.Target) cond {
	switch {
	case t.Service != "":
		return cond{"destination = ?", []any{t.Service}}
	case t.Edge != nil:
		return cond{"source = ? AND destination = ?", []any{t.Edge.Source, t.Edge.Destination}}
	}
	f := t.Filter
	var cs []cond
	if f.Source != "" {
		cs = append(cs, cond{"source = ?", []any{f.Source}})
	}
	if f.Destination != "" {
		cs = append(cs, cond{"destination = ?", []any{f.Destination}})
	}
	if f.Method != "" {
		cs = append(cs, cond{"method = ?", []any{f.Method}})
	}
	if f.PathPrefix != "" {
		cs = append(cs, cond{"startsWith(path, ?)", []any{f.PathPrefix}})
	}
	return and(cs...)
}

// spansTarget selects the target's server spans; ok is false when spans
// cannot answer for the target (edges, filters with a source or without a
// destination service).
func spansTarget(t spec.Target) (cond, bool) {
	svc, method, prefix := t.Service, "", ""
	if t.Filter != nil {
		if t.Filter.Source != "" {
			return cond{}, false
		}
		svc, method, prefix = t.Filter.Destination, t.Filter.Method, t.Filter.PathPrefix
	}
	ns, name, ok := spec.ServiceParts(svc)
	if !ok {
		return cond{}, false
	}
	cs := []cond{{"kind = 2 AND service_namespace = ? AND service_name = ?", []any{ns, name}}}
	if method != "" {
		cs = append(cs, cond{"http_method = ?", []any{method}})
	}
	if prefix != "" {
		cs = append(cs, cond{"startsWith(http_route, ?)", []any{prefix}})
	}
	return and(cs...), true
}

// edgesTarget selects the target's rows of an edges_* table; ok is false
// for filters, which the aggregates cannot answer.
func edgesTarget(t spec.Target) (cond, bool) {
	switch {
	case t.Service != "":
		return edgeSide("destination", t.Service), true
	case t.Edge != nil:
		return and(edgeSide("source", t.Edge.Source), edgeSide("destination", t.Edge.Destination)), true
	}
	return cond{}, false
}

// edgeSide matches one end of edges_* rows to a node id, the way graph/
// names nodes (graph/nodeid.go): mesh parties are stored at their finest
// level with kind "service".
func edgeSide(side, id string) cond {
	c := func(col string) string { return side + "_" + col }
	kind, rest, _ := strings.Cut(id, ":")
	mesh := fmt.Sprintf("%s IN ('', 'service', 'workload', 'version')", c("kind"))
	switch kind {
	case "service":
		ns, name, _ := strings.Cut(rest, "/")
		return cond{fmt.Sprintf("%s AND %s = ? AND if(%s != '', %s, %s) = ?", mesh, c("namespace"), c("name"), c("name"), c("workload")), []any{ns, name}}
	case "client":
		ns, name, _ := strings.Cut(rest, "/")
		return cond{fmt.Sprintf("%s = 'client' AND %s = ? AND %s = ?", c("kind"), c("namespace"), c("name")), []any{ns, name}}
	}
	return cond{fmt.Sprintf("%s = ? AND %s = ?", c("kind"), c("name")), []any{kind, rest}}
}
