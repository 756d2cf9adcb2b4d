package graph

import (
	"hash/maphash"
	"sync"
)

// shard is one independently locked part of the builder's edge table. Edges
// are keyed by the hash of their EdgeKey, with a chain for collisions.
type shard struct {
	mu    sync.Mutex
	edges map[uint64]*edgeState
	count int
	// flushedThrough is the end (Unix seconds, exclusive) of the last bucket
	// flushed: cells before it can no longer change.
	flushedThrough int64
	pool           pool
	_              [64]byte // keep shards' locks on separate cache lines
}

func (s *shard) find(h uint64, k *EdgeKey) *edgeState {
	for e := s.edges[h]; e != nil; e = e.next {
		if e.key == *k {
			return e
		}
	}
	return nil
}

func (s *shard) insert(e *edgeState) {
	e.next = s.edges[e.hash]
	s.edges[e.hash] = e
	s.count++
}

// each calls f for every edge; when f returns true the edge is removed.
func (s *shard) each(f func(e *edgeState) (remove bool)) {
	for h, head := range s.edges {
		var prev *edgeState
		for e := head; e != nil; {
			next := e.next
			if f(e) {
				s.count--
				switch {
				case prev != nil:
					prev.next = next
				case next == nil:
					delete(s.edges, h)
				default:
					s.edges[h] = next
				}
			} else {
				prev = e
			}
			e = next
		}
	}
}

// hashKey hashes an edge key without allocating.
func hashKey(seed maphash.Seed, k *EdgeKey) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	writeParty(&h, &k.Source)
	writeParty(&h, &k.Destination)
	_ = h.WriteByte(byte(k.Protocol))
	return h.Sum64()
}

func writeParty(h *maphash.Hash, p *Party) {
	for _, s := range [...]string{string(p.Kind), p.Cluster, p.Namespace, p.Name, p.Workload, p.Version} {
		_, _ = h.WriteString(s)
		_ = h.WriteByte(0)
	}
}
