package promrw

import "sync"

const seenShards = 16

// SeenSet is a bounded set of series ids, safe for concurrent use. Each
// shard keeps two generations: when the current one fills up it becomes
// the old one and the older is dropped, so ids in use stay (a hit in the
// old generation moves the id to the current one) and ids no longer sent
// are forgotten.
type SeenSet struct {
	perGen int
	shards [seenShards]seenShard
}

type seenShard struct {
	mu       sync.Mutex
	cur, old map[uint64]struct{}
}

// NewSeenSet returns a set that holds about n ids (at least n/2).
func NewSeenSet(n int) *SeenSet {
	s := &SeenSet{perGen: max(n/(2*seenShards), 1)}
	for i := range s.shards {
		s.shards[i].cur = make(map[uint64]struct{})
	}
	return s
}

// Contains reports whether id is in the set.
func (s *SeenSet) Contains(id uint64) bool {
	sh := &s.shards[id%seenShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.cur[id]; ok {
		return true
	}
	if _, ok := sh.old[id]; ok {
		s.add(sh, id)
		return true
	}
	return false
}

// Add puts ids in the set.
func (s *SeenSet) Add(ids ...uint64) {
	for _, id := range ids {
		sh := &s.shards[id%seenShards]
		sh.mu.Lock()
		s.add(sh, id)
		sh.mu.Unlock()
	}
}

func (s *SeenSet) add(sh *seenShard, id uint64) {
	sh.cur[id] = struct{}{}
	if len(sh.cur) >= s.perGen {
		sh.old, sh.cur = sh.cur, make(map[uint64]struct{}, s.perGen)
	}
}
