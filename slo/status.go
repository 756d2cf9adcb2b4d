package slo

import (
	"math"
	"sort"
	"time"

	"github.com/meshscope/meshscope/slo/alert"
	"github.com/meshscope/meshscope/slo/spec"
)

// SLO states reported by Status.
const (
	StateOK         = "ok"
	StatePending    = "pending"
	StateFiring     = "firing"
	StateNoData     = "nodata"
	StateLowTraffic = "low_traffic"
	StateUnknown    = "unknown"
	StateError      = "error"
)

// Status is the outcome of an SLO's last evaluation.
type Status struct {
	SLO string `json:"slo"`
	// EvaluatedAt is the end of the windows of the last evaluation.
	EvaluatedAt time.Time `json:"evaluated_at,omitzero"`
	// State is ok, pending, firing, nodata, low_traffic, unknown (not yet
	// evaluated) or error (the last query failed; see Error).
	State string `json:"state"`
	// Source says where the counts came from: requests or spans.
	Source    string  `json:"source,omitempty"`
	Objective float64 `json:"objective"`
	Window    string  `json:"window"`
	// SLI is the share of good requests over the SLO window, null without requests.
	SLI *float64 `json:"sli"`
	// ErrorBudgetRemaining is the share of the error budget left (1 full,
	// negative overspent).
	ErrorBudgetRemaining float64      `json:"error_budget_remaining"`
	Budget               alert.Counts `json:"budget"`
	// Windows are the alerting windows with their counts and burn rates.
	Windows []WindowStatus `json:"windows"`
	// Conditions are the severities' conditions as judged.
	Conditions []alert.Verdict `json:"conditions"`
	// MinRequests is the low-traffic guard: requests needed in each window
	// of a condition for it to count.
	MinRequests uint64 `json:"min_requests"`
	NoData      bool   `json:"no_data"`
	// Alerts are the SLO's alerts, one per severity.
	Alerts []AlertView `json:"alerts"`
	Error  string      `json:"error,omitempty"`
}

// WindowStatus is one alerting window of a Status.
type WindowStatus struct {
	Window   string   `json:"window"`
	Requests uint64   `json:"requests"`
	Bad      uint64   `json:"bad"`
	SLI      *float64 `json:"sli"`
	BurnRate float64  `json:"burn_rate"`
}

// AlertView is an alert with its labels and annotations.
type AlertView struct {
	alert.Alert
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func ptr(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

// newStatus builds the status of an evaluated SLO, without its alerts.
func newStatus(s *spec.SLO, smp *alert.Sample, verdicts []alert.Verdict, noData bool) *Status {
	st := &Status{
		SLO:                  s.Name,
		EvaluatedAt:          smp.At,
		Source:               smp.Source,
		Objective:            s.Objective,
		Window:               s.Window.String(),
		SLI:                  ptr(smp.Budget.SLI()),
		ErrorBudgetRemaining: alert.BudgetRemaining(smp.Budget, s.Objective),
		Budget:               smp.Budget,
		Conditions:           verdicts,
		NoData:               noData,
		Windows:              make([]WindowStatus, 0, len(smp.Windows)),
	}
	if st.Conditions == nil {
		st.Conditions = []alert.Verdict{}
	}
	if s.Alerting.MinRequests != nil {
		st.MinRequests = *s.Alerting.MinRequests
	}
	for i, w := range smp.Windows {
		c := smp.Counts[i]
		st.Windows = append(st.Windows, WindowStatus{
			Window: spec.Duration(w).String(), Requests: c.Total, Bad: c.Bad,
			SLI: ptr(c.SLI()), BurnRate: alert.BurnRate(c, s.Objective),
		})
	}
	return st
}

// settleState sets State from the data and the alerts.
func (st *Status) settleState() {
	lowTraffic, anyConditions := true, false
	for _, v := range st.Conditions {
		if len(v.Conditions) > 0 {
			anyConditions = true
			lowTraffic = lowTraffic && v.LowTraffic
		}
	}
	st.State = StateOK
	switch {
	case st.NoData:
		st.State = StateNoData
	case anyConditions && lowTraffic:
		st.State = StateLowTraffic
	}
	for _, a := range st.Alerts {
		switch {
		case a.State == alert.Firing:
			st.State = StateFiring
		case a.State == alert.Pending && st.State != StateFiring:
			st.State = StatePending
		}
	}
}

func sortAlerts(out []AlertView) {
	rank := func(sev string) int {
		for i, s := range spec.Severities {
			if s == sev {
				return i
			}
		}
		return len(spec.Severities)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].SLO != out[j].SLO {
			return out[i].SLO < out[j].SLO
		}
		return rank(out[i].Severity) < rank(out[j].Severity)
	})
}

// Status returns the status of an SLO; ok is false when it is not loaded.
func (e *Engine) Status(name string) (Status, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	en, ok := e.slos[name]
	if !ok {
		return Status{}, false
	}
	st, ok := e.status[name]
	if !ok {
		s := &en.resolved
		st = &Status{SLO: name, State: StateUnknown, Objective: s.Objective, Window: s.Window.String(), ErrorBudgetRemaining: 1,
			Windows: []WindowStatus{}, Conditions: []alert.Verdict{}}
	}
	out := *st
	out.Alerts = []AlertView{} // [] rather than null before any alert
	for _, sev := range spec.Severities {
		if a, ok := e.alerts[alertKey{name, sev}]; ok {
			out.Alerts = append(out.Alerts, a.view())
		}
	}
	return out, true
}
