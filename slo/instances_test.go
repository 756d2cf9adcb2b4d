package slo

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chtest"
	"github.com/meshscope/meshscope/slo/notify"
)

// inboundEntries are n entries cart's sidecar on pod wrote of the calls it
// served over the last minutes, failed of them 503s.
func inboundEntries(now time.Time, pod string, n, failed int, d time.Duration) []schema.RequestRow {
	out := make([]schema.RequestRow, n)
	for i := range out {
		code := uint16(200)
		if i < failed {
			code = 503
		}
		out[i] = schema.RequestRow{StartUnixNano: uint64(now.Add(-5*time.Minute + time.Duration(i)*time.Millisecond).UnixNano()), DurationNanos: uint64(d),
			UpstreamServiceTimeNanos: -1, Reporter: "destination", Source: "service:shop/web", Destination: "service:shop/cart",
			DestinationVersion: "v1", DestinationWorkload: "cart-v1", Protocol: "HTTP/1.1", Method: "GET", Path: "/cart",
			ResponseCode: code, GRPCStatus: -1, RequestID: fmt.Sprint(pod, i),
			AttrKeys: []string{schema.RequestPodAttr}, AttrValues: []string{pod}}
	}
	return out
}

// A pod that fails far more often than its siblings fires an alert at a
// real Alertmanager once it did so at instance_checks evaluations in a
// row; once it no longer stands out, the alert is resolved.
func TestInstanceOutlierAlerts(t *testing.T) {
	amHook, ourHook := newRecorder(t), newRecorder(t)
	base := startAlertmanager(t, amHook.srv.URL)
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	now := time.Now().UTC() // Alertmanager judges endsAt by its own clock
	var rows []schema.RequestRow
	rows = append(rows, inboundEntries(now, "cart-7d9f-a", 400, 2, 5*time.Millisecond)...)
	rows = append(rows, inboundEntries(now, "cart-7d9f-b", 400, 1, 5*time.Millisecond)...)
	rows = append(rows, inboundEntries(now, "cart-7d9f-c", 400, 120, 5*time.Millisecond)...)
	// A service of one instance is compared with nothing.
	for _, r := range inboundEntries(now, "pay-0", 100, 90, time.Millisecond) {
		r.Destination = "service:shop/pay"
		rows = append(rows, r)
	}
	require.NoError(t, st.Write(ctx, &schema.Batch{Requests: rows}))

	e, err := New(Config{
		Alertmanagers:  []notify.AlertmanagerConfig{{URL: base}},
		Webhooks:       []notify.WebhookConfig{{Name: "ops", URL: ourHook.srv.URL}},
		InstanceAlerts: true,
		InstanceChecks: 2,
		ExternalURL:    "https://meshscope.example",
	}, Deps{Store: func() Store { return st }})
	require.NoError(t, err)
	require.NoError(t, e.checkInstances(ctx))
	require.Empty(t, e.InstanceAlerts(), "held once")
	require.Zero(t, testutil.ToFloat64(e.metrics.instanceOutliers.WithLabelValues("errors")))
	require.NoError(t, e.checkInstances(ctx))

	got := amAlerts(t, base, `alertname="`+InstanceAlertName+`"`)
	require.Len(t, got, 1)
	a := got[0]
	require.Equal(t, map[string]string{"alertname": InstanceAlertName, "severity": "warning", "service": "cart", "namespace": "shop",
		"instance": "cart-7d9f-c", "outlier": "errors"}, a.Labels)
	require.Equal(t, "cart instance cart-7d9f-c fails more often than its other instances", a.Annotations["summary"])
	require.Equal(t, "cart cart-7d9f-c: fails 30.0% of its requests against 0.4% for the other 2 instances of v1 over the last 10m0s (400 requests, 33% of the service's).",
		a.Annotations["description"])
	require.Equal(t, "https://meshscope.example/#/graph?sel=service%3Ashop%2Fcart", a.GeneratorURL)
	require.Equal(t, 1.0, testutil.ToFloat64(e.metrics.instanceOutliers.WithLabelValues("errors")))
	firing := waitFor(t, amHook, "firing")
	require.Equal(t, InstanceAlertName, firing.CommonLabels["alertname"])

	var listed alertsResponse
	require.Equal(t, http.StatusOK, call(t, e.Handler(), "GET", "/api/v1/alerts", "", &listed))
	require.Len(t, listed.InstanceAlerts, 1)
	require.Equal(t, "cart-7d9f-c", listed.InstanceAlerts[0].Instance)
	require.Equal(t, "errors", listed.InstanceAlerts[0].Outlier)
	require.True(t, strings.HasPrefix(listed.InstanceAlerts[0].URL, "https://meshscope.example/#/graph?"))

	// Checked again: sent again, not counted again; the webhook had it once.
	require.NoError(t, e.checkInstances(ctx))
	require.Len(t, amAlerts(t, base, `alertname="`+InstanceAlertName+`"`), 1)
	require.Equal(t, 1.0, testutil.ToFloat64(e.metrics.instanceOutliers.WithLabelValues("errors")))
	require.Len(t, ourHook.take(), 1)

	// Many good calls of the pod later: it no longer stands out, resolved.
	require.NoError(t, st.Write(ctx, &schema.Batch{Requests: inboundEntries(now.Add(time.Minute), "cart-7d9f-c", 30000, 0, 5*time.Millisecond)}))
	require.NoError(t, e.checkInstances(ctx))
	require.Eventually(t, func() bool {
		got, err := getAMAlerts(base, `alertname="`+InstanceAlertName+`"`)
		return err == nil && len(got) == 0
	}, 30*time.Second, 100*time.Millisecond, "the resolved alert leaves Alertmanager's active alerts")
	ours := ourHook.take()
	require.Len(t, ours, 1)
	require.Contains(t, string(ours[0]), `"status":"resolved"`)
	require.Empty(t, e.InstanceAlerts())

	_, err = New(Config{InstanceChecks: -1}, Deps{})
	require.ErrorContains(t, err, "instance_checks")
}

// sdkHistograms are the cumulative server duration histograms the SDKs
// of service's pods exported 5 and 1 minutes ago: ok and failed calls
// between them per pod.
func sdkHistograms(now time.Time, service string, calls map[string][2]uint64) schema.Batch {
	var b schema.Batch
	id := uint64(len(service)) << 32
	for pod, c := range calls {
		for failed, code := range []string{"200", "503"} {
			id++
			b.MetricSeries = append(b.MetricSeries, schema.MetricSeriesRow{SeriesID: id, MetricName: "http.server.request.duration", Type: 3, Unit: "s",
				Temporality: 2, ServiceName: service, Source: "otlp",
				ResourceKeys: []string{"service.name", "k8s.namespace.name", "k8s.pod.name", "service.version"}, ResourceValues: []string{service, "shop", pod, "v1"},
				LabelKeys: []string{"http.response.status_code"}, LabelValues: []string{code}})
			for k, total := range []uint64{500, 500 + c[failed]} {
				b.MetricSamples = append(b.MetricSamples, schema.MetricSampleRow{SeriesID: id, MetricName: "http.server.request.duration",
					TimeUnixNano: uint64(now.Add(-5*time.Minute + time.Duration(k)*4*time.Minute).UnixNano()), Count: total,
					BucketBounds: []float64{0.01, 0.1}, BucketCounts: []uint64{total, 0, 0}})
			}
		}
	}
	return b
}

// A service without sidecars is watched from its SDKs' server histograms;
// one with sidecars from their entries only, whatever its metrics say.
func TestInstanceOutlierAlertsFromMetrics(t *testing.T) {
	hook := newRecorder(t)
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	now := time.Now().UTC()
	ledger := sdkHistograms(now, "ledger", map[string][2]uint64{"ledger-0": {400, 1}, "ledger-1": {280, 120}, "ledger-2": {399, 2}})
	// cart's metrics say cart-7d9f-a fails; its sidecars' entries, which
	// count, say it does not.
	cart := sdkHistograms(now, "cart", map[string][2]uint64{"cart-7d9f-a": {200, 200}, "cart-7d9f-b": {400, 0}, "cart-7d9f-c": {400, 0}})
	b := schema.Batch{Requests: append(inboundEntries(now, "cart-7d9f-a", 400, 1, 5*time.Millisecond), inboundEntries(now, "cart-7d9f-b", 400, 1, 5*time.Millisecond)...)}
	b.Append(&ledger)
	b.Append(&cart)
	require.NoError(t, st.Write(ctx, &b))

	e, err := New(Config{Webhooks: []notify.WebhookConfig{{Name: "ops", URL: hook.srv.URL}}, InstanceAlerts: true, InstanceChecks: 2},
		Deps{Store: func() Store { return st }})
	require.NoError(t, err)
	require.NoError(t, e.checkInstances(ctx))
	require.NoError(t, e.checkInstances(ctx))
	alerts := e.InstanceAlerts()
	require.Len(t, alerts, 1, "%+v", alerts)
	require.Equal(t, [4]string{"shop", "ledger", "ledger-1", "errors"}, [4]string{alerts[0].Namespace, alerts[0].Service, alerts[0].Instance, alerts[0].Outlier})
	require.Contains(t, alerts[0].Summary, "ledger instance ledger-1 fails more often")
	sent := hook.take()
	require.Len(t, sent, 1)
	require.Contains(t, string(sent[0]), "fails 30.0% of its requests")
}

// heldAlerts fires a condition once it held at checks evaluations in a
// row; one that stops in between starts again from none.
func TestHeldAlerts(t *testing.T) {
	var w heldAlerts[string]
	now := time.Now()
	build := func(k, desc string) notify.Alert {
		return notify.Alert{Labels: map[string]string{"k": k}, Annotations: map[string]string{"description": desc}, StartsAt: now}
	}
	describe := func(k, desc string) string { return desc }
	step := func(holds map[string]string) (int, int, []string) {
		all, changed, fired := w.update(holds, 2, now, now.Add(time.Minute), build, describe)
		return len(all), len(changed), fired
	}
	all, changed, fired := step(map[string]string{"a": "x"})
	require.Equal(t, [3]any{0, 0, []string(nil)}, [3]any{all, changed, fired}, "held once")
	all, changed, fired = step(map[string]string{"b": "y"})
	require.Equal(t, [3]any{0, 0, []string(nil)}, [3]any{all, changed, fired}, "a stopped, b held once")
	all, changed, fired = step(map[string]string{"a": "x", "b": "y2"})
	require.Equal(t, [3]any{1, 1, []string{"b"}}, [3]any{all, changed, fired}, "b held twice in a row: fires")
	require.Equal(t, "y2", w.firing["b"].Annotations["description"])
	all, changed, fired = step(map[string]string{"a": "x", "b": "y3"})
	require.Equal(t, 2, all)
	require.Equal(t, 1, changed, "a fires")
	require.Equal(t, []string{"a"}, fired)
	require.Equal(t, "y3", w.firing["b"].Annotations["description"], "a firing alert's description follows")
	all, changed, _ = step(map[string]string{"a": "x"})
	require.Equal(t, [2]int{2, 1}, [2]int{all, changed}, "b resolved, sent once more")
	require.NotContains(t, w.firing, "b")
}
