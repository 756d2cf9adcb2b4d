package envoy

import (
	"sync"
	"time"

	"github.com/meshscope/meshscope/graph"
)

// Counting a request logged by both sidecars once.
//
// The caller's sidecar logs a request as outbound (reporter source), the
// callee's as inbound (reporter destination); both entries become rows of
// the requests table, but only one becomes an observation:
//
//   - the destination's, when the request reached a meshed destination:
//     it sees real mTLS and the server's latency;
//   - the source's, when the request never reached one: the destination
//     is outside the mesh (external hosts, PassthroughCluster,
//     BlackHoleCluster), or the source gave up before or while connecting
//     (response flags UH, UF, UO, NR, URX, NC, DF, or HTTP code 0).
//
// The two entries are matched by a key both sides know: for HTTP the
// x-request-id with the :authority and method (an id alone is shared by
// every hop of a request that forwards it), for TCP the caller's address
// of the connection (the source's upstream local address is the
// destination's downstream remote address). Entries without a key are
// counted as they come.
//
// The sides arrive in any order, seconds apart (each proxy flushes its own
// buffer), or in one batch (an import). So a source side that expects a
// destination side waits up to Wait: the destination side, when it comes,
// is counted at once and cancels it; a waiting source side whose wait is
// over is counted then (the destination had no sidecar, or its entry was
// lost). A destination side that does not know its caller (client:/: no
// peer metadata, no known address) waits too, for a source side to name
// the caller; it is counted when that comes, or when its wait is over.
// Every key is remembered for twice the wait, so that a side arriving after
// its counterpart was counted is dropped:
//
//	state of key        source side arrives          destination side arrives
//	none                wait (count: not reached)    count (wait: caller unknown)
//	source waiting      replace the waiting one      count, cancel the waiting one
//	destination waiting count the waiting one,       replace the waiting one
//	                    naming its caller
//	source counted      count (a retried batch)      drop
//	destination counted drop                         count (a retry, or an attempt)
//
// A side seen again in its own counted state is counted again: that is a
// batch the client retries because its append failed (observations of a
// failed append reach no one), or one more attempt of a retried request,
// which the destination logs each time as Istio's metrics count it.
//
// The pending map is bounded by MaxPending; when full, entries are counted
// as they come (both sides of such a request count) and the overflow is
// counted in meshscope_accesslog_dedup_total{outcome="overflow"}.

type sideState uint8

const (
	stateWaiting     sideState = iota + 1 // the source side waits
	stateDestWaiting                      // the destination side waits for its caller
	stateSourceCounted
	stateDestCounted
)

// pendingEntry holds no pointer, so that the garbage collector does not
// scan the pending map; a waiting observation lives in the slab.
type pendingEntry struct {
	state   sideState
	slot    int32 // the waiting observation's slot in dedup.slab
	created int64
}

type queued struct {
	key uint64
	at  int64 // the entry's created time, to recognise it
}

// fifo is a queue of keys in creation order; since every entry waits and
// lives equally long, the head is always the next to expire.
type fifo struct {
	q    []queued
	head int
}

func (f *fifo) push(q queued) {
	if f.head > 1024 && f.head > len(f.q)/2 {
		n := copy(f.q, f.q[f.head:])
		f.q, f.head = f.q[:n], 0
	}
	f.q = append(f.q, q)
}

func (f *fifo) peek() (queued, bool) {
	if f.head >= len(f.q) {
		return queued{}, false
	}
	return f.q[f.head], true
}

func (f *fifo) pop() { f.head++ }

type dedup struct {
	mu       sync.Mutex
	m        map[uint64]pendingEntry
	waiting  fifo // keys of waiting entries, released after wait
	all      fifo // every key, forgotten after 2*wait
	max      int
	wait     int64
	nWaiting int
	slab     []graph.Observation // waiting observations, private copies
	free     []int32             // free slots of slab
}

// hold stores a private copy of o and returns its slot.
func (d *dedup) hold(o *graph.Observation) int32 {
	c := cloneObservation(o)
	if n := len(d.free); n > 0 {
		slot := d.free[n-1]
		d.free = d.free[:n-1]
		d.slab[slot] = c
		return slot
	}
	d.slab = append(d.slab, c)
	return int32(len(d.slab) - 1)
}

// take returns the observation in slot and frees the slot.
func (d *dedup) take(slot int32) graph.Observation {
	o := d.slab[slot]
	d.slab[slot] = graph.Observation{}
	d.free = append(d.free, slot)
	return o
}

func newDedup(max int, wait time.Duration) *dedup {
	return &dedup{m: make(map[uint64]pendingEntry), max: max, wait: int64(wait)}
}

func (d *dedup) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.m)
}

// outcome of one side.
type outcome uint8

const (
	outCount    outcome = iota // count the observation now
	outHold                    // it waits (the dedup keeps a copy)
	outDrop                    // the other side counted the request
	outOverflow                // counted now: no room to remember it
	outCancel                  // counted now, and a waiting source side was cancelled
)

// sourceLocked decides the source side o of key; reached says whether the
// request may have reached a meshed destination. On outCount o may have
// become the waiting destination side, which it names the caller of.
func (d *dedup) sourceLocked(key uint64, o *graph.Observation, reached bool, now int64) outcome {
	if e, ok := d.m[key]; ok {
		switch e.state {
		case stateDestCounted:
			return outDrop
		case stateWaiting:
			d.slab[e.slot] = cloneObservation(o)
			return outHold
		case stateDestWaiting:
			dst := d.take(e.slot)
			if o.Source.IsMesh() {
				dst.Source = o.Source
			}
			*o = dst
			e.state = stateDestCounted
			d.m[key] = e
			d.nWaiting--
			return outCount
		default:
			return outCount
		}
	}
	if len(d.m) >= d.max {
		return outOverflow
	}
	if !reached {
		d.add(key, pendingEntry{state: stateSourceCounted, created: now}, false)
		return outCount
	}
	d.add(key, pendingEntry{state: stateWaiting, created: now, slot: d.hold(o)}, true)
	return outHold
}

// destinationLocked decides the destination side o of key. When o does
// not know its caller and a source side does, o takes it; mayWait says
// whether a source side may come to tell it (not at gateways).
func (d *dedup) destinationLocked(key uint64, o *graph.Observation, mayWait bool, now int64) outcome {
	callerUnknown := o.Source.Kind == graph.KindClient && o.Source.Namespace == "" && o.Source.Name == ""
	if e, ok := d.m[key]; ok {
		switch e.state {
		case stateSourceCounted:
			return outDrop
		case stateWaiting:
			src := d.take(e.slot)
			if callerUnknown && src.Source.IsMesh() {
				o.Source = src.Source
			}
			e.state = stateDestCounted
			d.m[key] = e
			d.nWaiting--
			return outCancel
		case stateDestWaiting:
			d.slab[e.slot] = cloneObservation(o)
			return outHold
		default:
			return outCount
		}
	}
	if len(d.m) >= d.max {
		return outOverflow
	}
	if !callerUnknown || !mayWait {
		d.add(key, pendingEntry{state: stateDestCounted, created: now}, false)
		return outCount
	}
	d.add(key, pendingEntry{state: stateDestWaiting, created: now, slot: d.hold(o)}, true)
	return outHold
}

func (d *dedup) add(key uint64, e pendingEntry, waiting bool) {
	d.m[key] = e
	d.all.push(queued{key, e.created})
	if waiting {
		d.waiting.push(queued{key, e.created})
		d.nWaiting++
	}
}

// counted is the state a waiting entry takes once counted.
func counted(s sideState) sideState {
	if s == stateDestWaiting {
		return stateDestCounted
	}
	return stateSourceCounted
}

func isWaiting(s sideState) bool { return s == stateWaiting || s == stateDestWaiting }

// releaseLocked appends the waiting observations whose wait is over and
// forgets keys older than twice the wait.
func (d *dedup) releaseLocked(dst []graph.Observation, now int64) []graph.Observation {
	for {
		q, ok := d.waiting.peek()
		if !ok || q.at+d.wait > now {
			break
		}
		d.waiting.pop()
		if e, ok := d.m[q.key]; ok && e.created == q.at && isWaiting(e.state) {
			dst = append(dst, d.take(e.slot))
			e.state = counted(e.state)
			d.m[q.key] = e
			d.nWaiting--
		}
	}
	for {
		q, ok := d.all.peek()
		if !ok || q.at+2*d.wait > now {
			break
		}
		d.all.pop()
		if e, ok := d.m[q.key]; ok && e.created == q.at {
			if isWaiting(e.state) { // only when wait is 0
				dst = append(dst, d.take(e.slot))
				d.nWaiting--
			}
			delete(d.m, q.key)
		}
	}
	d.shrink()
	return dst
}

// shrink lets go of a slab grown in a burst once nothing waits.
func (d *dedup) shrink() {
	if d.nWaiting == 0 && cap(d.slab) > 4096 {
		d.slab, d.free = nil, nil
	}
}

func (d *dedup) release(dst []graph.Observation, now int64) []graph.Observation {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.releaseLocked(dst, now)
}

// releaseAll appends every waiting observation; their keys stay, counted,
// so that late other sides are dropped.
func (d *dedup) releaseAll(dst []graph.Observation) []graph.Observation {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.nWaiting == 0 {
		return dst
	}
	for d.waiting.head < len(d.waiting.q) {
		q := d.waiting.q[d.waiting.head]
		d.waiting.pop()
		if e, ok := d.m[q.key]; ok && e.created == q.at && isWaiting(e.state) {
			dst = append(dst, d.take(e.slot))
			e.state = counted(e.state)
			d.m[q.key] = e
		}
	}
	d.nWaiting = 0
	d.shrink()
	return dst
}

// cloneObservation copies o with strings of its own.
func cloneObservation(o *graph.Observation) graph.Observation {
	c := *o
	var buf []byte
	cloneParties(&buf, &c.Source, &c.Destination)
	c.Latency = nil
	return c
}
