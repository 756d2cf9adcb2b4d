package slo

import (
	"context"
	"maps"
	"net/url"
	"sort"
	"time"

	"github.com/meshscope/meshscope/slo/alert"
	"github.com/meshscope/meshscope/slo/notify"
)

// Delivery rules. Alertmanager receives every firing alert, and every
// resolved one within the resolved retention, at each change and then
// every resend interval; a firing alert's endsAt lies four intervals
// ahead, so that Alertmanager resolves it by itself if meshscope stops. A
// webhook receives a payload per SLO when its alerts start firing or
// resolve, and again every repeat interval while they fire. Pending alerts
// are not delivered. A failed delivery is retried at the next evaluation.

// pendingDelivery is an alert to deliver, copied out of the lock.
type pendingDelivery struct {
	key   alertKey
	state alert.State
	alert notify.Alert
}

// deliver sends what is due at evaluation instant at.
func (e *Engine) deliver(ctx context.Context, at time.Time) {
	if len(e.ams) == 0 && len(e.hooks) == 0 {
		return
	}
	now := e.deps.Now()
	validFor := 4 * max(e.cfg.Interval, e.cfg.ResendInterval)

	var toAM []pendingDelivery
	toHook := make([][]pendingDelivery, len(e.hooks))
	e.mu.Lock()
	keys := make([]alertKey, 0, len(e.alerts))
	for k := range e.alerts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].slo != keys[j].slo {
			return keys[i].slo < keys[j].slo
		}
		return keys[i].severity < keys[j].severity
	})
	for _, k := range keys {
		a := e.alerts[k]
		if a.State != alert.Firing && a.State != alert.Resolved {
			continue
		}
		if len(a.hooks) < len(e.hooks) {
			a.hooks = append(a.hooks, make([]delivery, len(e.hooks)-len(a.hooks))...)
		}
		na := notify.Alert{
			Labels:       maps.Clone(a.labels),
			Annotations:  maps.Clone(a.annotations),
			StartsAt:     a.FiredAt,
			GeneratorURL: e.generatorURL(a.SLO),
		}
		if a.State == alert.Firing {
			na.EndsAt = now.Add(validFor)
		} else {
			na.EndsAt = a.ResolvedAt
		}
		pd := pendingDelivery{key: k, state: a.State, alert: na}
		if len(e.ams) > 0 && (a.sentAMState != a.State || at.Sub(a.sentAM) >= e.cfg.ResendInterval) {
			toAM = append(toAM, pd)
		}
		for i, h := range e.hooks {
			d := a.hooks[i]
			due := false
			switch {
			case a.State == alert.Firing && d.state != alert.Firing:
				due = true
			case a.State == alert.Resolved && d.state == alert.Firing:
				due = true
			case a.State == alert.Firing && h.RepeatInterval() > 0 && at.Sub(d.at) >= h.RepeatInterval():
				due = true
			}
			if due {
				toHook[i] = append(toHook[i], pd)
			}
		}
	}
	e.mu.Unlock()

	if len(toAM) > 0 {
		batch := make([]notify.Alert, len(toAM))
		for i, pd := range toAM {
			batch[i] = pd.alert
		}
		ok := true
		for _, am := range e.ams {
			if err := am.Send(ctx, batch); err != nil {
				ok = false
				e.metrics.notified.WithLabelValues(am.Name(), "error").Inc()
				e.log.Warn("slo: notify alertmanager", "alertmanager", am.Name(), "alerts", len(batch), "err", err)
				continue
			}
			e.metrics.notified.WithLabelValues(am.Name(), "ok").Inc()
		}
		if ok {
			e.markSent(toAM, func(a *alertState, pd pendingDelivery) { a.sentAM, a.sentAMState = at, pd.state })
		}
	}
	for i, h := range e.hooks {
		// One payload per SLO: its alerts share alertname and slo.
		groups := map[string][]pendingDelivery{}
		var order []string
		for _, pd := range toHook[i] {
			if _, ok := groups[pd.key.slo]; !ok {
				order = append(order, pd.key.slo)
			}
			groups[pd.key.slo] = append(groups[pd.key.slo], pd)
		}
		for _, slo := range order {
			g := groups[slo]
			alerts := make([]notify.Alert, len(g))
			for j, pd := range g {
				alerts[j] = pd.alert
			}
			msg := h.Message(map[string]string{"alertname": AlertName, "slo": slo}, alerts, e.cfg.ExternalURL, now)
			if err := h.Send(ctx, msg); err != nil {
				e.metrics.notified.WithLabelValues(h.Name(), "error").Inc()
				e.log.Warn("slo: notify webhook", "webhook", h.Name(), "slo", slo, "err", err)
				continue
			}
			e.metrics.notified.WithLabelValues(h.Name(), "ok").Inc()
			e.markSent(g, func(a *alertState, pd pendingDelivery) {
				if i < len(a.hooks) {
					a.hooks[i] = delivery{at: at, state: pd.state}
				}
			})
		}
	}
}

func (e *Engine) markSent(pds []pendingDelivery, mark func(*alertState, pendingDelivery)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, pd := range pds {
		if a, ok := e.alerts[pd.key]; ok {
			mark(a, pd)
		}
	}
}

func (e *Engine) generatorURL(slo string) string {
	if e.cfg.ExternalURL == "" {
		return ""
	}
	u, err := url.JoinPath(e.cfg.ExternalURL, "api/v1/slos", slo, "status")
	if err != nil {
		return ""
	}
	return u
}
