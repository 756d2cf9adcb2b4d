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

// Deployment regressions: with Config.DeploymentAlerts, every evaluation
// also lists the versions deployed within the DeploymentWatch before now
// (their first calls, none in the day before: graph.NewVersion) and
// compares each, over the time since its first calls, with its service's
// other versions over the same time (graph.Regressions, on the graph by
// version), as canary analysis does. Each regression that holds ("errors",
// "latency") fires MeshscopeDeploymentRegression until it no longer holds
// or the version has been watched for DeploymentWatch; then it is sent
// resolved. Alertmanagers get the firing alerts at every evaluation,
// webhooks each change once.

// DeploymentAlertName is the alertname of deployment regression alerts.
const DeploymentAlertName = "MeshscopeDeploymentRegression"

// deploymentKey is one regression of one deployed version.
type deploymentKey struct{ namespace, service, version, regression string }

// DeploymentAlertView is a firing deployment regression alert as GET
// /api/v1/alerts lists it.
type DeploymentAlertView struct {
	Service    string `json:"service"`
	Namespace  string `json:"namespace"`
	Version    string `json:"version"`
	Regression string `json:"regression"`
	// Deployed is when the version's first calls were.
	Deployed time.Time `json:"deployed"`
	StartsAt time.Time `json:"starts_at"`
	Summary  string    `json:"summary"`
	URL      string    `json:"url,omitempty"`
}

// deploymentWatch is what the watch remembers between evaluations: the
// regressions held and firing, and when each version was deployed.
type deploymentWatch struct {
	heldAlerts[deploymentKey]
	deployed map[deploymentKey]time.Time
}

// checkDeployments compares the versions deployed within the watch with
// their services' other versions and sends the alerts that fire or end.
func (e *Engine) checkDeployments(ctx context.Context) error {
	if e.deps.Deployments == nil || e.deps.History == nil || e.deps.Store == nil || e.deps.Store() == nil {
		return ErrNoStore
	}
	now := e.deps.Now()
	w := &e.deploys
	if w.deployed == nil {
		w.deployed = map[deploymentKey]time.Time{}
	}
	found, err := e.deps.Deployments.Deployments(ctx, graph.DeploymentsQuery{From: now.Add(-e.cfg.DeploymentWatch), To: now})
	if err != nil {
		return fmt.Errorf("deployments: %w", err)
	}
	holds := map[deploymentKey]string{} // the regressions that hold, with their description
	// One graph by version per namespace and deploy time.
	type window struct {
		namespace string
		from      int64
	}
	graphs := map[window]*graph.Graph{}
	for _, d := range found {
		deployed := time.Unix(d.FirstSeen, 0).UTC()
		g := graphs[window{d.Namespace, d.FirstSeen}]
		if g == nil {
			if g, err = e.deps.History.Range(ctx, graph.RangeQuery{From: deployed, To: now, Granularity: graph.GranularityVersion, Namespaces: []string{d.Namespace}}); err != nil {
				return fmt.Errorf("deployments: %s/%s %s: %w", d.Namespace, d.Service, d.Version, err)
			}
			graphs[window{d.Namespace, d.FirstSeen}] = g
		}
		c := graph.VersionsCalls(g, d.Namespace, d.Service, d.Version)
		for _, r := range graph.Regressions(c.Own, c.Baseline) {
			k := deploymentKey{d.Namespace, d.Service, d.Version, r}
			w.deployed[k] = deployed
			holds[k] = regressionText(r, c, deployed)
		}
	}
	// The exception types new since each deploy, said in the description
	// (read only when a regression holds).
	if len(holds) > 0 {
		fresh := e.newExceptionsSince(ctx, now)
		for k, desc := range holds {
			holds[k] = desc + fresh.since(k.namespace, k.service, w.deployed[k])
		}
	}
	// A regression fires once it held at DeploymentChecks evaluations in
	// a row; one that stops holding starts again from none.
	all, changed, fired := w.update(holds, e.cfg.DeploymentChecks, now, now.Add(3*e.cfg.Interval), func(k deploymentKey, desc string) notify.Alert {
		return e.deploymentAlert(k, w.deployed[k], desc, now)
	}, deploymentDescription)
	for _, k := range fired {
		e.metrics.deploymentRegressions.WithLabelValues(k.regression).Inc()
	}
	e.publishDeploymentAlerts()
	for k := range w.deployed {
		if _, ok := w.firing[k]; !ok {
			if _, ok := holds[k]; !ok {
				delete(w.deployed, k)
			}
		}
	}
	e.sendWatched(ctx, DeploymentAlertName, all, changed, now)
	return nil
}

// regressionText describes a regression with its numbers.
func regressionText(r string, c graph.VersionComparison, deployed time.Time) string {
	vs := strings.Join(c.Others, ", ")
	own, base := c.Own, c.Baseline
	calls := "calls"
	if c.Outbound {
		calls = "calls made"
	}
	if r == "latency" {
		return fmt.Sprintf("p99 %.1f ms against %.1f ms for %s since its first calls at %s (%d %s against %d).",
			own.P99Ms, base.P99Ms, vs, deployed.Format(time.RFC3339), own.Requests, calls, base.Requests)
	}
	return fmt.Sprintf("error rate %.2f%% against %.2f%% for %s since its first calls at %s (%d of %d %s failed, %d of %d).",
		100*own.ErrorRate(), 100*base.ErrorRate(), vs, deployed.Format(time.RFC3339), own.Errors, own.Requests, calls, base.Errors, base.Requests)
}

func deploymentDescription(k deploymentKey, numbers string) string {
	return fmt.Sprintf("%s %s: %s", k.service, k.version, numbers)
}

// deploymentAlert is the alert of one regression of a deployed version.
func (e *Engine) deploymentAlert(k deploymentKey, deployed time.Time, desc string, now time.Time) notify.Alert {
	what := map[string]string{"errors": "fails more often", "latency": "is slower"}[k.regression]
	a := notify.Alert{
		Labels: map[string]string{
			"alertname": DeploymentAlertName, "severity": "warning",
			"service": k.service, "namespace": k.namespace, "version": k.version, "regression": k.regression,
		},
		Annotations: map[string]string{
			"summary":     fmt.Sprintf("%s %s %s than its other versions", k.service, k.version, what),
			"description": deploymentDescription(k, desc),
		},
		StartsAt: now,
		EndsAt:   now.Add(3 * e.cfg.Interval),
	}
	if e.cfg.ExternalURL != "" {
		q := url.Values{"namespace": {k.namespace}, "from": {deployed.Add(-time.Hour).Format(time.RFC3339)}}
		a.GeneratorURL = e.cfg.ExternalURL + "/#/deployments?" + q.Encode()
	}
	return a
}

// publishDeploymentAlerts copies the firing alerts for DeploymentAlerts,
// newest deployment first.
func (e *Engine) publishDeploymentAlerts() {
	out := make([]DeploymentAlertView, 0, len(e.deploys.firing))
	for k, a := range e.deploys.firing {
		out = append(out, DeploymentAlertView{Service: k.service, Namespace: k.namespace, Version: k.version, Regression: k.regression,
			Deployed: e.deploys.deployed[k], StartsAt: a.StartsAt, Summary: a.Annotations["summary"], URL: a.GeneratorURL})
	}
	slices.SortFunc(out, func(a, b DeploymentAlertView) int {
		return cmp.Or(b.Deployed.Compare(a.Deployed), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Service, b.Service),
			cmp.Compare(a.Version, b.Version), cmp.Compare(a.Regression, b.Regression))
	})
	e.deployAlerts.set(out)
}

// DeploymentAlerts are the deployment regression alerts firing at the last
// check (none without Config.DeploymentAlerts).
func (e *Engine) DeploymentAlerts() []DeploymentAlertView { return e.deployAlerts.get() }

// exceptionTypes is what a store that keeps the exception history answers
// about the types first seen in a range (chstore.Store does).
type exceptionTypes interface {
	exceptionHistory
	NewExceptionTypes(ctx context.Context, q chstore.NewExceptionsQuery) ([]chstore.NewExceptionType, error)
}

// freshExceptions are exception types first seen within the watch.
type freshExceptions []chstore.NewExceptionType

// newExceptionsSince reads the exception types first seen within the
// watch, none when the store keeps no complete exception history (a
// deployment alert then says nothing of them).
func (e *Engine) newExceptionsSince(ctx context.Context, now time.Time) freshExceptions {
	h, ok := e.deps.Store().(exceptionTypes)
	if !ok {
		return nil
	}
	if complete, _, err := h.ExceptionHistoryComplete(ctx); err != nil || !complete {
		return nil
	}
	types, err := h.NewExceptionTypes(ctx, chstore.NewExceptionsQuery{From: now.Add(-e.cfg.DeploymentWatch), To: now, Limit: 10_000})
	if err != nil {
		e.log.Warn("deployment regressions: new exception types", "err", err)
		return nil
	}
	return types
}

// since names the types a service showed for the first time since a
// deploy, as a sentence to add to its alert's description ("" for none).
func (f freshExceptions) since(namespace, service string, deployed time.Time) string {
	var names []string
	for _, t := range f {
		if name := cmp.Or(t.Type, "(no type)"); t.Namespace == namespace && t.Service == service && !t.FirstSeen.Before(deployed) && !slices.Contains(names, name) {
			names = append(names, name) // once, recorded or logged
		}
	}
	if len(names) == 0 {
		return ""
	}
	return " New exception types since: " + strings.Join(names, ", ") + "."
}
