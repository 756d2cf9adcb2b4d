package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/ingest/demo"
)

// serve --instance-alerts against the demo's bad-pod scenario: the pod
// that fails is alerted on to a webhook, by its name from its sidecar's
// ALS node, and listed by /api/v1/alerts and among its service's
// instances.
func TestInstanceOutlierAlertThroughServe(t *testing.T) {
	const services, seed = 30, 7
	hook, received := webhookRecorder(t)
	srv := startServer(t, t.TempDir(), true, "--instance-alerts", "--instance-alert-checks", "2", "--instance-alert-window", "1m",
		"--slo-interval", "1s", "--slo-webhook-url", hook)
	topo, err := demo.NewTopology(services, seed, demo.ScenarioBadPod)
	require.NoError(t, err)
	bad := topo.Scenario.Pod
	require.NotNil(t, bad)

	done := make(chan error, 1)
	go func() {
		_, stderr, err := meshscope(t, "demo", "--server-http", "http://"+srv.httpAddr, "--server-grpc", srv.grpcAddr,
			"--services", fmt.Sprint(services), "--seed", fmt.Sprint(seed), "--rate", "600", "--duration", "20s",
			"--scenario", demo.ScenarioBadPod, "--scenario-period", "2s", "--trace-sample", "0.1", "--progress-interval", "10s")
		if err != nil {
			err = fmt.Errorf("%w: %s", err, stderr)
		}
		done <- err
	}()
	var body string
	eventually(t, "an instance outlier alert at the webhook", 60*time.Second, func() (bool, string) {
		bodies := received()
		for _, b := range bodies {
			if strings.Contains(b, `"alertname":"MeshscopeInstanceOutlier"`) && strings.Contains(b, `"outlier":"errors"`) {
				body = b
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d webhook calls", len(bodies))
	})
	require.Contains(t, body, `"instance":"`+bad.Name+`"`)
	require.Contains(t, body, `"service":"`+topo.Scenario.Target.Name+`"`)
	var alerts struct {
		InstanceAlerts []struct{ Service, Instance, Outlier string } `json:"instance_alerts"`
	}
	getJSON(t, "http://"+srv.httpAddr+"/api/v1/alerts", &alerts)
	require.True(t, slices.ContainsFunc(alerts.InstanceAlerts, func(a struct{ Service, Instance, Outlier string }) bool {
		return a.Instance == bad.Name && a.Outlier == "errors"
	}), "%+v", alerts.InstanceAlerts)
	require.Positive(t, srv.metric(`meshscope_instance_outliers_total{outlier="errors"}`))
	require.NoError(t, <-done)
}
