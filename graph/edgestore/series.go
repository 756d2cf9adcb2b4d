package edgestore

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/meshscope/meshscope/graph"
)

// Series returns the RED series of a node's inbound calls (q.Node; its
// outbound calls with q.Outbound, and always for a client node) or of one edge (q.Source and q.Target),
// over [q.From, q.To) aligned to q.Step. The step is rounded up to a multiple
// of 10 s; it picks the coarsest table whose rows fit in a step. Every step
// has a point, zero without calls.
func (s *Store) Series(ctx context.Context, q graph.SeriesQuery) (*graph.Series, error) {
	step := int64((q.Step + time.Second - 1) / time.Second)
	step = max(ceilTo(step, 10), 10)
	if !q.From.Before(q.To) {
		return nil, fmt.Errorf("series: from %s is not before to %s", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	from, to := floorTo(q.From.Unix(), step), ceilTo(ceilUnix(q.To), step)
	if n := (to - from) / step; n > int64(s.maxPoints) {
		return nil, fmt.Errorf("series: %d points (range / step) is above the limit of %d; raise step", n, s.maxPoints)
	}
	filter, err := seriesFilter(q)
	if err != nil {
		return nil, err
	}
	maxStep := int64(10)
	switch {
	case step%3600 == 0:
		maxStep = 3600
	case step%60 == 0:
		maxStep = 60
	}
	// Rows are read per step and finest-level edge, with their inputs, so
	// that calls several inputs saw count once (graph.Selection). For a node
	// or edge finer than a service, only its own keys are compared.
	var branches []string
	keys := append([]string{fmt.Sprintf("toUInt32(intDiv(toUInt32(timestamp), %d) * %d) AS t", step, step)}, dims...)
	aliases := append([]string{"t"}, dims...)
	group := strings.Join(aliases, ", ")
	for _, b := range byTable(plan(from, to, maxStep)) {
		branches = append(branches, branch(b.t, keys, group, seriesMeasures, b.cond, filter))
	}
	query := combine(aliases, seriesMeasures, branches, "t")

	n := int((to - from) / step)
	out := newSeries(n, from, step)
	// By version: each version's series, and the stats of the step being
	// read, by version.
	var (
		versions  map[string]*graph.VersionSeries
		stepStats map[string]*graph.EdgeStats
		versionOf = func(k *graph.EdgeKey) string { return k.Destination.Version }
	)
	if q.ByVersion {
		versions, stepStats = map[string]*graph.VersionSeries{}, map[string]*graph.EdgeStats{}
		if seriesSide(q) == "source" {
			versionOf = func(k *graph.EdgeKey) string { return k.Source.Version }
		}
	}
	sel, err := graph.NewSelection(s.preference)
	if err != nil {
		return nil, fmt.Errorf("series: %w", err)
	}
	rows, err := s.conn.Query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("series: %w", err)
	}
	defer rows.Close()
	var (
		t, latLo           uint32
		k                  graph.EdgeKey
		st, sum            graph.EdgeStats
		sKind, dKind, prot string
		prov               uint8
		latText            string
		stepSeconds        = float64(step)
		cur                = int64(-1)
	)
	flush := func() {
		if cur < 0 || cur >= int64(n) {
			return
		}
		if versions == nil {
			sel.Total(&sum)
			out.set(int(cur), &sum, stepSeconds)
			return
		}
		// The step's calls by version, decided once; their sum is the total.
		for _, st := range stepStats {
			*st = graph.EdgeStats{}
		}
		sel.TotalBy(func(k *graph.EdgeKey) *graph.EdgeStats {
			v := versionOf(k)
			st := stepStats[v]
			if st == nil {
				st = new(graph.EdgeStats)
				stepStats[v] = st
			}
			return st
		})
		sum = graph.EdgeStats{}
		for _, st := range stepStats {
			sum.Add(st)
		}
		out.set(int(cur), &sum, stepSeconds)
		for v, st := range stepStats {
			if st.Requests == 0 {
				continue
			}
			vs := versions[v]
			if vs == nil {
				vs = &graph.VersionSeries{Version: v, FirstSeen: out.Time[cur], Series: graph.Series(*newSeries(n, from, step))}
				versions[v] = vs
			}
			vs.TotalRequests += st.Requests
			vs.TotalErrors += st.Errors
			(*seriesOut)(&vs.Series).set(int(cur), st, stepSeconds)
		}
	}
	for rows.Next() {
		src, dst := &k.Source, &k.Destination
		st = graph.EdgeStats{}
		if err := rows.Scan(&t, &sKind, &src.Cluster, &src.Namespace, &src.Name, &src.Workload, &src.Version,
			&dKind, &dst.Cluster, &dst.Namespace, &dst.Name, &dst.Workload, &dst.Version, &prot,
			&prov, &st.Requests, &st.Errors, &latLo, &latText, &st.LatencySumNanos); err != nil {
			return nil, fmt.Errorf("series: scan: %w", err)
		}
		if err := parseLatency(&st.Latency, latLo, latText); err != nil {
			return nil, fmt.Errorf("series: %w", err)
		}
		src.Kind, dst.Kind = graph.NodeKind(sKind), graph.NodeKind(dKind)
		k.Protocol = graph.ParseProtocol(prot)
		st.Provenance = graph.Provenance(prov)
		if i := (int64(t) - from) / step; i != cur {
			flush()
			sel.Reset()
			cur = i
		}
		sel.Add(&k, &st)
	}
	flush()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("series: %w", err)
	}
	if versions != nil {
		// Which versions were deployed in the range, by the deployments'
		// rule and reading, and when to 10 s.
		found, err := s.newVersions(ctx, []sideRows{{seriesSide(q), filter}}, floorTo(q.From.Unix(), 10), ceilTo(ceilUnix(q.To), 10))
		if err != nil {
			return nil, fmt.Errorf("series: new versions: %w", err)
		}
		fresh := map[string]int64{}
		for _, vs := range found {
			maps.Copy(fresh, vs)
		}
		out.Versions = make([]graph.VersionSeries, 0, len(versions))
		for v, vs := range versions {
			if first, ok := fresh[v]; ok {
				vs.New, vs.FirstSeen = true, first
			}
			out.Versions = append(out.Versions, *vs)
		}
		slices.SortFunc(out.Versions, func(a, b graph.VersionSeries) int {
			return cmp.Or(cmp.Compare(b.TotalRequests, a.TotalRequests), cmp.Compare(a.Version, b.Version))
		})
	}
	return (*graph.Series)(out), nil
}

// seriesOut is a series being filled.
type seriesOut graph.Series

func newSeries(n int, from, step int64) *seriesOut {
	out := &seriesOut{Time: make([]int64, n), Requests: make([]uint64, n), Errors: make([]uint64, n),
		RPS: make([]float64, n), ErrorRate: make([]float64, n),
		P50Ms: make([]float64, n), P90Ms: make([]float64, n), P95Ms: make([]float64, n), P99Ms: make([]float64, n)}
	for i := range n {
		out.Time[i] = from + int64(i)*step
	}
	return out
}

// set sets point i from one step's stats.
func (out *seriesOut) set(i int, st *graph.EdgeStats, stepSeconds float64) {
	out.Requests[i], out.Errors[i] = st.Requests, st.Errors
	out.RPS[i] = float64(st.Requests) / stepSeconds
	if st.Requests > 0 {
		out.ErrorRate[i] = float64(st.Errors) / float64(st.Requests)
	}
	pc := st.Latency.Percentiles()
	out.P50Ms[i], out.P90Ms[i], out.P95Ms[i], out.P99Ms[i] = pc.P50/1e6, pc.P90/1e6, pc.P95/1e6, pc.P99/1e6
}

// seriesFilter is the WHERE condition that selects the node's or edge's rows.
func seriesFilter(q graph.SeriesQuery) (string, error) {
	if q.Node != "" {
		p, err := graph.ParseNodeID(q.Node)
		if err != nil {
			return "", fmt.Errorf("series: %w", err)
		}
		return nodeIDExpr(seriesSide(q), p.Granularity()) + " = " + quote(q.Node), nil
	}
	if q.Source == "" || q.Target == "" {
		return "", fmt.Errorf("series: want a node, or a source and a target")
	}
	src, err := graph.ParseNodeID(q.Source)
	if err != nil {
		return "", fmt.Errorf("series: source: %w", err)
	}
	dst, err := graph.ParseNodeID(q.Target)
	if err != nil {
		return "", fmt.Errorf("series: target: %w", err)
	}
	g := finer(src.Granularity(), dst.Granularity())
	return fmt.Sprintf("%s = %s AND %s = %s", nodeIDExpr("source", g), quote(q.Source), nodeIDExpr("destination", g), quote(q.Target)), nil
}

// seriesSide is the side of the edges rows whose party a series is of: the
// callee's, but the caller's for a node's outbound calls (a client node's
// always are).
func seriesSide(q graph.SeriesQuery) string {
	if q.Node != "" {
		if p, err := graph.ParseNodeID(q.Node); q.Outbound || err == nil && p.Kind == graph.KindClient {
			return "source"
		}
	}
	return "destination"
}

func finer(a, b graph.Granularity) graph.Granularity {
	rank := map[graph.Granularity]int{graph.GranularityService: 0, graph.GranularityWorkload: 1, graph.GranularityVersion: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}
