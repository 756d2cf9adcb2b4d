package slo

import (
	"net/http"
	"strconv"
	"time"

	"github.com/meshscope/meshscope/slo/spec"
)

type alertsResponse struct {
	// Alerts are the current alerts: pending, firing, and resolved within
	// the resolved retention.
	Alerts []AlertView `json:"alerts"`
	// History are recent state changes from slo_alerts, newest first.
	History []HistoryEvent `json:"history"`
	// HistoryError says why History is empty when it could not be read.
	HistoryError string `json:"history_error,omitempty"`
	// ExceptionAlerts are the new exception alerts firing
	// (serve --new-exception-alerts), newest first.
	ExceptionAlerts []ExceptionAlertView `json:"exception_alerts"`
	// DeploymentAlerts are the deployment regression alerts firing
	// (serve --deployment-alerts), newest deployment first.
	DeploymentAlerts []DeploymentAlertView `json:"deployment_alerts"`
	// InstanceAlerts are the instance outlier alerts firing
	// (serve --instance-alerts), by service.
	InstanceAlerts []InstanceAlertView `json:"instance_alerts"`
	// RuleAlerts are the alerts of Prometheus alerting rules pending or
	// firing (rule_files), by rule.
	RuleAlerts []RuleAlertView `json:"rule_alerts"`
}

func (e *Engine) handleAlerts(w http.ResponseWriter, r *http.Request) {
	q := HistoryQuery{SLO: r.URL.Query().Get("slo"), Limit: 100}
	since := 24 * time.Hour
	if s := r.URL.Query().Get("since"); s != "" {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			q.Since = t
		} else if d, err := spec.ParseDuration(s); err == nil && d > 0 {
			since = d.D()
		} else {
			writeError(w, http.StatusBadRequest, "since", "want a duration such as 24h or an RFC 3339 time")
			return
		}
	}
	if q.Since.IsZero() {
		q.Since = e.deps.Now().Add(-since)
	}
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, http.StatusBadRequest, "limit", "want 1-10000")
			return
		}
		q.Limit = n
	}
	resp := alertsResponse{Alerts: e.Alerts(), History: []HistoryEvent{}, ExceptionAlerts: e.ExceptionAlerts(), DeploymentAlerts: e.DeploymentAlerts(), InstanceAlerts: e.InstanceAlerts(),
		RuleAlerts: e.RuleAlerts()}
	if q.SLO != "" {
		kept := resp.Alerts[:0]
		for _, a := range resp.Alerts {
			if a.SLO == q.SLO {
				kept = append(kept, a)
			}
		}
		resp.Alerts = kept
		resp.ExceptionAlerts = []ExceptionAlertView{} // of no SLO
		resp.DeploymentAlerts = []DeploymentAlertView{}
		resp.InstanceAlerts = []InstanceAlertView{}
		resp.RuleAlerts = []RuleAlertView{}
	}
	hist, err := e.History(r.Context(), q)
	if err != nil {
		resp.HistoryError = err.Error()
	} else if hist != nil {
		resp.History = hist
	}
	writeJSON(w, http.StatusOK, resp)
}
