package graph

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// builderMetrics are the builder's counters on /metrics. Label values are
// fixed small sets.
type builderMetrics struct {
	observations   prometheus.Counter
	dropped        *prometheus.CounterVec // reason: late, invalid, edge_limit
	spans          prometheus.Counter
	spanCalls      *prometheus.CounterVec // result: paired, unpaired_client, root_server, unpaired_consumer
	spanDropped    *prometheus.CounterVec // reason: store_full
	spanExpired    *prometheus.CounterVec // side: client, server
	spanPending    prometheus.Gauge
	liveEdges      prometheus.Gauge
	keysLeftOut    prometheus.Gauge
	flushedRows    prometheus.Counter
	flushFailures  prometheus.Counter
	flushDropped   *prometheus.CounterVec // reason: queue_full, write_failed
	subscriberDrop *prometheus.CounterVec // granularity
	tickSeconds    prometheus.Histogram
	snapshots      *prometheus.CounterVec // result: written, failed
	snapshotTaken  prometheus.Gauge

	// Children of the vectors above, resolved once.
	droppedLate, droppedInvalid, droppedEdgeLimit                      prometheus.Counter
	callsPaired, callsUnpairedClient, callsRootServer                  prometheus.Counter
	callsUnpairedConsumer, spanStoreFull, expiredClient, expiredServer prometheus.Counter
	flushDroppedQueue, flushDroppedWrite                               prometheus.Counter
}

func newBuilderMetrics(reg prometheus.Registerer) *builderMetrics {
	const ns, sub = "meshscope", "graph"
	m := &builderMetrics{
		observations: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "observations_total", Help: "Observations taken into the live graph (including those from paired spans)."}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "observations_dropped_total", Help: "Observations dropped: late (older than the horizon or a flushed bucket), invalid (no count, unknown provenance) or edge_limit (a new edge beyond max_edges)."}, []string{"reason"}),
		spans: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "spans_total", Help: "Spans fed to the span pairer."}),
		spanCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "span_calls_total", Help: "Calls derived from spans, by how: paired, unpaired_client, root_server, unpaired_consumer."}, []string{"result"}),
		spanDropped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "span_store_dropped_total", Help: "Spans dropped because the pending span store was full."}, []string{"reason"}),
		spanExpired: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "span_store_expired_total", Help: "Pending spans whose other half did not arrive within span_wait, by side."}, []string{"side"}),
		spanPending: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "span_store_pending", Help: "Spans waiting for their other half."}),
		liveEdges: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "live_edges", Help: "Finest-level edges held by the live builder."}),
		keysLeftOut: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "live_edges_left_out", Help: "Finest-level edges of the last live graph whose calls a more trusted input's edge already counts (see --provenance-preference)."}),
		flushedRows: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "flushed_rows_total", Help: "Rows written to edges_10s."}),
		flushFailures: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "flush_failures_total", Help: "Failed attempts to write a batch to edges_10s."}),
		flushDropped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "flush_dropped_rows_total", Help: "Rows never written to edges_10s: queue_full or write_failed."}, []string{"reason"}),
		subscriberDrop: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "subscriber_dropped_ticks_total", Help: "Ticks not delivered to a slow subscriber."}, []string{"granularity"}),
		snapshots: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "snapshots_total", Help: "Snapshots of the open buckets written for a restart after a crash, by result: written, failed."}, []string{"result"}),
		snapshotTaken: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "snapshot_taken_timestamp_seconds", Help: "When the last snapshot written was taken: a crash loses the calls observed after it."}),
		tickSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "tick_duration_seconds", Help: "Time to slide the window, build and publish the graphs of one tick.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 12)}),
	}
	defer m.resolve()
	if reg == nil {
		return m
	}
	register := func(c prometheus.Collector) prometheus.Collector {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return are.ExistingCollector
			}
			panic(err)
		}
		return c
	}
	m.observations = register(m.observations).(prometheus.Counter)
	m.dropped = register(m.dropped).(*prometheus.CounterVec)
	m.spans = register(m.spans).(prometheus.Counter)
	m.spanCalls = register(m.spanCalls).(*prometheus.CounterVec)
	m.spanDropped = register(m.spanDropped).(*prometheus.CounterVec)
	m.spanExpired = register(m.spanExpired).(*prometheus.CounterVec)
	m.spanPending = register(m.spanPending).(prometheus.Gauge)
	m.liveEdges = register(m.liveEdges).(prometheus.Gauge)
	m.keysLeftOut = register(m.keysLeftOut).(prometheus.Gauge)
	m.flushedRows = register(m.flushedRows).(prometheus.Counter)
	m.flushFailures = register(m.flushFailures).(prometheus.Counter)
	m.flushDropped = register(m.flushDropped).(*prometheus.CounterVec)
	m.subscriberDrop = register(m.subscriberDrop).(*prometheus.CounterVec)
	m.tickSeconds = register(m.tickSeconds).(prometheus.Histogram)
	m.snapshots = register(m.snapshots).(*prometheus.CounterVec)
	m.snapshotTaken = register(m.snapshotTaken).(prometheus.Gauge)
	return m
}

func (m *builderMetrics) resolve() {
	m.droppedLate = m.dropped.WithLabelValues("late")
	m.droppedInvalid = m.dropped.WithLabelValues("invalid")
	m.droppedEdgeLimit = m.dropped.WithLabelValues("edge_limit")
	m.callsPaired = m.spanCalls.WithLabelValues("paired")
	m.callsUnpairedClient = m.spanCalls.WithLabelValues("unpaired_client")
	m.callsRootServer = m.spanCalls.WithLabelValues("root_server")
	m.callsUnpairedConsumer = m.spanCalls.WithLabelValues("unpaired_consumer")
	m.spanStoreFull = m.spanDropped.WithLabelValues("store_full")
	m.expiredClient = m.spanExpired.WithLabelValues("client")
	m.expiredServer = m.spanExpired.WithLabelValues("server")
	m.flushDroppedQueue = m.flushDropped.WithLabelValues("queue_full")
	m.flushDroppedWrite = m.flushDropped.WithLabelValues("write_failed")
	// Both results exist from the start, so that increase() sees the first
	// failure.
	m.snapshots.WithLabelValues("written")
	m.snapshots.WithLabelValues("failed")
}
