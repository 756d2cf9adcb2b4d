// Package meshmetrics derives graph observations from service-mesh metrics:
// Istio's standard metrics, Linkerd's proxy metrics and Envoy's cluster
// statistics, from the service graph metrics that the OpenTelemetry
// Collector's servicegraph connector and Tempo derive from traces, and from
// OpenTelemetry SDKs' client request metrics (otelclient.go), whether
// they arrive by Prometheus remote_write, by scraping or as OTLP metrics
// converted to schema rows. It keeps the last value of each
// series and turns increases into observation deltas, the way Prometheus'
// increase() reads counters. It imports the graph contract types only; it
// must never import query/ or the graph builder's internals.
package meshmetrics

import (
	"sync"
	"time"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/schema"
)

// Deriver turns metric samples into observations. It is safe for
// concurrent use.
//
// Series of one call group (same labels but for the metric name, the
// bucket bound and, per mesh, status labels) are read together: Count and
// Latency come from the latency histogram's _count and buckets when the
// group has one, else from the request counter; Errors from the group's
// status labels or its failure counters; bytes from the size sums. A
// group's delta is emitted once every series seen in its previous scrape
// has a sample of the new one, or after Config.AssemblyWait.
//
// Counter semantics follow Prometheus: a decrease is a reset, and the new
// value is the increase; the first sample of a cumulative series sets the
// baseline (see Config.CountFirstSample); a sample not newer than the last
// one is ignored; NaN and infinite values (Prometheus' staleness markers
// among them) and points flagged as holding no value are skipped. Series of
// delta temporality (OTLP) are increases already.
type Deriver struct {
	cfg Config
	now func() time.Time

	mu       sync.Mutex
	series   map[uint64]*series
	groups   map[uint64]*group
	destSeen map[uint64]int64 // Istio call identity -> wall time a destination reported it
	// requestConns holds the Linkerd connections (connKey) seen carrying
	// requests.
	requestConns map[uint64]requestConn
	pending      []*group // groups that may be waiting for stragglers
	requeued     []graph.Observation

	lastSweep, lastExpire int64
	stats                 Stats

	// Scratch space, reused under mu.
	buckets []bucketInc
	bounds  []float64
	counts  []uint64
	expInc  []uint64
}

// requestConn is when Linkerd connections were last seen carrying
// requests, and the edge of those requests.
type requestConn struct {
	seen     int64
	src, dst graph.Party
	proto    graph.Protocol
}

// Stats are the Deriver's counters.
type Stats struct {
	// Series and Groups are the series and call groups tracked now.
	Series, Groups int
	// Untracked counts samples of series left untracked because
	// Config.MaxSeries was reached.
	Untracked uint64
	// MissingSeries counts samples whose series row was not given.
	MissingSeries uint64
	// RequeueDropped counts requeued observations dropped because
	// Config.MaxRequeued was reached.
	RequeueDropped uint64
}

// New returns a Deriver. It fails when cfg does not validate.
func New(cfg Config) (*Deriver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Deriver{
		cfg:      cfg.withDefaults(),
		now:      time.Now,
		series:   make(map[uint64]*series),
		groups:   make(map[uint64]*group),
		destSeen: make(map[uint64]int64),

		requestConns: make(map[uint64]requestConn),
	}, nil
}

// Wants reports whether samples of the metric name can yield observations;
// callers may skip building series rows for the others. A nil Deriver
// wants nothing.
func (d *Deriver) Wants(metricName string) bool {
	if d == nil {
		return false
	}
	_, ok := specOf(metricName)
	return ok
}

// Derive consumes samples and appends to dst the observations they
// complete, and returns it. series must hold the row of every series a
// wanted sample refers to (by SeriesID) unless the Deriver has seen that
// series before; it may hold more. Derive keeps nothing of series or
// samples after it returns. Observations held back by Requeue come first.
func (d *Deriver) Derive(series []schema.MetricSeriesRow, samples []schema.MetricSampleRow, dst []graph.Observation) []graph.Observation {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now().UnixNano()
	d.expire(now)
	if len(d.requeued) > 0 {
		dst = append(dst, d.requeued...)
		clear(d.requeued)
		d.requeued = d.requeued[:0]
	}
	var index map[uint64]int
	for i := range samples {
		sm := &samples[i]
		sp, ok := specOf(sm.MetricName)
		if !ok {
			continue
		}
		s := d.series[sm.SeriesID]
		if s == nil {
			row := findSeries(series, sm.SeriesID, &index)
			if row == nil {
				d.stats.MissingSeries++
				continue
			}
			if s = d.track(row, sp, now); s == nil {
				d.stats.Untracked++
				continue
			}
		}
		s.touched = now
		if s.g != nil {
			dst = d.observe(s, sm, now, dst)
		}
	}
	return d.sweep(now, dst)
}

// Flush emits the deltas of every group still waiting for samples, as if
// its assembly wait had run out.
func (d *Deriver) Flush(dst []graph.Observation) []graph.Observation {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now().UnixNano()
	for _, g := range d.pending {
		g.listed = false
		if g.pendingSnap && !g.dead {
			dst = d.finalize(g, now, dst)
		}
	}
	clear(d.pending)
	d.pending = d.pending[:0]
	return dst
}

// Requeue hands back observations that a caller could not deliver (its
// Appender refused the batch); the next Derive returns them first. The
// samples they came from count as seen, so a retried request does not
// yield them again. At most Config.MaxRequeued are kept.
func (d *Deriver) Requeue(obs []graph.Observation) {
	d.mu.Lock()
	defer d.mu.Unlock()
	room := d.cfg.MaxRequeued - len(d.requeued)
	if room < len(obs) {
		d.stats.RequeueDropped += uint64(len(obs) - max(room, 0))
		obs = obs[:max(room, 0)]
	}
	d.requeued = append(d.requeued, obs...)
}

// Stats returns the Deriver's counters.
func (d *Deriver) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.stats
	st.Series, st.Groups = len(d.series), len(d.groups)
	return st
}

// findSeries returns the row with id, indexing rows on the first search
// of a long slice.
func findSeries(rows []schema.MetricSeriesRow, id uint64, index *map[uint64]int) *schema.MetricSeriesRow {
	if len(rows) <= 16 {
		for i := range rows {
			if rows[i].SeriesID == id {
				return &rows[i]
			}
		}
		return nil
	}
	if *index == nil {
		*index = make(map[uint64]int, len(rows))
		for i := range rows {
			(*index)[rows[i].SeriesID] = i
		}
	}
	if i, ok := (*index)[id]; ok {
		return &rows[i]
	}
	return nil
}
