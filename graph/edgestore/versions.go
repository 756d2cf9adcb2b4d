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

// A side of the calls a service's versions show in, and the rows of it
// read (filter, an SQL condition).
type sideRows struct{ side, filter string }

// isService keeps the rows whose side is a mesh service (not a database,
// an external host or an unknown client).
func isService(side string) string {
	return side + "_kind IN ('', 'service', 'workload', 'version')"
}

// Deployments lists the versions of services deployed within the range
// (graph.NewVersion), newest first. A version shows in the calls it takes
// and in those it makes: a worker or a job that only calls out is deployed
// too, with the time of its first call made.
func (s *Store) Deployments(ctx context.Context, q graph.DeploymentsQuery) ([]graph.Deployment, error) {
	if !q.From.Before(q.To) {
		return nil, fmt.Errorf("deployments: from %s is not before to %s", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	sides := []sideRows{{side: "destination"}, {side: "source"}}
	for i := range sides {
		sides[i].filter = isService(sides[i].side)
		if len(q.Namespaces) > 0 {
			quoted := make([]string, len(q.Namespaces))
			for j, ns := range q.Namespaces {
				quoted[j] = quote(ns)
			}
			sides[i].filter += " AND " + sides[i].side + "_namespace IN (" + strings.Join(quoted, ", ") + ")"
		}
	}
	found, err := s.newVersions(ctx, sides, floorTo(q.From.Unix(), 10), ceilTo(ceilUnix(q.To), 10))
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

// newVersions finds the versions of the services of the sides read
// deployed within [from, to) (Unix seconds, multiples of 10), with the time
// of their first calls to 10 s. The range is read from the hourly rollup
// where it covers whole hours, the day before it too; then the first hour
// of each version not seen the day before again, from edges_10s, so that a
// day's deployments cost about what a day of hours does. Any input that saw
// a version's calls saw it.
func (s *Store) newVersions(ctx context.Context, sides []sideRows, from, to int64) (map[serviceKey]map[string]int64, error) {
	versions := map[serviceKey][]graph.VersionSeen{}
	err := s.versionRows(ctx, sides, []window{{from: from, to: to}}, 3600, func(k serviceKey, v string, first uint32) {
		versions[k] = append(versions[k], graph.VersionSeen{Version: v, FirstSeen: int64(first)})
	})
	if err != nil {
		return nil, err
	}
	before := map[serviceKey]map[string]bool{}
	lookback := window{from: from - int64(graph.VersionLookback/time.Second), to: from}
	err = s.versionRows(ctx, sides, []window{lookback}, 3600, func(k serviceKey, v string, _ uint32) {
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
				refine = append(refine, window{from: v.FirstSeen, to: min(v.FirstSeen+3600, to), service: &k, version: v.Version})
			}
		}
	}
	if len(refine) > 0 {
		err = s.versionRows(ctx, sides, refine, 10, func(k serviceKey, v string, first uint32) {
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

// window is a time range [from, to) (Unix seconds, multiples of 10), of one
// service's version when service is set.
type window struct {
	from, to int64
	service  *serviceKey
	version  string
}

// cond is the window's condition on the rows of a side, past the time.
func (w window) cond(side string) string {
	if w.service == nil {
		return "1"
	}
	return fmt.Sprintf("%s_namespace = %s AND %s = %s AND %s_version = %s",
		side, quote(w.service.ns), serviceOf(side), quote(w.service.svc), side, quote(w.version))
}

// versionRows calls row for each service and version of the sides read
// with calls in the windows, with the time (Unix seconds) of the first row
// with calls, reading tables no coarser than maxStep seconds. Rows of bytes
// alone (a metric's TCP bytes) are no calls.
func (s *Store) versionRows(ctx context.Context, sides []sideRows, windows []window, maxStep int64, row func(k serviceKey, v string, first uint32)) error {
	// Each table's part of every window.
	type part struct {
		w        window
		from, to int64
	}
	parts := map[table][]part{}
	for _, w := range windows {
		for _, seg := range plan(w.from, w.to, maxStep) {
			parts[seg.t] = append(parts[seg.t], part{w, seg.from, seg.to})
		}
	}
	var branches []string
	for _, t := range []table{t10s, t1m, t1h} {
		if len(parts[t]) == 0 {
			continue
		}
		calls := " AND requests > 0 GROUP BY ns, svc, v, ts"
		if t.rollup {
			calls = " GROUP BY ns, svc, v, ts HAVING sumMerge(requests) > 0"
		}
		for _, sr := range sides {
			conds := make([]string, len(parts[t]))
			for i, p := range parts[t] {
				conds[i] = fmt.Sprintf("(timestamp >= toDateTime(%d) AND timestamp < toDateTime(%d) AND %s)", p.from, p.to, p.w.cond(sr.side))
			}
			branches = append(branches, fmt.Sprintf(
				"SELECT %s_namespace AS ns, %s AS svc, %s_version AS v, toUInt32(timestamp) AS ts FROM %s WHERE (%s) AND %s%s",
				sr.side, serviceOf(sr.side), sr.side, t.name, strings.Join(conds, " OR "), sr.filter, calls))
		}
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
