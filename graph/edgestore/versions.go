package edgestore

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/meshscope/meshscope/graph"
)

var _ graph.DeploymentReader = (*Store)(nil)

// serviceOf is the service name of a side's node id (nodeIDExpr): its
// name, else its workload.
func serviceOf(side string) string {
	return fmt.Sprintf("if(%s_name != '', %s_name, %s_workload)", side, side, side)
}

// calleeIsService keeps the rows whose callee is a mesh service.
const calleeIsService = "destination_kind IN ('', 'service', 'workload', 'version')"

// Deployments lists the versions of callees deployed within the range
// (graph.NewVersion), newest first.
func (s *Store) Deployments(ctx context.Context, q graph.DeploymentsQuery) ([]graph.Deployment, error) {
	if !q.From.Before(q.To) {
		return nil, fmt.Errorf("deployments: from %s is not before to %s", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	filter := calleeIsService
	if len(q.Namespaces) > 0 {
		quoted := make([]string, len(q.Namespaces))
		for i, ns := range q.Namespaces {
			quoted[i] = quote(ns)
		}
		filter += " AND destination_namespace IN (" + strings.Join(quoted, ", ") + ")"
	}
	found, err := s.newVersions(ctx, "destination", filter, floorTo(q.From.Unix(), 10), ceilTo(ceilUnix(q.To), 10))
	if err != nil {
		return nil, fmt.Errorf("deployments: %w", err)
	}
	var out []graph.Deployment
	for k, vs := range found {
		for v, first := range vs {
			out = append(out, graph.Deployment{Namespace: k.ns, Service: k.svc, Version: v, FirstSeen: first})
		}
	}
	slices.SortFunc(out, func(a, b graph.Deployment) int {
		return cmp.Or(cmp.Compare(b.FirstSeen, a.FirstSeen), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Service, b.Service), cmp.Compare(a.Version, b.Version))
	})
	return out, nil
}

// newVersions finds the versions of a side's services (under filter)
// deployed within [from, to) (Unix seconds, multiples of 10), with the time
// of their first calls to 10 s. The range is read from the hourly rollup
// where it covers whole hours, the day before it too; then the first hour
// of each version not seen the day before again, from edges_10s, so that a
// day's deployments cost about what a day of hours does. Any input that saw
// a version's calls saw it.
func (s *Store) newVersions(ctx context.Context, side, filter string, from, to int64) (map[serviceKey]map[string]int64, error) {
	versions := map[serviceKey][]graph.VersionSeen{}
	err := s.versionRows(ctx, side, []window{{from: from, to: to, cond: "1"}}, 3600, filter, func(k serviceKey, v string, first uint32) {
		versions[k] = append(versions[k], graph.VersionSeen{Version: v, FirstSeen: int64(first)})
	})
	if err != nil {
		return nil, err
	}
	before := map[serviceKey]map[string]bool{}
	lookback := window{from: from - int64(graph.VersionLookback/time.Second), to: from, cond: "1"}
	err = s.versionRows(ctx, side, []window{lookback}, 3600, filter, func(k serviceKey, v string, _ uint32) {
		if _, ok := versions[k]; !ok {
			return
		}
		if before[k] == nil {
			before[k] = map[string]bool{}
		}
		before[k][v] = true
	})
	if err != nil {
		return nil, fmt.Errorf("the day before the range: %w", err)
	}
	// The first hour of every version not seen the day before, again, finer.
	var refine []window
	for k, vs := range versions {
		for _, v := range vs {
			if !before[k][v.Version] {
				refine = append(refine, window{from: v.FirstSeen, to: min(v.FirstSeen+3600, to), cond: fmt.Sprintf(
					"%s_namespace = %s AND %s = %s AND %s_version = %s", side, quote(k.ns), serviceOf(side), quote(k.svc), side, quote(v.Version))})
			}
		}
	}
	if len(refine) > 0 {
		err = s.versionRows(ctx, side, refine, 10, filter, func(k serviceKey, v string, first uint32) {
			for i := range versions[k] {
				if versions[k][i].Version == v {
					versions[k][i].FirstSeen = int64(first)
				}
			}
		})
		if err != nil {
			return nil, fmt.Errorf("first calls: %w", err)
		}
	}
	out := map[serviceKey]map[string]int64{}
	for k, vs := range versions {
		first := int64(math.MaxInt64)
		for _, v := range vs {
			first = min(first, v.FirstSeen)
		}
		for _, v := range vs {
			v.Before = before[k][v.Version]
			if graph.NewVersion(v, len(before[k]) > 0, first) {
				if out[k] == nil {
					out[k] = map[string]int64{}
				}
				out[k][v.Version] = v.FirstSeen
			}
		}
	}
	return out, nil
}

// serviceKey is a service (of the side read).
type serviceKey struct{ ns, svc string }

// window is a time range [from, to) (Unix seconds, multiples of 10) and a
// condition on the rows read within it.
type window struct {
	from, to int64
	cond     string
}

// versionRows calls row for each service and version of a side
// ("destination", "source") with calls in the windows under filter, with the
// time (Unix seconds) of the first row with calls, reading tables no coarser
// than maxStep seconds. Rows of bytes alone (a metric's TCP bytes) are no
// calls.
func (s *Store) versionRows(ctx context.Context, side string, windows []window, maxStep int64, filter string, row func(k serviceKey, v string, first uint32)) error {
	// Each table's part of every window, as one condition per table.
	conds := map[table][]string{}
	for _, w := range windows {
		for _, seg := range plan(w.from, w.to, maxStep) {
			conds[seg.t] = append(conds[seg.t], fmt.Sprintf("(timestamp >= toDateTime(%d) AND timestamp < toDateTime(%d) AND %s)", seg.from, seg.to, w.cond))
		}
	}
	var branches []string
	for _, t := range []table{t10s, t1m, t1h} {
		if len(conds[t]) == 0 {
			continue
		}
		calls := " AND requests > 0 GROUP BY ns, svc, v, ts"
		if t.rollup {
			calls = " GROUP BY ns, svc, v, ts HAVING sumMerge(requests) > 0"
		}
		branches = append(branches, fmt.Sprintf(
			"SELECT %s_namespace AS ns, %s AS svc, %s_version AS v, toUInt32(timestamp) AS ts FROM %s WHERE (%s) AND %s%s",
			side, serviceOf(side), side, t.name, strings.Join(conds[t], " OR "), filter, calls))
	}
	if len(branches) == 0 {
		return nil
	}
	rows, err := s.conn.Query(ctx, "SELECT ns, svc, v, min(ts) FROM ("+strings.Join(branches, " UNION ALL ")+") GROUP BY ns, svc, v")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k serviceKey
		var v string
		var t uint32
		if err := rows.Scan(&k.ns, &k.svc, &v, &t); err != nil {
			return err
		}
		row(k, v, t)
	}
	return rows.Err()
}
