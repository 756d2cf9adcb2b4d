package slo

// The APIs of the alerting rules (rules.go): their active alerts in GET
// /api/v1/alerts, and Prometheus' rules and alerts APIs.

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// RuleAlertView is an active rule alert as GET /api/v1/alerts lists it.
type RuleAlertView struct {
	Name        string            `json:"name"`
	State       string            `json:"state"` // pending or firing
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	ActiveAt    time.Time         `json:"active_at"`
	Value       float64           `json:"value"`
}

// RuleAlerts lists the rule alerts pending or firing, by rule and labels.
func (e *Engine) RuleAlerts() []RuleAlertView {
	out := []RuleAlertView{}
	if e.rules == nil {
		return out
	}
	e.rules.mu.Lock()
	defer e.rules.mu.Unlock()
	for _, g := range e.rules.groups {
		for _, r := range g.rules {
			for _, a := range r.active {
				if a.state != ruleInactive {
					out = append(out, RuleAlertView{Name: r.name, State: a.state, Labels: a.labels.Map(), Annotations: maps.Clone(a.annotations),
						ActiveAt: a.activeAt.UTC(), Value: a.value})
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return labels.FromMap(out[i].Labels).String() < labels.FromMap(out[j].Labels).String()
	})
	return out
}

// promRuleAlert is an alert in Prometheus' rules and alerts APIs.
type promRuleAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
	ActiveAt    time.Time         `json:"activeAt"`
	Value       string            `json:"value"`
}

type promRule struct {
	State          string            `json:"state"`
	Name           string            `json:"name"`
	Query          string            `json:"query"`
	Duration       float64           `json:"duration"`
	KeepFiringFor  float64           `json:"keepFiringFor"`
	Labels         map[string]string `json:"labels"`
	Annotations    map[string]string `json:"annotations"`
	Alerts         []promRuleAlert   `json:"alerts"`
	Health         string            `json:"health"`
	LastError      string            `json:"lastError,omitempty"`
	EvaluationTime float64           `json:"evaluationTime"`
	LastEvaluation time.Time         `json:"lastEvaluation"`
	Type           string            `json:"type"`
}

type promRuleGroup struct {
	Name           string     `json:"name"`
	File           string     `json:"file"`
	Rules          []promRule `json:"rules"`
	Interval       float64    `json:"interval"`
	EvaluationTime float64    `json:"evaluationTime"`
	LastEvaluation time.Time  `json:"lastEvaluation"`
}

// activeAlerts are r's alerts pending or firing, in Prometheus' shape,
// and r's state (the most severe of them). Called with e.rules.mu held.
func activeAlerts(r *alertRule) ([]promRuleAlert, string) {
	out, state := []promRuleAlert{}, ruleInactive
	for _, a := range r.sorted() {
		if a.state == ruleInactive {
			continue
		}
		if a.state == ruleFiring || state == ruleInactive {
			state = a.state
		}
		out = append(out, promRuleAlert{Labels: a.labels.Map(), Annotations: maps.Clone(a.annotations), State: a.state, ActiveAt: a.activeAt.UTC(),
			Value: fmt.Sprintf("%e", a.value)})
	}
	return out, state
}

// handleRules answers GET /api/v1/rules and /prometheus/api/v1/rules in
// Prometheus' shape: the rule groups with their alerting rules, state,
// health and active alerts. Prometheus' filters hold: type (alert or
// record; there are no recording rules), rule_name[], rule_group[],
// file[] (any of each listed) and exclude_alerts; a group left without
// rules is left out.
func (e *Engine) handleRules(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch q.Get("type") {
	case "", "alert", "record":
	default:
		writeError(w, http.StatusBadRequest, "type", `type is "alert" or "record"`)
		return
	}
	keep := func(key, v string) bool { return len(q[key]) == 0 || slices.Contains(q[key], v) }
	groups := []promRuleGroup{}
	if e.rules != nil && q.Get("type") != "record" {
		e.rules.mu.Lock()
		for _, g := range e.rules.groups {
			if !keep("rule_group[]", g.name) || !keep("file[]", g.file) {
				continue
			}
			pg := promRuleGroup{Name: g.name, File: g.file, Rules: []promRule{}, Interval: g.interval.Seconds(),
				EvaluationTime: g.evalTime.Seconds(), LastEvaluation: g.lastEval}
			for _, ar := range g.rules {
				if !keep("rule_name[]", ar.name) {
					continue
				}
				alerts, state := activeAlerts(ar)
				if q.Get("exclude_alerts") == "true" {
					alerts = []promRuleAlert{}
				}
				pg.Rules = append(pg.Rules, promRule{State: state, Name: ar.name, Query: ar.expr, Duration: ar.hold.Seconds(),
					KeepFiringFor: ar.keep.Seconds(), Labels: ar.labels, Annotations: ar.annotations, Alerts: alerts,
					Health: ar.health, LastError: ar.lastErr, EvaluationTime: ar.evalTime.Seconds(), LastEvaluation: ar.lastEval, Type: "alerting"})
			}
			if len(pg.Rules) > 0 || len(q["rule_name[]"]) == 0 {
				groups = append(groups, pg)
			}
		}
		e.rules.mu.Unlock()
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "data": map[string]any{"groups": groups}})
}

// handlePromAlerts answers GET /prometheus/api/v1/alerts: the rule alerts
// pending or firing, in Prometheus' shape.
func (e *Engine) handlePromAlerts(w http.ResponseWriter, r *http.Request) {
	alerts := []promRuleAlert{}
	if e.rules != nil {
		e.rules.mu.Lock()
		for _, g := range e.rules.groups {
			for _, ar := range g.rules {
				a, _ := activeAlerts(ar)
				alerts = append(alerts, a...)
			}
		}
		e.rules.mu.Unlock()
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "data": map[string]any{"alerts": alerts}})
}
