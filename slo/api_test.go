package slo

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema/chtest"
	"github.com/meshscope/meshscope/slo/spec"
)

// call sends a request to h and decodes the JSON answer into out (when not nil).
func call(t *testing.T, h http.Handler, method, path, body string, out any) int {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if out != nil && w.Body.Len() > 0 {
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), out), w.Body.String())
	}
	return w.Code
}

const teamFile = `
slos:
  - {name: team-a, target: {service: shop/a}, sli: availability, objective: 99.9, window: 28d}
  - {name: team-b, target: {service: shop/b}, sli: availability, objective: 99.9, window: 28d}
`

func TestAPI(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	seed(t, st, traffic{Source: "service:shop/web", Destination: "service:shop/checkout", From: S.Add(-7 * time.Hour), To: at(1500), BadFrom: S, BadTo: at(120)})
	dir := writeSpecs(t, "team.yaml", teamFile)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("slos:\n  - {name: x, target: {service: shop/x}, sli: availability, objective: 100.5, window: 28d}\n"), 0o644))
	clk := &clock{t: at(100)}
	e, _ := newEngine(t, Config{Path: dir}, st, clk)
	require.Error(t, e.Reload())
	h := e.Handler()
	ctx := context.Background()

	t.Run("list", func(t *testing.T) {
		var got listResponse
		require.Equal(t, http.StatusOK, call(t, h, "GET", "/api/v1/slos", "", &got))
		require.Len(t, got.SLOs, 2)
		require.False(t, got.SLOs[0].Editable, "team.yaml holds two SLOs")
		require.Equal(t, filepath.Join(dir, "team.yaml"), got.SLOs[0].Source)
		require.Equal(t, []FileError{{File: filepath.Join(dir, "broken.yaml"), Field: "slos[0].objective", Error: "must be between 0 and 100 (got 100.5)"}}, got.Errors)
	})

	const checkout = `{"name": "checkout", "target": {"service": "shop/checkout"}, "sli": "availability", "objective": 99.9, "window": "28d", "alerting": {"min_requests": 10, "ticket": []}}`
	t.Run("create", func(t *testing.T) {
		var got SLOView
		require.Equal(t, http.StatusCreated, call(t, h, "POST", "/api/v1/slos", checkout, &got))
		require.Equal(t, "checkout", got.Spec.Name)
		require.Equal(t, "service:shop/checkout", got.Effective.Target.Service)
		require.True(t, got.Editable)
		require.Equal(t, filepath.Join(dir, "checkout.yaml"), got.Source)
		data, err := os.ReadFile(filepath.Join(dir, "checkout.yaml"))
		require.NoError(t, err)
		p, err := spec.ParseOne(data, spec.DefaultAlerting())
		require.NoError(t, err, string(data))
		require.Equal(t, 99.9, p.Spec.Objective)

		var apiErr apiError
		require.Equal(t, http.StatusConflict, call(t, h, "POST", "/api/v1/slos", checkout, &apiErr))
		require.Equal(t, "name", apiErr.Field)
	})
	t.Run("invalid specs are refused with the field", func(t *testing.T) {
		for _, tc := range []struct {
			body  string
			field string
			err   string
		}{
			{strings.Replace(checkout, "99.9", "100.5", 1), "objective", "must be between 0 and 100 (got 100.5)"},
			{strings.Replace(checkout, `"28d"`, `"10m"`, 1), "window", "must be between 1h and 366d (got 10m)"},
			{strings.Replace(checkout, `"ticket": []`, `"ticket": [{"long": "3d", "short": "6h", "burn": 0}]`, 1), "alerting.ticket[0].burn", "must be positive (got 0)"},
			{`{"name": "x"`, "", "did not find expected"},
		} {
			var got apiError
			require.Equal(t, http.StatusBadRequest, call(t, h, "POST", "/api/v1/slos", tc.body, &got), tc.body)
			require.Equal(t, tc.field, got.Field)
			require.Contains(t, got.Error, tc.err)
		}
	})
	t.Run("get, put, delete", func(t *testing.T) {
		var got SLOView
		require.Equal(t, http.StatusOK, call(t, h, "GET", "/api/v1/slos/checkout", "", &got))
		require.Equal(t, "checkout", got.Spec.Name)
		require.Equal(t, http.StatusNotFound, call(t, h, "GET", "/api/v1/slos/nope", "", nil))

		body := strings.Replace(strings.Replace(checkout, `"name": "checkout", `, "", 1), `"window"`, `"labels": {"team": "payments"}, "window"`, 1)
		require.Equal(t, http.StatusOK, call(t, h, "PUT", "/api/v1/slos/checkout", body, &got))
		require.Equal(t, map[string]string{"team": "payments"}, got.Spec.Labels)
		require.Equal(t, http.StatusCreated, call(t, h, "PUT", "/api/v1/slos/cart", strings.Replace(body, "shop/checkout", "shop/cart", 1), &got))
		require.FileExists(t, filepath.Join(dir, "cart.yaml"))

		var apiErr apiError
		require.Equal(t, http.StatusBadRequest, call(t, h, "PUT", "/api/v1/slos/cart", checkout, &apiErr))
		require.Equal(t, "name", apiErr.Field)
		require.Equal(t, http.StatusConflict, call(t, h, "PUT", "/api/v1/slos/team-a", strings.Replace(body, "shop/checkout", "shop/a", 1), &apiErr))
		require.Contains(t, apiErr.Error, "beside other SLOs")
		require.Equal(t, http.StatusConflict, call(t, h, "DELETE", "/api/v1/slos/team-a", "", nil))

		require.Equal(t, http.StatusNoContent, call(t, h, "DELETE", "/api/v1/slos/cart", "", nil))
		require.NoFileExists(t, filepath.Join(dir, "cart.yaml"))
		require.Equal(t, http.StatusNotFound, call(t, h, "DELETE", "/api/v1/slos/cart", "", nil))
		require.Equal(t, http.StatusMethodNotAllowed, call(t, h, "PATCH", "/api/v1/slos/checkout", "{}", nil))
	})
	t.Run("status and alerts", func(t *testing.T) {
		var st Status
		require.Equal(t, http.StatusOK, call(t, h, "GET", "/api/v1/slos/checkout/status", "", &st))
		require.Equal(t, StateUnknown, st.State)

		require.NoError(t, e.EvaluateAt(ctx, at(100)))
		require.Equal(t, http.StatusOK, call(t, h, "GET", "/api/v1/slos/checkout/status", "", &st))
		require.Equal(t, StateFiring, st.State)
		require.Equal(t, "requests", st.Source)
		require.Equal(t, 99.9, st.Objective)
		require.Equal(t, "5m", st.Windows[0].Window)
		require.Equal(t, uint64(300), st.Windows[0].Requests)
		require.Equal(t, uint64(100), st.Windows[0].Bad)
		require.InDelta(t, (100.0/300)/0.001, st.Windows[0].BurnRate, 1e-9)
		require.NotNil(t, st.SLI)
		require.Len(t, st.Alerts, 1)
		require.Equal(t, "firing", string(st.Alerts[0].State))

		var alerts alertsResponse
		require.Equal(t, http.StatusOK, call(t, h, "GET", "/api/v1/alerts?since=2025-01-01T00:00:00Z", "", &alerts))
		require.Empty(t, alerts.HistoryError)
		require.Len(t, alerts.Alerts, 1)
		require.Equal(t, "checkout", alerts.Alerts[0].SLO)
		require.Len(t, alerts.History, 1)
		require.Equal(t, "firing", alerts.History[0].State)
		require.Equal(t, http.StatusBadRequest, call(t, h, "GET", "/api/v1/alerts?limit=0", "", nil))
	})
	t.Run("backtest", func(t *testing.T) {
		var res BacktestResult
		body := `{"spec": ` + strings.Replace(checkout, `"checkout"`, `"trial"`, 1) + `, "from": "2025-01-10T11:59:00Z", "to": ` + "1736511000" + `, "step": "1s"}`
		require.Equal(t, http.StatusOK, call(t, h, "POST", "/api/v1/slos/backtest", body, &res))
		require.Equal(t, "trial", res.SLO)
		require.Equal(t, []string{"page S+52..S+416 peak 33.33"}, periods(res.Firings))

		require.Equal(t, http.StatusOK, call(t, h, "POST", "/api/v1/slos/backtest", `{"name": "checkout", "from": 1736510340, "to": 1736511000}`, &res))
		require.Equal(t, "30s", res.Step)
		require.Equal(t, []string{"page S+60..S+420 peak 33.33"}, periods(res.Firings))

		require.Equal(t, http.StatusOK, call(t, h, "POST", "/api/v1/slos/backtest", `{"name": "checkout", "from": "now-10m"}`, &res))
		require.Equal(t, at(100-600), res.From)
		require.Equal(t, []string{"page S+60..open peak 25"}, periods(res.Firings), "the engine clock is at S+100: the last evaluation is at S+90")

		var apiErr apiError
		require.Equal(t, http.StatusBadRequest, call(t, h, "POST", "/api/v1/slos/backtest", `{"name": "checkout", "from": "yesterday"}`, &apiErr))
		require.Equal(t, "from", apiErr.Field)
		require.Equal(t, http.StatusBadRequest, call(t, h, "POST", "/api/v1/slos/backtest", `{"spec": `+strings.Replace(checkout, "99.9", "100.5", 1)+`, "from": 0}`, &apiErr))
		require.Equal(t, "spec.objective", apiErr.Field)
		require.Equal(t, http.StatusBadRequest, call(t, h, "POST", "/api/v1/slos/backtest", `{"name": "checkout"}`, &apiErr))
		require.Equal(t, "from", apiErr.Field)
		require.Equal(t, http.StatusBadRequest, call(t, h, "POST", "/api/v1/slos/backtest", `{"name": "checkout", "from": 1736510340, "to": 1736510000}`, &apiErr))
		require.Equal(t, "to", apiErr.Field)
		require.Equal(t, http.StatusNotFound, call(t, h, "POST", "/api/v1/slos/backtest", `{"name": "nope", "from": 0}`, nil))
	})
}

func TestAPIWithoutDirectory(t *testing.T) {
	const body = `{"name": "m", "target": {"service": "shop/m"}, "sli": "availability", "objective": 99, "window": "28d"}`
	t.Run("memory", func(t *testing.T) {
		e, _ := newEngine(t, Config{}, nil, &clock{t: S})
		h := e.Handler()
		require.Equal(t, http.StatusCreated, call(t, h, "POST", "/api/v1/slos", body, nil))
		var got SLOView
		require.Equal(t, http.StatusOK, call(t, h, "GET", "/api/v1/slos/m", "", &got))
		require.Equal(t, "memory", got.Source)
		require.NoError(t, e.Reload())
		require.Equal(t, []string{"m"}, names(e), "a reload keeps SLOs held in memory")
		require.Equal(t, http.StatusNoContent, call(t, h, "DELETE", "/api/v1/slos/m", "", nil))
		require.Empty(t, names(e))
		var apiErr apiError
		require.Equal(t, http.StatusServiceUnavailable, call(t, h, "POST", "/api/v1/slos/backtest", `{"spec": `+body+`, "from": 0}`, &apiErr))
	})
	t.Run("single file", func(t *testing.T) {
		dir := writeSpecs(t, "slos.yaml", teamFile)
		e, _ := newEngine(t, Config{Path: filepath.Join(dir, "slos.yaml")}, nil, &clock{t: S})
		require.NoError(t, e.Reload())
		var apiErr apiError
		require.Equal(t, http.StatusConflict, call(t, e.Handler(), "POST", "/api/v1/slos", body, &apiErr))
		require.Contains(t, apiErr.Error, "SLOs are loaded from the file")
	})
}
