package slo

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/slo/notify"
)

// New exceptions: with Config.NewExceptions, every evaluation also reads
// the exception history (exception_groups: every exception type a service
// has recorded or logged, kept past retention) and alerts on each type a
// service shows for the first time, as error trackers do. The watch learns
// the types known when it starts, so a restart alerts on none of them; a
// type first seen within one interval before the start is still new. It
// stays silent while the history is incomplete (a database upgraded to it
// and not backfilled), where a type seen before the upgrade would look new.
//
// An alert (alertname MeshscopeNewException) fires for NewExceptionHold
// and is sent to the Alertmanagers again at every evaluation until then;
// webhooks get it once.

// exceptionHistory is what a store that keeps the exception history
// answers (chstore.Store does).
type exceptionHistory interface {
	ExceptionHistoryComplete(ctx context.Context) (bool, time.Time, error)
}

// exceptionGroup is one exception type of a service from one source.
type exceptionGroup struct{ namespace, service, typ, source string }

// newExceptionWatch is what the watch remembers between evaluations.
type newExceptionWatch struct {
	started time.Time
	// known are the groups seen; nil before the first read.
	known map[exceptionGroup]bool
	// firing are the alerts of new groups until they end.
	firing map[exceptionGroup]notify.Alert
	// incomplete is whether the last check found the history incomplete
	// (logged once, when it turns so).
	incomplete bool
}

// NewExceptionAlertName is the alertname of new exception alerts.
const NewExceptionAlertName = "MeshscopeNewException"

// checkNewExceptions reads the exception history, alerts on the groups it
// has not seen, and sends the alerts still firing.
func (e *Engine) checkNewExceptions(ctx context.Context) error {
	st := e.deps.Store()
	if st == nil {
		return ErrNoStore
	}
	now := e.deps.Now()
	w := &e.newExc
	if w.started.IsZero() {
		w.started = now
	}
	if h, ok := st.(exceptionHistory); ok {
		complete, since, err := h.ExceptionHistoryComplete(ctx)
		if err != nil {
			return fmt.Errorf("new exceptions: %w", err)
		}
		if !complete {
			if !w.incomplete {
				e.log.Warn("new exceptions: not alerting while the exception history lacks what was stored before it; run meshscope backfill exception-groups",
					"history_since", since)
			}
			w.incomplete = true
			return nil
		}
		w.incomplete = false
	}
	rows, err := st.Conn().Query(ctx, `SELECT service_namespace, service_name, type, source, minMerge(first_seen)
FROM `+schema.ExceptionGroupsTable.Name+`
GROUP BY service_namespace, service_name, type, source`)
	if err != nil {
		return fmt.Errorf("new exceptions: %w", err)
	}
	var fresh []notify.Alert
	first := w.known == nil
	if first {
		w.known, w.firing = map[exceptionGroup]bool{}, map[exceptionGroup]notify.Alert{}
	}
	for rows.Next() {
		var g exceptionGroup
		var firstNs uint64
		if err := rows.Scan(&g.namespace, &g.service, &g.typ, &g.source, &firstNs); err != nil {
			rows.Close()
			return fmt.Errorf("new exceptions: %w", err)
		}
		if w.known[g] {
			continue
		}
		w.known[g] = true
		seen := time.Unix(0, int64(firstNs)).UTC()
		if first && seen.Before(w.started.Add(-e.cfg.Interval)) {
			continue // known before the watch started
		}
		a := e.newExceptionAlert(g, seen, now)
		w.firing[g] = a
		fresh = append(fresh, a)
		e.metrics.newExceptions.WithLabelValues(g.source).Inc()
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("new exceptions: %w", err)
	}
	for g, a := range w.firing {
		if !a.EndsAt.After(now) {
			delete(w.firing, g)
		}
	}
	e.publishExceptionAlerts()
	e.sendNewExceptions(ctx, fresh, now)
	return nil
}

// ExceptionAlertView is a firing new exception alert as GET /api/v1/alerts
// lists it.
type ExceptionAlertView struct {
	Service       string    `json:"service"`
	Namespace     string    `json:"namespace"`
	ExceptionType string    `json:"exception_type"`
	Source        string    `json:"source"`
	FirstSeen     time.Time `json:"first_seen"`
	EndsAt        time.Time `json:"ends_at"`
	Summary       string    `json:"summary"`
	URL           string    `json:"url,omitempty"`
}

// publishExceptionAlerts copies the firing alerts for ExceptionAlerts,
// newest first.
func (e *Engine) publishExceptionAlerts() {
	out := make([]ExceptionAlertView, 0, len(e.newExc.firing))
	for g, a := range e.newExc.firing {
		out = append(out, ExceptionAlertView{Service: g.service, Namespace: g.namespace, ExceptionType: g.typ, Source: g.source,
			FirstSeen: a.StartsAt, EndsAt: a.EndsAt, Summary: a.Annotations["summary"], URL: a.GeneratorURL})
	}
	slices.SortFunc(out, func(a, b ExceptionAlertView) int {
		return cmp.Or(b.FirstSeen.Compare(a.FirstSeen), cmp.Compare(a.Service, b.Service), cmp.Compare(a.ExceptionType, b.ExceptionType), cmp.Compare(a.Source, b.Source))
	})
	e.excAlerts.set(out)
}

// ExceptionAlerts are the new exception alerts firing at the last check
// (none without Config.NewExceptions).
func (e *Engine) ExceptionAlerts() []ExceptionAlertView { return e.excAlerts.get() }

// published is a list that Run's loop sets and the API reads.
type published[T any] struct {
	mu   sync.Mutex
	list []T
}

func (p *published[T]) set(list []T) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = list
}

// get returns a copy, never nil.
func (p *published[T]) get() []T {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]T{}, p.list...)
}

// newExceptionAlert is the alert for a group first seen at seen.
func (e *Engine) newExceptionAlert(g exceptionGroup, seen, now time.Time) notify.Alert {
	typ := g.typ
	if typ == "" {
		typ = "(no type)"
	}
	how := "recorded by its spans"
	if g.source == "log" {
		how = "logged"
	}
	a := notify.Alert{
		Labels: map[string]string{
			"alertname": NewExceptionAlertName, "severity": "info",
			"service": g.service, "namespace": g.namespace, "exception_type": g.typ, "source": g.source,
		},
		Annotations: map[string]string{
			"summary":     fmt.Sprintf("New exception %s in %s", typ, g.service),
			"description": fmt.Sprintf("%s %s an exception of type %s for the first time at %s.", g.service, how, typ, seen.Format(time.RFC3339)),
		},
		StartsAt: seen,
		EndsAt:   now.Add(e.cfg.NewExceptionHold),
	}
	if e.cfg.ExternalURL != "" {
		q := url.Values{"service": {g.service}, "type": {g.typ}, "source": {g.source}, "from": {seen.Add(-time.Minute).Format(time.RFC3339)}}
		a.GeneratorURL = e.cfg.ExternalURL + "/#/exceptions?" + q.Encode()
	}
	return a
}

// sendNewExceptions sends every firing new exception alert to the
// Alertmanagers (again, so that one restarted meanwhile has them) and the
// fresh ones to the webhooks.
func (e *Engine) sendNewExceptions(ctx context.Context, fresh []notify.Alert, now time.Time) {
	e.sendWatched(ctx, NewExceptionAlertName, slices.Collect(maps.Values(e.newExc.firing)), fresh, now)
}

// sendWatched sends the alerts of a watch: all of them (firing, and
// resolved ones in their last send) to the Alertmanagers, every check, so
// that one restarted meanwhile has them; changed (fresh or just resolved)
// to the webhooks, once.
func (e *Engine) sendWatched(ctx context.Context, alertname string, all, changed []notify.Alert, now time.Time) {
	if len(all) > 0 {
		copies := make([]notify.Alert, 0, len(all))
		for _, a := range all {
			copies = append(copies, notify.Alert{Labels: maps.Clone(a.Labels), Annotations: maps.Clone(a.Annotations),
				StartsAt: a.StartsAt, EndsAt: a.EndsAt, GeneratorURL: a.GeneratorURL})
		}
		for _, am := range e.ams {
			if err := am.Send(ctx, copies); err != nil {
				e.log.Warn("alerts: alertmanager", "alertname", alertname, "alertmanager", am.Name(), "err", err)
				e.metrics.notified.WithLabelValues(am.Name(), "error").Inc()
				continue
			}
			e.metrics.notified.WithLabelValues(am.Name(), "ok").Inc()
		}
	}
	if len(changed) == 0 {
		return
	}
	for _, h := range e.hooks {
		m := h.Message(map[string]string{"alertname": alertname}, changed, e.cfg.ExternalURL, now)
		if err := h.Send(ctx, m); err != nil {
			e.log.Warn("alerts: webhook", "alertname", alertname, "webhook", h.Name(), "err", err)
			e.metrics.notified.WithLabelValues(h.Name(), "error").Inc()
			continue
		}
		e.metrics.notified.WithLabelValues(h.Name(), "ok").Inc()
	}
}
