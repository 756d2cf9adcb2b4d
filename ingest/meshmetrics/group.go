package meshmetrics

import (
	"math"
	"strconv"
	"strings"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest"
	"github.com/meshscope/meshscope/schema"
)

// call is what the labels of a call group say about its calls.
type call struct {
	src, dst graph.Party
	proto    graph.Protocol
	reporter graph.Reporter
	// err: the group's status labels say every call of it failed.
	err bool
	// security is schema.SecurityMTLS, SecurityPlaintext or unknown.
	security uint8
	// waypoint: reported by an Istio waypoint; dropped while the
	// destination itself reports the same calls.
	waypoint bool
	// destReport: reported by the destination's own proxy.
	destReport bool
	// identity names the caller and callee, to match waypoint reports
	// with destination reports.
	identity uint64
	// conn names the connections of a Linkerd call (connKey); transport:
	// the call counts connections and their bytes (Linkerd's tcp_*), not
	// requests.
	conn      uint64
	transport bool
}

// own copies the strings of c, which may point into a request's buffer,
// so that the Deriver keeps nothing of its caller's memory.
func (c *call) own() {
	for _, p := range []*graph.Party{&c.src, &c.dst} {
		p.Cluster, p.Namespace, p.Name = strings.Clone(p.Cluster), strings.Clone(p.Namespace), strings.Clone(p.Name)
		p.Workload, p.Version = strings.Clone(p.Workload), strings.Clone(p.Version)
	}
}

// group is the state of one call group.
type group struct {
	key       uint64
	call      call
	unitNanos float64
	members   []*series
	// maxRank is the highest counter rank among members; nHist counts
	// members that give the latency count (a _count or a histogram row).
	maxRank uint8
	nHist   int
	// nKnown counts members with a baseline; nKnownPend those of them
	// with a sample in the snapshot being assembled.
	nKnown, nKnownPend int
	// The snapshot being assembled: its sample time and the wall time
	// its first sample arrived.
	pendingSnap bool
	pendTs      int64
	pendSince   int64
	// doneTs is the sample time of the last snapshot emitted.
	doneTs int64
	listed bool // in Deriver.pending
	dead   bool // expired
}

// series is the state of one tracked series.
type series struct {
	g       *group // nil: tracked, but yields nothing
	idx     int    // position in g.members
	touched int64  // wall time of the last sample
	role    role
	rank    uint8
	// err: this series counts failed calls only (Linkerd
	// classification="failure", Envoy 5xx); a roleFailures series counts
	// only when it is set.
	err bool
	// le is the bound of a bucket series.
	le float64
	// delta: each sample is already an increase (OTLP delta temporality).
	delta bool
	// shaped: the rows carry a histogram (Count, Sum, buckets).
	shaped bool

	hasLast, pend  bool
	lastTs, nextTs int64 // the baseline's and the pending point's sample time
	last, next     float64
	lastH, nextH   rowHist
}

// rowHist is a histogram sample row: bounds and per-bucket counts (not
// cumulative; one more count than bounds), count and sum; or, for an
// exponential histogram (exp), its scale, zero bucket and positive
// buckets from offset (as schema.MetricSampleRow keeps them).
type rowHist struct {
	bounds []float64
	counts []uint64
	count  uint64
	sum    float64

	exp       bool
	scale     int32
	zero      uint64
	offset    int32
	expCounts []uint64
}

// set copies a sample row into h, reusing h's slices.
func (h *rowHist) set(sm *schema.MetricSampleRow) {
	h.bounds = append(h.bounds[:0], sm.BucketBounds...)
	h.counts = append(h.counts[:0], sm.BucketCounts...)
	h.count, h.sum = sm.Count, sm.Sum
	h.exp = len(sm.BucketCounts) == 0 && (len(sm.ExpPositiveCounts) > 0 || sm.ExpZeroCount > 0)
	h.scale, h.zero, h.offset = sm.ExpScale, sm.ExpZeroCount, sm.ExpPositiveOffset
	h.expCounts = append(h.expCounts[:0], sm.ExpPositiveCounts...)
}

// track classifies a series on its first sample and starts tracking it.
// It returns nil when MaxSeries is reached.
func (d *Deriver) track(row *schema.MetricSeriesRow, sp spec, now int64) *series {
	if len(d.series) >= d.cfg.MaxSeries {
		return nil
	}
	s := &series{
		role:    sp.role,
		rank:    sp.rank,
		touched: now,
		delta:   row.Temporality == 1,
		shaped:  row.Type == schema.MetricHistogram || row.Type == schema.MetricExponentialHistogram,
	}
	d.series[row.SeriesID] = s
	if sp.role == roleHistRow && !s.shaped {
		return s
	}
	l := lbls{row: row}
	var c call
	var ok bool
	switch sp.fam {
	case famIstio:
		c, ok = istioCall(l)
	case famLinkerd:
		c, ok = linkerdCall(l)
		s.err = l.get("classification") == "failure"
		if known(l.get("grpc_status")) != "" {
			c.proto = graph.ProtocolGRPC
		}
	case famLinkerdTCP:
		c, ok = linkerdTCPCall(l)
		s.err = l.get("classification") == "failure"
		if ok && l.get("direction") == "inbound" {
			// The peer is the caller: what the proxy read, the caller sent.
			switch s.role {
			case roleBytesSent:
				s.role = roleBytesReceived
			case roleBytesReceived:
				s.role = roleBytesSent
			}
		}
	case famServiceGraph:
		c, ok = serviceGraphCall(l)
		s.err = sp.role == roleFailures
	case famOTelClient:
		c, ok = otelClientCall(l)
	case famEnvoy:
		c, ok = envoyCall(l)
		if cls := l.get("envoy_response_code_class"); cls != "" {
			s.err = cls == "5"
		} else if code, known := ingest.Atoi(l.get("envoy_response_code")); known {
			s.err = code >= 500
		}
	}
	if !ok {
		return s
	}
	if sp.role == roleHistBucket {
		le, err := strconv.ParseFloat(l.get("le"), 64)
		if err != nil || math.IsNaN(le) {
			return s
		}
		s.le = le
	}
	key := groupKey(sp.fam, row)
	g := d.groups[key]
	if g == nil {
		c.own()
		g = &group{key: key, call: c}
		d.groups[key] = g
	} else if c.proto == graph.ProtocolGRPC {
		// Linkerd tells gRPC apart only on response series.
		g.call.proto = c.proto
	}
	if sp.unitNanos != 0 {
		g.unitNanos = sp.unitNanos
	}
	if c.destReport {
		d.destSeen[c.identity] = now
	}
	d.sawRequests(g, now)
	g.join(s)
	return s
}

// join adds s to g.
func (g *group) join(s *series) {
	s.g, s.idx = g, len(g.members)
	g.members = append(g.members, s)
	switch s.role {
	case roleCounter:
		g.maxRank = max(g.maxRank, s.rank)
	case roleHistCount, roleHistRow:
		g.nHist++
	}
}

// leave removes s from g.
func (g *group) leave(s *series) {
	last := len(g.members) - 1
	g.members[s.idx] = g.members[last]
	g.members[s.idx].idx = s.idx
	g.members[last] = nil
	g.members = g.members[:last]
	if s.hasLast {
		g.nKnown--
		if s.pend {
			g.nKnownPend--
		}
	}
	g.maxRank, g.nHist = 0, 0
	for _, m := range g.members {
		switch m.role {
		case roleCounter:
			g.maxRank = max(g.maxRank, m.rank)
		case roleHistCount, roleHistRow:
			g.nHist++
		}
	}
	s.g = nil
}
