package graph

import (
	"slices"
	"strings"
	"time"
)

// ComputeDelta returns what turns prev into cur: nodes and edges added,
// updated (any field differs) and removed. Both graphs must have their nodes
// and edges sorted by id (as Assembler makes them); prev may be nil. The delta
// shares elements with cur.
func ComputeDelta(prev, cur *Graph, seq, baseSeq uint64, at time.Time) *Delta {
	d := &Delta{Seq: seq, BaseSeq: baseSeq, Time: at.UTC()}
	var prevNodes []Node
	var prevEdges []Edge
	if prev != nil {
		prevNodes, prevEdges = prev.Nodes, prev.Edges
	}
	d.NodesAdded, d.NodesUpdated, d.NodesRemoved = diffSorted(prevNodes, cur.Nodes,
		func(n *Node) string { return n.ID }, nodeEqual)
	d.EdgesAdded, d.EdgesUpdated, d.EdgesRemoved = diffSorted(prevEdges, cur.Edges,
		func(e *Edge) string { return e.ID }, edgeEqual)
	return d
}

// diffSorted merges two id-sorted lists.
func diffSorted[T any](prev, cur []T, id func(*T) string, equal func(a, b *T) bool) (added, updated []T, removed []string) {
	added, updated, removed = []T{}, []T{}, []string{}
	i, j := 0, 0
	for i < len(prev) || j < len(cur) {
		switch {
		case j == len(cur):
			removed = append(removed, id(&prev[i]))
			i++
		case i == len(prev):
			added = append(added, cur[j])
			j++
		default:
			switch c := strings.Compare(id(&prev[i]), id(&cur[j])); {
			case c < 0:
				removed = append(removed, id(&prev[i]))
				i++
			case c > 0:
				added = append(added, cur[j])
				j++
			default:
				if !equal(&prev[i], &cur[j]) {
					updated = append(updated, cur[j])
				}
				i++
				j++
			}
		}
	}
	return added, updated, removed
}

func nodeEqual(a, b *Node) bool { return *a == *b }

func edgeEqual(a, b *Edge) bool {
	return a.ID == b.ID && a.Source == b.Source && a.Target == b.Target && a.Protocol == b.Protocol &&
		a.Requests == b.Requests && a.Errors == b.Errors && a.RPS == b.RPS && a.ErrorRate == b.ErrorRate &&
		a.P50Ms == b.P50Ms && a.P90Ms == b.P90Ms && a.P95Ms == b.P95Ms && a.P99Ms == b.P99Ms && a.MeanMs == b.MeanMs &&
		a.BytesSent == b.BytesSent && a.BytesReceived == b.BytesReceived && a.MTLSShare == b.MTLSShare &&
		a.BytesSentPerSecond == b.BytesSentPerSecond && a.BytesReceivedPerSecond == b.BytesReceivedPerSecond &&
		slices.Equal(a.Provenance, b.Provenance) && slices.Equal(a.Reporters, b.Reporters) &&
		slices.Equal(a.Protocols, b.Protocols)
}
