package slo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema/chlocal"
	"github.com/meshscope/meshscope/schema/chtest"
	"github.com/meshscope/meshscope/slo/notify"
)

// findAlertmanager looks for the alertmanager binary on PATH, in
// $MESHSCOPE_TOOLS_DIR, then in bin/tools at the repository root (where
// `make tools` builds it).
func findAlertmanager(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("alertmanager"); err == nil {
		return p
	}
	var dirs []string
	if d := os.Getenv("MESHSCOPE_TOOLS_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				dirs = append(dirs, filepath.Join(d, "bin", "tools"))
				break
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, "alertmanager")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	msg := "no alertmanager binary on PATH, in $MESHSCOPE_TOOLS_DIR or in bin/tools: run `make tools`"
	if os.Getenv("MESHSCOPE_SKIP_ALERTMANAGER") == "1" {
		t.Skip(msg)
	}
	t.Fatal(msg)
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := chlocal.FreePort()
	require.NoError(t, err)
	return p
}

// startAlertmanager runs a real Alertmanager on a free loopback port, with
// clustering off, routing every alert to webhookURL at once, and stops it
// when the test ends. It returns the base URL.
func startAlertmanager(t *testing.T, webhookURL string) string {
	t.Helper()
	bin := findAlertmanager(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`route:
  receiver: hook
  group_by: [alertname, slo]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %q
        send_resolved: true
`, webhookURL)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "alertmanager.yml"), []byte(cfg), 0o644))
	logs, err := os.Create(filepath.Join(dir, "alertmanager.log"))
	require.NoError(t, err)
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	cmd := exec.Command(bin,
		"--config.file="+filepath.Join(dir, "alertmanager.yml"),
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--cluster.listen-address=",
	)
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		_ = logs.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logs.Name())
			t.Logf("alertmanager log:\n%s", b)
		}
	})
	base := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "alertmanager did not become ready")
	return base
}

// amAlert is an alert as Alertmanager's GET /api/v2/alerts returns it.
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	Fingerprint  string            `json:"fingerprint"`
	GeneratorURL string            `json:"generatorURL"`
	Status       struct {
		State string `json:"state"`
	} `json:"status"`
}

// getAMAlerts reads Alertmanager's alerts whose label matches (label="value").
func getAMAlerts(base, matcher string) ([]amAlert, error) {
	resp, err := http.Get(base + "/api/v2/alerts?filter=" + url.QueryEscape(matcher))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v2/alerts: %s", resp.Status)
	}
	var out []amAlert
	return out, json.NewDecoder(resp.Body).Decode(&out)
}

func amAlerts(t *testing.T, base, matcher string) []amAlert {
	t.Helper()
	out, err := getAMAlerts(base, matcher)
	require.NoError(t, err)
	return out
}

// TestAlertmanagerEndToEnd has the engine notify a real Alertmanager of a
// page alert firing and then resolving, and reads both back through
// Alertmanager's own API and its webhook notifications.
func TestAlertmanagerEndToEnd(t *testing.T) {
	amHook, ourHook := newRecorder(t), newRecorder(t)
	base := startAlertmanager(t, amHook.srv.URL)
	st, _ := chtest.Store(t, "meshscope")
	// Real time: Alertmanager judges endsAt by its own clock.
	s := time.Now().UTC().Truncate(time.Second).Add(-10 * time.Minute)
	sec := func(n int) time.Time { return s.Add(time.Duration(n) * time.Second) }
	seed(t, st, traffic{Source: "service:shop/web", Destination: "service:shop/checkout", From: s.Add(-7 * time.Hour), To: sec(600), BadFrom: s, BadTo: sec(120)})
	e, err := New(Config{
		Path:          writeSpecs(t, "slos.yaml", deliverySpecs),
		Alertmanagers: []notify.AlertmanagerConfig{{URL: base}},
		Webhooks:      []notify.WebhookConfig{{Name: "ops", URL: ourHook.srv.URL}},
	}, Deps{Store: func() Store { return st }})
	require.NoError(t, err)
	require.NoError(t, e.Reload())
	ctx := context.Background()

	require.NoError(t, e.EvaluateAt(ctx, sec(52)))
	got := amAlerts(t, base, `slo="checkout"`)
	require.Len(t, got, 1)
	a := got[0]
	require.Equal(t, "active", a.Status.State)
	require.Equal(t, map[string]string{"alertname": AlertName, "slo": "checkout", "severity": "page", "service": "shop/checkout", "team": "payments"}, a.Labels)
	require.Equal(t, "14.44", a.Annotations["burn_rate_1h"])
	require.Contains(t, a.Annotations["low_traffic_guard"], "at least 10 requests")
	require.Contains(t, a.Annotations["top_failing_edges"], "service:shop/web -> service:shop/checkout")
	require.NotEmpty(t, a.Annotations["trace_ids"])
	require.True(t, sec(52).Equal(a.StartsAt), "startsAt %s", a.StartsAt)
	require.True(t, a.EndsAt.After(time.Now()), "a firing alert ends in the future: %s", a.EndsAt)
	require.Equal(t, (&notify.Alert{Labels: a.Labels}).Fingerprint(), a.Fingerprint)

	// Alertmanager notifies its own webhook receiver of the firing alert.
	firing := waitFor(t, amHook, "firing")
	require.Equal(t, "checkout", firing.CommonLabels["slo"])

	require.NoError(t, e.EvaluateAt(ctx, sec(416)))
	require.Eventually(t, func() bool {
		got, err := getAMAlerts(base, `slo="checkout"`)
		return err == nil && len(got) == 0
	}, 30*time.Second, 100*time.Millisecond,
		"the resolved alert leaves Alertmanager's active alerts")
	resolved := waitFor(t, amHook, "resolved")
	require.Len(t, resolved.Alerts, 1)
	require.True(t, sec(416).Equal(resolved.Alerts[0].EndsAt), "endsAt %s", resolved.Alerts[0].EndsAt)

	// meshscope's own webhook payloads have Alertmanager's shape.
	ours := ourHook.take()
	require.Len(t, ours, 2)
	requireSameKeys(t, amHook.last(), ours[1])
}

// waitFor waits for a webhook payload of the given status.
func waitFor(t *testing.T, r *recorder, status string) notify.WebhookMessage {
	t.Helper()
	var found notify.WebhookMessage
	require.Eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, b := range r.bodies {
			var m notify.WebhookMessage
			if json.Unmarshal(b, &m) == nil && m.Status == status {
				found = m
				return true
			}
		}
		return false
	}, 30*time.Second, 50*time.Millisecond, "no %s notification", status)
	return found
}

func (r *recorder) last() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bodies[len(r.bodies)-1]
}

// requireSameKeys checks that two webhook payloads have the same keys at
// the top and in their alerts.
func requireSameKeys(t *testing.T, want, got []byte) {
	t.Helper()
	keys := func(b []byte) (top, alert []string) {
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(b, &m))
		for k := range m {
			top = append(top, k)
		}
		var alerts []map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(m["alerts"], &alerts))
		for k := range alerts[0] {
			alert = append(alert, k)
		}
		return top, alert
	}
	wt, wa := keys(want)
	gt, ga := keys(got)
	require.ElementsMatch(t, wt, gt)
	require.ElementsMatch(t, wa, ga)
}
