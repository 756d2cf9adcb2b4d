package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// The alerting rules of deploy/prometheus load in Prometheus, and every
// meshscope series they read is one a running server exposes.
func TestAlertRulesReadTheServersMetrics(t *testing.T) {
	p := parser.NewParser(parser.Options{})
	groups, errs := rulefmt.ParseFile(filepath.Join("..", "..", "deploy", "prometheus", "meshscope-alerts.yaml"),
		false, model.UTF8Validation, p, slog.New(slog.DiscardHandler))
	require.Empty(t, errs)

	srv := startServer(t, t.TempDir(), true)
	// One accepted export and one rejected request, so that the ingest
	// counters (vectors by receiver) have series.
	_, err := grpcTraceClient(t, srv.grpcAddr).Export(context.Background(),
		ptraceotlp.NewExportRequestFromTraces(knownTraces(time.Now(), 1, 0, 0, 0)))
	require.NoError(t, err)
	resp, err := http.Post("http://"+srv.otlpHTTP+"/v1/traces", "application/x-protobuf", bytes.NewReader([]byte("not protobuf")))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	resp, err = http.Get("http://" + srv.httpAddr + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	exposed := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if name, _, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
			name, _, _ = strings.Cut(name, "{")
			exposed[name] = true
		}
	}

	read := 0
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			expr, err := p.ParseExpr(r.Expr)
			require.NoError(t, err, r.Alert)
			for _, sel := range parser.ExtractSelectors(expr) {
				for _, m := range sel {
					if m.Name == labels.MetricName && strings.HasPrefix(m.Value, "meshscope_") {
						require.True(t, exposed[m.Value], "rule %s reads %s, which the server does not expose", r.Alert, m.Value)
						read++
					}
				}
			}
		}
	}
	require.Greater(t, read, 10)
}

// serve --rule-files evaluates a Prometheus rule file's alerting rules
// over the stored metrics, --log-rule-files a LogQL one's over the log
// records, and lists them in Prometheus' rules and alerts APIs, where
// Grafana reads them.
func TestServeRuleFiles(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "absent.rules.yml")
	require.NoError(t, os.WriteFile(rules, []byte(`groups:
  - name: absence
    rules:
      - alert: CheckoutMetricsMissing
        expr: absent(checkout_requests_total)
        labels:
          severity: ticket
        annotations:
          summary: no checkout metrics reach meshscope
`), 0o644))
	logRules := filepath.Join(dir, "logs.yml")
	require.NoError(t, os.WriteFile(logRules, []byte(`groups:
  - name: log-checks
    rules:
      - alert: LogPipelineCheck
        expr: vector(1)
`), 0o644))
	srv := startServer(t, filepath.Join(dir, "data"), true, "--rule-files", filepath.Join(dir, "*.rules.yml"), "--log-rule-files", logRules, "--slo-interval", "1s")
	type rulesAnswer struct {
		Status string
		Data   struct {
			Groups []struct {
				Name  string
				Rules []struct {
					Name, State, Health, LastError string
					Alerts                         []struct{ Labels map[string]string }
				}
			}
		}
	}
	var got rulesAnswer
	require.Eventually(t, func() bool {
		got = rulesAnswer{}
		getJSON(t, "http://"+srv.httpAddr+"/prometheus/api/v1/rules", &got)
		if len(got.Data.Groups) != 2 {
			return false
		}
		for _, g := range got.Data.Groups {
			if r := g.Rules[0]; r.Health != "ok" || r.State != "firing" {
				return false
			}
		}
		return true
	}, 30*time.Second, 100*time.Millisecond, "%+v", got)
	require.Equal(t, "LogPipelineCheck", got.Data.Groups[1].Rules[0].Name, "the log rules, evaluated with LogQL")
	r := got.Data.Groups[0].Rules[0]
	require.Equal(t, "CheckoutMetricsMissing", r.Name)
	require.Equal(t, map[string]string{"alertname": "CheckoutMetricsMissing", "severity": "ticket"}, r.Alerts[0].Labels)
	var alerts struct {
		RuleAlerts []struct{ Name, State string } `json:"rule_alerts"`
	}
	getJSON(t, "http://"+srv.httpAddr+"/api/v1/alerts", &alerts)
	require.Len(t, alerts.RuleAlerts, 2)
	require.Equal(t, "firing", alerts.RuleAlerts[0].State)
	// Their state is kept in the data directory for the next start.
	saved, err := os.ReadFile(filepath.Join(dir, "data", "rule-alerts.json"))
	require.NoError(t, err)
	require.Contains(t, string(saved), `"alertname":"CheckoutMetricsMissing"`)
}

// meshscope slo rules validates rule files as serve loads them: the
// repository's mesh rules pass, a recording rule fails naming its file,
// group and rule.
func TestSLORulesCommand(t *testing.T) {
	out, stderr, err := meshscope(t, "slo", "rules", filepath.Join("..", "..", "deploy", "prometheus", "mesh-alerts.yaml"))
	require.NoError(t, err, stderr)
	require.Contains(t, out, "group mesh-services, every 30s: 3 alerting rules")
	require.Contains(t, out, "  MeshServiceLatencyHigh\n")

	bad := filepath.Join(t.TempDir(), "bad.yml")
	require.NoError(t, os.WriteFile(bad, []byte("groups:\n  - name: g\n    rules:\n      - record: job:up\n        expr: sum(up)\n"), 0o644))
	_, stderr, err = meshscope(t, "slo", "rules", bad)
	require.Error(t, err)
	require.Contains(t, stderr, `bad.yml: group "g": recording rule "job:up": recording rules are not supported`)
	_, stderr, err = meshscope(t, "slo", "rules", filepath.Join(t.TempDir(), "*.yml"))
	require.Error(t, err)
	require.Contains(t, stderr, "no file matches")
}
