package ingest

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the ingest counters every receiver reports into, exposed on
// /metrics. Label values are fixed small sets, never user input.
type Metrics struct {
	// Accepted counts items taken in: labels receiver (otlp_grpc, otlp_http,
	// als, accesslog_http, remote_write, scrape) and signal (spans, logs,
	// metric_points, requests, samples).
	Accepted *prometheus.CounterVec
	// Rejected counts items or requests refused: labels receiver and reason.
	Rejected *prometheus.CounterVec
}

// NewMetrics creates the counters and registers them with reg (nil: none).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "meshscope", Subsystem: "ingest", Name: "accepted_total",
			Help: "Items accepted by receivers, by receiver and signal.",
		}, []string{"receiver", "signal"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "meshscope", Subsystem: "ingest", Name: "rejected_total",
			Help: "Items or requests rejected by receivers, by receiver and reason.",
		}, []string{"receiver", "reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.Accepted, m.Rejected)
	}
	return m
}
