package slo

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/graph/edgestore"
	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chtest"
	"github.com/meshscope/meshscope/slo/notify"
)

// A version deployed into a running service that fails more and is slower
// than the service's other version fires two alerts at a real
// Alertmanager; once its calls read like the other version's, both are
// resolved.
func TestDeploymentRegressionAlerts(t *testing.T) {
	amHook, ourHook := newRecorder(t), newRecorder(t)
	base := startAlertmanager(t, amHook.srv.URL)
	st, _ := chtest.Store(t, "meshscope")
	es := edgestore.New(st, edgestore.Config{})
	ctx := context.Background()
	// Real time: Alertmanager judges endsAt by its own clock.
	now := time.Now().UTC()
	web := graph.Party{Kind: graph.KindService, Namespace: "shop", Name: "web", Workload: "web", Version: "v1"}
	cart := func(v string) graph.Party {
		return graph.Party{Kind: graph.KindService, Namespace: "shop", Name: "cart", Workload: "cart-" + v, Version: v}
	}
	row := func(at time.Time, v string, n, errs uint64, bucket int) graph.EdgeRow {
		lat := make([]uint64, bucket+1)
		lat[bucket] = n
		return graph.EdgeRow{BucketUnix: at.Unix() / 10 * 10, Key: graph.EdgeKey{Source: web, Destination: cart(v), Protocol: graph.ProtocolHTTP},
			Requests: n, Errors: errs, Latency: lat, Provenance: graph.FromSpan, Reporters: graph.ReporterSet(0).With(graph.ReporterDestination)}
	}
	require.NoError(t, es.WriteEdges(ctx, []graph.EdgeRow{
		row(now.Add(-3*time.Hour), "v1", 500, 5, 50),
		row(now.Add(-10*time.Minute), "v1", 1000, 10, 50),
		row(now.Add(-10*time.Minute), "v2", 100, 30, 70), // v2's first calls
	}))

	// cart's exception types: Timeout known for hours, KeyError new since v2.
	exception := func(at time.Time, typ string) schema.SpanRow { return chtest.ExceptionSpan(at, "shop", "cart", typ) }
	require.NoError(t, st.Write(ctx, &schema.Batch{Spans: []schema.SpanRow{exception(now.Add(-3*time.Hour), "Timeout"),
		exception(now.Add(-5*time.Minute), "Timeout"), exception(now.Add(-5*time.Minute), "KeyError")}}))

	e, err := New(Config{
		Alertmanagers:    []notify.AlertmanagerConfig{{URL: base}},
		Webhooks:         []notify.WebhookConfig{{Name: "ops", URL: ourHook.srv.URL}},
		DeploymentAlerts: true,
		ExternalURL:      "https://meshscope.example",
	}, Deps{Store: func() Store { return st }, Deployments: es, History: es})
	require.NoError(t, err)
	// The regressions must read so at three evaluations in a row
	// (deployment_checks): nothing is sent at the first two.
	for range 2 {
		require.NoError(t, e.checkDeployments(ctx))
		require.Zero(t, testutil.ToFloat64(e.metrics.deploymentRegressions.WithLabelValues("errors")))
		require.Empty(t, e.DeploymentAlerts())
	}
	require.NoError(t, e.checkDeployments(ctx))

	got := amAlerts(t, base, `alertname="`+DeploymentAlertName+`"`)
	require.Len(t, got, 2)
	byRegression := map[string]amAlert{}
	for _, a := range got {
		byRegression[a.Labels["regression"]] = a
	}
	a := byRegression["errors"]
	require.Equal(t, map[string]string{"alertname": DeploymentAlertName, "severity": "warning", "service": "cart", "namespace": "shop",
		"version": "v2", "regression": "errors"}, a.Labels)
	require.Equal(t, "cart v2 fails more often than its other versions", a.Annotations["summary"])
	require.Contains(t, a.Annotations["description"], "error rate 30.00% against 1.00% for v1")
	require.True(t, strings.HasSuffix(a.Annotations["description"], " New exception types since: KeyError."), a.Annotations["description"])
	require.True(t, strings.HasPrefix(a.GeneratorURL, "https://meshscope.example/#/deployments?"), a.GeneratorURL)
	require.Equal(t, "cart v2 is slower than its other versions", byRegression["latency"].Annotations["summary"])
	require.Equal(t, 1.0, testutil.ToFloat64(e.metrics.deploymentRegressions.WithLabelValues("errors")))
	firing := waitFor(t, amHook, "firing")
	require.Equal(t, DeploymentAlertName, firing.CommonLabels["alertname"])

	// Listed by GET /api/v1/alerts.
	var listed alertsResponse
	require.Equal(t, http.StatusOK, call(t, e.Handler(), "GET", "/api/v1/alerts", "", &listed))
	require.Len(t, listed.DeploymentAlerts, 2)
	require.Equal(t, "errors", listed.DeploymentAlerts[0].Regression)
	require.Equal(t, "v2", listed.DeploymentAlerts[0].Version)
	require.Equal(t, now.Add(-10*time.Minute).Unix()/10*10, listed.DeploymentAlerts[0].Deployed.Unix())

	// Checked again: the same alerts, sent again, not counted again; the
	// webhook had them once.
	require.NoError(t, e.checkDeployments(ctx))
	require.Len(t, amAlerts(t, base, `alertname="`+DeploymentAlertName+`"`), 2)
	require.Equal(t, 1.0, testutil.ToFloat64(e.metrics.deploymentRegressions.WithLabelValues("errors")))
	require.Len(t, ourHook.take(), 1)

	// Many good calls of v2 later: no worse than v1, both resolved.
	require.NoError(t, es.WriteEdges(ctx, []graph.EdgeRow{row(now.Add(-5*time.Minute), "v2", 20000, 0, 50)}))
	require.NoError(t, e.checkDeployments(ctx))
	require.Eventually(t, func() bool {
		got, err := getAMAlerts(base, `alertname="`+DeploymentAlertName+`"`)
		return err == nil && len(got) == 0
	}, 30*time.Second, 100*time.Millisecond, "the resolved alerts leave Alertmanager's active alerts")
	ours := ourHook.take()
	require.Len(t, ours, 1)
	require.Contains(t, string(ours[0]), `"status":"resolved"`)
	require.Equal(t, http.StatusOK, call(t, e.Handler(), "GET", "/api/v1/alerts", "", &listed))
	require.Empty(t, listed.DeploymentAlerts)
}

// The description says whose calls it counts: those taken, or those made
// by a version that took none.
func TestRegressionText(t *testing.T) {
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	c := graph.VersionComparison{Own: graph.VersionCalls{Requests: 50, Errors: 20, P99Ms: 70},
		Baseline: graph.VersionCalls{Requests: 200, Errors: 2, P99Ms: 20}, Others: []string{"v1", "v3"}}
	require.Equal(t, "error rate 40.00% against 1.00% for v1, v3 since its first calls at 2026-11-29T10:00:00Z (20 of 50 calls failed, 2 of 200).",
		regressionText("errors", c, at))
	c.Outbound = true
	require.Equal(t, "error rate 40.00% against 1.00% for v1, v3 since its first calls at 2026-11-29T10:00:00Z (20 of 50 calls made failed, 2 of 200).",
		regressionText("errors", c, at))
	require.Equal(t, "p99 70.0 ms against 20.0 ms for v1, v3 since its first calls at 2026-11-29T10:00:00Z (50 calls made against 200).",
		regressionText("latency", c, at))
}

// A regression fires once it held at deployment_checks evaluations in a
// row; one that stops holding in between starts again from none.
func TestDeploymentChecksInARow(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	es := edgestore.New(st, edgestore.Config{})
	ctx := context.Background()
	now := time.Now().UTC()
	web := graph.Party{Kind: graph.KindService, Namespace: "shop", Name: "web", Workload: "web", Version: "v1"}
	row := func(at time.Time, v string, n, errs uint64) graph.EdgeRow {
		return graph.EdgeRow{BucketUnix: at.Unix() / 10 * 10, Provenance: graph.FromSpan, Reporters: graph.ReporterSet(0).With(graph.ReporterDestination),
			Key:      graph.EdgeKey{Source: web, Destination: graph.Party{Kind: graph.KindService, Namespace: "shop", Name: "cart", Workload: "cart-" + v, Version: v}, Protocol: graph.ProtocolHTTP},
			Requests: n, Errors: errs, Latency: []uint64{0, n}}
	}
	require.NoError(t, es.WriteEdges(ctx, []graph.EdgeRow{
		row(now.Add(-3*time.Hour), "v1", 500, 5),
		row(now.Add(-10*time.Minute), "v1", 1000, 10),
		row(now.Add(-10*time.Minute), "v2", 100, 30),
	}))
	e, err := New(Config{DeploymentAlerts: true, DeploymentChecks: 2}, Deps{Store: func() Store { return st }, Deployments: es, History: es})
	require.NoError(t, err)
	firing := func() int {
		require.NoError(t, e.checkDeployments(ctx))
		return len(e.DeploymentAlerts())
	}
	require.Zero(t, firing(), "held once")
	// v2's calls read like v1's now: the count starts again.
	require.NoError(t, es.WriteEdges(ctx, []graph.EdgeRow{row(now.Add(-8*time.Minute), "v2", 20000, 0)}))
	require.Zero(t, firing(), "no longer holds")
	// And fail again: two evaluations in a row before it fires.
	require.NoError(t, es.WriteEdges(ctx, []graph.EdgeRow{row(now.Add(-6*time.Minute), "v2", 20000, 6000)}))
	require.Zero(t, firing(), "held once again")
	require.Equal(t, 1, firing(), "held twice in a row")

	_, err = New(Config{DeploymentChecks: -1}, Deps{})
	require.ErrorContains(t, err, "deployment_checks")
}
