package slo

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the engine's Prometheus metrics.
type metrics struct {
	sli         *prometheus.GaugeVec
	budget      *prometheus.GaugeVec
	burn        *prometheus.GaugeVec
	alertState  *prometheus.GaugeVec
	objective   *prometheus.GaugeVec
	evaluations prometheus.Counter
	failures    prometheus.Counter
	duration    prometheus.Histogram
	notified    *prometheus.CounterVec
	specs       prometheus.Gauge
	fileErrors  prometheus.Gauge
	// newExceptions counts the new exception types alerted on.
	newExceptions *prometheus.CounterVec
	// deploymentRegressions counts the deployment regressions alerted on.
	deploymentRegressions *prometheus.CounterVec
	// instanceOutliers counts the instance outliers alerted on.
	instanceOutliers *prometheus.CounterVec
	// ruleAlerts counts the alerts of Prometheus rules that fired.
	ruleAlerts *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sli: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meshscope_slo_sli",
			Help: "Share of good requests over the SLO window (NaN without requests).",
		}, []string{"slo"}),
		budget: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meshscope_slo_error_budget_remaining",
			Help: "Share of the error budget left over the SLO window; negative when overspent.",
		}, []string{"slo"}),
		burn: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meshscope_slo_burn_rate",
			Help: "Error budget burn rate over an alerting window (1 spends the budget exactly over the SLO window).",
		}, []string{"slo", "window"}),
		alertState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meshscope_slo_alert_state",
			Help: "State of an SLO alert: 0 inactive, 1 pending, 2 firing, 3 resolved.",
		}, []string{"slo", "severity"}),
		objective: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meshscope_slo_objective",
			Help: "Objective of the SLO as a ratio (0.999).",
		}, []string{"slo"}),
		evaluations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshscope_slo_evaluations_total",
			Help: "SLO evaluations (one per SLO and interval).",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshscope_slo_evaluation_failures_total",
			Help: "SLO evaluations whose query failed.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "meshscope_slo_evaluation_duration_seconds",
			Help:    "Time to evaluate every SLO once.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}),
		notified: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshscope_slo_notifications_total",
			Help: "Notification requests sent, by receiver and result (ok or error).",
		}, []string{"receiver", "result"}),
		specs: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meshscope_slo_specs",
			Help: "SLOs loaded.",
		}),
		fileErrors: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meshscope_slo_spec_file_errors",
			Help: "Spec files skipped by the last load because they are invalid.",
		}),
		newExceptions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshscope_new_exceptions_total",
			Help: "Exception types services showed for the first time, alerted on (new_exceptions), by source (span or log).",
		}, []string{"source"}),
		deploymentRegressions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshscope_deployment_regressions_total",
			Help: "Deployed versions found worse than their services' other versions, alerted on (deployment_alerts), by regression (errors or latency).",
		}, []string{"regression"}),
		instanceOutliers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshscope_instance_outliers_total",
			Help: "Instances found failing more often or slower than their services' other instances, alerted on (instance_alerts), by outlier (errors or latency).",
		}, []string{"outlier"}),
		ruleAlerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshscope_rule_alerts_total",
			Help: "Alerts of Prometheus alerting rules (rule_files) that started firing, by alertname.",
		}, []string{"alertname"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.sli, m.budget, m.burn, m.alertState, m.objective,
		m.evaluations, m.failures, m.duration, m.notified, m.specs, m.fileErrors, m.newExceptions, m.deploymentRegressions, m.instanceOutliers, m.ruleAlerts} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("slo metrics: %w", err)
		}
	}
	return m, nil
}

// forget drops every series of an SLO.
func (m *metrics) forget(slo string) {
	l := prometheus.Labels{"slo": slo}
	m.sli.DeletePartialMatch(l)
	m.budget.DeletePartialMatch(l)
	m.burn.DeletePartialMatch(l)
	m.alertState.DeletePartialMatch(l)
	m.objective.DeletePartialMatch(l)
}
