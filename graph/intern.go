package graph

import (
	"hash/maphash"
	"strings"
	"sync"
)

// Interning keeps one copy of the strings the builder retains (party names,
// namespaces, hosts): callers own the strings they pass in, and the same few
// names come back millions of times. Each shard of the table is bounded: past
// internShardMax entries it starts afresh, so high-cardinality values
// (addresses) cannot grow it without limit.
var interned [16]struct {
	mu sync.Mutex
	m  map[string]string
	_  [40]byte // keep shards on separate cache lines
}

var internSeed = maphash.MakeSeed()

const internShardMax = 1 << 14

// intern returns a copy of s that does not alias the caller's memory.
func intern(s string) string {
	if s == "" {
		return ""
	}
	sh := &interned[maphash.String(internSeed, s)&15]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if v, ok := sh.m[s]; ok {
		return v
	}
	if sh.m == nil || len(sh.m) >= internShardMax {
		sh.m = make(map[string]string, 256)
	}
	c := strings.Clone(s)
	sh.m[c] = c
	return c
}
