package edgestore

import (
	"context"
	"fmt"
	"time"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/schema"
)

// WriteEdges inserts rows into edges_10s in one columnar batch, so a batch is
// written whole or not at all.
func (s *Store) WriteEdges(ctx context.Context, rows []graph.EdgeRow) error {
	if len(rows) == 0 {
		return nil
	}
	if err := s.st.InsertColumns(ctx, schema.Edges10sTable, edgeColumns(rows)); err != nil {
		return fmt.Errorf("write %d edge rows: %w", len(rows), err)
	}
	return nil
}

var emptyLatency = []uint64{}

// edgeColumns lays rows out in the column order of schema.Edges10sTable.
func edgeColumns(rows []graph.EdgeRow) []any {
	n := len(rows)
	str := func() []string { return make([]string, n) }
	u64 := func() []uint64 { return make([]uint64, n) }
	var (
		ts                                     = make([]time.Time, n)
		sKind, sCluster, sNS, sName, sWL, sVer = str(), str(), str(), str(), str(), str()
		dKind, dCluster, dNS, dName, dWL, dVer = str(), str(), str(), str(), str(), str()
		proto                                  = str()
		prov, reps                             = make([]uint8, n), make([]uint8, n)
		req, errs, latSum, sent, recv, mtls    = u64(), u64(), u64(), u64(), u64(), u64()
		plain                                  = u64()
		lat                                    = make([][]uint64, n)
	)
	for i := range rows {
		r := &rows[i]
		src, dst := &r.Key.Source, &r.Key.Destination
		ts[i] = time.Unix(r.BucketUnix, 0).UTC()
		sKind[i], sCluster[i], sNS[i], sName[i], sWL[i], sVer[i] = kindOf(src), src.Cluster, src.Namespace, src.Name, src.Workload, src.Version
		dKind[i], dCluster[i], dNS[i], dName[i], dWL[i], dVer[i] = kindOf(dst), dst.Cluster, dst.Namespace, dst.Name, dst.Workload, dst.Version
		proto[i] = r.Key.Protocol.String()
		prov[i], reps[i] = uint8(r.Provenance), uint8(r.Reporters)
		req[i], errs[i], latSum[i] = r.Requests, r.Errors, r.LatencySumNanos
		sent[i], recv[i], mtls[i], plain[i] = r.BytesSent, r.BytesReceived, r.MTLS, r.Plaintext
		lat[i] = r.Latency
		if lat[i] == nil {
			lat[i] = emptyLatency
		}
	}
	return []any{ts, sKind, sCluster, sNS, sName, sWL, sVer, dKind, dCluster, dNS, dName, dWL, dVer, proto,
		prov, reps, req, errs, lat, latSum, sent, recv, mtls, plain}
}

// kindOf stores mesh parties as "service": their node kind at a granularity
// is derived from which of workload and version they know.
func kindOf(p *graph.Party) string {
	if p.IsMesh() {
		return string(graph.KindService)
	}
	return string(p.Kind)
}
