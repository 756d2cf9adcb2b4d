package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestOpenAPIServedByRoutesExist sends each operation of query/openapi.yaml
// marked x-served-by (served beside the query server, by the SLO engine or
// an ingest receiver) to a running server, with its method, path
// parameters set to a plausible value and an empty body, and checks that
// a handler of that method and path answered: neither the HTTP mux's
// plain-text 404 or 405, nor the query server's answer to a route it does
// not have (a JSON 404 "Not Found", 405, or 503 before it starts). A bad
// request or an SLO engine 404 for an unknown SLO name means the route
// exists. query's TestOpenAPIDocumentsEveryRoute checks the other
// operations.
func TestOpenAPIServedByRoutesExist(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "query", "openapi.yaml"))
	require.NoError(t, err)
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `yaml:"operationId"`
			ServedBy    string `yaml:"x-served-by"`
		} `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	type operation struct{ id, method, path string }
	var ops []operation
	for path, methods := range doc.Paths {
		for method, op := range methods {
			if op.ServedBy != "" {
				ops = append(ops, operation{op.OperationID, strings.ToUpper(method), path})
			}
		}
	}
	require.NotEmpty(t, ops, "no operation of openapi.yaml is marked x-served-by")
	sort.Slice(ops, func(i, j int) bool { return ops[i].path+" "+ops[i].method < ops[j].path+" "+ops[j].method })

	srv := startServer(t, t.TempDir(), true)
	param := regexp.MustCompile(`\{[A-Za-z]+\}`)
	for _, op := range ops {
		t.Run(op.id, func(t *testing.T) {
			url := "http://" + srv.httpAddr + param.ReplaceAllString(op.path, "openapi-probe")
			req, err := http.NewRequest(op.method, url, http.NoBody)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			t.Logf("%s %s: %d %s", op.method, url, resp.StatusCode, strings.TrimSpace(string(body)))

			what := op.method + " " + op.path
			require.NotEqual(t, http.StatusMethodNotAllowed, resp.StatusCode, "%s: the method is not served on this path", what)
			require.Less(t, resp.StatusCode, 500, "%s: %s", what, body)
			if resp.StatusCode == http.StatusNotFound {
				require.Contains(t, resp.Header.Get("Content-Type"), "application/json", "%s: not routed: %s", what, body)
				var e struct {
					Error string `json:"error"`
				}
				require.NoError(t, json.Unmarshal(body, &e), "%s: %s", what, body)
				require.NotEqual(t, "Not Found", e.Error, "%s: not routed beside the query server, which does not serve it either", what)
				require.Contains(t, e.Error, "openapi-probe", "%s: a 404 that is not about the name in the path: %s", what, body)
			}
		})
	}
}
