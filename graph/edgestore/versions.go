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

// calleeService is the service name of the callee's node id (nodeIDExpr):
// its name, else its workload.
const calleeService = "if(destination_name != '', destination_name, destination_workload)"

// calleeIsService keeps the rows whose callee is a mesh service.
const calleeIsService = "destination_kind IN ('', 'service', 'workload', 'version')"

// Deployments lists the versions of callees deployed within the range
// (graph.NewVersion), newest first: from the minute rollup where it covers
// whole minutes, and the day before from the hourly one. Any input that saw
// a version's calls saw it.
func (s *Store) Deployments(ctx context.Context, q graph.DeploymentsQuery) ([]graph.Deployment, error) {
	if !q.From.Before(q.To) {
		return nil, fmt.Errorf("deployments: from %s is not before to %s", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	from, to := floorTo(q.From.Unix(), 10), ceilTo(ceilUnix(q.To), 10)
	filter := calleeIsService
	if len(q.Namespaces) > 0 {
		quoted := make([]string, len(q.Namespaces))
		for i, ns := range q.Namespaces {
			quoted[i] = quote(ns)
		}
		filter += " AND destination_namespace IN (" + strings.Join(quoted, ", ") + ")"
	}
	type key struct{ ns, svc string }
	versions := map[key][]graph.VersionSeen{}
	err := s.versionRows(ctx, from, to, 60, filter, "min(toUInt32(timestamp))", func(ns, svc, v string, first uint32) {
		k := key{ns, svc}
		versions[k] = append(versions[k], graph.VersionSeen{Version: v, FirstSeen: int64(first)})
	})
	if err != nil {
		return nil, fmt.Errorf("deployments: %w", err)
	}
	before := map[key]map[string]bool{}
	err = s.versionRows(ctx, from-int64(graph.VersionLookback/time.Second), from, 3600, filter, "toUInt32(0)", func(ns, svc, v string, _ uint32) {
		k := key{ns, svc}
		if _, ok := versions[k]; !ok {
			return
		}
		if before[k] == nil {
			before[k] = map[string]bool{}
		}
		before[k][v] = true
	})
	if err != nil {
		return nil, fmt.Errorf("deployments: the day before the range: %w", err)
	}
	var out []graph.Deployment
	for k, vs := range versions {
		first := int64(math.MaxInt64)
		for _, v := range vs {
			first = min(first, v.FirstSeen)
		}
		for _, v := range vs {
			v.Before = before[k][v.Version]
			if graph.NewVersion(v, len(before[k]) > 0, first) {
				out = append(out, graph.Deployment{Namespace: k.ns, Service: k.svc, Version: v.Version, FirstSeen: v.FirstSeen})
			}
		}
	}
	slices.SortFunc(out, func(a, b graph.Deployment) int {
		return cmp.Or(cmp.Compare(b.FirstSeen, a.FirstSeen), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Service, b.Service), cmp.Compare(a.Version, b.Version))
	})
	return out, nil
}

// versionRows calls row for each callee service and version with calls in
// [from, to) (Unix seconds, multiples of 10) under filter, with agg over
// their rows' timestamps, reading tables no coarser than maxStep seconds.
func (s *Store) versionRows(ctx context.Context, from, to, maxStep int64, filter, agg string, row func(ns, svc, v string, t uint32)) error {
	var branches []string
	for _, b := range byTable(plan(from, to, maxStep)) {
		branches = append(branches, fmt.Sprintf(
			"SELECT destination_namespace AS ns, %s AS svc, destination_version AS v, %s AS t FROM %s WHERE %s AND %s GROUP BY ns, svc, v",
			calleeService, agg, b.t.name, b.cond, filter))
	}
	if len(branches) == 0 {
		return nil
	}
	rows, err := s.conn.Query(ctx, "SELECT ns, svc, v, min(t) FROM ("+strings.Join(branches, " UNION ALL ")+") GROUP BY ns, svc, v")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var ns, svc, v string
		var t uint32
		if err := rows.Scan(&ns, &svc, &v, &t); err != nil {
			return err
		}
		row(ns, svc, v, t)
	}
	return rows.Err()
}
