package slo

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/schema/chstore"
	"github.com/meshscope/meshscope/slo/notify"
)

// Instance outliers: with Config.InstanceAlerts, every evaluation also
// reads the calls each service took over the last InstanceWindow by the
// instance (pod) that served them, from its own sidecars' access log
// entries (chstore.InstanceCalls) and, for a service without sidecars,
// from its OpenTelemetry SDKs' server duration histograms
// (chstore.InstanceCallsFromMetrics), and marks the instances that fail
// more often or answer slower than their siblings (graph.MarkOutliers). An
// outlier that reads so at InstanceChecks evaluations in a row fires
// MeshscopeInstanceOutlier until it no longer does; then it is sent
// resolved. Services seen by spans only (no sidecar, no SDK metrics) are
// not watched: reading every span's resource each evaluation would cost
// more than the evaluation.

// InstanceAlertName is the alertname of instance outlier alerts.
const InstanceAlertName = "MeshscopeInstanceOutlier"

// instanceKey is one way one instance of a service stands out.
type instanceKey struct{ namespace, service, instance, outlier string }

// InstanceAlertView is a firing instance outlier alert as GET
// /api/v1/alerts lists it.
type InstanceAlertView struct {
	Service   string    `json:"service"`
	Namespace string    `json:"namespace"`
	Instance  string    `json:"instance"`
	Outlier   string    `json:"outlier"`
	StartsAt  time.Time `json:"starts_at"`
	Summary   string    `json:"summary"`
	URL       string    `json:"url,omitempty"`
}

// instanceStore is what a store that reads instances answers
// (chstore.Store does).
type instanceStore interface {
	InstanceCalls(ctx context.Context, q chstore.InstancesQuery) ([]chstore.DestinationInstance, error)
	InstanceCallsFromMetrics(ctx context.Context, q chstore.InstancesQuery) ([]chstore.DestinationInstance, error)
}

// checkInstances marks the outlier instances of the last InstanceWindow
// and sends the alerts that fire or end.
func (e *Engine) checkInstances(ctx context.Context) error {
	if e.deps.Store == nil || e.deps.Store() == nil {
		return ErrNoStore
	}
	st, ok := e.deps.Store().(instanceStore)
	if !ok {
		return ErrNoStore
	}
	now := e.deps.Now()
	q := chstore.InstancesQuery{From: now.Add(-e.cfg.InstanceWindow), To: now, Failed: chstore.RequestFailed}
	found, err := st.InstanceCalls(ctx, q)
	if err != nil {
		return fmt.Errorf("instances: %w", err)
	}
	fromMetrics, err := st.InstanceCallsFromMetrics(ctx, q)
	if err != nil {
		return fmt.Errorf("instances from metrics: %w", err)
	}
	// A service's sidecars' entries are preferred to its SDKs' metrics;
	// both lists are by destination.
	seen := map[string]bool{}
	for _, f := range found {
		seen[f.Destination] = true
	}
	for _, f := range fromMetrics {
		if !seen[f.Destination] {
			found = append(found, f)
		}
	}
	holds := map[instanceKey]string{}
	for i := 0; i < len(found); {
		j := i
		for j < len(found) && found[j].Destination == found[i].Destination {
			j++
		}
		ns, svc, isService := strings.Cut(strings.TrimPrefix(found[i].Destination, "service:"), "/")
		if isService && strings.HasPrefix(found[i].Destination, "service:") && j-i >= 2 {
			list := make([]graph.Instance, 0, j-i)
			for _, f := range found[i:j] {
				list = append(list, f.Instance)
			}
			graph.FinishInstances(list, e.cfg.InstanceWindow)
			for _, in := range list {
				for n, o := range in.Outlier {
					holds[instanceKey{ns, svc, in.Instance, o}] = fmt.Sprintf("%s over the last %s (%d requests, %.0f%% of the service's).",
						in.Why[n], e.cfg.InstanceWindow, in.Requests, 100*in.Share)
				}
			}
		}
		i = j
	}
	all, changed, fired := e.instanceWatch.update(holds, e.cfg.InstanceChecks, now, now.Add(3*e.cfg.Interval), func(k instanceKey, desc string) notify.Alert {
		return e.instanceAlert(k, desc, now)
	}, instanceDescription)
	for _, k := range fired {
		e.metrics.instanceOutliers.WithLabelValues(k.outlier).Inc()
	}
	e.publishInstanceAlerts()
	e.sendWatched(ctx, InstanceAlertName, all, changed, now)
	return nil
}

func instanceDescription(k instanceKey, why string) string {
	return fmt.Sprintf("%s %s: %s", k.service, k.instance, why)
}

// instanceAlert is the alert of one way one instance stands out.
func (e *Engine) instanceAlert(k instanceKey, desc string, now time.Time) notify.Alert {
	what := map[string]string{"errors": "fails more often", "latency": "is slower"}[k.outlier]
	a := notify.Alert{
		Labels: map[string]string{
			"alertname": InstanceAlertName, "severity": "warning",
			"service": k.service, "namespace": k.namespace, "instance": k.instance, "outlier": k.outlier,
		},
		Annotations: map[string]string{
			"summary":     fmt.Sprintf("%s instance %s %s than its other instances", k.service, k.instance, what),
			"description": instanceDescription(k, desc),
		},
		StartsAt: now,
		EndsAt:   now.Add(3 * e.cfg.Interval),
	}
	if e.cfg.ExternalURL != "" {
		a.GeneratorURL = e.cfg.ExternalURL + "/#/graph?" + url.Values{"sel": {"service:" + k.namespace + "/" + k.service}}.Encode()
	}
	return a
}

// publishInstanceAlerts copies the firing alerts for InstanceAlerts.
func (e *Engine) publishInstanceAlerts() {
	out := make([]InstanceAlertView, 0, len(e.instanceWatch.firing))
	for k, a := range e.instanceWatch.firing {
		out = append(out, InstanceAlertView{Service: k.service, Namespace: k.namespace, Instance: k.instance, Outlier: k.outlier,
			StartsAt: a.StartsAt, Summary: a.Annotations["summary"], URL: a.GeneratorURL})
	}
	slices.SortFunc(out, func(a, b InstanceAlertView) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Service, b.Service), cmp.Compare(a.Instance, b.Instance), cmp.Compare(a.Outlier, b.Outlier))
	})
	e.instanceAlerts.set(out)
}

// InstanceAlerts are the instance outlier alerts firing at the last check
// (none without Config.InstanceAlerts).
func (e *Engine) InstanceAlerts() []InstanceAlertView { return e.instanceAlerts.get() }
