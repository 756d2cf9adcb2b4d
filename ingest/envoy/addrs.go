package envoy

import (
	"hash/maphash"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/meshscope/meshscope/graph"
)

// Addresses learned from entries tell who sent an inbound request when no
// peer metadata does: the downstream remote address of an inbound entry is
// the caller's pod address, which other entries reveal:
//
//   - an emitter's own addresses: Istio's INSTANCE_IPS, the downstream
//     local address of its inbound entries, the upstream local address of
//     its outbound entries (rankSelf: the workload itself said so);
//   - peer metadata: the downstream remote address of an inbound entry
//     with downstream_peer, the upstream host of an outbound entry with
//     upstream_peer (rankSelf);
//   - the upstream host of an outbound entry to a service of the mesh: an
//     endpoint of that service (rankCluster: the service, not the
//     workload).
//
// An address keeps the best-ranked party until it expires (AddressTTL
// after it was last confirmed); the book is bounded and evicts expired,
// then arbitrary, addresses when full.

const (
	rankCluster uint8 = 1
	rankSelf    uint8 = 2
)

type addrEntry struct {
	p       graph.Party
	id      string // p's service node id
	rank    uint8
	expires int64
}

// addrBook maps IP addresses to the parties that have them. It is safe for
// concurrent use: the addresses are spread over shards, each with its own
// lock, and lookups and confirmations of what it knows take only a read
// lock.
type addrBook struct {
	shards [addrShards]addrShard
	seed   maphash.Seed
	max    int // per shard
	ttl    int64
}

const addrShards = 32

type addrShard struct {
	mu sync.RWMutex
	m  map[string]addrEntry
	_  [40]byte // keep shards on their own cache lines
}

func newAddrBook(max int, ttl time.Duration) *addrBook {
	a := &addrBook{seed: maphash.MakeSeed(), max: (max + addrShards - 1) / addrShards, ttl: int64(ttl)}
	if max <= 0 {
		a.max = 0
	}
	for i := range a.shards {
		a.shards[i].m = make(map[string]addrEntry)
	}
	return a
}

func (a *addrBook) shard(ip string) *addrShard {
	return &a.shards[maphash.String(a.seed, ip)%addrShards]
}

func (a *addrBook) len() int {
	n := 0
	for i := range a.shards {
		s := &a.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// lookup returns the party known to have ip, and its service node id.
func (a *addrBook) lookup(ip string, now int64) (addrEntry, bool) {
	if ip == "" {
		return addrEntry{}, false
	}
	s := a.shard(ip)
	s.mu.RLock()
	e, ok := s.m[ip]
	s.mu.RUnlock()
	if !ok || e.expires < now {
		return addrEntry{}, false
	}
	return e, true
}

// learn records that ip belongs to p. p's strings are copied when stored.
func (a *addrBook) learn(ip string, p graph.Party, rank uint8, now int64) {
	if ip == "" || a.max <= 0 {
		return
	}
	s := a.shard(ip)
	s.mu.RLock()
	e, ok := s.m[ip]
	s.mu.RUnlock()
	if ok && e.expires >= now {
		if e.rank > rank {
			return
		}
		// Confirmations of what is known take no write lock until half
		// the lifetime has passed.
		if e.rank == rank && sameParty(e.p, p) && e.expires-now > a.ttl/2 {
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.m[ip]
	if ok && cur.expires >= now && cur.rank > rank {
		return
	}
	if !ok && len(s.m) >= a.max {
		s.evictLocked(a.max, now)
	}
	if ok && sameParty(cur.p, p) {
		cur.rank, cur.expires = rank, now+a.ttl // keep the stored copy
		s.m[ip] = cur
		return
	}
	p = cloneParty(p)
	s.m[strings.Clone(ip)] = addrEntry{p: p, id: p.NodeID(graph.GranularityService), rank: rank, expires: now + a.ttl}
}

// evictLocked makes room: expired addresses first, else an arbitrary
// sixteenth of the shard (map iteration order is random).
func (s *addrShard) evictLocked(max int, now int64) {
	for ip, e := range s.m {
		if e.expires < now {
			delete(s.m, ip)
		}
	}
	if len(s.m) < max {
		return
	}
	n := max/16 + 1
	for ip := range s.m {
		delete(s.m, ip)
		if n--; n == 0 {
			return
		}
	}
}

// sweep drops expired addresses.
func (a *addrBook) sweep(now int64) {
	for i := range a.shards {
		s := &a.shards[i]
		s.mu.Lock()
		for ip, e := range s.m {
			if e.expires < now {
				delete(s.m, ip)
			}
		}
		s.mu.Unlock()
	}
}

func sameParty(a, b graph.Party) bool {
	return a.Kind == b.Kind && a.Namespace == b.Namespace && a.Name == b.Name &&
		a.Workload == b.Workload && a.Version == b.Version && a.Cluster == b.Cluster
}

// cloneParty copies p's strings into one allocation of their own.
func cloneParty(p graph.Party) graph.Party {
	var buf []byte
	cloneParties(&buf, &p)
	return p
}

// cloneParties copies the strings of ps into one new buffer.
func cloneParties(buf *[]byte, ps ...*graph.Party) {
	n := 0
	for _, p := range ps {
		n += len(p.Kind) + len(p.Cluster) + len(p.Namespace) + len(p.Name) + len(p.Workload) + len(p.Version)
	}
	if n == 0 {
		return
	}
	b := make([]byte, 0, n)
	own := func(s string) string {
		if s == "" {
			return ""
		}
		start := len(b)
		b = append(b, s...)
		return unsafe.String(&b[start], len(s))
	}
	for _, p := range ps {
		p.Kind = graph.NodeKind(own(string(p.Kind)))
		p.Cluster, p.Namespace, p.Name = own(p.Cluster), own(p.Namespace), own(p.Name)
		p.Workload, p.Version = own(p.Workload), own(p.Version)
	}
	*buf = b
}

// ipOf returns the IP address of an Envoy address ("10.0.0.1:80",
// "[fe80::1]:80", "tcp://10.0.2.1:80", a bare IP), or "" for addresses
// that name no remote workload (unset, loopback, unspecified, pipes).
func ipOf(addr string) string {
	if i := strings.Index(addr, "://"); i >= 0 {
		addr = addr[i+3:]
	}
	if addr == "" || addr == "-" {
		return ""
	}
	var ip string
	switch {
	case addr[0] == '[':
		end := strings.IndexByte(addr, ']')
		if end < 0 {
			return ""
		}
		ip = addr[1:end]
	case strings.Count(addr, ":") == 1:
		ip = addr[:strings.IndexByte(addr, ':')]
	default:
		ip = addr
	}
	if ip == "" || strings.HasPrefix(ip, "127.") || ip == "::1" || ip == "0.0.0.0" || ip == "::" ||
		strings.IndexByte(ip, '/') >= 0 || strings.HasPrefix(ip, "envoy://") {
		return ""
	}
	return ip
}
