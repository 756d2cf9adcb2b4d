package slo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/meshscope/meshscope/slo/alert"
	"github.com/meshscope/meshscope/slo/sli"
	"github.com/meshscope/meshscope/slo/spec"
)

// alertState is an alert with what the engine knows about its delivery.
type alertState struct {
	alert.Alert
	labels      map[string]string
	annotations map[string]string
	// sentAM and sentAMState: the last delivery to Alertmanager.
	sentAM      time.Time
	sentAMState alert.State
	// hooks: the last delivery to each webhook, by index.
	hooks []delivery
	// orphan is set once the SLO is gone: the alert is resolved, delivered
	// and then dropped.
	orphan bool
}

type delivery struct {
	at    time.Time
	state alert.State
}

func (a *alertState) view() AlertView {
	return AlertView{Alert: a.Alert, Labels: maps.Clone(a.labels), Annotations: maps.Clone(a.annotations)}
}

// result is one SLO's evaluation, computed without the engine's lock.
type result struct {
	sample   *alert.Sample
	verdicts []alert.Verdict
	noData   bool
	enrich   *enrichment
	err      error
}

// EvaluateAt evaluates every loaded SLO with windows ending at at
// (truncated to the second): it queries ClickHouse, advances the alerts,
// records state changes in slo_alerts and delivers notifications.
// Evaluations are serialised. Tests call it with chosen instants.
func (e *Engine) EvaluateAt(ctx context.Context, at time.Time) error {
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	at = at.Truncate(time.Second)
	st := e.deps.Store()
	if st == nil {
		return ErrNoStore
	}
	start := time.Now()
	if !e.restored {
		if err := e.restore(ctx, st); err != nil {
			e.log.Warn("slo: could not restore alert states from slo_alerts", "err", err)
		}
		e.restored = true
	}
	ents := e.snapshot()
	results := make([]result, len(ents))
	sem := make(chan struct{}, e.cfg.Concurrency)
	var wg sync.WaitGroup
	for i, en := range ents {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = e.evaluateOne(ctx, st, en, at)
		})
	}
	wg.Wait()

	var rows []historyRow
	var errs []error
	e.mu.Lock()
	for i, en := range ents {
		if _, still := e.slos[en.written.Name]; !still {
			continue // removed while evaluating
		}
		if results[i].err != nil {
			errs = append(errs, results[i].err)
		}
		rows = append(rows, e.applyLocked(en, &results[i], at)...)
	}
	e.expireOrphansLocked(at)
	rows = append(rows, e.pendingRows...)
	e.pendingRows = nil
	e.mu.Unlock()

	e.metrics.evaluations.Add(float64(len(ents)))
	if len(rows) > 0 {
		if err := e.writeHistory(ctx, st, rows); err != nil {
			errs = append(errs, err)
		}
	}
	e.deliver(ctx, at)
	e.metrics.duration.Observe(time.Since(start).Seconds())
	return errors.Join(errs...)
}

// evaluateOne queries an SLO's windows, judges them and, when an alert is
// or may become active, refreshes the failing edges and example traces.
func (e *Engine) evaluateOne(ctx context.Context, st Store, en *entry, at time.Time) result {
	s := &en.resolved
	ctx, cancel := context.WithTimeout(ctx, e.cfg.QueryTimeout)
	defer cancel()
	q, err := e.budgetHours(ctx, st, s, at)
	if err != nil {
		return result{err: err}
	}
	q.SLO, q.At, q.Windows, q.BudgetStart = s, at, s.Windows(), s.Window.Start(at)
	smp, err := sli.Windows(ctx, st.Conn(), q)
	if err != nil {
		return result{err: err}
	}
	verdicts, noData := alert.Judge(s, smp)
	r := result{sample: smp, verdicts: verdicts, noData: noData}

	active := false
	for _, v := range verdicts {
		active = active || v.Met
	}
	e.mu.Lock()
	for _, sev := range spec.Severities {
		if a, ok := e.alerts[alertKey{s.Name, sev}]; ok && (a.State == alert.Pending || a.State == alert.Firing) {
			active = true
		}
	}
	prev := e.enrichments[s.Name]
	e.mu.Unlock()
	if !active || e.cfg.Examples == 0 || noData {
		return r
	}
	if prev != nil && at.Sub(prev.at) < e.cfg.ResendInterval && !at.Before(prev.at) {
		r.enrich = prev
		return r
	}
	r.enrich = e.enrich(ctx, st, s, smp, verdicts, at)
	return r
}

// enrich finds the failing edges and example traces over the long window
// of the strongest met condition (else the shortest long window).
func (e *Engine) enrich(ctx context.Context, st Store, s *spec.SLO, smp *alert.Sample, verdicts []alert.Verdict, at time.Time) *enrichment {
	window, best := s.Alerting.ShortestLong(), -1.0
	for _, v := range verdicts {
		for _, c := range v.Conditions {
			if c.Met && c.LongBurn > best {
				window, best = c.Window.Long.D(), c.LongBurn
			}
		}
	}
	en := &enrichment{at: at, window: window}
	from := at.Add(-window)
	culprits, err := sli.TopCulprits(ctx, st.Conn(), s, smp.Source, from, at, e.cfg.Examples)
	if err != nil {
		en.err = err.Error()
		e.log.Warn("slo: failing edges", "slo", s.Name, "err", err)
	}
	traces, err := sli.ExampleTraces(ctx, st.Conn(), s, from, at, e.cfg.Examples)
	if err != nil {
		en.err = err.Error()
		e.log.Warn("slo: example traces", "slo", s.Name, "err", err)
	}
	en.culprits, en.traces = culprits, traces
	return en
}

// applyLocked records an SLO's result: status, metrics, alert states. It
// returns the history rows of the alerts that changed state.
func (e *Engine) applyLocked(en *entry, r *result, at time.Time) []historyRow {
	s := &en.resolved
	if r.err != nil {
		e.metrics.failures.Inc()
		st := e.status[s.Name]
		if st == nil {
			st = &Status{SLO: s.Name, Objective: s.Objective, Window: s.Window.String(), ErrorBudgetRemaining: 1}
			e.status[s.Name] = st
		}
		st.State, st.Error = StateError, r.err.Error()
		return nil
	}
	if r.enrich != nil {
		e.enrichments[s.Name] = r.enrich
	}
	st := newStatus(s, r.sample, r.verdicts, r.noData)
	e.status[s.Name] = st
	e.metrics.sli.WithLabelValues(s.Name).Set(r.sample.Budget.SLI())
	e.metrics.budget.WithLabelValues(s.Name).Set(st.ErrorBudgetRemaining)
	e.metrics.objective.WithLabelValues(s.Name).Set(s.Objective / 100)
	for _, w := range st.Windows {
		e.metrics.burn.WithLabelValues(s.Name, w.Window).Set(w.BurnRate)
	}

	var rows []historyRow
	for i := range r.verdicts {
		v := &r.verdicts[i]
		key := alertKey{s.Name, v.Severity}
		a := e.alerts[key]
		if a == nil {
			a = &alertState{Alert: alert.Alert{SLO: s.Name, Severity: v.Severity, State: alert.Inactive}}
			e.alerts[key] = a
		}
		a.orphan = false
		in := alert.InputFor(s, v, r.noData)
		tr, changed := a.Step(at, in, forDuration(s), e.cfg.ResolvedRetention)
		if a.State != alert.Inactive {
			a.labels = alertLabels(s, v.Severity)
			a.annotations = alertAnnotations(s, st, v, &a.Alert, e.enrichments[s.Name])
		}
		e.metrics.alertState.WithLabelValues(s.Name, v.Severity).Set(a.State.Value())
		if changed && !(tr.From == alert.Resolved && tr.To == alert.Inactive) {
			rows = append(rows, newHistoryRow(s, st, v, a, tr, at))
			e.log.Info("slo alert", "slo", s.Name, "severity", v.Severity, "from", tr.From, "to", tr.To)
		}
		st.Alerts = append(st.Alerts, a.view())
	}
	for _, sev := range spec.Severities {
		if len(s.Alerting.Windows(sev)) == 0 {
			if a, ok := e.alerts[alertKey{s.Name, sev}]; ok && a.State != alert.Firing && a.State != alert.Resolved {
				delete(e.alerts, alertKey{s.Name, sev})
			}
		}
	}
	st.settleState()
	return rows
}

// forgetLocked drops the state of SLOs that are no longer loaded: their
// firing alerts resolve (and are delivered as such), the rest disappear.
func (e *Engine) forgetLocked(removed map[string]*entry) {
	now := e.deps.Now().Truncate(time.Second)
	for name := range removed {
		delete(e.status, name)
		delete(e.enrichments, name)
		delete(e.budgets, name)
		e.metrics.forget(name)
		for _, sev := range spec.Severities {
			key := alertKey{name, sev}
			a, ok := e.alerts[key]
			if !ok {
				continue
			}
			if a.State == alert.Firing {
				a.State, a.ResolvedAt, a.Since = alert.Resolved, now, now
				e.pendingRows = append(e.pendingRows, orphanHistoryRow(a, now))
			}
			if a.State == alert.Resolved {
				a.orphan = true
				if a.annotations != nil {
					a.annotations["summary"] = fmt.Sprintf("SLO %s was removed", name)
				}
				continue
			}
			delete(e.alerts, key)
		}
	}
}

// expireOrphansLocked drops the alerts of removed SLOs once their
// resolution has been kept long enough.
func (e *Engine) expireOrphansLocked(at time.Time) {
	for key, a := range e.alerts {
		if a.orphan && at.Sub(a.ResolvedAt) >= e.cfg.ResolvedRetention {
			delete(e.alerts, key)
		}
	}
}
