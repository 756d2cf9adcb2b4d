package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema/chtest"
)

// With --slo-evaluator, one replica evaluates SLOs and the others forward
// the SLO API to it: an SLO created through one replica is the evaluator's,
// every replica shows the same status, and only the evaluator evaluates.
func TestOneReplicaEvaluatesSLOs(t *testing.T) {
	ch := chtest.Server(t)
	args := []string{"--clickhouse", ch.DSN("meshscope"), "--slo-interval", "1s"}
	evaluator := startServer(t, t.TempDir(), true, append(args, "--slo-dir", t.TempDir())...)
	other := startServer(t, t.TempDir(), true, append(args, "--slo-evaluator", "http://"+evaluator.httpAddr)...)

	do := func(srv *server, method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+srv.httpAddr+path, strings.NewReader(body))
		require.NoError(t, err)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := do(other, http.MethodPost, "/api/v1/slos",
		`{"name": "cart-availability", "target": {"service": "shop/cart"}, "sli": "availability", "objective": 99.9, "window": "7d"}`)
	require.Equal(t, http.StatusCreated, code, body)

	for _, srv := range []*server{evaluator, other} {
		code, body := do(srv, http.MethodGet, "/api/v1/slos", "")
		require.Equal(t, http.StatusOK, code, body)
		require.Contains(t, body, `"cart-availability"`)
	}
	eventually(t, "the evaluator evaluates the SLO", 30*time.Second, func() (bool, string) {
		return evaluator.metric("meshscope_slo_evaluations_total") > 0, "no evaluation yet"
	})
	var st struct {
		SLO         string    `json:"slo"`
		EvaluatedAt time.Time `json:"evaluated_at"`
	}
	code, body = do(other, http.MethodGet, "/api/v1/slos/cart-availability/status", "")
	require.Equal(t, http.StatusOK, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), &st))
	require.Equal(t, "cart-availability", st.SLO)
	require.False(t, st.EvaluatedAt.IsZero(), "the status is the evaluator's: %s", body)
	require.Zero(t, other.metric("meshscope_slo_evaluations_total"), "the forwarding replica evaluates nothing")

	// Without the evaluator the forwarding replica says so.
	evaluator.stop()
	code, body = do(other, http.MethodGet, "/api/v1/slos", "")
	require.Equal(t, http.StatusBadGateway, code, body)
	require.Contains(t, body, "the replica that evaluates SLOs")
}
