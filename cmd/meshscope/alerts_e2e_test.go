package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
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
