package uitest

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/meshscope/meshscope/slo"
	"github.com/meshscope/meshscope/slo/alert"
	"github.com/meshscope/meshscope/slo/spec"
)

// fakeSLOSpecs are the SLOs the fake server serves, in meshscope's short form.
var fakeSLOSpecs = []string{
	`{"name": "checkout-availability", "description": "Checkout answers.", "target": {"service": "shop/checkout"}, "sli": "availability", "objective": 99.9, "window": "28d", "labels": {"team": "payments"}}`,
	`{"name": "web-to-checkout", "target": {"edge": {"source": "service:shop/web", "destination": "service:shop/checkout"}}, "sli": "availability", "objective": 99.5, "window": {"calendar": "week"}}`,
	`{"name": "checkout-api-latency", "target": {"filter": {"destination": "shop/checkout", "path_prefix": "/api", "method": "POST"}}, "sli": {"latency": {"threshold": "300ms"}}, "objective": 99, "window": "7d", "alerting": {"page": [{"long": "1h", "short": "5m", "burn": 10}], "ticket": [{"long": "1d", "short": "2h", "burn": 2}], "min_requests": 50, "for": "2m"}}`,
}

// fakeSLOState is the canned evaluation of one fake SLO.
type fakeSLOState struct {
	state  string
	sli    float64
	budget float64
	total  uint64
	// burns are the burn rates per alerting window.
	burns map[string]float64
}

var fakeSLOStates = map[string]fakeSLOState{
	"checkout-availability": {state: "firing", sli: 0.99942, budget: 0.42, total: 24_500_000,
		burns: map[string]float64{"5m": 18.2, "30m": 9.1, "1h": 15.3, "6h": 4.2, "3d": 1.3}},
	"web-to-checkout": {state: "ok", sli: 0.99954, budget: 0.908, total: 6_100_000,
		burns: map[string]float64{"5m": 0.4, "30m": 0.6, "1h": 0.5, "6h": 0.7, "3d": 0.9}},
	"checkout-api-latency": {state: "pending", sli: 0.98876, budget: -0.124, total: 1_200_000,
		burns: map[string]float64{"5m": 11.5, "1h": 10.8, "2h": 3.1, "1d": 2.4}},
}

// fakeSLOTime is the time of the fake SLO evaluations.
var fakeSLOTime = time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)

// FakeSLOs returns the SLO views the fake server lists.
func FakeSLOs() []slo.SLOView {
	var out []slo.SLOView
	for _, s := range fakeSLOSpecs {
		p, err := spec.ParseOne([]byte(s), spec.DefaultAlerting())
		if err != nil {
			panic(err)
		}
		out = append(out, slo.SLOView{
			Spec: p.Spec, Effective: p.Resolved, Source: "/etc/meshscope/slos/shop.yaml",
			LoadedAt: fakeSLOTime.Add(-2 * time.Hour), State: fakeSLOStates[p.Spec.Name].state,
		})
	}
	return out
}

// FakeSLOStatus returns the status the fake server answers for an SLO.
func FakeSLOStatus(v slo.SLOView) slo.Status {
	st, canned := fakeSLOStates[v.Spec.Name]
	eff := v.Effective
	if !canned {
		// An SLO created in a test: not evaluated yet.
		return slo.Status{SLO: eff.Name, State: slo.StateUnknown, Objective: eff.Objective, Window: eff.Window.String(), ErrorBudgetRemaining: 1, MinRequests: *eff.Alerting.MinRequests}
	}
	objective := eff.Objective / 100
	sli := st.sli
	status := slo.Status{
		SLO: eff.Name, EvaluatedAt: fakeSLOTime, State: st.state, Source: "requests",
		Objective: eff.Objective, Window: eff.Window.String(), SLI: &sli,
		ErrorBudgetRemaining: st.budget,
		Budget:               alert.Counts{Total: st.total, Bad: uint64(float64(st.total) * (1 - sli))},
		MinRequests:          *eff.Alerting.MinRequests,
	}
	windows := eff.Windows()
	slices.Sort(windows)
	for _, d := range windows {
		name := spec.Duration(d).String()
		burn := st.burns[name]
		total := uint64(float64(st.total) * d.Hours() / eff.Window.MaxLength().Hours())
		bad := uint64(burn * (1 - objective) * float64(total))
		wsli := 1.0
		if total > 0 {
			wsli = 1 - float64(bad)/float64(total)
		}
		status.Windows = append(status.Windows, slo.WindowStatus{Window: name, Requests: total, Bad: bad, SLI: &wsli, BurnRate: burn})
	}
	for _, sev := range spec.Severities {
		verdict := alert.Verdict{Severity: sev}
		peak := 0.0
		for _, bw := range eff.Alerting.Windows(sev) {
			c := alert.Condition{Window: bw, LongBurn: st.burns[bw.Long.String()], ShortBurn: st.burns[bw.Short.String()], LongTotal: 1000, ShortTotal: 100}
			c.Met = c.LongBurn > bw.Burn && c.ShortBurn > bw.Burn
			verdict.Met = verdict.Met || c.Met
			peak = max(peak, c.LongBurn)
			verdict.Conditions = append(verdict.Conditions, c)
		}
		status.Conditions = append(status.Conditions, verdict)
		a := alert.Alert{SLO: eff.Name, Severity: sev, State: alert.Inactive}
		if verdict.Met {
			a.State, a.ActiveAt, a.Since, a.PeakBurn = "pending", fakeSLOTime.Add(-time.Minute), fakeSLOTime.Add(-time.Minute), peak
			if st.state == "firing" {
				a.State, a.FiredAt, a.Since = "firing", fakeSLOTime.Add(-40*time.Minute), fakeSLOTime.Add(-40*time.Minute)
				a.ActiveAt = a.FiredAt
			}
		}
		status.Alerts = append(status.Alerts, slo.AlertView{Alert: a,
			Labels:      map[string]string{"alertname": "SLOErrorBudgetBurn", "slo": eff.Name, "severity": sev},
			Annotations: map[string]string{"summary": eff.Name + " burns its error budget"}})
	}
	return status
}

// FakeSLOHistory returns the alert state changes the fake server answers for an SLO, newest first.
func FakeSLOHistory(v slo.SLOView) []slo.HistoryEvent {
	st, canned := fakeSLOStates[v.Spec.Name]
	if !canned {
		return nil
	}
	eff := v.Effective
	var out []slo.HistoryEvent
	steps := []struct {
		ago       time.Duration
		sev, from string
		to        string
		scale     float64
	}{
		{40 * time.Minute, "page", "pending", "firing", 1},
		{42 * time.Minute, "page", "inactive", "pending", 0.9},
		{5 * time.Hour, "ticket", "firing", "resolved", 0.3},
		{9 * time.Hour, "ticket", "pending", "firing", 1.4},
		{9*time.Hour + 5*time.Minute, "ticket", "inactive", "pending", 1.2},
	}
	if st.state == "ok" {
		steps = steps[2:]
	}
	for _, s := range steps {
		sli := st.sli
		budget := st.budget + 0.01*s.ago.Hours()
		burns := map[string]float64{}
		reqs := map[string]uint64{}
		for _, bw := range eff.Alerting.Windows(s.sev) {
			for _, d := range []spec.Duration{bw.Long, bw.Short} {
				burns[d.String()] = math.Round(st.burns[d.String()]*s.scale*100) / 100
				reqs[d.String()] = uint64(float64(st.total) * d.D().Hours() / eff.Window.MaxLength().Hours())
			}
		}
		out = append(out, slo.HistoryEvent{
			Time: fakeSLOTime.Add(-s.ago), SLO: eff.Name, Severity: s.sev, State: s.to, PreviousState: s.from,
			Service: "service:shop/checkout", Objective: eff.Objective, SLI: &sli, ErrorBudgetRemaining: &budget,
			BurnRates: burns, Requests: reqs,
			Labels:      map[string]string{"alertname": "SLOErrorBudgetBurn", "slo": eff.Name, "severity": s.sev},
			Annotations: map[string]string{"summary": eff.Name + " burns its error budget"},
		})
	}
	return out
}

// SetSLOState makes the fake answer state for an SLO's list entry and
// status from now on, as a new evaluation would.
func (f *FakeServer) SetSLOState(name, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sloStates == nil {
		f.sloStates = map[string]string{}
	}
	f.sloStates[name] = state
}

func (f *FakeServer) sloState(name string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sloStates[name]
	return s, ok
}

func (f *FakeServer) slos(w http.ResponseWriter, r *http.Request) {
	if f.slosDisabled(w) {
		return
	}
	views := f.allSLOs()
	for i := range views {
		if s, ok := f.sloState(views[i].Spec.Name); ok {
			views[i].State = s
		}
	}
	writeJSON(w, map[string]any{"slos": views, "errors": []any{}})
}

// allSLOs are the canned SLOs and those created through the fake's API.
func (f *FakeServer) allSLOs() []slo.SLOView {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append(FakeSLOs(), f.createdSLOs...)
}

func (f *FakeServer) fakeSLO(name string) (slo.SLOView, bool) {
	views := f.allSLOs()
	for _, v := range views {
		if v.Spec.Name == name {
			return v, true
		}
	}
	return slo.SLOView{}, false
}

// createSLO takes a spec as POST /api/v1/slos does: parsed and validated by
// the real spec package, refused with its field error, kept in memory.
func (f *FakeServer) createSLO(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error(), "")
		return
	}
	p, err := spec.ParseOne(body, spec.DefaultAlerting())
	var fe *spec.FieldError
	switch {
	case errors.As(err, &fe):
		writeErr(w, http.StatusBadRequest, fe.Reason, fe.Field)
		return
	case err != nil:
		writeErr(w, http.StatusBadRequest, err.Error(), "")
		return
	}
	if _, exists := f.fakeSLO(p.Spec.Name); exists {
		writeErr(w, http.StatusConflict, "slo already exists: "+p.Spec.Name, "name")
		return
	}
	v := slo.SLOView{Spec: p.Spec, Effective: p.Resolved, Source: "memory", Editable: true, LoadedAt: time.Now(), State: slo.StateUnknown}
	f.mu.Lock()
	f.createdSLOs = append(f.createdSLOs, v)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(v)
}

// deleteSLO deletes an SLO created through the fake's API; the canned ones
// are not editable, as those of a file holding several are not.
func (f *FakeServer) deleteSLO(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, v := range f.createdSLOs {
		if v.Spec.Name == name {
			f.createdSLOs = slices.Delete(f.createdSLOs, i, i+1)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	writeErr(w, http.StatusConflict, "SLO "+name+" is defined in a file beside other SLOs: change it there", "")
}

func (f *FakeServer) sloStatus(w http.ResponseWriter, r *http.Request) {
	if f.slosDisabled(w) {
		return
	}
	v, ok := f.fakeSLO(r.PathValue("name"))
	if !ok {
		writeErr(w, http.StatusNotFound, "no SLO named "+r.PathValue("name"), "name")
		return
	}
	st := FakeSLOStatus(v)
	if s, ok := f.sloState(v.Spec.Name); ok {
		st.State = s
	}
	writeJSON(w, st)
}

func (f *FakeServer) sloAlerts(w http.ResponseWriter, r *http.Request) {
	if f.slosDisabled(w) {
		return
	}
	alerts := []slo.AlertView{}
	history := []slo.HistoryEvent{}
	views := f.allSLOs()
	for _, v := range views {
		if name := r.URL.Query().Get("slo"); name != "" && name != v.Spec.Name {
			continue
		}
		for _, a := range FakeSLOStatus(v).Alerts {
			if a.State != alert.Inactive {
				alerts = append(alerts, a)
			}
		}
		history = append(history, FakeSLOHistory(v)...)
	}
	// payments' canary (versionGraph's) alerted on as worse, on both counts.
	deployments := []map[string]any{}
	if r.URL.Query().Get("slo") == "" {
		for _, reg := range []string{"errors", "latency"} {
			deployments = append(deployments, map[string]any{"service": "payments", "namespace": "pay", "version": "v2", "regression": reg,
				"summary": "payments v2 " + map[string]string{"errors": "fails more often", "latency": "is slower"}[reg] + " than its other versions"})
		}
	}
	// cart's pod c alerted on as an outlier.
	instances := []map[string]any{}
	if r.URL.Query().Get("slo") == "" {
		instances = append(instances, map[string]any{"service": "cart", "namespace": "shop", "instance": "cart-7d9f-c", "outlier": "errors",
			"summary": "cart instance cart-7d9f-c fails more often than its other instances"})
	}
	// QueueTooDeep's alert (GET /api/v1/rules), firing once asked to.
	rules := []map[string]any{}
	f.mu.Lock()
	firing := f.ruleFiring
	f.mu.Unlock()
	if firing && r.URL.Query().Get("slo") == "" {
		rules = append(rules, map[string]any{"name": "QueueTooDeep", "state": "firing", "labels": map[string]string{"alertname": "QueueTooDeep", "service": "cart"},
			"annotations": map[string]string{"summary": "cart queue at 120"}, "active_at": "2026-11-27T09:00:00Z", "value": 120})
	}
	writeJSON(w, map[string]any{"alerts": alerts, "history": history, "deployment_alerts": deployments, "instance_alerts": instances, "rule_alerts": rules})
}

// rules answers GET /api/v1/rules: one group of two Prometheus alerting
// rules, one firing for cart's queue, one whose expression fails.
func (f *FakeServer) rules(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{"status": "success", "data": map[string]any{"groups": []any{map[string]any{
		"name": "queues", "file": "/etc/meshscope/rules/queues.yml", "interval": 30,
		"rules": []any{
			map[string]any{"name": "QueueTooDeep", "query": "queue_depth > 100", "duration": 60, "state": "firing", "health": "ok", "type": "alerting",
				"alerts": []any{map[string]any{"labels": map[string]string{"alertname": "QueueTooDeep", "service": "cart", "severity": "page"},
					"state": "firing", "activeAt": "2026-11-27T09:00:00Z", "value": "1.2e+02"}}},
			map[string]any{"name": "Broken", "query": "queue_depth + on() group_left queue_depth", "duration": 0, "state": "inactive", "health": "err",
				"lastError": "many-to-many matching not allowed", "type": "alerting", "alerts": []any{}},
		},
	}}}})
}

// SetRuleFiring makes GET /api/v1/alerts list a Prometheus rule's alert as
// firing, or not.
func (f *FakeServer) SetRuleFiring(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ruleFiring = on
}
