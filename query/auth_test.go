package query

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
)

func TestAuth(t *testing.T) {
	api := newTestAPI(t, Config{Tokens: []string{"s3cret", " other "}}, Deps{})
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	api.srv.MountPublic(http.MethodGet, "/healthz", ok)
	api.srv.MountPublic(http.MethodGet, "/assets/*", ok)
	api.srv.Mount(http.MethodGet, "/metrics", ok)
	api.srv.Mount("", "/api/v1/write", ok)
	api.srv.Echo().GET("/added-directly", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })

	for _, tc := range []struct {
		name, method, path, header string
		status                     int
	}{
		{"no token", "GET", "/api/v1/graph", "", http.StatusUnauthorized},
		{"wrong token", "GET", "/api/v1/graph", "Bearer nope", http.StatusUnauthorized},
		{"token as prefix", "GET", "/api/v1/graph", "Bearer s3cre", http.StatusUnauthorized},
		{"other scheme", "GET", "/api/v1/graph", "Basic czNjcmV0", http.StatusUnauthorized},
		{"token", "GET", "/api/v1/graph", "Bearer s3cret", http.StatusOK},
		{"second token, trimmed", "GET", "/api/v1/graph", "Bearer other", http.StatusOK},
		{"scheme case", "GET", "/api/v1/graph", "bearer s3cret", http.StatusOK},
		{"query token only on the stream", "GET", "/api/v1/graph?token=s3cret", "", http.StatusUnauthorized},
		{"sql", "POST", "/api/v1/sql", "", http.StatusUnauthorized},
		{"mounted", "GET", "/metrics", "", http.StatusUnauthorized},
		{"mounted with token", "GET", "/metrics", "Bearer s3cret", http.StatusOK},
		{"mounted any method", "POST", "/api/v1/write", "", http.StatusUnauthorized},
		{"added on echo", "GET", "/added-directly", "", http.StatusUnauthorized},
		{"unknown route", "GET", "/api/v1/nope", "", http.StatusUnauthorized},
		{"health is public", "GET", "/healthz", "", http.StatusOK},
		{"ui is public", "GET", "/assets/app.js", "", http.StatusOK},
		{"openapi is public", "GET", "/api/v1/openapi.yaml", "", http.StatusOK},
		{"prometheus api", "GET", "/prometheus/api/v1/status/buildinfo", "", http.StatusUnauthorized},
		{"prometheus api with token", "GET", "/prometheus/api/v1/status/buildinfo", "Bearer s3cret", http.StatusOK},
		{"loki api", "GET", "/loki/api/v1/labels", "", http.StatusUnauthorized},
		{"jaeger api", "GET", "/jaeger/api/services", "", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, api.client.base+tc.path, strings.NewReader(`{"query":"SELECT 1"}`))
			require.NoError(t, err)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			_ = resp.Body.Close()
			require.Equal(t, tc.status, resp.StatusCode)
			if tc.status == http.StatusUnauthorized {
				require.Equal(t, `Bearer realm="meshscope"`, resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("error body", func(t *testing.T) {
		api.client.with(t).fail("/api/v1/graph", http.StatusUnauthorized, "Authorization")
	})

	ws := "ws" + strings.TrimPrefix(api.client.base, "http") + "/api/v1/graph/stream"
	t.Run("stream with query token", func(t *testing.T) {
		conn, resp, err := websocket.DefaultDialer.Dial(ws+"?token=s3cret", nil)
		require.NoError(t, err)
		_ = resp.Body.Close()
		defer conn.Close()
		var m struct {
			Type string
			Seq  uint64
		}
		require.NoError(t, conn.ReadJSON(&m))
		require.Equal(t, "snapshot", m.Type)
		require.EqualValues(t, 7, m.Seq)
	})
	t.Run("stream with header", func(t *testing.T) {
		conn, resp, err := websocket.DefaultDialer.Dial(ws, http.Header{"Authorization": {"Bearer other"}})
		require.NoError(t, err)
		_ = resp.Body.Close()
		_ = conn.Close()
	})
	t.Run("stream without token", func(t *testing.T) {
		_, resp, err := websocket.DefaultDialer.Dial(ws+"?token=wrong", nil)
		require.Error(t, err)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})
}

func TestNoTokensNoAuth(t *testing.T) {
	api := newTestAPI(t, Config{Tokens: []string{"", "  "}}, Deps{})
	require.False(t, api.srv.Authorizer().Enabled())
	var g map[string]any
	api.client.with(t).get("/api/v1/graph", &g)
}
