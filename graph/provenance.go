package graph

import "fmt"

// Counting calls seen by several inputs once.
//
// The same calls may reach the builder several times: as spans, as access log
// entries written by the caller's and the callee's sidecars, and as metric
// deltas reported by either side. The builder keeps, per edge and per second,
// separate counters for every (provenance, reporter) pair that saw the edge,
// and takes the edge's numbers for that second from one choice:
//
//  1. the first provenance present in the preference order (by default
//     access logs, then spans, then metrics: access logs see every request
//     with its own timestamp, spans may be sampled, metric deltas arrive at
//     scrape times in lumps);
//  2. within spans, every reporter is added: a span call is either a pair
//     (destination), an unpaired client span (source) or a root server span
//     (destination), never two of them;
//  3. within access logs and metrics, where both sidecars report the same
//     requests, the reporter with the most calls in that second, the
//     destination winning ties, then the source: the destination sees real
//     mTLS and server latency, the source also sees requests that never
//     reached the destination.
//
// The edge's provenance and reporters list everything that saw it, chosen or
// not. Rows flushed to edges_10s carry the chosen numbers and the union of
// provenances, so one replica never counts a call twice; replicas that
// receive different inputs for the same calls on the same key (spans on one,
// access logs on another) do add up in ClickHouse, so route one mesh's telemetry kinds to the
// same replica or enable only one input per edge there.
//
// Inputs do not see calls at the same instants: metric deltas arrive in lumps
// at scrape times, sampled spans cover a share of the seconds. So a preferred
// input that saw the edge within the last coverSeconds also covers the
// seconds in which it saw nothing: less preferred inputs do not count there
// (their provenance is still listed). Without this, a metric lump landing in
// a second with no access log entries would count the same calls again.
//
// The choice here is made per edge key, the finest level (both parties'
// namespace, name, workload and version, and the protocol). Inputs that
// describe the same calls with different detail land on different keys;
// choose.go decides, per graph, which of those keys count.
//
// A per-second choice has a boundary effect: a call logged in second N by one
// side and N+1 by the other is counted in both seconds. Both sides log the
// request start, so this concerns calls whose start times differ across a
// second boundary by the network delay only.

// Slot layout inside a cell: provenance index * 3 + reporter.
const (
	provSpan   = 0
	provAccess = 1
	provMetric = 2
	numProv    = 3
	numSlots   = numProv * 3
)

// provIndex maps a provenance bit to its slot group; -1 when p is not a
// single known bit.
func provIndex(p Provenance) int {
	switch p {
	case FromSpan:
		return provSpan
	case FromAccessLog:
		return provAccess
	case FromMetric:
		return provMetric
	}
	return -1
}

var provBits = [numProv]Provenance{FromSpan, FromAccessLog, FromMetric}

// DefaultProvenancePreference is the order in which the builder trusts
// inputs that saw the same calls.
var DefaultProvenancePreference = []Provenance{FromAccessLog, FromSpan, FromMetric}

// preference is a validated provenance order, as slot group indexes.
type preference [numProv]int

func newPreference(order []Provenance) (preference, error) {
	if len(order) == 0 {
		order = DefaultProvenancePreference
	}
	var out preference
	if len(order) != numProv {
		return out, fmt.Errorf("provenance_preference: want each of span, accesslog, metric once, got %d entries", len(order))
	}
	var seen [numProv]bool
	for i, p := range order {
		pi := provIndex(p)
		if pi < 0 || seen[pi] {
			return out, fmt.Errorf("provenance_preference[%d]: want each of span, accesslog, metric once", i)
		}
		seen[pi] = true
		out[i] = pi
	}
	return out, nil
}

// reporterOrder breaks ties: destination, then source, then unknown.
var reporterOrder = [3]int{int(ReporterDestination), int(ReporterSource), int(ReporterUnknown)}

// coverSeconds is how long a provenance seen on an edge keeps covering it
// (a few scrape intervals).
const coverSeconds = 120

// choose returns the mask of slots whose counters make the cell's numbers.
// recent has bit pi set when provenance group pi saw the edge within
// coverSeconds: such a group, when preferred, covers the cell even where it
// is absent, and nothing less preferred is counted.
func (pref *preference) choose(c *cell, recent uint8) uint16 {
	for _, pi := range pref {
		m := (c.present >> (3 * pi)) & 7
		if m == 0 {
			if recent&(1<<pi) != 0 {
				return 0
			}
			continue
		}
		if pi == provSpan {
			return m << (3 * pi)
		}
		best := -1
		var bestReq uint64
		for _, r := range reporterOrder {
			if m&(1<<r) == 0 {
				continue
			}
			if req := c.slots[3*pi+r].requests; best < 0 || req > bestReq {
				best, bestReq = r, req
			}
		}
		return 1 << (3*pi + best)
	}
	return 0
}
