package edgestore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/meshscope/meshscope/graph"
)

// Range returns the graph of [q.From, q.To) at q.Granularity, aligned to the
// resolution its length calls for (see plan.go); rates are per second of the
// aligned range, cut at now when it reaches into the future. The returned
// Graph's From and To are the aligned range.
func (s *Store) Range(ctx context.Context, q graph.RangeQuery) (*graph.Graph, error) {
	g, ok := graph.ParseGranularity(string(q.Granularity))
	if !ok {
		return nil, fmt.Errorf("graph range: granularity %q: want service, workload or version", q.Granularity)
	}
	if !q.From.Before(q.To) {
		return nil, fmt.Errorf("graph range: from %s is not before to %s", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	res := resolutionFor(q.To.Sub(q.From))
	from, to := floorTo(q.From.Unix(), res), ceilTo(ceilUnix(q.To), res)
	sel, err := graph.NewSelection(s.preference)
	if err != nil {
		return nil, fmt.Errorf("graph range: %w", err)
	}
	if err := s.readRange(ctx, from, to, namespaceFilter(q.Namespaces), sel.Add); err != nil {
		return nil, err
	}
	asm := graph.NewAssembler(g, &s.health)
	sel.AddTo(asm)
	end := to
	if now := ceilTo(s.now(), 10); now < end && now > from {
		end = now
	}
	return asm.Graph(time.Unix(from, 0), time.Unix(end, 0)), nil
}

// readRange reads every finest-level edge of [from, to) and hands it to add.
func (s *Store) readRange(ctx context.Context, from, to int64, filter string, add func(*graph.EdgeKey, *graph.EdgeStats)) error {
	var branches []string
	group := strings.Join(dims, ", ")
	for _, b := range byTable(plan(from, to, 3600)) {
		branches = append(branches, branch(b.t, dims, group, measures, b.cond, filter))
	}
	if len(branches) == 0 {
		return nil
	}
	return s.scanEdges(ctx, combine(dims, measures, branches, ""), false, func(_ int64, k *graph.EdgeKey, st *graph.EdgeStats) {
		add(k, st)
	})
}

// Buckets reads the 10 second buckets of every finest-level edge that
// start in [from, to) from edges_10s, handing them to fn a batch at a time
// (fn must not keep the slice): what a restarted builder shows until its
// window has passed them (graph.Builder.Warm). It returns how many there
// were.
func (s *Store) Buckets(ctx context.Context, from, to time.Time, fn func([]graph.WarmBucket)) (int, error) {
	keys := append([]string{"toInt64(toUInt32(timestamp)) AS t"}, dims...)
	aliases := append([]string{"t"}, dims...)
	cond := fmt.Sprintf("timestamp >= toDateTime(%d) AND timestamp < toDateTime(%d)", from.Unix(), to.Unix())
	q := combine(aliases, measures, []string{branch(t10s, keys, strings.Join(aliases, ", "), measures, cond, "")}, "")
	batch := make([]graph.WarmBucket, 0, 256)
	n := 0
	err := s.scanEdges(ctx, q, true, func(t int64, k *graph.EdgeKey, st *graph.EdgeStats) {
		batch = append(batch, graph.WarmBucket{StartUnix: t, Key: *k, Stats: *st})
		n++
		if len(batch) == cap(batch) {
			fn(batch)
			batch = batch[:0]
		}
	})
	if err == nil && len(batch) > 0 {
		fn(batch)
	}
	return n, err
}

// scanEdges runs q, whose columns are (with bucket, first a bucket start
// t) the dims and then the measures as combine lays them out, and hands
// every row to add. Keys and stats are reused between rows; their strings
// are the row's own.
func (s *Store) scanEdges(ctx context.Context, q string, bucket bool, add func(int64, *graph.EdgeKey, *graph.EdgeStats)) error {
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("read edges: %w", err)
	}
	defer rows.Close()
	var (
		t                  int64
		k                  graph.EdgeKey
		st                 graph.EdgeStats
		sKind, dKind, prot string
		prov, reps         uint8
		latLo              uint32
		latText            string
	)
	src, dst := &k.Source, &k.Destination
	dest := []any{&sKind, &src.Cluster, &src.Namespace, &src.Name, &src.Workload, &src.Version,
		&dKind, &dst.Cluster, &dst.Namespace, &dst.Name, &dst.Workload, &dst.Version, &prot,
		&prov, &reps, &st.Requests, &st.Errors, &latLo, &latText, &st.LatencySumNanos,
		&st.BytesSent, &st.BytesReceived, &st.MTLS, &st.Plaintext}
	if bucket {
		dest = append([]any{&t}, dest...)
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("read edges: scan: %w", err)
		}
		src.Kind, dst.Kind = graph.NodeKind(sKind), graph.NodeKind(dKind)
		k.Protocol = graph.ParseProtocol(prot)
		st.Provenance, st.Reporters = graph.Provenance(prov), graph.ReporterSet(reps)
		if err := parseLatency(&st.Latency, latLo, latText); err != nil {
			return fmt.Errorf("read edges: %w", err)
		}
		add(t, &k, &st)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read edges: %w", err)
	}
	return nil
}

// ceilUnix is t in Unix seconds, rounded up.
func ceilUnix(t time.Time) int64 {
	if t.Nanosecond() > 0 {
		return t.Unix() + 1
	}
	return t.Unix()
}
